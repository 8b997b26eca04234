"""Thermodynamic observables of Ising samples, each an :class:`rgexp.stats.Estimate`.

Inputs are configurations ``spins`` of shape (n_samples, L, L) (any lattice shape after the first
axis for the magnetization-only observables), ±1, in Markov-chain order. Means use
:func:`rgexp.stats.mean_estimate` (error std·sqrt(2 τ_int / n), τ_int measured on the series);
the nonlinear ones (specific heat, susceptibility, Binder cumulant) use the blocked jackknife of
:func:`rgexp.stats.jackknife_estimate`, valid when blocks are longer than τ_int — true for samples
thinned as :mod:`rgexp.ising.sampler` does.

Conventions (per spin, N = L², k_B = 1):
    e = E / N with E = -J Σ_<ij> s_i s_j - h Σ s_i over the 2N periodic bonds,
    m = Σ s_i / N,
    c = N (⟨e²⟩ - ⟨e⟩²) / T²,
    χ = N (⟨m²⟩ - ⟨|m|⟩²) / T   (the finite-lattice susceptibility; ⟨m⟩ = 0 on a finite torus at
        h = 0, so ⟨|m|⟩ stands in for the order parameter; ``connected=False`` gives N ⟨m²⟩ / T),
    U = 1 - ⟨m⁴⟩ / (3 ⟨m²⟩²)   (Binder cumulant: 2/3 when ordered, -> 0 in the disordered phase).
"""

from __future__ import annotations

import numpy as np

from rgexp.stats import Estimate, jackknife_estimate, mean_estimate

__all__ = [
    "energy_per_spin",
    "magnetization",
    "mean_energy",
    "mean_abs_magnetization",
    "mean_m2",
    "specific_heat",
    "susceptibility",
    "binder_cumulant",
    "measure",
]


def _configs(spins: np.ndarray, two_d: bool = False) -> np.ndarray:
    spins = np.asarray(spins)
    if spins.ndim < 2 or spins.shape[0] < 1:
        raise ValueError(f"spins must have shape (n_samples, *lattice), got {spins.shape}")
    if two_d and (spins.ndim != 3 or spins.shape[1] != spins.shape[2]):
        raise ValueError(f"spins must have shape (n_samples, L, L), got {spins.shape}")
    return spins


def energy_per_spin(spins: np.ndarray, J: float = 1.0, h: float = 0.0) -> np.ndarray:
    """e of each configuration of ``spins`` (n_samples, L, L); returns (n_samples,) float64."""
    s = _configs(spins, two_d=True).astype(np.int32)
    bonds = (s * (np.roll(s, -1, axis=1) + np.roll(s, -1, axis=2))).sum(axis=(1, 2))
    mags = s.sum(axis=(1, 2))
    n = s.shape[1] * s.shape[2]
    return (-J * bonds - h * mags) / n


def magnetization(spins: np.ndarray) -> np.ndarray:
    """m of each configuration of ``spins`` (n_samples, *lattice); returns (n_samples,) float64."""
    s = _configs(spins)
    return s.reshape(s.shape[0], -1).mean(axis=1, dtype=np.float64)


def mean_energy(spins: np.ndarray, J: float = 1.0, h: float = 0.0) -> Estimate:
    """⟨e⟩ with its autocorrelation-corrected error."""
    return mean_estimate(energy_per_spin(spins, J, h))


def mean_abs_magnetization(spins: np.ndarray) -> Estimate:
    """⟨|m|⟩ with its autocorrelation-corrected error."""
    return mean_estimate(np.abs(magnetization(spins)))


def mean_m2(spins: np.ndarray) -> Estimate:
    """⟨m²⟩ with its autocorrelation-corrected error."""
    return mean_estimate(magnetization(spins) ** 2)


def specific_heat(
    spins: np.ndarray, T: float, J: float = 1.0, h: float = 0.0, n_blocks: int = 20
) -> Estimate:
    """c = N var(e) / T² per spin (blocked jackknife)."""
    n = int(np.prod(np.shape(spins)[1:]))
    e = energy_per_spin(spins, J, h)
    return jackknife_estimate(e, lambda x: n * x.var() / T**2, n_blocks=n_blocks)


def susceptibility(
    spins: np.ndarray, T: float, connected: bool = True, n_blocks: int = 20
) -> Estimate:
    """χ = N (⟨m²⟩ - ⟨|m|⟩²) / T, or N ⟨m²⟩ / T with ``connected=False`` (blocked jackknife)."""
    n = int(np.prod(np.shape(spins)[1:]))
    m = magnetization(spins)
    if connected:
        return jackknife_estimate(m, lambda x: n * (np.mean(x**2) - np.mean(np.abs(x)) ** 2) / T, n_blocks)
    return jackknife_estimate(m, lambda x: n * np.mean(x**2) / T, n_blocks)


def _binder(m: np.ndarray) -> float:
    m2 = np.mean(m**2)
    return float(1.0 - np.mean(m**4) / (3.0 * m2**2)) if m2 > 0 else float("nan")


def binder_cumulant(spins: np.ndarray, n_blocks: int = 20) -> Estimate:
    """U = 1 - ⟨m⁴⟩ / (3 ⟨m²⟩²) of ``spins`` (n_samples, *lattice) (blocked jackknife)."""
    return jackknife_estimate(magnetization(spins), _binder, n_blocks=n_blocks)


def measure(spins: np.ndarray, T: float, J: float = 1.0, h: float = 0.0) -> dict[str, Estimate]:
    """All of the above for samples (n_samples, L, L) at temperature T, keyed by short names."""
    return {
        "energy": mean_energy(spins, J, h),
        "abs_m": mean_abs_magnetization(spins),
        "m2": mean_m2(spins),
        "specific_heat": specific_heat(spins, T, J, h),
        "susceptibility": susceptibility(spins, T),
        "binder": binder_cumulant(spins),
    }
