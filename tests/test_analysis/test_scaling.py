"""Scaling fits: torus forms against closed forms and exact lattice numbers, CI coverage on synthetic
data with a known Δ, Δ_σ and Δ_ε from Monte Carlo at T_c (the magnetization method:
test_magnetization_exponent.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from rgexp.analysis.scaling import (
    ScalingFit,
    fit_scaling_dimension,
    fit_scaling_dimension_from_curve,
    scaling_form,
)
from rgexp.analysis.magnetization_exponent import fit_magnetization_exponent
from rgexp.analysis import torus_forms
from rgexp.analysis.correlators import connected_from_rows, displacement_classes, row_correlations
from rgexp.ising import T_C, onsager_magnetization, simulate_ising2d, transfer_matrix_thermo
from rgexp.stats import Estimate

A_SIGMA = 2 ** (5 / 24) * math.exp(3 * -0.1654211437004509)  # ⟨s_0 s_r⟩ → A r^{-1/4} at T_c: 0.70338


# --------------------------------------------------------------------------- the forms


def test_theta_constants_match_closed_forms():
    """θ₃(0|i) = π^{1/4}/Γ(3/4), θ₂ = θ₄ = 2^{-1/4} θ₃, θ₁'(0) = 2η(i)³ with η(i) = Γ(1/4)/(2π^{3/4})."""
    th3 = math.pi**0.25 / special.gamma(0.75)
    assert abs(torus_forms._theta(3, 0.0)) == pytest.approx(th3, rel=1e-14)
    assert abs(torus_forms._theta(2, 0.0)) == pytest.approx(2**-0.25 * th3, rel=1e-14)
    assert abs(torus_forms._theta(4, 0.0)) == pytest.approx(2**-0.25 * th3, rel=1e-14)
    eta = special.gamma(0.25) / (2 * math.pi**0.75)
    assert torus_forms._theta1_prime0() == pytest.approx(2 * eta**3, rel=1e-14)


@pytest.mark.parametrize(
    "operator, delta", [("sigma", 0.125), ("epsilon", 1.0), ("sigma", 0.3), ("epsilon", 0.6)]
)
def test_torus_form_is_the_plane_power_law_at_short_distance_and_symmetric(operator, delta):
    L = 10**6  # σ's sector factor has a relative O(|d|/L) term (⟨ε⟩ on the torus): make it tiny
    d = np.array([[1, 0], [2, 1], [3, 3], [5, 2]])
    u = scaling_form(d, L, delta, operator)
    np.testing.assert_allclose(u, np.hypot(*d.T) ** (-2 * delta), rtol=1e-5)
    L = 12
    for a, b in [(3, 1), (6, 0), (5, 4)]:  # translations by L, reflections, x ↔ y, for any Δ
        d = np.array([[a, b], [L - a, b], [a, L - b], [b, a], [L - b, L - a], [a + L, b - L]])
        u = scaling_form(d, L, delta, operator)
        np.testing.assert_allclose(u, u[0], rtol=1e-12)


def test_energy_one_point_function_matches_the_transfer_matrix():
    """The ε form subtracts ⟨ε⟩ = ε₁/L (CFT). On the lattice ⟨s s'⟩_L = √2/2 + b ε₁/L + O(1/L²)
    with b = 1/π (from c ≈ (8/π) K_c² ln L); L ⟨s s'⟩ − L √2/2 extrapolated from exact L = 6, 7, 8."""
    Ls = np.array([6.0, 7.0, 8.0])
    a = [L * (-transfer_matrix_thermo(int(L), T_C)["energy"] / 2 - math.sqrt(2) / 2) for L in Ls]
    coef = np.linalg.solve(np.stack([Ls**0, 1 / Ls, 1 / Ls**2], axis=1), a)
    thetas0 = sum(abs(torus_forms._theta(nu, 0.0)) for nu in (2, 3, 4))
    eps1 = math.pi * torus_forms._theta1_prime0() / thetas0
    assert coef[0] == pytest.approx(eps1 / math.pi, rel=0.01)


