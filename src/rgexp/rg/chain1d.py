"""Exact decimation RG of the 1D Ising chain (b = 2).

Summing out every other spin of H/T = -K Σ s_i s_{i+1} - h Σ s_i leaves a chain of the same form
with (Nelson & Fisher's recursion; derived by summing s_2 in exp(K s_1 s_2 + K s_2 s_3 + h s_2)):

    K' = ¼ ln[cosh(2K + h) cosh(2K − h) / cosh² h]
    h' = h + ½ ln[cosh(2K + h) / cosh(2K − h)]

For h = 0 this is tanh K' = tanh² K, i.e. K' = ½ ln cosh 2K, with fixed points K* = 0 (stable,
the high-temperature sink) and K* = ∞ (unstable). The map is exact: the marginal law of the kept
spins of a periodic chain of N spins is the chain of N/2 spins with (K', h').
"""

from __future__ import annotations

import numpy as np

__all__ = ["decimation_step", "coupling_flow", "FIXED_POINTS_H0"]

#: Fixed points of K' = ½ ln cosh 2K (h = 0) and their stability.
FIXED_POINTS_H0: dict[str, float] = {"stable": 0.0, "unstable": float("inf")}


def _log_cosh(x: np.ndarray) -> np.ndarray:
    """log cosh x without overflow: |x| + log1p(e^{-2|x|}) - log 2."""
    ax = np.abs(x)
    return ax + np.log1p(np.exp(-2.0 * ax)) - np.log(2.0)


def decimation_step(K: float | np.ndarray, h: float | np.ndarray = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """One b = 2 decimation: (K, h) -> (K', h'), elementwise on arrays. K >= 0 (ferromagnet)."""
    K = np.asarray(K, dtype=np.float64)
    h = np.asarray(h, dtype=np.float64)
    if np.any(K < 0):
        raise ValueError(f"K must be >= 0 (ferromagnetic chain), got {K}")
    lp, lm, lh = _log_cosh(2 * K + h), _log_cosh(2 * K - h), _log_cosh(h)
    return 0.25 * (lp + lm - 2.0 * lh), h + 0.5 * (lp - lm)


def coupling_flow(K0: float, h0: float = 0.0, n_steps: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(K_k, h_k) for k = 0..n_steps under repeated decimation, shapes (n_steps + 1,)."""
    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, got {n_steps}")
    Ks, hs = [float(K0)], [float(h0)]
    for _ in range(n_steps):
        K, h = decimation_step(Ks[-1], hs[-1])
        Ks.append(float(K))
        hs.append(float(h))
    return np.array(Ks), np.array(hs)
