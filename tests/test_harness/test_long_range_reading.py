"""The energy reading of long-range runs uses the sampler's own energy on every lattice size read.

A tiny long-range run (minimum-image couplings, one RG step 8×8 → 4×4): the energy curves the
pipeline builds are ModelEnergyCurves whose couplings are the sampler's coupling table of each
thermometer lattice's own L; ``nn_energy`` keeps the nearest-neighbour curve; binning by energy
uses the model's own energy.
"""

import math

import numpy as np
import pytest

from rgexp import pipeline
from rgexp.analysis.energy_thermometer import EnergyCurve, ModelEnergyCurve
from rgexp.errors import ConfigError
from rgexp.ising.long_range import coupling_table
from rgexp.pipeline import run
from rgexp.stages.thermometers import CURVES, curves_needed as _curves_needed

LONG_RANGE = ("sampler=long_range", "sampler.L=8", "sampler.sigma=1.25", "sampler.n_samples=60",
              "sampler.temperatures=[4.0,6.5,9.0]", "sampler.couplings=minimum_image", "rg.n_steps=1",
              "flow.n_steps=1", "flow.n_samples=20", "model.train.epochs=1", "analysis.thermometer.epochs=1",
              "analysis.thermometer.real_inputs=sign", "analysis.scaling=null", "analysis.receptive=null")


def _recorder(monkeypatch, cls) -> list:
    seen, original = [], cls.from_spins.__func__

    def record(klass, temperatures, spins, *args):
        curve = original(klass, temperatures, spins, *args)
        seen.append((np.shape(spins[0])[1:], curve))
        return curve

    monkeypatch.setattr(cls, "from_spins", classmethod(record))
    return seen


def test_energy_reading_uses_each_lattices_own_long_range_couplings(smoke_cfg, mlflow_client, monkeypatch):
    seen = _recorder(monkeypatch, ModelEnergyCurve)
    result = run(smoke_cfg(*LONG_RANGE, "analysis.thermometer.reading=energy"))
    tables = {shape: c.couplings for shape, c in seen}
    assert set(tables) == {(8, 8), (4, 4)}
    for L in (8, 4):
        assert np.array_equal(tables[(L, L)], coupling_table(L, 2, 1.25, couplings="minimum_image"))
    metrics = mlflow_client.get_run(result["run_id"]).data.metrics
    for t in (4.0, 6.5, 9.0):  # the data and its RG step read a temperature (censored: error NaN)
        assert math.isfinite(metrics[f"rg/temperature/T{t:.4f}"])


def test_nn_energy_reading_keeps_the_nearest_neighbour_curve(smoke_cfg, monkeypatch):
    model, nn = _recorder(monkeypatch, ModelEnergyCurve), _recorder(monkeypatch, EnergyCurve)
    run(smoke_cfg(*LONG_RANGE, "analysis.thermometer.reading=nn_energy", "rg.n_steps=0",
                  "analysis.thermometer.coarse_lattices=false"))
    assert not model and [type(c) for _, c in nn] == [EnergyCurve]


def test_binning_by_energy_uses_the_model_energy_for_long_range():
    """binned.by=energy with a ModelEnergyCurve bins each configuration by the model's own energy:
    an ordered configuration reads the cold end, a staggered one the hot end, and the temperature of
    an intermediate configuration is the inverse of the curve at its model energy."""
    from rgexp.analysis.binned import energy_temperatures
    from rgexp.analysis.energy_thermometer import model_energy_density

    table = coupling_table(8, 2, 1.25, couplings="minimum_image")
    rng = np.random.default_rng(3)
    mixed = np.where(rng.random((1, 8, 8)) < 0.8, 1.0, -1.0)
    eps = [model_energy_density(x[None], table)[0] for x in (np.ones((8, 8)), mixed[0])]
    curve = ModelEnergyCurve(np.array([4.0, 6.5, 9.0]), np.array([eps[0] * 0.99, eps[1], eps[1] * 0.3]),
                             np.full(3, 1e-3), table)
    assert energy_temperatures(np.ones((1, 8, 8)), curve)[0] == 4.0
    assert energy_temperatures(mixed, curve)[0] == pytest.approx(6.5)
    staggered = (np.indices((8, 8)).sum(axis=0) % 2 * 2.0 - 1.0)[None]
    assert energy_temperatures(staggered, curve)[0] == 9.0


class _Reader:
    def __init__(self, reading):
        self.reading = reading


class _Binned:
    by = ("energy",)


def test_curves_needed():
    assert _curves_needed({"thermometer": _Reader("nn_energy")}) == {"nn_energy"}
    assert _curves_needed({"thermometer": _Reader("mean")}) == set()
    assert _curves_needed({"thermometer": _Reader("energy"), "fixed_point": object()}) == {"energy", "magnetization"}
    assert _curves_needed({"thermometer": _Reader("mean"), "binned": _Binned()}) == {"energy"}
    assert set(CURVES) == {"energy", "nn_energy", "magnetization"}


def test_a_bad_couplings_value_is_one_line_naming_the_key_and_the_choices():
    from rgexp.pipeline import build_parts
    from tests.conftest import compose_config

    with pytest.raises(ConfigError) as info:
        build_parts(compose_config(["sampler=long_range", "sampler.couplings=nearest"]))
    message = str(info.value)
    assert "\n" not in message and "sampler.couplings" in message
    assert "'images' or 'minimum_image'" in message and "nearest" in message
