"""Sampled distributions against exact enumeration (3×3, 4×4) and the transfer matrix (6×6).

Every algorithm, several temperatures. Samples are thinned by the measured τ_int (thin=None), and
the χ² statistic is further divided by 2τ_int measured on the stored series. A test fails when
the p-value is below 1e-3; ⟨e⟩ and c must lie within 4 standard errors of the exact values.
"""

from __future__ import annotations

import numpy as np
import pytest
from ising_reference import chi2_pvalue

from rgexp.ising import T_C, energy_per_spin, mean_energy, simulate_ising2d, specific_heat
from rgexp.ising.exact import enumerate_states, exact_distribution, transfer_matrix_thermo

ALGORITHMS = ["wolff", "swendsen_wang", "metropolis"]
P_MIN = 1e-3
N_SIGMA = 4.0


def _class_counts(spins: np.ndarray, T: float, J: float = 1.0, h: float = 0.0):
    """Observed counts and exact probabilities of the (Σ s_i s_j, Σ s_i) classes of an L×L torus."""
    L = spins.shape[1]
    bonds, mags, p = exact_distribution(L, T, J, h)
    s = spins.astype(np.int64)
    b_obs = (s * (np.roll(s, -1, 1) + np.roll(s, -1, 2))).sum(axis=(1, 2))
    m_obs = s.sum(axis=(1, 2))
    key = lambda b, m: (b + 2 * L * L) * (2 * L * L + 1) + (m + L * L)  # noqa: E731
    classes, inverse = np.unique(key(bonds, mags), return_inverse=True)
    assert np.isin(key(b_obs, m_obs), classes).all()
    observed = np.bincount(np.searchsorted(classes, key(b_obs, m_obs)), minlength=classes.size)
    return observed, np.bincount(inverse, weights=p)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("L", [3, 4])
@pytest.mark.parametrize("T", [1.5, T_C, 3.5])
def test_energy_magnetization_histogram(algorithm, L, T):
    spins, info = simulate_ising2d(L, T, 20000, algorithm=algorithm, seed=101)
    observed, p_class = _class_counts(spins, T)
    tau = max(info["tau_int_absm"], info["tau_int_energy"])
    assert chi2_pvalue(observed, p_class, tau) > P_MIN


@pytest.mark.parametrize(
    "algorithm, J, h",
    [("metropolis", 1.0, 0.3), ("metropolis", -1.0, 0.5), ("wolff", -1.0, 0.0), ("swendsen_wang", -0.6, 0.0)],
)
def test_histogram_with_field_or_antiferromagnet(algorithm, J, h):
    L, T = 4, 2.0
    spins, info = simulate_ising2d(L, T, 20000, algorithm=algorithm, seed=7, J=J, h=h)
    observed, p_class = _class_counts(spins, T, J, h)
    tau = max(info["tau_int_absm"], info["tau_int_energy"])
    assert chi2_pvalue(observed, p_class, tau) > P_MIN


@pytest.mark.parametrize("algorithm, h", [(a, 0.0) for a in ALGORITHMS] + [("metropolis", 0.3)])
def test_full_state_histogram_3x3(algorithm, h):
    """All 512 states individually (not just energy classes), at a temperature where all matter."""
    L, T = 3, 3.0
    spins, info = simulate_ising2d(L, T, 40000, algorithm=algorithm, seed=5, h=h)
    states = enumerate_states(L)
    weights = 1 << np.arange(L * L)
    index_of = lambda s: (((s.reshape(s.shape[0], -1) + 1) // 2).astype(np.int64) * weights).sum(axis=1)  # noqa: E731
    assert np.array_equal(index_of(states), np.arange(512))
    observed = np.bincount(index_of(spins), minlength=512)
    _, _, p = exact_distribution(L, T, 1.0, h)
    tau = max(info["tau_int_absm"], info["tau_int_energy"])
    assert chi2_pvalue(observed, p, tau) > P_MIN


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("T", [2.0, T_C, 3.0])
def test_energy_and_specific_heat_6x6_transfer_matrix(algorithm, T):
    spins, _ = simulate_ising2d(6, T, 10000, algorithm=algorithm, seed=11)
    exact = transfer_matrix_thermo(6, T)
    e = mean_energy(spins)
    c = specific_heat(spins, T)
    assert abs(e.value - exact["energy"]) < N_SIGMA * e.error
    assert abs(c.value - exact["specific_heat"]) < N_SIGMA * c.error


def test_metropolis_with_field_6x6_transfer_matrix():
    T, J, h = 2.5, 1.0, 0.2
    spins, _ = simulate_ising2d(6, T, 10000, algorithm="metropolis", seed=3, J=J, h=h)
    exact = transfer_matrix_thermo(6, T, J, h)
    e = mean_energy(spins, J, h)
    c = specific_heat(spins, T, J, h)
    assert abs(e.value - exact["energy"]) < N_SIGMA * e.error
    assert abs(c.value - exact["specific_heat"]) < N_SIGMA * c.error
    assert energy_per_spin(spins, J, h).shape == (10000,)
