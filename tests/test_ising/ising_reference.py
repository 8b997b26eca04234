"""Slow, readable NumPy/Python twins of the numba kernels in rgexp.ising.nn2d.

Each consumes the same xoshiro256** stream (pure-Python :class:`Xoshiro256`) in the order the
kernel documents, so kernel and reference must agree bit for bit: same spins, same return value,
same final generator state. Also: a χ² helper for histogram tests.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from rgexp.ising._rng import Xoshiro256


def metropolis_sweep_ref(
    s: np.ndarray, T: float, rng: Xoshiro256, J: float = 1.0, h: float = 0.0
) -> tuple[np.ndarray, int]:
    """Sequential Metropolis in checkerboard order (colour 0 then 1, rows, then columns), a(0) = 1/2."""
    s = s.copy()
    L = s.shape[0]
    accepted = 0
    for color in (0, 1):
        for i in range(L):
            for j in range(L):
                if (i + j) % 2 != color:
                    continue
                nb = s[(i - 1) % L, j] + s[(i + 1) % L, j] + s[i, (j - 1) % L] + s[i, (j + 1) % L]
                d_e = 2.0 * s[i, j] * (J * nb + h)
                p = 0.5 if d_e == 0 else min(1.0, float(np.exp(-d_e / T)))  # a(0) = 1/2: see nn2d
                if rng.uniform() < p:
                    s[i, j] = -s[i, j]
                    accepted += 1
    return s, accepted


def _neighbours(site: int, L: int) -> list[int]:
    r, c = divmod(site, L)
    return [r * L + (c + 1) % L, r * L + (c - 1) % L, ((r + 1) % L) * L + c, ((r - 1) % L) * L + c]


def wolff_ref(s: np.ndarray, T: float, rng: Xoshiro256, J: float = 1.0) -> tuple[np.ndarray, int]:
    """One Wolff cluster: uniform seed, depth-first growth, neighbours right, left, down, up."""
    L = s.shape[0]
    n = L * L
    old = s.reshape(n).copy()
    p = float(-np.expm1(-2.0 * abs(J) / T))
    seed = min(int(rng.uniform() * n), n - 1)
    in_cluster = np.zeros(n, dtype=bool)
    in_cluster[seed] = True
    stack = [seed]
    while stack:
        site = stack.pop()
        for nb in _neighbours(site, L):
            satisfied = np.sign(J) * old[site] * old[nb] > 0
            if not in_cluster[nb] and satisfied and rng.uniform() < p:
                in_cluster[nb] = True
                stack.append(nb)
    new = old.copy()
    new[in_cluster] *= -1
    return new.reshape(L, L), int(in_cluster.sum())


def swendsen_wang_ref(s: np.ndarray, T: float, rng: Xoshiro256, J: float = 1.0) -> tuple[np.ndarray, int]:
    """Bonds (right, then down) in raster order; clusters by graph search; one coin per cluster."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    L = s.shape[0]
    n = L * L
    flat = s.reshape(n).copy()
    p = float(-np.expm1(-2.0 * abs(J) / T))
    edges = []
    for site in range(n):
        r, c = divmod(site, L)
        for nb in (r * L + (c + 1) % L, ((r + 1) % L) * L + c):
            if np.sign(J) * flat[site] * flat[nb] > 0 and rng.uniform() < p:
                edges.append((site, nb))
    rows = [a for a, _ in edges]
    cols = [b for _, b in edges]
    graph = coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(n, n))
    n_clusters, labels = connected_components(graph, directed=False)
    coin: dict[int, bool] = {}
    for site in range(n):  # one coin per cluster, tossed at its first site in raster order
        if labels[site] not in coin:
            coin[labels[site]] = rng.uniform() < 0.5
        if coin[labels[site]]:
            flat[site] = -flat[site]
    return flat.reshape(L, L), n_clusters


def chi2_pvalue(observed: np.ndarray, expected_p: np.ndarray, tau: float = 0.5, min_expected: float = 5.0) -> float:
    """χ² goodness-of-fit p-value; bins with fewer than ``min_expected`` counts expected are pooled.

    ``tau`` is the integrated autocorrelation time of the (thinned) samples: χ² is divided by
    2τ (>= 1), the variance inflation of histogram counts from correlated samples.
    """
    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected_p, dtype=float) * observed.sum()
    small = expected < min_expected
    if small.any():
        observed = np.append(observed[~small], observed[small].sum())
        expected = np.append(expected[~small], expected[small].sum())
        if expected[-1] == 0:
            observed, expected = observed[:-1], expected[:-1]
    chi2 = np.sum((observed - expected) ** 2 / expected) / max(1.0, 2.0 * tau)
    return float(stats.chi2.sf(chi2, df=observed.size - 1))

