"""numba kernels for the long-range Ising model (pure: arrays and a np.random.Generator in, arrays out).

The lattice is stored flat, site i = x * Ly + y on an Lx × Ly torus (d = 1 is Lx = 1, Ly = L).
Couplings enter through a flat table ``ktab`` of length Lx * Ly indexed by the displacement
k = dx * Ly + dy (dx, dy taken mod Lx, Ly): J_ij = ktab[k(j − i)], with ktab[0] = 0. The kernels
are driven by ``long_range.py`` (``_Chain`` builds the typed arrays); the tests check each against
a slow NumPy reference or an exact law.

Cluster update (after Fukui & Todo, J. Comput. Phys. 228, 2629 (2009), order-N cluster Monte
Carlo for long-range interactions): a Wolff cluster grows from a random seed spin. For a spin i in the cluster,
bond (i, i + r) is to be activated with probability p_r = 1 − exp(−λ_r), λ_r = 2 β J_r, if the
neighbour has the cluster's original sign. Instead of visiting all N − 1 displacements, draw the
activated displacements as the events of a Poisson process of total rate Λ = Σ_r λ_r: successive
Exp(1) waiting times until their sum exceeds Λ, each event landing on r with probability λ_r/Λ
(Walker alias table, O(1)). A displacement receives at least one event with probability
1 − exp(−λ_r) = p_r, independently across r, which is exactly the Swendsen–Wang/Wolff bond law.
Cost per cluster spin is O(1 + Λ) (Λ is finite for σ > 0), so a sweep is O(N), not O(N²).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def build_alias(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table for sampling index k with probability weights[k] / sum(weights).

    Returns (prob, alias): draw u ~ U[0, n), k = int(u); keep k if u − k < prob[k], else alias[k].
    """
    n = weights.size
    total = weights.sum()
    scaled = weights * (n / total)
    prob = np.ones(n)
    alias = np.arange(n)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = 0
    nl = 0
    for k in range(n):
        if scaled[k] < 1.0:
            small[ns] = k
            ns += 1
        else:
            large[nl] = k
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = scaled[g] + scaled[s] - 1.0
        if scaled[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    # Leftovers (rounding) keep prob = 1.
    return prob, alias


@njit(cache=True)
def alias_draw(prob: np.ndarray, alias: np.ndarray, rng: np.random.Generator) -> int:
    """One index from an alias table (``wolff_updates`` inlines the same three lines)."""
    u = rng.random() * prob.size
    k = int(u)
    if k >= prob.size:  # u == n only through rounding
        k = prob.size - 1
    if u - k < prob[k]:
        return k
    return alias[k]


@njit(cache=True)
def wolff_updates(
    spins: np.ndarray,
    Lx: int,
    Ly: int,
    prob: np.ndarray,
    alias: np.ndarray,
    rate: float,
    n_updates: int,
    rng: np.random.Generator,
    stack: np.ndarray,
) -> int:
    """``n_updates`` Wolff cluster flips in place on flat int8 ``spins``; returns spins flipped.

    ``prob, alias`` sample displacements with probability λ_k / Λ, ``rate`` = Λ = Σ_k λ_k.
    ``stack`` is int64 scratch of length >= N. Cluster members are flipped when added, so the
    test ``spins[j] == s0`` also excludes spins already in the cluster.
    """
    n = Lx * Ly
    n_k = prob.size
    flipped = 0
    for _ in range(n_updates):
        i0 = int(rng.random() * n)
        if i0 >= n:  # rounding guard
            i0 = n - 1
        s0 = spins[i0]
        spins[i0] = -s0
        stack[0] = i0
        top = 1
        while top > 0:
            top -= 1
            i = stack[top]
            xi = i // Ly
            yi = i - xi * Ly
            flipped += 1
            t = rng.standard_exponential()
            while t < rate:
                # Alias draw of a displacement k = (kx, ky), inlined.
                u = rng.random() * n_k
                k = int(u)
                if k >= n_k:
                    k = n_k - 1
                if u - k >= prob[k]:
                    k = alias[k]
                kx = k // Ly
                x = xi + kx
                if x >= Lx:
                    x -= Lx
                y = yi + (k - kx * Ly)
                if y >= Ly:
                    y -= Ly
                j = x * Ly + y
                if spins[j] == s0:
                    spins[j] = -s0
                    stack[top] = j
                    top += 1
                t += rng.standard_exponential()
    return flipped


@njit(cache=True)
def local_fields(spins: np.ndarray, ktab: np.ndarray, Lx: int, Ly: int) -> np.ndarray:
    """h_i = Σ_{j≠i} J_ij s_j for flat spins; O(N²). Shape (N,), float64."""
    n = Lx * Ly
    h = np.zeros(n)
    for i in range(n):
        acc = 0.0
        xi = i // Ly
        yi = i % Ly
        for j in range(n):
            dx = (j // Ly - xi) % Lx
            dy = (j % Ly - yi) % Ly
            acc += ktab[dx * Ly + dy] * spins[j]
        h[i] = acc
    return h


@njit(cache=True)
def metropolis_sweeps(
    spins: np.ndarray,
    h: np.ndarray,
    ktab: np.ndarray,
    Lx: int,
    Ly: int,
    beta: float,
    n_sweeps: int,
    rng: np.random.Generator,
) -> int:
    """``n_sweeps`` × N single-spin Metropolis attempts at random sites; returns accepted flips.

    ``h`` (local fields, kept exact) is updated in O(N) per accepted flip. Random site choice
    (not a fixed order) keeps the chain reversible and ergodic (see the 1D trap in TRAPS.md).
    """
    n = Lx * Ly
    accepted = 0
    for _ in range(n_sweeps * n):
        i = rng.integers(0, n)
        de = 2.0 * spins[i] * h[i]
        if de <= 0.0 or rng.random() < np.exp(-beta * de):
            s_new = -spins[i]
            spins[i] = s_new
            accepted += 1
            xi = i // Ly
            yi = i % Ly
            for x in range(Lx):
                dx = (x - xi) % Lx
                for y in range(Ly):
                    dy = (y - yi) % Ly
                    h[x * Ly + y] += 2.0 * s_new * ktab[dx * Ly + dy]
    return accepted


@njit(cache=True)
def run_cluster_chain(
    spins: np.ndarray,
    Lx: int,
    Ly: int,
    prob: np.ndarray,
    alias: np.ndarray,
    rate: float,
    updates_per_sample: int,
    rng: np.random.Generator,
    out: np.ndarray,
) -> int:
    """Fill ``out`` (n_store, N) int8: ``updates_per_sample`` cluster flips, then a random global
    flip (an exact symmetry at h = 0), then a copy; returns total spins flipped by clusters."""
    stack = np.empty(Lx * Ly, dtype=np.int64)
    flipped = 0
    for s in range(out.shape[0]):
        flipped += wolff_updates(spins, Lx, Ly, prob, alias, rate, updates_per_sample, rng, stack)
        if rng.random() < 0.5:
            for i in range(spins.size):
                spins[i] = -spins[i]
        out[s] = spins
    return flipped


@njit(cache=True)
def run_metropolis_chain(
    spins: np.ndarray,
    h: np.ndarray,
    ktab: np.ndarray,
    Lx: int,
    Ly: int,
    beta: float,
    sweeps_per_sample: int,
    rng: np.random.Generator,
    out: np.ndarray,
) -> int:
    """Fill ``out`` (n_store, N) int8 with Metropolis states ``sweeps_per_sample`` apart, each
    followed by a random global flip (spins and fields change sign); returns accepted flips."""
    accepted = 0
    for s in range(out.shape[0]):
        accepted += metropolis_sweeps(spins, h, ktab, Lx, Ly, beta, sweeps_per_sample, rng)
        if rng.random() < 0.5:
            for i in range(spins.size):
                spins[i] = -spins[i]
                h[i] = -h[i]
        out[s] = spins
    return accepted
