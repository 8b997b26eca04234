"""Many independent Markov chains of the 2D Ising model, advanced in parallel (numba ``prange``).

One chain per lattice in ``spins`` (n_chains, L, L), each with its own temperature, its own
xoshiro256** stream (row of ``states``) and its own number of sweeps, so a chain's trajectory
depends only on its own inputs — never on the thread count or on which other chains share the call.
``spins`` and ``states`` are advanced in place, so a chain continues across calls.

A *sweep* is one checkerboard Metropolis sweep (L² attempted flips), one Swendsen–Wang update, or
``flips_per_sweep`` Wolff clusters (chosen by the caller so that a sweep flips L² spins on average;
``0`` means "flip clusters until L² spins have flipped", a stopping rule fine for burn-in but not
for stored samples, whose times must not depend on the trajectory).

Per sweep the kernel records Σ s_i s_j and Σ s_i every ``series_every`` sweeps and stores a copy of
the lattice every ``store_every`` sweeps, optionally after a global flip s → −s with probability
1/2 (an exact symmetry only for h = 0) so that both magnetization signs appear below T_c.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba import njit, prange

from rgexp.ising._rng import draw53
from rgexp.ising.nn2d import (
    _bond_sum,
    _metropolis_sweep,
    _spin_sum,
    _swendsen_wang_update,
    _wolff_cluster,
    cluster_threshold,
    metropolis_tables,
)

__all__ = ["ALGORITHMS", "ChainRun", "run_chains"]

ALGORITHMS: tuple[str, ...] = ("metropolis", "wolff", "swendsen_wang")
_HALF53 = np.uint64(1 << 52)


@njit(parallel=True, cache=True)
def _run_chains(
    algorithm, spins, thr, thr_add, sign_j, states, n_sweeps, flips_per_sweep,
    store_every, series_every, global_flip, n_store_max, n_series_max,
):  # fmt: skip
    n_chains, L, _ = spins.shape
    n = L * L
    stored = np.empty((n_chains, n_store_max, L, L), dtype=np.int8)
    bonds = np.zeros((n_chains, n_series_max), dtype=np.int64)
    mags = np.zeros((n_chains, n_series_max), dtype=np.int64)
    work = np.zeros((n_chains, 2), dtype=np.int64)
    for c in prange(n_chains):
        s = spins[c]
        state = states[c]
        # Metropolis neighbour codes, padded by a cache line each side: without it the small
        # buffers of different chains share cache lines and threads slow each other down.
        kbuf = np.empty(L + 128, dtype=np.uint8)[64 : 64 + L]
        scratch = n if algorithm != 0 else 1
        ints = np.empty(scratch, dtype=np.int64)  # Wolff stack / SW parent
        marks = np.zeros(scratch, dtype=np.int64)  # Wolff stamps
        flags = np.empty(scratch, dtype=np.int8)  # SW flip decisions
        stamp_id = 0
        carry = 0
        k_store = 0
        k_series = 0
        for t in range(n_sweeps[c]):
            if algorithm == 0:
                work[c, 0] += _metropolis_sweep(s, thr[c], state, kbuf)
                work[c, 1] += n
            else:
                if algorithm == 1:
                    fixed = flips_per_sweep[c]
                    f = 0
                    while (fixed > 0 and f < fixed) or (fixed == 0 and carry < n):
                        stamp_id += 1
                        size = _wolff_cluster(s, thr_add[c], sign_j, state, ints, marks, stamp_id)
                        carry += size
                        work[c, 0] += size
                        work[c, 1] += 1
                        f += 1
                    carry = carry - n if fixed == 0 else 0
                else:
                    work[c, 0] += _swendsen_wang_update(s, thr_add[c], sign_j, state, ints, flags)
                    work[c, 1] += 1
            if store_every[c] > 0 and (t + 1) % store_every[c] == 0 and k_store < n_store_max:
                if global_flip and draw53(state) < _HALF53:
                    for i in range(L):
                        for j in range(L):
                            s[i, j] = -s[i, j]
                stored[c, k_store] = s
                k_store += 1
            if series_every[c] > 0 and (t + 1) % series_every[c] == 0 and k_series < n_series_max:
                bonds[c, k_series] = _bond_sum(s)
                mags[c, k_series] = _spin_sum(s)
                k_series += 1
    return stored, bonds, mags, work


class ChainRun(NamedTuple):
    """What one :func:`run_chains` call returns (per chain c).

    stored: (n_chains, max n_store, L, L) int8, the first n_sweeps[c] // store_every[c] rows valid.
    bonds, mags: (n_chains, max n_series) int64 series of Σ s_i s_j and Σ s_i.
    work: (n_chains, 2) int64 — Metropolis (accepted, attempted); Wolff (flipped spins,
          clusters); Swendsen–Wang (clusters, updates).
    """

    stored: np.ndarray
    bonds: np.ndarray
    mags: np.ndarray
    work: np.ndarray


def _per_chain(x: int | np.ndarray, n_chains: int, name: str) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(x, dtype=np.int64), (n_chains,)).copy()
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {arr.tolist()}")
    return arr


def run_chains(
    spins: np.ndarray,
    temperatures: np.ndarray,
    states: np.ndarray,
    n_sweeps: int | np.ndarray,
    *,
    algorithm: str,
    J: float = 1.0,
    h: float = 0.0,
    store_every: int | np.ndarray = 0,
    series_every: int | np.ndarray = 1,
    flips_per_sweep: int | np.ndarray = 0,
    global_flip: bool = False,
) -> ChainRun:
    """Advance ``spins`` (n_chains, L, L) int8 by ``n_sweeps`` sweeps per chain, in place.

    ``temperatures`` (n_chains,) > 0; ``states`` (n_chains, 4) uint64 (from
    :func:`rgexp.ising._rng.chain_states`), advanced in place. Integer arguments are scalars or
    (n_chains,) arrays; 0 switches storing / recording off. ``flips_per_sweep`` is used by Wolff
    only. ``global_flip`` needs h = 0.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if not isinstance(spins, np.ndarray) or spins.dtype != np.int8 or spins.ndim != 3:
        raise TypeError("spins must be an int8 array of shape (n_chains, L, L)")
    n_chains, L, L2 = spins.shape
    if L != L2 or L < 2 or not spins.flags.c_contiguous or not spins.flags.writeable:
        raise ValueError(f"spins must be writeable, C-contiguous, shape (n_chains, L, L), L >= 2; got {spins.shape}")
    temps = np.asarray(temperatures, dtype=np.float64).reshape(-1)
    if temps.shape != (n_chains,) or not np.all(np.isfinite(temps) & (temps > 0)):
        raise ValueError(f"temperatures must be {n_chains} finite values > 0, got {temps.tolist()}")
    if states.dtype != np.uint64 or states.shape != (n_chains, 4) or not states.flags.c_contiguous:
        raise ValueError(f"states must be a C-contiguous uint64 array of shape ({n_chains}, 4)")
    if not np.isfinite(J) or not np.isfinite(h):
        raise ValueError(f"J and h must be finite, got J={J}, h={h}")
    if algorithm != "metropolis" and h != 0.0:
        raise ValueError(f"h must be 0 for algorithm={algorithm!r} (cluster updates need a zero field), got {h}")
    if global_flip and h != 0.0:
        raise ValueError(f"global_flip needs h = 0 (s -> -s is not a symmetry otherwise), got h={h}")
    sweeps = _per_chain(n_sweeps, n_chains, "n_sweeps")
    store = _per_chain(store_every, n_chains, "store_every")
    series = _per_chain(series_every, n_chains, "series_every")
    fps = _per_chain(flips_per_sweep, n_chains, "flips_per_sweep")
    n_store = int(np.max(np.where(store > 0, sweeps // np.maximum(store, 1), 0), initial=0))
    n_series = int(np.max(np.where(series > 0, sweeps // np.maximum(series, 1), 0), initial=0))
    thr = np.array([metropolis_tables(T, J, h) for T in temps], dtype=np.uint64).reshape(n_chains, 10)
    thr_add = np.array([cluster_threshold(T, J) for T in temps], dtype=np.uint64)
    with numba.parallel_chunksize(1):  # chains differ in cost: hand them out one at a time
        out = _run_chains(
            ALGORITHMS.index(algorithm), spins, thr, thr_add, int(np.sign(J)), states,
            sweeps, fps, store, series, bool(global_flip), n_store, n_series,
        )  # fmt: skip
    return ChainRun(*out)
