"""rgexp.stats against closed forms: AR(1) autocorrelation, bootstrap/jackknife of known means."""

import numpy as np
import pytest

from rgexp.stats import (
    autocorrelation,
    bootstrap_estimate,
    integrated_autocorr_time,
    jackknife_estimate,
    mean_estimate,
)


def ar1(phi: float, n: int, rng: np.random.Generator) -> np.ndarray:
    x = np.empty(n)
    x[0] = rng.normal() / np.sqrt(1 - phi**2)
    eps = rng.normal(size=n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + eps[i]
    return x


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_tau_int_of_ar1_matches_closed_form(phi):
    # For AR(1), rho(t) = phi^t and tau_int = (1 + phi) / (2 (1 - phi)).
    exact = (1 + phi) / (2 * (1 - phi))
    taus = [integrated_autocorr_time(ar1(phi, 20_000, np.random.default_rng(s))) for s in range(8)]
    # Sokal: var(tau)/tau^2 ≈ 2(2W+1)/n with W ≈ 5 tau; use the spread of 8 replicas as the error.
    mean, sem = np.mean(taus), np.std(taus, ddof=1) / np.sqrt(len(taus))
    bias_bound = exact * np.exp(-5.0)  # truncation at W = 5 tau leaves ~exp(-W/tau) of the tail
    assert abs(mean - exact) < 4 * sem + bias_bound + 0.02 * exact


def test_autocorrelation_of_ar1_decays_as_phi_power():
    phi = 0.8
    rho = autocorrelation(ar1(phi, 200_000, np.random.default_rng(1)))
    # Error of rho(t) ~ sqrt((1 + phi^2)/(1 - phi^2) / n) ≈ 0.0068 for n = 2e5.
    np.testing.assert_allclose(rho[:6], phi ** np.arange(6), atol=5 * 0.0068)


def test_mean_estimate_error_covers_truth():
    phi, n = 0.9, 50_000
    hits = 0
    for s in range(40):
        est = mean_estimate(ar1(phi, n, np.random.default_rng(100 + s)))
        hits += abs(est.value) < 2 * est.error
        assert est.n_eff < n / 10  # tau ≈ 9.5: strongly fewer effective samples
    # P(|z| < 2) = 0.954; with 40 trials, P(hits <= 32) < 1e-3 under a correct error bar.
    assert hits >= 33


def test_constant_series_is_uncorrelated():
    assert integrated_autocorr_time(np.ones(100)) == 0.5


def test_bootstrap_and_jackknife_of_mean_agree_with_standard_error():
    rng = np.random.default_rng(3)
    x = rng.normal(2.0, 1.0, size=4000)
    sem = x.std(ddof=1) / np.sqrt(x.size)
    boot = bootstrap_estimate(x, np.mean, np.random.default_rng(4), n_boot=400)
    jack = jackknife_estimate(x, np.mean, n_blocks=40)
    # The bootstrap SE of the mean has relative error ~1/sqrt(2 n_boot) ≈ 3.5%; jackknife ~1/sqrt(2*39).
    assert boot.error == pytest.approx(sem, rel=0.15)
    assert jack.error == pytest.approx(sem, rel=0.35)
    # Its 90% percentile interval: around the sample mean, as wide as the normal one (the 5% and 95%
    # quantiles of 400 draws scatter: 300 rng seeds gave 0.85–1.15 of it, sd 0.044). Not "it holds 2,
    # or the mean is > 1.6 sem off": that failed for 2 seeds in 300.
    assert boot.ci_low < x.mean() < boot.ci_high
    assert (boot.ci_high - boot.ci_low) / 2 == pytest.approx(1.6448536 * sem, rel=0.2)
