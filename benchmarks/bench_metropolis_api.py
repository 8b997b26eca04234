"""One Metropolis chain through the public API against the vectorised NumPy checkerboard, in one run.

    python benchmarks/bench_metropolis_api.py [--L 64] [--sweeps 1000] [--repeats 5]

Prints ns per attempted flip (best of ``repeats``) and the speed-up over NumPy for:
the public ``simulate_ising2d(L, T_c, sweeps, algorithm="metropolis", thin=1, n_thermalize=0)``
(storing every sweep, with its diagnostics), and the kernel (``run_chains``) bare, storing every
sweep, and storing with the per-sweep series and the random global flip: where the API's time goes.
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_ising2d import best_of, numpy_checkerboard_sweep  # the reference of bench_ising2d's item 1

from rgexp.constants import T_C
from rgexp.ising import simulate_ising2d
from rgexp.ising._rng import chain_states
from rgexp.ising.chains import run_chains


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--L", type=int, default=64)
    p.add_argument("--sweeps", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    L, n, T = a.L, a.sweeps, T_C
    s, st = np.ones((1, L, L), np.int8), chain_states(np.random.default_rng(0), 1)
    kernel = dict(algorithm="metropolis")
    run_chains(s, np.array([T]), st, 1, **kernel)  # compile outside the timing
    ref_sweeps, x, rng = max(1, n // 10), np.ones((L, L), dtype=np.int64), np.random.default_rng(1)
    i, j = np.indices((L, L))
    masks = [(i + j) % 2 == 0, (i + j) % 2 == 1]

    def reference() -> None:
        for _ in range(ref_sweeps):
            numpy_checkerboard_sweep(x, 1 / T, rng, masks)

    ref = best_of(reference, max(1, a.repeats // 2)) * n / ref_sweeps
    rows = {
        "NumPy checkerboard (reference)": ref,
        "public API, storing every sweep": best_of(lambda: simulate_ising2d(L, T, n, algorithm="metropolis", thin=1,
                                                                          n_thermalize=0), a.repeats),
        "kernel, bare": best_of(lambda: run_chains(s, np.array([T]), st, n, series_every=0, **kernel), a.repeats),
        "kernel, storing every sweep": best_of(lambda: run_chains(s, np.array([T]), st, n, store_every=1,
                                                               series_every=0, **kernel), a.repeats),
        "kernel, storing + series + global flip": best_of(lambda: run_chains(
            s, np.array([T]), st, n, store_every=1, series_every=1, global_flip=True, **kernel), a.repeats),
    }
    print(f"| one chain, {L}×{L}, {n} sweeps at T_c | ns per attempted flip | × NumPy |\n|---|---|---|")
    for name, t in rows.items():
        print(f"| {name} | {t * 1e9 / (n * L * L):.2f} | {ref / t:.1f} |")


if __name__ == "__main__":
    main()
