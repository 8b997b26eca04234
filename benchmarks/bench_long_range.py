"""Cost of the long-range Ising samplers against system size N (single thread).

    python benchmarks/bench_long_range.py [--quick]

For d = 1 and d = 2, near this code's measured Binder crossing (d = 1, σ = 0.5: T = 4.3;
d = 2, σ = 1.5: T = 5.6), times
  - the Wolff cluster update with Fukui–Todo bond sampling: per cluster, per flipped spin and per
    sweep (the number of clusters that flips N spins), and
  - the reference, single-spin Metropolis with O(N) local-field updates: per sweep (N attempts),
and fits time-per-sweep ∝ N^a by least squares on log–log. Expected: a ≈ 1 (cluster; O(1) work
per flipped spin) and a ≈ 2 (Metropolis, at fixed acceptance).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rgexp.ising.long_range import coupling_table
from rgexp.ising.long_range_kernels import build_alias, local_fields, metropolis_sweeps, wolff_updates

CASES = {  # d: (sigma, T, cluster sizes L, metropolis sizes L)
    1: (0.5, 4.3, [256, 1024, 4096, 16384, 65536], [256, 1024, 4096, 16384]),
    2: (1.5, 5.6, [8, 16, 32, 64, 128], [8, 16, 32, 64, 128]),
}
QUICK = {1: ([256, 1024, 4096, 16384], [256, 1024]), 2: ([8, 16, 32, 64], [8, 16, 32])}


def _lattice(L: int, d: int) -> tuple[int, int]:
    return (1, L) if d == 1 else (L, L)


def time_cluster(L: int, d: int, sigma: float, T: float, rng: np.random.Generator, min_seconds: float) -> dict:
    table = coupling_table(L, d, sigma)
    lx, ly = _lattice(L, d)
    n = lx * ly
    lam = 2.0 / T * np.ascontiguousarray(table.ravel())
    prob, alias = build_alias(lam)
    rate = float(lam.sum())
    spins = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    stack = np.empty(n, dtype=np.int64)
    # Burn-in: 30 sweeps' worth of flipped spins.
    done = 0
    while done < 30 * n:
        done += wolff_updates(spins, lx, ly, prob, alias, rate, 10, rng, stack)
    flipped = clusters = 0
    t0 = time.perf_counter()
    while True:
        flipped += wolff_updates(spins, lx, ly, prob, alias, rate, 10, rng, stack)
        clusters += 10
        elapsed = time.perf_counter() - t0
        if elapsed > min_seconds and flipped > 20 * n:
            break
    return {
        "N": n,
        "per_cluster_us": 1e6 * elapsed / clusters,
        "mean_cluster": flipped / clusters,
        "per_spin_ns": 1e9 * elapsed / flipped,
        "per_sweep_ms": 1e3 * elapsed * n / flipped,
        "bonds_per_spin": rate,
    }


def time_metropolis(L: int, d: int, sigma: float, T: float, rng: np.random.Generator, min_seconds: float) -> dict:
    table = coupling_table(L, d, sigma)
    lx, ly = _lattice(L, d)
    n = lx * ly
    ktab = np.ascontiguousarray(table.ravel())
    spins = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    h = local_fields(spins, ktab, lx, ly)
    metropolis_sweeps(spins, h, ktab, lx, ly, 1.0 / T, 2, rng)
    sweeps = accepted = 0
    t0 = time.perf_counter()
    while True:
        accepted += metropolis_sweeps(spins, h, ktab, lx, ly, 1.0 / T, 1, rng)
        sweeps += 1
        elapsed = time.perf_counter() - t0
        if elapsed > min_seconds and sweeps >= 2:
            break
    return {"N": n, "per_sweep_ms": 1e3 * elapsed / sweeps, "acceptance": accepted / (sweeps * n)}


def fit_exponent(n: list[int], t: list[float]) -> float:
    return float(np.polyfit(np.log(n), np.log(t), 1)[0])


def local_exponents(n: list[int], t: list[float]) -> str:
    """d log t / d log N between consecutive sizes (the small sizes are overhead-dominated)."""
    a = np.diff(np.log(t)) / np.diff(np.log(n))
    return " ".join(f"{x:.2f}" for x in a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and smaller sizes, shorter timings")
    args = parser.parse_args()
    min_seconds = 0.3 if args.quick else 1.0
    rng = np.random.default_rng(0)
    # Compile once outside the timings.
    time_cluster(4, 2, 1.0, 5.0, rng, 0.0)
    time_metropolis(4, 2, 1.0, 5.0, rng, 0.0)
    for d, (sigma, T, l_cluster, l_metro) in CASES.items():
        if args.quick:
            l_cluster, l_metro = QUICK[d]
        print(f"\nd = {d}, sigma = {sigma}, T = {T}  (single thread)")
        print(f"{'N':>8} {'cluster/upd us':>14} {'<|C|>':>9} {'ns/flipped spin':>15} {'bonds/spin':>10} "
              f"{'cluster ms/sweep':>16} {'metropolis ms/sweep':>19} {'acc':>5}")
        cl = [time_cluster(L, d, sigma, T, rng, min_seconds) for L in l_cluster]
        me = {r["N"]: r for r in (time_metropolis(L, d, sigma, T, rng, min_seconds) for L in l_metro)}
        for r in cl:
            m = me.get(r["N"])
            metro = f"{m['per_sweep_ms']:19.3f} {m['acceptance']:5.2f}" if m else f"{'-':>19} {'-':>5}"
            print(f"{r['N']:8d} {r['per_cluster_us']:14.2f} {r['mean_cluster']:9.1f} {r['per_spin_ns']:15.1f} "
                  f"{r['bonds_per_spin']:10.2f} {r['per_sweep_ms']:16.3f} {metro}")
        a_cl = fit_exponent([r["N"] for r in cl], [r["per_sweep_ms"] for r in cl])
        a_me = fit_exponent(list(me), [m["per_sweep_ms"] for m in me.values()])
        print(f"fitted time per sweep ∝ N^a: cluster a = {a_cl:.2f}, metropolis a = {a_me:.2f}")
        print(f"  local slopes, cluster: {local_exponents([r['N'] for r in cl], [r['per_sweep_ms'] for r in cl])}; "
              f"metropolis: {local_exponents(list(me), [m['per_sweep_ms'] for m in me.values()])}")


if __name__ == "__main__":
    main()
