"""Does RBM training slow down by itself? Early against late update times, flushed and not.

    python benchmarks/bench_subnormals.py [--updates 120]

The trap (issue "cost"): {0,1} units 4096→1024, Adam lr 0.01, random binary data, batch 100. Adam's
second moments and the saturated hidden means turn subnormal and every GEMM slows down. Each case
runs in a fresh process (a thread pool keeps the flush setting it was created with): ``flushed`` is
what rgexp does (importing rgexp.models flushes subnormals to zero), ``not flushed`` switches it off
before any torch work. Printed: ms per update over the first and the last 20 updates, their ratio (the late rate as a
fraction of the early one), and how much faster the late updates are flushed than not.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import sys, time, torch
    import rgexp.models
    from rgexp.models import RBM
    from rgexp.models.trainer import RBMTrainer
    if sys.argv[1] == "off":
        torch.set_flush_denormal(False)  # before any torch work: the pool threads inherit it
    updates = int(sys.argv[2])
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(2000, 4096, generator=g) < 0.5).float()
    rbm = RBM(4096, 1024, units="binary", generator=g)
    tr = RBMTrainer(model=rbm, data=x, generator=torch.Generator().manual_seed(1), epochs=-(-updates // 20),
                    batch_size=100, lr=0.01, optimizer="adam", adam_eps=1e-8, persistent=False,
                    holdout_fraction=0.0, metrics_every=0)  # adam_eps: as docs/benchmarks.md's numbers were measured
    stamps = []
    tr.fit(should_stop=lambda: stamps.append(time.perf_counter()) or False)
    d = [b - a for a, b in zip(stamps, stamps[1:])]
    print(1000 * sum(d[:20]) / 20, 1000 * sum(d[-20:]) / 20)
""")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=120)
    args = ap.parse_args()
    print(f"{'case':<12} {'early ms/upd':>13} {'late ms/upd':>12} {'late rate / early':>18}")
    late = {}
    for label, flag in (("flushed", "on"), ("not flushed", "off")):
        out = subprocess.run([sys.executable, "-c", CHILD, flag, str(args.updates)], capture_output=True,
                             text=True, check=True).stdout.split()
        early, late[label] = float(out[0]), float(out[1])
        print(f"{label:<12} {early:>13.1f} {late[label]:>12.1f} {early / late[label]:>18.2f}")
    print(f"late updates, flushed against not: {late['not flushed'] / late['flushed']:.1f}x faster")


if __name__ == "__main__":
    main()
