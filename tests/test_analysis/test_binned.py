"""The main paper's binned estimators (rgexp.analysis.binned) against exact physics: Monte Carlo data
binned by energy against Onsager's magnetization, the plane fit form against the exact critical
torus correlator, and the bookkeeping of pooled bins against a direct computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rgexp.analysis.binned import BinnedFlow, energy_temperatures, nearest_class
from rgexp.analysis.correlators import correlation_function
from rgexp.analysis.energy_thermometer import EnergyCurve
from rgexp.analysis.magnetization_exponent import fit_magnetization_exponent
from rgexp.analysis.scaling import fit_scaling_dimension, fit_scaling_dimension_from_curve, scaling_form
from rgexp.ising import T_C, onsager_magnetization, simulate_ising2d
from rgexp.seeding import stage_streams

GRID = np.round(np.arange(1.0, 3.51, 0.1), 10)  # bins: a thermometer-like grid, step 0.1


@pytest.fixture(scope="module")
def mc32():
    """Wolff samples of the 32×32 model at every grid temperature: (n_T, n, 32, 32)."""
    ss = np.random.SeedSequence(2024).spawn(GRID.size)
    return np.stack([simulate_ising2d(32, float(t), 400, seed=s)[0] for t, s in zip(GRID, ss)])


def test_nearest_class_and_energy_temperatures_invert_the_curve():
    curve = EnergyCurve(np.array([1.0, 2.0, 3.0]), np.array([0.9, 0.6, 0.3]), np.full(3, 0.01))
    # configurations with K = 0.75 (between T = 1 and 2), 1 (above the curve), −1 (below)
    up = np.ones((1, 4, 4))
    half = up.copy()
    half[0, ::2, :] = 1.0
    assert energy_temperatures(up, curve)[0] == 1.0  # clipped at the ordered end
    assert energy_temperatures(-np.ones((1, 4, 4)), curve)[0] == 1.0
    checker = np.indices((4, 4)).sum(axis=0) % 2 * 2.0 - 1.0  # K = −1: beyond the hot end
    assert energy_temperatures(checker[None], curve)[0] == 3.0
    k = np.array([0.75, 0.45])
    T = np.interp(-k, -curve.mean, curve.temperatures)
    np.testing.assert_allclose(T, [1.5, 2.5])
    np.testing.assert_array_equal(nearest_class(np.array([0.2, 1.49, 1.51, 2.5, 9.0]), curve.temperatures),
                                  [0, 0, 1, 1, 2])


def test_energy_binned_monte_carlo_magnetization_follows_onsager(mc32):
    """Binning true Monte Carlo data by energy: ⟨|m|⟩ rises as the bin temperature falls, matches
    Onsager's m(T) well below T_c (32×32: ξ ≲ 2 there, finite-size shifts < 0.01), and the Δ_σ^m fit
    over the bins below T_c agrees with the same fit of Onsager's curve at the bin temperatures."""
    curve = EnergyCurve.from_spins(GRID, mc32)
    binned = BinnedFlow(by="energy", min_count=30, m_window=[0.05, 0.3], n_boot=0)
    pool = binned.new_pool(GRID)
    for x in mc32:  # pooled as a flow's starts are
        pool.add(0, x.astype(np.float64), nearest_class(energy_temperatures(x, curve), GRID))
    step = binned.results(pool, np.random.SeedSequence(1))[0]
    assert step.counts.sum() == mc32.shape[0] * mc32.shape[1]
    bins = sorted(step.magnetization)
    m = np.array([step.magnetization[b].value for b in bins])
    dm = np.array([step.magnetization[b].error for b in bins])
    assert len(bins) >= 20
    # rises as T falls: every step down in T within 4σ of monotone, and strongly overall
    assert np.all(np.diff(m) < 4 * np.hypot(dm[1:], dm[:-1]))
    assert m[0] > 0.99 and m[-1] < 0.25
    for b in bins:
        T = GRID[b]
        if T <= 2.0:  # |t| >= 0.12: the 32×32 value equals the infinite lattice's within 0.01
            assert abs(step.magnetization[b].value - onsager_magnetization(T)) < 0.01 + 4 * step.magnetization[b].error
    fit = step.delta_m
    assert fit is not None
    used = GRID[(GRID < T_C) & ((T_C - GRID) / T_C > 0.05) & ((T_C - GRID) / T_C <= 0.3)]
    exact = fit_magnetization_exponent(used, np.array([onsager_magnetization(t) for t in used]), None, T_C,
                                       t_min=0.05, t_max=0.3)
    # allowance: the bins' finite-size rounding near |t| = 0.05 (≈ 0.01 in m) moves β by ≲ 0.01
    assert abs(fit.value - exact.value) < 0.01 + 3 * fit.error, (fit.value, fit.error, exact.value)