# --------------------------------------------------------------------------- CI coverage


def _gaussian_fields(L: int, n: int, cov: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """n stationary Gaussian fields on the L×L torus with covariance map cov[dy, dx]: (n, L, L)."""
    P = np.fft.fft2(cov).real
    assert P.min() >= 0
    return np.fft.ifft2(np.fft.fft2(rng.normal(size=(n, L, L))) * np.sqrt(P)).real


def _model_map(L: int, delta: float, operator: str, amp: float, c: tuple[float, float]) -> np.ndarray:
    """amp · u_Δ(d) (1 + c₁/|d|² + c₂ cos 4θ/|d|²) on every displacement, minimal images; C(0) is
    raised until the map is a covariance (that only changes d = 0, outside every fit window)."""
    a = np.minimum(np.arange(L), L - np.arange(L))
    dy, dx = np.meshgrid(a, a, indexing="ij")
    d = np.stack([dx.ravel(), dy.ravel()], axis=1)[1:]
    r2 = (d**2).sum(axis=1)
    bracket = 1 + c[0] / r2 + c[1] * np.cos(4 * np.arctan2(d[:, 1], d[:, 0])) / r2
    cov = np.zeros(L * L)
    cov[1:] = amp * scaling_form(d, L, delta, operator) * bracket
    cov = cov.reshape(L, L)
    cov[0, 0] = max(0.0, -np.fft.fft2(cov).real.min()) + 0.05
    return cov


@pytest.mark.parametrize(
    "operator, delta, c, L, n",
    [
        ("sigma", 0.3, (0.0, 0.0), 8, 400),
        pytest.param("epsilon", 1.0, (-0.3, 0.4), 12, 2000, marks=pytest.mark.slow),  # ~20 s
    ],
)
def test_bootstrap_interval_covers_a_known_delta(operator, delta, c, L, n):
    """Gaussian fields whose correlator is exactly the fit model (Δ and lattice corrections known)."""
    reps = 100
    cov = _model_map(L, delta, operator, 1.0, c)
    rng = np.random.default_rng(21)
    fits = [
        fit_scaling_dimension(_gaussian_fields(L, n, cov, rng), "sigma", model=operator, n_boot=200, seed=i)
        for i in range(reps)
    ]  # the fields themselves carry the correlator: operator "sigma" (identity), form of ``operator``
    values = np.array([f.value for f in fits])
    hits = np.mean([f.ci_low <= delta <= f.ci_high for f in fits])
    assert 0.80 <= hits <= 0.98, hits  # Binomial(100, 0.9): sd 3 %
    assert abs(values.mean() - delta) < 0.3 * values.std()  # and the estimator is (nearly) unbiased
    assert np.mean([f.error for f in fits]) == pytest.approx(values.std(), rel=0.25)


def test_axis_geometry_and_curve_fit_agree_with_the_configuration_fit():
    L, delta = 16, 0.3
    x = _gaussian_fields(L, 400, _model_map(L, delta, "sigma", 1.0, (0.0, 0.0)), np.random.default_rng(24))
    fit = fit_scaling_dimension(x, geometry="axis", n_boot=200)
    assert fit.n_points == L // 2 - 1 and fit.window == (2.0, 8.0)
    assert abs(fit.value - delta) < 3 * fit.error
    # The same estimator from the measured curve plus the rows' covariance (sandwich).
    c, o = row_correlations(x, "sigma", geometry="classes")
    G, _ = connected_from_rows(c, o)
    infl = c - 2 * (o @ o.mean(axis=0))[:, None]
    cov = np.cov(infl, rowvar=False) / len(c)
    d = displacement_classes(L)[0]
    a = fit_scaling_dimension_from_curve(d, G, np.sqrt(np.diag(cov)), L, cov=cov)
    b = fit_scaling_dimension(x, n_boot=0)
    assert a.value == pytest.approx(b.value, abs=1e-9) and a.error == pytest.approx(b.error, rel=1e-6)


def test_curve_fit_covariance_interval_covers_with_independent_points():
    L, delta, reps = 16, 0.125, 400
    r = np.arange(1, 9)
    G0 = 0.7 * scaling_form(r, L, delta, "sigma")
    dG = 0.01 * G0
    rng = np.random.default_rng(22)
    hits = [
        (f := fit_scaling_dimension_from_curve(r, G0 + dG * rng.normal(size=r.size), dG, L, r_min=1)).ci_low
        <= delta
        <= f.ci_high
        for _ in range(reps)
    ]
    # Binomial(400, 0.9): sd 1.5 %; ±3.3 sd, and the linearised interval runs a little low (rng seeds
    # 22–41: 0.86–0.93, mean 0.89): a 68% or 99% interval still fails
    assert 0.84 <= np.mean(hits) <= 0.95


# --------------------------------------------------------------------------- Monte Carlo at T_c


@pytest.mark.parametrize("L", [10, 32])
def test_delta_sigma_and_delta_epsilon_from_monte_carlo_at_tc(L):
    spins, info = simulate_ising2d(L, T_C, 4000, seed=5)
    tau = max(info["tau_int_absm"], info["tau_int_energy"], 0.5)
    fits = {op: fit_scaling_dimension(spins, op, tau_int=tau, seed=6) for op in ("sigma", "epsilon")}
    s, e = fits["sigma"], fits["epsilon"]
    # The exact values lie inside ~99.9% intervals, not necessarily the 90% ones: with two 90%
    # intervals per size one seed in five would fail (seeds 100–126: 3–4 of 27 missed per size and
    # operator). Each side of the 90% percentile interval is stretched: by z(0.9995)/z(0.95) = 2 for σ;
    # by 3 for ε, whose bootstrap error runs low (over seeds 100–126, (Δ_ε − 1)/error scattered with
    # sd 1.2 at 10×10 and 1.4 at 32×32, up to 2.8; σ's with sd 0.8–0.9, up to 2.1).
    assert _covers(s, 0.125, stretch=2), s
    assert _covers(e, 1.0, stretch=3), e
    # ... and the data resolve both (10×10 ε is the weak one: its 90% interval 0.23–1.07 wide over
    # those seeds, 0.09–0.17 at 32×32; σ's 0.009–0.010 and 0.006–0.007).
    assert s.ci_high - s.ci_low < 0.012 and e.ci_high - e.ci_low < (1.5 if L == 10 else 0.3)
    # amplitude: seeds 100–119 scattered it by 0.4% (10×10) and 0.2% (32×32)
    assert s.amplitude == pytest.approx(A_SIGMA, rel=0.015)


def _covers(fit, exact: float, stretch: float) -> bool:
    """``exact`` lies in the fit's 90% interval with each side stretched ``stretch`` times."""
    return fit.value - stretch * (fit.value - fit.ci_low) <= exact <= fit.value + stretch * (fit.ci_high - fit.value)


# --------------------------------------------------------------------------- the result type


def test_scaling_fit_is_an_estimate_with_flat_numeric_dict():
    T = T_C * (1 - np.linspace(0.001, 0.1, 12))
    fit = fit_magnetization_exponent(T, np.array([onsager_magnetization(x) for x in T]), correction=True)
    assert isinstance(fit, ScalingFit) and isinstance(fit, Estimate)
    d = fit.as_dict("dsigma_")
    assert d["dsigma_value"] == fit.value and d["dsigma_ci_level"] == 0.9
    assert "dsigma_correction_1" in d and all(isinstance(v, float) for v in d.values())


def test_fit_refuses_bad_input():
    x = np.random.default_rng(0).choice([-1, 1], size=(20, 6, 6))
    with pytest.raises(ValueError, match="form"):
        fit_scaling_dimension(x, form="images")
    with pytest.raises(ValueError, match="distances"):
        fit_scaling_dimension(x, r_min=4.1)
    with pytest.raises(ValueError, match="chains"):
        fit_scaling_dimension(np.ones((20, 8)), form="torus")
