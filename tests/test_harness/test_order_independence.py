"""Nothing measured depends on the order it is measured in, nor on what else is measured: every
stage draws from streams keyed by (stage, temperature or start, step) of the one seed.

Runs the real stages on the smoke preset into an in-memory run (no MLflow), thermometers and
receptive fields included: the thermometers train on their own grid (``analysis.thermometer.
temperatures``), so they do not change when the data's grid gains a temperature."""

from __future__ import annotations

import numpy as np
import pytest

from rgexp.constants import T_C
from rgexp.pipeline import run_stages
from rgexp.tracking import MemoryRun
from tests.conftest import compose_config

T_PIN = T_C
GRID = [1.5, T_PIN, 3.5]
PIN = [f"train_temperatures=[{T_PIN}]", f"analysis.thermometer.temperatures=[1.5,{T_PIN},3.5]"]


def _run(root, *overrides: str) -> MemoryRun:
    memory = MemoryRun()
    run_stages(compose_config(["experiment=smoke", f"tracking.root={root / 'mlruns'}",
                               f"cache.directory={root / 'cache'}", "progress=false", *PIN, *overrides]), memory)
    return memory


def _series(memory: MemoryRun, prefix: str) -> dict[str, list]:
    return {k: memory.history(k) for k in memory.metrics if k.startswith(prefix)}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("order")


@pytest.fixture(scope="module")
def base(root):
    return _run(root)


def test_same_seed_same_numbers_bit_for_bit(root, base):
    again = _run(root)
    keys = [k for k in base.metrics if not k.startswith("perf/") and not k.endswith("_seconds")]  # not clocks
    assert keys and all(base.history(k) == again.history(k) for k in keys)


def test_rg_unchanged_when_the_flow_gets_longer(root, base):
    longer = _run(root, "flow.n_steps=7")
    rg = _series(base, "rg/")
    assert rg and rg == _series(longer, "rg/")
    assert any(k.startswith("rg/temperature/") for k in rg)  # read by the coarse thermometers
    receptive = _series(base, "receptive/")
    assert receptive and receptive == _series(longer, "receptive/")
    flow = _series(base, "flow/abs_magnetization/") | _series(base, "flow/temperature/")
    # the flow's first steps, and their readings, are a prefix of the longer flow's
    assert flow and all(longer.history(k)[: len(v)] == v for k, v in flow.items())
    assert len(longer.history(next(iter(flow)))) == 8


def test_data_and_flows_at_a_temperature_unchanged_when_the_grid_gains_one(root, base):
    wider = _run(root, f"sampler.temperatures=[2.0,{GRID[0]},{T_PIN},2.8,{GRID[2]}]")
    for t in GRID:
        for stage in ("mc", "flow", "rg"):
            names = [k for k in base.metrics if k.startswith(f"{stage}/") and k.endswith(f"T{t:.4f}")
                     or k.startswith(f"mc/T{t:.4f}/")]
            assert names, (stage, t)
            for k in names:
                assert base.history(k) == wider.history(k), k
    assert np.isfinite(wider.history(f"flow/abs_magnetization/T{2.8:.4f}")[-1][1])
    assert _series(base, "receptive/") == _series(wider, "receptive/")  # at the grid point nearest T_c, as before
    thermometers = {k: v for k, v in _series(base, "thermometer/").items() if "seconds" not in k}
    assert thermometers and all(wider.history(k) == v for k, v in thermometers.items())
    assert any(k.startswith(f"flow/temperature/T{GRID[0]:.4f}") for k in base.metrics)  # readings compared above


def test_receptive_fields_unchanged_when_null_patterns_are_added(root, base):
    """The null patterns draw from their own streams: adding them changes no layer's or RG step's map."""
    with_nulls = _run(root, "analysis.receptive.nulls=[white_noise,checkerboard2]")
    receptive = _series(base, "receptive/")
    assert receptive and receptive == _series(with_nulls, "receptive/")
