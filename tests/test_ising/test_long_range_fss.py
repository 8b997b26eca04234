"""Long-range Ising finite-size scaling: reweighting against exact enumeration, the log–log fit
and the T_c combination against exact arithmetic, and Δ_σ from Monte Carlo against the exact
long-range value Δ_σ = (d − σ)/2 (η = 2 − σ) in d = 1 and d = 2."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.special import zeta

from rgexp.ising.long_range import coupling_table, energy, sample_long_range
from rgexp.ising.long_range_fss import (
    CriticalPoint,
    _combine_crossings,
    _loglog_fit,
    _moments,
    _rows,
    critical_point,
    exact_delta_sigma,
    scaling_dimensions,
    simulate_series,
)
from rgexp.stats import Estimate, jackknife_estimate

# --------------------------------------------------------------------------- reweighting


def _exact_moments(L: int, sigma: float, T: float) -> tuple[float, float, float]:
    """(⟨m²⟩, ⟨m⁴⟩, d ln⟨m²⟩/dβ) of a 1D ring of L sites by summing all 2^L states."""
    states = np.array(list(itertools.product([1, -1], repeat=L)), dtype=np.int8)
    e = energy(states, coupling_table(L, 1, sigma))
    p = np.exp(-(e - e.min()) / T)
    p /= p.sum()
    m2 = states.mean(axis=1, dtype=np.float64) ** 2
    a2, a4 = p @ m2, p @ m2**2
    return float(a2), float(a4), float((a2 * (p @ e) - p @ (m2 * e)) / a2)


@pytest.mark.parametrize("T1", [2.3, 2.5, 2.75])
def test_reweighted_moments_match_enumeration(T1):
    """A chain at T0 = 2.5 reweighted to T1 gives the exact ⟨m²⟩, ⟨m⁴⟩ and d ln⟨m²⟩/dβ at T1
    (the fluctuation formula and the weights); tolerance 4 jackknife errors."""
    L, sigma, T0 = 12, 0.75, 2.5
    s = simulate_series(L, T0, sigma, 20_000, d=1, seed=3)
    dbeta = 1 / T1 - 1 / T0
    assert abs(dbeta) < s.beta_window  # the shifts tested lie inside the documented window
    rows = _rows(s)
    for k, exact in enumerate(_exact_moments(L, sigma, T1)):
        est = jackknife_estimate(rows, lambda x, k=k: _moments(x, dbeta)[k], 20)
        assert abs(est.value - exact) < 4 * est.error, (k, est, exact)


# --------------------------------------------------------------------------- pure pieces


def test_loglog_fit_recovers_exact_power_law_and_scales_error_by_chi2():
    sizes = [8, 16, 32, 64]
    exact = [Estimate(3.0 * L**-0.5, 0.01 * 3.0 * L**-0.5) for L in sizes]
    slope, err, chi2 = _loglog_fit(sizes, exact)
    assert slope == pytest.approx(-0.5, abs=1e-12) and chi2 == pytest.approx(0.0, abs=1e-20)
    # Unweighted-equivalent case (equal relative errors): the textbook slope error.
    x = np.log(sizes)
    assert err == pytest.approx(0.01 / math.sqrt(((x - x.mean()) ** 2).sum()), rel=1e-12)
    # Residuals of ±3 errors in the pattern (+, −, −, +), orthogonal to 1 and to ln L (equally
    # spaced): the slope stays −0.5 and χ²/dof = 4·3²/2 = 18 exactly; the error grows by √18.
    bumped = [Estimate(v, 0.01 * v) for v in
              (e.value * math.exp(0.03 * sign) for e, sign in zip(exact, (1, -1, -1, 1)))]
    s2, err2, chi2b = _loglog_fit(sizes, bumped)
    assert s2 == pytest.approx(-0.5, abs=1e-12) and chi2b == pytest.approx(18.0, rel=1e-9)
    assert err2 == pytest.approx(err * math.sqrt(18.0), rel=1e-9)


def test_combine_crossings_counts_only_drift_beyond_noise():
    a = Estimate(5.50, 0.03)
    b = Estimate(5.60, 0.04)
    tc = _combine_crossings({(16, 32): a, (32, 64): b})
    assert tc.value == 5.60 and tc.error == pytest.approx(math.hypot(0.04, math.sqrt(0.1**2 - 0.03**2 - 0.04**2)))
    within_noise = _combine_crossings({(16, 32): Estimate(5.58, 0.03), (32, 64): b})
    assert within_noise.error == pytest.approx(0.04)  # a 0.02 step is explained by the noise
    assert _combine_crossings({(32, 64): b}).error == 0.04
    assert tc.ci_low == pytest.approx(5.60 - 1.6448536 * tc.error) and tc.ci_level == 0.9


def test_exact_delta_sigma_regimes():
    assert exact_delta_sigma(1.5, 2) == 0.25 and exact_delta_sigma(1.25, 2) == 0.375
    assert exact_delta_sigma(0.5, 2) == 0.5 and exact_delta_sigma(1.0, 2) == 0.5  # regimes join at σ = d/2
    assert exact_delta_sigma(1.9, 2) == 0.125
    assert exact_delta_sigma(0.75, 1) == 0.125 and exact_delta_sigma(0.3, 1) == 0.25
    for sigma, d in ((1.75, 2), (1.0, 1), (1.5, 1)):
        with pytest.raises(ValueError, match="^sigma "):
            exact_delta_sigma(sigma, d)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"sigma": 2.5}, "sigma"),
        ({"sigma": -0.1}, "sigma"),
        ({"d": 3}, "d"),
        ({"Ls": [8]}, "Ls"),
        ({"Ls": [8, 8, 16]}, "Ls"),
        ({"temperatures": [5.0, 5.5, 5.2, 6.0]}, "temperatures"),
        ({"temperatures": [5.0, 5.5, 6.0]}, "temperatures"),
        ({"temperatures": [-1.0, 5.5, 6.0, 6.5]}, "temperatures"),
        ({"n_samples": 0}, "n_samples"),
        ({"n_samples": 100}, "n_samples"),
        ({"n_scan": 5}, "n_scan"),
        ({"algorithm": "wolff"}, "algorithm"),
    ],
)
def test_critical_point_validation_is_one_line_naming_the_key(kwargs, name):
    base = {"sigma": 1.5, "d": 2, "Ls": [8, 16], "temperatures": [5.0, 5.5, 6.0, 6.5], "n_samples": 400}
    with pytest.raises(ValueError, match=f"^{name} ") as info:
        critical_point(**{**base, **kwargs})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("T", [0.0, -1.0, float("inf")])
def test_sampler_rejects_bad_temperature_in_one_line(T):
    with pytest.raises(ValueError, match=r"^T must be finite and > 0, got") as info:
        sample_long_range(4, T, 1.0, 10)
    assert "\n" not in str(info.value)


def test_sampler_sigma_message_names_the_allowed_range():
    with pytest.raises(ValueError, match=r"^sigma must be in \(0, 2\]") as info:
        sample_long_range(4, 5.0, 2.5, 10)
    assert "\n" not in str(info.value)


def test_scaling_dimensions_needs_three_sizes():
    cp = CriticalPoint(Estimate(1.0, 0.1), {}, 1.0, {8: None, 16: None}, 1.5, 2)
    with pytest.raises(ValueError, match="at least 3 sizes"):
        scaling_dimensions(cp)


# --------------------------------------------------------------------------- Monte Carlo vs exact


def _check_against_exact(cp: CriticalPoint, sd, sigma: float, d: int, max_error: float) -> None:
    exact = (d - sigma) / 2  # η = 2 − σ in the long-range regime
    ds = sd.delta_sigma
    assert 0 < ds.error < max_error  # informative, not absurdly wide
    assert abs(ds.value - exact) < 3 * ds.error, (ds, exact)
    # T_c below the mean-field bound J Σ_{r≠0} |r|^−(d+σ) on the infinite lattice (rigorous for
    # ferromagnets): 2 ζ(1+σ) in d = 1, 4 ζ(p/2) β(p/2) with p = 2 + σ in d = 2.
    p = d + sigma
    beta_dirichlet = 4.0 ** (-p / 2) * (zeta(p / 2, 0.25) - zeta(p / 2, 0.75))
    t_mf = 2 * zeta(p) if d == 1 else 4 * zeta(p / 2) * beta_dirichlet
    assert cp.tc.value + 3 * cp.tc.error < t_mf
    # Δ_ε = d − 1/ν is finite with an error; no exact value exists in this regime.
    assert 0 < sd.delta_epsilon.value < d and 0 < sd.delta_epsilon.error < 0.2
    assert all(e.tau_int is not None and e.error > 0 for e in sd.m2.values())


def test_delta_sigma_1d_matches_eta_two_minus_sigma():
    """d = 1, σ = 0.75 (long-range regime 1/2 < σ < 1): Δ_σ = (1 − σ)/2 = 0.125.

    Ten seeds of this run gave Δ_σ = 0.114 ± 0.010 (mean ± scatter; quoted errors 0.010–0.034),
    T_c = 2.667 ± 0.010, Δ_ε = 0.465 ± 0.012; seed 0: 0.095 ± 0.020. ~10 s of CPU.
    """
    sigma, d = 0.75, 1
    cp = critical_point(sigma, d, [64, 128, 256, 512, 1024], [2.5, 2.6, 2.7, 2.8, 2.9], 4000, seed=0)
    assert 2.5 < cp.tc.value < 2.9  # inside the scanned grid
    _check_against_exact(cp, scaling_dimensions(cp), sigma, d, max_error=0.05)


@pytest.mark.slow
def test_delta_sigma_2d_matches_eta_two_minus_sigma():
    """d = 2, σ = 1.25 (long-range regime 1 < σ < 7/4): Δ_σ = (2 − σ)/2 = 0.375.

    Griffiths' bound (keep only the nearest-neighbour bonds, each >= J): T_c > 2.269. Five seeds
    gave Δ_σ = 0.374 ± 0.025, T_c = 6.59 ± 0.02; seed 0: 0.369 ± 0.014. ~12 s wall on the 2-core
    machine (25 s of CPU before the reweighting sums stopped calling threaded BLAS).
    """
    sigma, d = 1.25, 2
    cp = critical_point(sigma, d, [8, 16, 32, 64], [6.3, 6.45, 6.6, 6.75, 6.9], 4000, seed=0)
    assert cp.tc.value - 3 * cp.tc.error > 2.269
    _check_against_exact(cp, scaling_dimensions(cp), sigma, d, max_error=0.1)
