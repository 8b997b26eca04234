"""The fixed-point readings (rgexp.analysis.fixed_point) on RBMs whose flow is known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from rgexp.analysis.energy_thermometer import EnergyCurve, MagnetizationCurve
from rgexp.analysis.fixed_point import FixedPoint, fixed_point_readings, log_spaced_updates
from rgexp.models import RBM


def _zero_rbm(n_visible: int, units: str) -> RBM:
    rbm = RBM(n_visible, 9, units=units, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for p in rbm.parameters():
            p.zero_()
    return rbm


@pytest.mark.parametrize("units", ["spin", "binary"])
def test_a_zero_weight_rbm_flows_to_infinite_temperature_in_one_step(units):
    """W = b = c = 0: p(v|h) = ½ per spin, so every flowed configuration is uniform. Its ⟨|m|⟩ is
    E|S|/N for S a sum of N independent ±1 (binomial, exactly); the energy reading is censored at
    the hot end of any grid; the drift is undefined (both readings censored)."""
    N, n = 16, 4000
    rbm = _zero_rbm(N, units)
    grid = np.array([1.0, 2.0, 3.0])
    curve = EnergyCurve(grid, np.array([0.9, 0.6, 0.3]), np.full(3, 1e-3))
    mcurve = MagnetizationCurve(grid, np.array([0.95, 0.7, 0.3]), np.full(3, 1e-3))
    v0 = rbm.from_spins(torch.ones(n, N))  # ordered start: one step forgets it
    out = fixed_point_readings(rbm, v0, 3, 2, torch.Generator().manual_seed(1), (4, 4),
                               {"energy": curve.read, "magnetization": mcurve.read})
    k = np.arange(N + 1)
    exact = float(np.sum(stats.binom.pmf(k, N, 0.5) * np.abs(2 * k - N) / N))  # 0.1964
    m = out["abs_magnetization"]
    assert abs(m.value - exact) < 4 * m.error, (m, exact)
    assert out["temperature_energy"].value == 3.0 and math.isnan(out["temperature_energy"].error)
    assert math.isnan(out["drift"].value)


def test_half_up_starts_and_the_schedule():
    spec = FixedPoint(n_samples=50, random_start="half")
    x = spec.random_configs(100, torch.Generator().manual_seed(3))
    assert x.shape == (50, 100) and torch.all(x.sum(dim=1) == 0)
    assert not torch.equal(x[0], x[1])
    assert log_spaced_updates(1000, 4) == [1, 10, 100, 1000]
    assert log_spaced_updates(5, 12)[-1] == 5 and len(set(log_spaced_updates(5, 12))) == 5
    with pytest.raises(ValueError, match="drift_steps must be <= n_steps"):
        FixedPoint(n_steps=3, drift_steps=5)
    with pytest.raises(ValueError, match="random_start must be one of iid, half"):
        FixedPoint(random_start="all")
