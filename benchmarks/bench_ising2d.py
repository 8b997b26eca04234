"""Speed of the 2D Ising samplers (issue 3), with the reference timed in the same run.

    python benchmarks/bench_ising2d.py [--quick]

Prints:
1. checkerboard Metropolis attempted flips per ns on 64×64 at T_c, numba with 1 and 2 threads
   (independent chains, one per prange task) against a plain vectorised NumPy checkerboard
   (np.roll neighbour sums, one uniform per site, boolean-mask flips), goal >= 20×;
2. effectively independent configurations per second at T_c on 32×32 and 64×64 for Metropolis,
   Wolff and Swendsen–Wang: n_eff = n / (2 τ_max) of the stored series (τ_max = larger of
   τ_int(|m|), τ_int(E)), per second of production (the kernel continuing an equilibrated chain
   with the thinning an automatic run chose) and per second of the whole automatic call
   (thermalization and pilot included), one chain on one core;
3. wall time of the RBM-flow data set: L = 10, 60 temperatures in (0, 6], 1,000 samples each
   (Wolff, automatic thermalization and thinning, all cores), goal < 30 s on 2 cores;
4. time for 40,000 effectively independent 64×64 configurations at T_c (Wolff, two chains in
   parallel), goal < 2 min; ``--quick`` measures 4,000 and extrapolates linearly (said so).

Timings are the best of a few repeats where repeats are cheap; the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np

from rgexp.constants import T_C
from rgexp.ising import Ising2DSampler, simulate_ising2d
from rgexp.ising._rng import chain_states
from rgexp.ising.chains import run_chains
from rgexp.stats import integrated_autocorr_time


def numpy_checkerboard_sweep(s: np.ndarray, beta: float, rng: np.random.Generator, masks) -> None:
    """The plain vectorised reference: one checkerboard Metropolis sweep of s (L, L), in place."""
    for mask in masks:
        nb = np.roll(s, 1, 0) + np.roll(s, -1, 0) + np.roll(s, 1, 1) + np.roll(s, -1, 1)
        d_e = 2 * s * nb
        flip = mask & (rng.random(s.shape) < np.exp(-beta * d_e))
        s[flip] *= -1


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_metropolis(quick: bool) -> None:
    L, T = 64, T_C
    print(f"1. Checkerboard Metropolis, {L}x{L} at T_c: attempted flips per ns (best of interleaved repeats)")
    s = np.ones((L, L), dtype=np.int64)
    i, j = np.indices((L, L))
    masks = [(i + j) % 2 == 0, (i + j) % 2 == 1]
    rng = np.random.default_rng(0)
    n_chains = 4
    n_np, sweeps, repeats = (50, 300, 3) if quick else (100, 600, 7)
    spins = np.ones((n_chains, L, L), dtype=np.int8)
    states = chain_states(np.random.SeedSequence(0), n_chains)
    temps = np.full(n_chains, T)
    run_chains(spins, temps, states, 2, algorithm="metropolis", series_every=0)  # compile / load
    thread_counts = [k for k in (1, 2) if k <= numba.config.NUMBA_NUM_THREADS]
    default_threads = numba.get_num_threads()
    best = {"numpy": np.inf, **{k: np.inf for k in thread_counts}}
    def numpy_block():
        for _ in range(n_np):
            numpy_checkerboard_sweep(s, 1 / T, rng, masks)

    def numba_block():
        run_chains(spins, temps, states, sweeps, algorithm="metropolis", series_every=0)

    for _ in range(repeats):  # interleaved, so that a busy machine slows all of them alike
        best["numpy"] = min(best["numpy"], best_of(numpy_block, 1))
        for k in thread_counts:
            numba.set_num_threads(k)
            best[k] = min(best[k], best_of(numba_block, 1))
    numba.set_num_threads(default_threads)
    rate_np = n_np * L * L / best["numpy"] / 1e9
    print(f"   NumPy vectorised checkerboard : {rate_np:8.4f} attempts/ns  ({best['numpy'] / n_np * 1e6:7.1f} µs/sweep)")
    for k in thread_counts:
        rate = n_chains * sweeps * L * L / best[k] / 1e9
        print(
            f"   numba, {k} thread{'s' if k > 1 else ' '} ({n_chains} chains)  : {rate:8.4f} attempts/ns"
            f"  = {rate / rate_np:5.1f}x NumPy  ({1 / rate:.2f} ns/attempt; goal >= 20x)"
        )
    if 2 not in thread_counts:
        print("   numba, 2 threads: not available on this machine")


def bench_effective_rate(quick: bool) -> None:
    print("2. Effectively independent configurations per second at T_c (one chain, one core)")
    print("   algorithm      L  thin  tau_sweeps(|m|, E)  tau_stored  n_eff/s production  (whole call)")
    numba.set_num_threads(1)
    for L in (32, 64):
        for algorithm in ("metropolis", "wolff", "swendsen_wang"):
            n = 500 if algorithm == "metropolis" else 4000
            n = n // 4 if quick else n
            t0 = time.perf_counter()
            spins, info = simulate_ising2d(L, T_C, n, algorithm=algorithm, seed=1)
            t_call = time.perf_counter() - t0
            # Production alone: continue from the last (equilibrated) sample with the thinning
            # the automatic run chose, timing only the kernel.
            thin, fps = info["thin"], info.get("cluster_flips_per_sweep", 0)
            chain = np.ascontiguousarray(spins[-1:])
            states = chain_states(np.random.SeedSequence(2), 1)
            t0 = time.perf_counter()
            run = run_chains(
                chain, [T_C], states, n * thin, algorithm=algorithm, store_every=thin,
                series_every=thin, flips_per_sweep=fps, global_flip=True,
            )  # fmt: skip
            t_prod = time.perf_counter() - t0
            e = -run.bonds[0] / L**2
            absm = np.abs(run.mags[0]) / L**2
            tau = max(integrated_autocorr_time(absm), integrated_autocorr_time(e))
            print(
                f"   {algorithm:13s} {L:3d} {thin:5d}  ({info['tau_int_absm_sweeps']:7.2f}, "
                f"{info['tau_int_energy_sweeps']:6.2f})     {tau:5.2f}   {n / (2 * tau) / t_prod:9.1f}"
                f"          ({info['n_eff'] / t_call:8.1f})"
            )
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def bench_rbm_dataset() -> None:
    temps = list(np.linspace(0.1, 6.0, 60))
    sampler = Ising2DSampler(L=10, temperatures=temps, n_samples=1000, algorithm="wolff")
    t0 = time.perf_counter()
    data = sampler.sample(np.random.SeedSequence(0))
    dt = time.perf_counter() - t0
    n_eff = np.array([i["n_eff"] for i in data.info])
    print(
        f"3. RBM-flow data set (10x10, 60 T in [0.1, 6], 1,000 samples each, Wolff, "
        f"{numba.get_num_threads()} threads): {dt:.2f} s (goal < 30 s); n_eff per T: "
        f"min {n_eff.min():.0f}, median {np.median(n_eff):.0f}"
    )


def bench_large_set(quick: bool) -> None:
    n_total = 4000 if quick else 40000
    sampler = Ising2DSampler(L=64, temperatures=[T_C, T_C], n_samples=n_total // 2, algorithm="wolff")
    t0 = time.perf_counter()
    data = sampler.sample(np.random.SeedSequence(1))
    dt = time.perf_counter() - t0
    n_eff = sum(i["n_eff"] for i in data.info)
    per_eff = dt / n_eff
    note = f" (measured {n_total}, extrapolated linearly)" if quick else ""
    print(
        f"4. 64x64 at T_c, Wolff, 2 chains: {n_total} configurations (n_eff {n_eff:.0f}) in {dt:.1f} s; "
        f"40,000 effectively independent: {40000 * per_eff:.0f} s{note} (goal < 120 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, item 4 extrapolated")
    args = parser.parse_args()
    print(
        f"numba {numba.__version__}, threading layer {numba.config.THREADING_LAYER}, "
        f"{numba.config.NUMBA_NUM_THREADS} threads max, {os.cpu_count()} CPUs"
    )
    bench_metropolis(args.quick)
    bench_effective_rate(args.quick)
    bench_rbm_dataset()
    bench_large_set(args.quick)


if __name__ == "__main__":
    main()
