"""numba kernels for the 2D nearest-neighbour Ising model on a periodic L×L lattice.

    H(s) = -J Σ_<ij> s_i s_j - h Σ_i s_i,   s_i = ±1 (int8), bonds (i, i+x̂) and (i, i+ŷ) with
    periodic wrap, so an L×L torus has 2L² bonds (for L = 2 each pair is joined by two bonds).

Three single-chain updates, each one pure function of (spins, parameters, xoshiro state) that
changes ``spins`` and ``state`` in place:

* :func:`metropolis_sweep` – one checkerboard sweep: all sites with (i + j) even, then all odd,
  rows in order, one draw per site against a(ΔE) = min(1, exp(-β ΔE)), except a(0) = 1/2.
  Supports h. Why a(0) = 1/2: with the textbook a(0) = 1 a fixed-order sweep is *reducible* on
  small tori: zero-energy flips are forced, so e.g. on 4×4 a closed set of 36 states (the row
  stripes, where every site has Σ_nb = 0, among them) cycles deterministically and no other state
  reaches it (3×3: 8 states, 0.6% of the weight at T = 3; the same trap as the 1D chain in
  TRAPS.md; tests/test_ising/test_nn2d_kernels.py shows it exactly). Any a(0) satisfies detailed
  balance, and with a(0) < 1 no flip is ever forced except downhill ones.
* :func:`wolff_cluster` – one Wolff single-cluster flip: a uniformly drawn seed site, then
  neighbours tried in the order right, left, down, up (depth first, LIFO stack), each satisfied
  bond (J s_i s_j > 0) added with p = 1 - exp(-2β|J|). Needs h = 0.
* :func:`swendsen_wang_update` – every satisfied bond (right, then down, sites in raster order)
  frozen with p; clusters (union-find) flipped with probability 1/2, one draw per cluster in the
  order of its first site in raster order. Needs h = 0.

The draw orders are part of the contract: the tests replay them in NumPy with the same stream.
Each ``_kernel`` has a typed wrapper below it that checks shapes and dtypes;
:mod:`rgexp.ising.chains` runs many chains of these kernels in parallel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rgexp.ising._rng import chain_states, next_u64, threshold

__all__ = [
    "metropolis_tables",
    "cluster_threshold",
    "metropolis_sweep",
    "wolff_cluster",
    "swendsen_wang_update",
]

_HALF53 = np.uint64(1 << 52)  # (x >> 11) < 2**52  <=>  u < 1/2
_INV53 = 2.0**-53


@njit(cache=True)
def _bond_sum(s):
    """Σ_<ij> s_i s_j over the 2L² bonds of the torus, as int64."""
    L = s.shape[0]
    b = 0
    for i in range(L):
        row = s[i]
        down = s[i + 1 if i + 1 < L else 0]
        acc = np.int32(row[L - 1] * (row[0] + down[L - 1]))
        for j in range(L - 1):
            acc += row[j] * (row[j + 1] + down[j])
        b += acc
    return b


@njit(cache=True)
def _spin_sum(s):
    """Σ_i s_i as int64."""
    L = s.shape[0]
    m = 0
    for i in range(L):
        row = s[i]
        acc = np.int32(0)
        for j in range(L):
            acc += row[j]
        m += acc
    return m


@njit(inline="always")
def _row_codes(kbuf, up, row, down):
    """kbuf[j] = 5 * (s_ij > 0) + (Σ_nb + 4) / 2 for one row (a branch-free, vectorisable pass)."""
    L = row.shape[0]
    kbuf[0] = ((up[0] + down[0] + row[L - 1] + row[1] + 4) >> 1) + 5 * ((row[0] + 1) >> 1)
    for j in range(1, L - 1):
        kbuf[j] = ((up[j] + down[j] + row[j - 1] + row[j + 1] + 4) >> 1) + 5 * ((row[j] + 1) >> 1)
    kbuf[L - 1] = ((up[L - 1] + down[L - 1] + row[L - 2] + row[0] + 4) >> 1) + 5 * ((row[L - 1] + 1) >> 1)


@njit(cache=True)
def _metropolis_sweep(s, thr, state, kbuf):
    """One checkerboard Metropolis sweep of ``s`` (L, L) int8, in place; returns accepted flips.

    Visit order: colour 0 ((i + j) even) then colour 1, rows i ascending, columns j ascending;
    every visit draws one 53-bit number x and flips s_ij when x < thr[k], k = 5 * (s_ij > 0) +
    (Σ_nb + 4) / 2, thr[k] = threshold(a(ΔE)) (:func:`metropolis_tables`). This is exactly sequential
    Metropolis in that fixed order. Neighbour codes are computed a row at a time (same-colour
    sites of a row are not neighbours), except the wrap pair (0, L-1) of an odd row.
    ``state`` is one uint64[4] xoshiro state, ``kbuf`` (L,) uint8 scratch.
    """
    L = s.shape[0]
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    accepted = 0
    for color in range(2):
        for i in range(L):
            up = s[i - 1 if i > 0 else L - 1]
            row = s[i]
            down = s[i + 1 if i + 1 < L else 0]
            _row_codes(kbuf, up, row, down)
            for j in range((i + color) & 1, L, 2):
                uj = np.uint64(j)  # unsigned index: no negative-index wraparound code
                if L & 1 and j == L - 1:  # odd L: the left neighbour (0) may have just flipped
                    kbuf[uj] = ((up[uj] + down[uj] + row[uj - 1] + row[0] + 4) >> 1) + 5 * ((row[uj] + 1) >> 1)
                x, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
                f = np.int8((x >> np.uint64(11)) < thr[np.uint64(kbuf[uj])])
                row[uj] = row[uj] * (np.int8(1) - np.int8(2) * f)  # branch-free flip
                accepted += f
    state[0] = s0
    state[1] = s1
    state[2] = s2
    state[3] = s3
    return accepted


@njit(cache=True)
def _wolff_cluster(s, thr_add, sign_j, state, stack, stamp, stamp_id):
    """Grow and flip one Wolff cluster in ``s`` (L, L) int8, in place; return its size.

    ``thr_add`` = threshold(1 - exp(-2β|J|)); ``sign_j`` = sign of J (0: clusters of one site).
    ``stack`` (L²,) int64 is scratch; ``stamp`` (L²,) int64 marks cluster members with the value
    ``stamp_id``, which the caller makes unique per cluster so the array never needs clearing.
    Draws: one for the seed site (floor(u L²)), then one per satisfied bond to a non-member.
    """
    L = s.shape[0]
    n = L * L
    flat = s.reshape(n)
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]  # the stream in registers
    x, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    seed = min(int(np.float64(x >> np.uint64(11)) * _INV53 * n), n - 1)
    flat[seed] = -flat[seed]
    stamp[seed] = stamp_id
    stack[0] = seed
    top = 1
    size = 1
    while top > 0:
        top -= 1
        site = stack[top]
        want = sign_j * (-flat[site])  # J s_i s_j > 0 with s_i the site's spin before it flipped
        r = site // L
        c = site - r * L
        for k in range(4):
            if k == 0:
                nb = site + 1 if c + 1 < L else site + 1 - L
            elif k == 1:
                nb = site - 1 if c > 0 else site - 1 + L
            elif k == 2:
                nb = site + L if r + 1 < L else site + L - n
            else:
                nb = site - L if r > 0 else site - L + n
            unb = np.uint64(nb)  # unsigned index: no negative-index wraparound code
            if flat[unb] == want and stamp[unb] != stamp_id:
                x, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
                if (x >> np.uint64(11)) < thr_add:
                    flat[unb] = -want
                    stamp[unb] = stamp_id
                    stack[top] = nb
                    top += 1
                    size += 1
    state[0] = s0
    state[1] = s1
    state[2] = s2
    state[3] = s3
    return size


@njit(inline="always")
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@njit(cache=True)
def _swendsen_wang_update(s, thr_add, sign_j, state, parent, flip):
    """One Swendsen–Wang update of ``s`` (L, L) int8, in place; return the number of clusters.

    ``parent`` (L²,) int64 and ``flip`` (L²,) int8 are scratch arrays (overwritten). Draws: one
    per satisfied bond (site order, right bond then down bond), then one per cluster at its
    first site in raster order (flip when u < 1/2).
    """
    L = s.shape[0]
    n = L * L
    flat = s.reshape(n)
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for i in range(n):
        parent[i] = i
        flip[i] = -1
    for site in range(n):
        r = site // L
        c = site - r * L
        for k in range(2):
            if k == 0:
                nb = site + 1 if c + 1 < L else site + 1 - L
            else:
                nb = site + L if r + 1 < L else site + L - n
            if sign_j * flat[site] * flat[np.uint64(nb)] > 0:
                x, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
                if (x >> np.uint64(11)) < thr_add:
                    a = _find(parent, site)
                    b = _find(parent, nb)
                    if a < b:
                        parent[b] = a
                    elif b < a:
                        parent[a] = b
    n_clusters = 0
    for site in range(n):
        root = _find(parent, site)
        if flip[root] < 0:
            x, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
            flip[root] = 1 if (x >> np.uint64(11)) < _HALF53 else 0
            n_clusters += 1
        if flip[root] == 1:
            flat[site] = -flat[site]
    state[0] = s0
    state[1] = s1
    state[2] = s2
    state[3] = s3
    return n_clusters


# ---- typed wrappers -------------------------------------------------------------------------


def metropolis_tables(T: float, J: float = 1.0, h: float = 0.0) -> np.ndarray:
    """Acceptance thresholds for :func:`_metropolis_sweep`: (10,) uint64.

    Entry k = 5 * (s_i > 0) + (Σ_nb + 4) / 2 is threshold(a(ΔE)) with ΔE = 2 s_i (J Σ_nb + h) and
    a(ΔE) = min(1, exp(-ΔE / T)) for ΔE != 0, a(0) = 1/2 (see the module docstring: a forced
    zero-energy flip makes fixed-order sweeps reducible). threshold(1) = 2**53 accepts every draw.
    """
    thr = np.zeros(10, dtype=np.uint64)
    for up in range(2):
        si = 1 if up else -1
        for k, nb in enumerate(range(-4, 5, 2)):
            d_e = 2.0 * si * (J * nb + h)
            # ΔE < 0 is always accepted (no exp: at T = 1e-6 it would overflow)
            a = 0.5 if d_e == 0.0 else 1.0 if d_e < 0.0 else float(np.exp(-d_e / T))
            thr[5 * up + k] = threshold(a)
    return thr


def cluster_threshold(T: float, J: float = 1.0) -> np.uint64:
    """threshold(p) of the bond probability p = 1 - exp(-2|J|/T) of Wolff and Swendsen–Wang."""
    return threshold(-np.expm1(-2.0 * abs(J) / T))


def _lattice(spins: np.ndarray) -> np.ndarray:
    if not isinstance(spins, np.ndarray) or spins.dtype != np.int8:
        raise TypeError(f"spins must be an int8 ndarray, got {getattr(spins, 'dtype', type(spins))}")
    if spins.ndim != 2 or spins.shape[0] != spins.shape[1] or spins.shape[0] < 2:
        raise ValueError(f"spins must have shape (L, L) with L >= 2, got {spins.shape}")
    if not spins.flags.c_contiguous or not spins.flags.writeable:
        raise ValueError("spins must be a writeable C-contiguous array (it is updated in place)")
    if np.any(np.abs(spins) != 1):
        raise ValueError("spins must hold only -1 and +1")
    return spins


def _state(rng: np.random.Generator | np.ndarray) -> np.ndarray:
    """A uint64[4] xoshiro state: drawn from a Generator, or the caller's array (advanced in place)."""
    if isinstance(rng, np.random.Generator):
        return chain_states(rng, 1)[0]
    if isinstance(rng, np.ndarray) and rng.dtype == np.uint64 and rng.shape == (4,):
        if not rng.flags.c_contiguous or not rng.flags.writeable:
            raise ValueError("a state array must be writeable and C-contiguous")
        return rng
    raise TypeError("rng must be a np.random.Generator or a uint64 xoshiro state of shape (4,)")


