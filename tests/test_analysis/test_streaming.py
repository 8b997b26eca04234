"""Measurements stream: per-configuration statistics computed in chunks of rows equal the
whole-set computation bit for bit, and their transient memory stays O(chunk), not O(set)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import torch

from rgexp.analysis.energy_thermometer import EnergyCurve, MagnetizationCurve, model_energy_density
from rgexp.analysis.observables import _abs_magnetization, _nn_correlation, abs_magnetization, nn_correlation, per_row
from rgexp.analysis.thermometer import Thermometer, measure_temperatures
from rgexp.ising.long_range_couplings import coupling_table


def _spins(n: int, L: int, seed: int = 0) -> np.ndarray:
    return np.where(np.random.default_rng(seed).random((n, L, L)) < 0.6, 1, -1).astype(np.int8)


def test_chunked_statistics_equal_the_whole_set_bit_for_bit():
    x = _spins(700, 12)
    for chunked, whole in ((abs_magnetization, _abs_magnetization), (nn_correlation, _nn_correlation)):
        assert np.array_equal(per_row(whole, x, values=1000), whole(x))  # 6 rows a chunk
        assert np.array_equal(chunked(x), whole(x))
    table = coupling_table(12, 2, 1.25)
    real = np.random.default_rng(1).uniform(-1, 1, (50, 12, 12))
    assert np.array_equal(per_row(lambda c: model_energy_density(c, table), real, values=300),
                          model_energy_density(real, table))


def test_a_large_set_is_measured_in_bounded_memory():
    x = _spins(3000, 64)  # 12 MB of int8; one float64 copy is 98 MB, the unchunked kernel makes three
    tracemalloc.start()
    try:
        nn_correlation(x)
        abs_magnetization(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 70e6, f"peak {peak / 1e6:.0f} MB"


def test_curve_reading_of_a_chunked_statistic_is_the_reading_of_the_set():
    temps = np.array([1.5, 2.0, 2.5, 3.0])
    data = np.stack([_spins(400, 8, seed=k) for k in range(4)])
    data[0] = 1  # an ordered set: ⟨K⟩ and ⟨|m|⟩ fall with T
    for curve in (EnergyCurve.from_spins(temps, data), MagnetizationCurve.from_spins(temps, data)):
        x = data[2]
        whole = curve.read(x)
        chunked = curve.read_statistic(np.concatenate([curve.statistic(x[s:s + 7]) for s in range(0, 400, 7)]))
        assert whole.value == chunked.value and whole.error == chunked.error


def test_network_reading_in_batches_equals_one_batch(monkeypatch):
    import rgexp.analysis.thermometer as th

    torch.manual_seed(0)
    model = Thermometer((8, 8), np.array([1.5, 2.3, 3.0]), hidden=10)
    x = _spins(300, 8).astype(np.float32)
    whole = measure_temperatures(model, x)
    monkeypatch.setattr(th, "EVAL_BATCH", 7)
    batched = measure_temperatures(model, x)
    assert np.array_equal(whole.predicted, batched.predicted)
    assert np.allclose(whole.probabilities, batched.probabilities, rtol=0, atol=1e-12)