def test_plane_form_matches_the_exact_torus_correlator(mc32):
    """The paper's plane fit (1 <= r < L/2, raw σσ) of Monte Carlo at T_c equals the plane fit of
    the exact critical torus correlator over the same window (the CFT, with Δ = 1/8)."""
    x = simulate_ising2d(32, T_C, 3000, seed=np.random.SeedSequence(7))[0].astype(np.float64)
    binned = BinnedFlow(n_boot=100)
    fit = binned.fit(x, "sigma", "plane", np.random.default_rng(3))
    r = np.arange(1, 16)
    exact_curve = scaling_form(np.stack([r, np.zeros_like(r)], axis=1), 32, 0.125, "sigma")
    dG = correlation_function(x, "sigma", connected=False)[2][1:16]  # the same weights as the MC fit
    exact = fit_scaling_dimension_from_curve(r, exact_curve, dG, 32, "sigma", form="plane",
                                             r_min=1, r_max=15, corrections=False)
    assert exact.value < 0.12  # the torus bends the curve up near L/2: the plane form reads low
    half = (fit.ci_high - fit.ci_low) / 2
    assert abs(fit.value - exact.value) < half + 0.005, (fit.value, fit.ci_low, fit.ci_high, exact.value)
    torus = binned.fit(x, "sigma", "torus", np.random.default_rng(3))
    assert torus.ci_low - 0.005 < 0.125 < torus.ci_high + 0.005


def test_raw_sigma_fit_is_the_fit_of_the_raw_curve():
    """connected=False fits ⟨s(0)s(r)⟩ itself: the same Δ as fitting correlation_function(connected=False)."""
    x = np.sign(np.random.default_rng(0).normal(0.4, 1.0, size=(300, 10, 10)))
    fit = fit_scaling_dimension(x, "sigma", form="plane", geometry="axis", r_min=1, r_max=4, corrections=False,
                                connected=False, n_boot=0)
    r, G, dG = correlation_function(x, "sigma", connected=False)
    curve = fit_scaling_dimension_from_curve(r, G, dG, 10, "sigma", form="plane", r_min=1, r_max=4,
                                             corrections=False)
    assert fit.value == pytest.approx(curve.value, abs=1e-6)
    connected = fit_scaling_dimension(x, "sigma", form="plane", geometry="axis", r_min=1, r_max=4,
                                      corrections=False, n_boot=0)
    assert abs(connected.value - fit.value) > 0.1  # mean 0.3: the plateau m² changes the fit


def test_pool_matches_a_direct_computation_and_fits_are_order_free():
    """Counts, ⟨|m|⟩ per bin and the pooled temperature equal the direct numbers on the pooled set;
    adding the starts in another order changes no metric."""
    rng = np.random.default_rng(5)
    grid = np.array([1.5, 2.0, 2.5, 3.0])
    sets = [np.sign(rng.normal(mu, 1.0, size=(150, 8, 8))) for mu in (0.0, 0.3, 1.0)]
    classes = [rng.integers(0, 4, size=150) for _ in sets]
    binned = BinnedFlow(min_count=20, n_boot=20)
    metrics = []
    for order in ([0, 1, 2], [2, 0, 1]):
        pool = binned.new_pool(grid)
        for i in order:
            pool.add(3, sets[i], classes[i])
        step = binned.results(pool, stage_streams(0)["bootstrap"])[3]
        metrics.append(binned.metrics("network", grid, step))
    assert metrics[0].keys() == metrics[1].keys()
    for k in metrics[0]:
        assert metrics[0][k] == pytest.approx(metrics[1][k], rel=1e-9, abs=1e-12), k
    x, c = np.concatenate(sets), np.concatenate(classes)
    for b, t in enumerate(grid):
        sel = c == b
        m = np.abs(x[sel].mean(axis=(1, 2)))
        assert metrics[0][f"flow_binned/count/T{t:.4f}"] == sel.sum()
        assert metrics[0][f"flow_binned/abs_magnetization/T{t:.4f}"] == pytest.approx(m.mean())
        assert metrics[0][f"flow_binned/abs_magnetization_err/T{t:.4f}"] == pytest.approx(
            m.std(ddof=1) / math.sqrt(m.size))
    assert metrics[0]["flow_binned/temperature"] == pytest.approx(grid[c].mean())
    assert pool.fit_bins == (1, 2)  # nearest below and above T_c = 2.269
    assert any(k.startswith("flow_binned/delta_sigma_plane/T2.5000") for k in metrics[0])


@pytest.mark.parametrize("kwargs, message", [
    ({"by": "thermo"}, "by must be"), ({"forms": ["cylinder"]}, "forms must be"),
    ({"plane_sigma": "both"}, "plane_sigma must be"), ({"min_count": 1}, "min_count must be"),
    ({"m_window": [0.3, 0.1]}, "m_window must be"), ({"n_boot": -1}, "n_boot must be"),
])
def test_bad_options_name_the_key(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BinnedFlow(**kwargs)


def test_kept_configurations_come_back_in_lexicographic_order():
    """Packed ±1 rows are ordered on their bytes: the same order as the spins themselves."""
    rng = np.random.default_rng(11)
    pool = BinnedFlow().new_pool(np.array([2.0, 2.5]))
    for _ in range(3):
        x = np.sign(rng.normal(size=(200, 4, 5)))
        pool.add(0, x, np.zeros(200, dtype=np.int64))
    got = pool.configs(0, 0).reshape(600, -1)
    assert got.shape == (600, 20) and set(np.unique(got)) == {-1.0, 1.0}
    np.testing.assert_array_equal(got, got[np.lexsort(got.T[::-1])])
