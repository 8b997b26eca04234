"""Exact results for the 2D nearest-neighbour Ising model, the ground truth of the sampler tests.

* :func:`enumerate_states` / :func:`exact_distribution` / :func:`exact_observables`: brute force
  over all 2^(L²) states of an L×L torus (L <= 4 here; 4×4 is 65,536 states).
* :func:`transfer_matrix_thermo`: exact ⟨e⟩ and c of an L-column × M-row torus from the row
  transfer matrix (2^L × 2^L, L <= 12), with the derivatives of ln Z taken analytically by
  inserting dT/dβ in the trace — no finite differences.
* :func:`onsager_magnetization`: Onsager–Yang spontaneous magnetization of the infinite lattice.

Same conventions as the samplers: E = -J Σ_<ij> s_i s_j - h Σ s_i over the 2N periodic bonds
(bonds (i, i+x̂) and (i, i+ŷ); on a 2-wide torus each pair is joined twice).
"""

from __future__ import annotations

import math

import numpy as np

from rgexp.constants import ISING_2D
from rgexp.ising.sampler import critical_temperature

__all__ = [
    "enumerate_states",
    "exact_distribution",
    "exact_observables",
    "transfer_matrix_thermo",
    "onsager_magnetization",
]


def enumerate_states(L: int) -> np.ndarray:
    """All 2^(L²) configurations, shape (2^(L²), L, L) int8; state index = bits of (s + 1) / 2."""
    n = L * L
    if n > 20:
        raise ValueError(f"L must satisfy L*L <= 20 for enumeration, got {L}")
    bits = (np.arange(2**n, dtype=np.int64)[:, None] >> np.arange(n)) & 1
    return (2 * bits - 1).astype(np.int8).reshape(-1, L, L)


def _bonds_and_mags(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = states.astype(np.int64)
    bonds = (s * (np.roll(s, -1, axis=1) + np.roll(s, -1, axis=2))).sum(axis=(1, 2))
    return bonds, s.sum(axis=(1, 2))


def exact_distribution(L: int, T: float, J: float = 1.0, h: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boltzmann probabilities of every state: (bonds Σ s_i s_j, mags Σ s_i, p), each (2^(L²),)."""
    bonds, mags = _bonds_and_mags(enumerate_states(L))
    log_w = (J * bonds + h * mags) / T
    p = np.exp(log_w - log_w.max())
    return bonds, mags, p / p.sum()


def exact_observables(L: int, T: float, J: float = 1.0, h: float = 0.0) -> dict[str, float]:
    """Exact e, c, ⟨|m|⟩, ⟨m²⟩, Binder U and χ (conventions of rgexp.ising.observables) by enumeration."""
    bonds, mags, p = exact_distribution(L, T, J, h)
    n = L * L
    e = (-J * bonds - h * mags) / n
    m = mags / n
    mean = lambda x: float(np.sum(p * x))  # noqa: E731
    m2, m4, am = mean(m**2), mean(m**4), mean(np.abs(m))
    return {
        "energy": mean(e),
        "specific_heat": n * (mean(e**2) - mean(e) ** 2) / T**2,
        "abs_m": am,
        "m2": m2,
        "binder": 1.0 - m4 / (3.0 * m2**2),
        "susceptibility": n * (m2 - am**2) / T,
    }


def transfer_matrix_thermo(
    L: int, T: float, J: float = 1.0, h: float = 0.0, n_rows: int | None = None
) -> dict[str, float]:
    """Exact ⟨e⟩ and c per spin of a periodic torus of L columns and ``n_rows`` rows (default L).

    Z = Tr 𝒯^M with 𝒯(σ, σ') = exp(-β A(σ, σ')), A = E_row(σ)/2 + E_int(σ, σ') + E_row(σ')/2.
    With 𝒯' = -A∘𝒯 and 𝒯'' = A²∘𝒯 (elementwise):
        Z' = M Tr(𝒯' 𝒯^{M-1}),  Z'' = M Tr(𝒯'' 𝒯^{M-1}) + M Σ_{k=1}^{M-1} Tr(𝒯' 𝒯^{k-1} 𝒯' 𝒯^{M-1-k}),
    ⟨E⟩ = -Z'/Z, ⟨E²⟩ = Z''/Z. A is shifted by its minimum so 𝒯 <= 1 (no overflow); the shift
    moves E by a constant, which is added back.
    """
    M = L if n_rows is None else int(n_rows)
    if not (2 <= L <= 12 and M >= 2):
        raise ValueError(f"L must be in 2..12 and n_rows >= 2, got L={L}, n_rows={M}")
    beta = 1.0 / T
    rows = (2 * ((np.arange(2**L)[:, None] >> np.arange(L)) & 1) - 1).astype(np.float64)
    e_row = -J * (rows * np.roll(rows, -1, axis=1)).sum(axis=1) - h * rows.sum(axis=1)
    a = 0.5 * e_row[:, None] + (-J * rows @ rows.T) + 0.5 * e_row[None, :]
    a_min = a.min()
    a = a - a_min
    t = np.exp(-beta * a)
    t1 = -a * t
    t2 = a * a * t
    powers = [np.eye(2**L)]
    for _ in range(M - 1):
        powers.append(powers[-1] @ t)
    z = np.trace(powers[-1] @ t)
    z1 = M * np.trace(t1 @ powers[M - 1])
    z2 = M * np.trace(t2 @ powers[M - 1])
    for k in range(1, M):
        z2 += M * np.trace(t1 @ powers[k - 1] @ t1 @ powers[M - 1 - k])
    mean_e = -z1 / z + M * a_min
    var_e = z2 / z - (z1 / z) ** 2
    n = L * M
    return {"energy": float(mean_e / n), "specific_heat": float(beta**2 * var_e / n)}


def onsager_magnetization(T: float, J: float = 1.0) -> float:
    """Spontaneous magnetization (1 - sinh(2J/T)^-4)^(1/8) below T_c(J), 0 above (J > 0)."""
    if T >= critical_temperature(J):
        return 0.0
    return (1.0 - math.sinh(2.0 * J / T) ** -4) ** ISING_2D.beta