def _temperature(T: float) -> float:
    T = float(T)
    if not (np.isfinite(T) and T > 0.0):
        raise ValueError(f"T must be a finite number > 0, got {T}")
    return T


def _cluster_coupling(J: float, h: float, name: str) -> int:
    if h != 0.0:
        raise ValueError(
            f"h must be 0 for {name} (cluster updates need a zero field; use Metropolis), got {h}"
        )
    if not np.isfinite(J):
        raise ValueError(f"J must be finite, got {J}")
    return int(np.sign(J))


def metropolis_sweep(
    spins: np.ndarray,
    T: float,
    rng: np.random.Generator | np.ndarray,
    *,
    J: float = 1.0,
    h: float = 0.0,
) -> int:
    """One checkerboard Metropolis sweep of ``spins`` (L, L) int8, in place; returns accepted flips."""
    spins = _lattice(spins)
    thr = metropolis_tables(_temperature(T), J, h)
    kbuf = np.empty(spins.shape[0], dtype=np.uint8)
    return int(_metropolis_sweep(spins, thr, _state(rng), kbuf))


def wolff_cluster(
    spins: np.ndarray,
    T: float,
    rng: np.random.Generator | np.ndarray,
    *,
    J: float = 1.0,
    h: float = 0.0,
) -> int:
    """Flip one Wolff cluster of ``spins`` (L, L) int8 in place; returns its size. h must be 0."""
    spins = _lattice(spins)
    sign_j = _cluster_coupling(J, h, "Wolff")
    n = spins.size
    stack = np.empty(n, dtype=np.int64)
    stamp = np.zeros(n, dtype=np.int64)
    return int(
        _wolff_cluster(spins, cluster_threshold(_temperature(T), J), sign_j, _state(rng), stack, stamp, 1)
    )


def swendsen_wang_update(
    spins: np.ndarray,
    T: float,
    rng: np.random.Generator | np.ndarray,
    *,
    J: float = 1.0,
    h: float = 0.0,
) -> int:
    """One Swendsen–Wang update of ``spins`` (L, L) int8 in place; returns the number of clusters."""
    spins = _lattice(spins)
    sign_j = _cluster_coupling(J, h, "Swendsen-Wang")
    n = spins.size
    parent = np.empty(n, dtype=np.int64)
    flip = np.empty(n, dtype=np.int8)
    thr_add = cluster_threshold(_temperature(T), J)
    return int(_swendsen_wang_update(spins, thr_add, sign_j, _state(rng), parent, flip))
