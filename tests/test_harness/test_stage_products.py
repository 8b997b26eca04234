"""What stages hand each other is declared: a stage list whose order leaves a need unmet is refused
before any work with one line; a stage that forgets what it gives is an error naming it; a new
observable and a new measurement stage take two places each and run end to end."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

import rgexp.stages
from rgexp.analysis.observables import OBSERVABLES, observable
from rgexp.errors import ConfigError
from rgexp.pipeline import run_stages, validate
from rgexp.tracking import MemoryRun

FLOW = "stages=[monte_carlo,training,rbm_flow,thermometers,binned]"


def test_thermometers_after_the_flow_are_refused_in_one_line(smoke_cfg):
    with pytest.raises(ConfigError) as err:
        validate(smoke_cfg("stages=[monte_carlo,training,rbm_flow,thermometers]"))
    assert str(err.value) == ("stages: rbm_flow uses 'thermometers', given by thermometers, which is listed after "
                              "it; list thermometers before rbm_flow")


def test_the_delta_figures_before_a_transform_are_refused(smoke_cfg):
    with pytest.raises(ConfigError, match=r"^stages: scaling_fits uses 'rg', given by block_rg, which is listed after"):
        validate(smoke_cfg("stages=[monte_carlo,scaling_fits,block_rg]"))


def test_a_stage_that_reads_an_optional_product_runs_without_its_maker(smoke_cfg):
    """The flow without the thermometers stage: no readings, everything else measured."""
    memory = MemoryRun()
    run_stages(smoke_cfg("stages=[monte_carlo,training,rbm_flow]"), memory)
    assert any(k.startswith("flow/abs_magnetization/") for k in memory.metrics)
    assert not any(k.startswith("flow/temperature/") for k in memory.metrics)


def test_binned_needs_the_thermometer_component(smoke_cfg):
    with pytest.raises(ConfigError, match=r"^analysis.binned needs analysis.thermometer"):
        validate(smoke_cfg("+analysis.binned={_target_: rgexp.analysis.binned.BinnedFlow}", "analysis.thermometer=null"))


def test_a_stage_that_forgets_what_it_gives_is_named(smoke_cfg, tmp_path, monkeypatch):
    (tmp_path / "forgetful.py").write_text(textwrap.dedent('''
        NEEDS = ("data",)
        GIVES = ("mean_spin",)

        def run(ctx):
            pass
    '''))
    monkeypatch.setattr(rgexp.stages, "__path__", [*rgexp.stages.__path__, str(tmp_path)])
    with pytest.raises(RuntimeError, match=r"^stage forgetful gave nothing for 'mean_spin'"):
        run_stages(smoke_cfg("stages=[monte_carlo,forgetful]"), MemoryRun())


@pytest.fixture
def plaquette():
    """A new per-configuration observable, in one place: the mean product of the four spins of each
    elementary square (2D), per configuration."""

    @observable
    def plaquette(configs: np.ndarray) -> np.ndarray:
        x = np.asarray(configs, dtype=np.float64)
        p = x * np.roll(x, -1, 1) * np.roll(x, -1, 2) * np.roll(np.roll(x, -1, 1), -1, 2)
        return p.reshape(len(x), -1).mean(axis=1)

    yield plaquette
    del OBSERVABLES["plaquette"]


def test_a_new_observable_and_a_new_stage_take_two_places_each(smoke_cfg, tmp_path, monkeypatch, plaquette):
    # the new stage: its module (place 1) ...
    (tmp_path / "susceptibility.py").write_text(textwrap.dedent('''
        """χ = N (⟨m²⟩ − ⟨|m|⟩²) of the data at every temperature."""
        import numpy as np

        NEEDS = ("data",)
        GIVES = ("susceptibility",)

        def run(ctx):
            chi = {}
            for t, spins in zip(ctx.data.temperatures, ctx.data.blocks):
                m = spins.reshape(len(spins), -1).mean(axis=1)
                chi[float(t)] = float(spins[0].size * (np.mean(m**2) - np.mean(np.abs(m)) ** 2))
                ctx.tracked.log_metrics({f"mc/susceptibility/T{t:.4f}": chi[float(t)]})
            return chi
    '''))
    monkeypatch.setattr(rgexp.stages, "__path__", [*rgexp.stages.__path__, str(tmp_path)])
    memory = MemoryRun()
    # ... and a stage list (place 2); the observable's name in the measurements (its place 2)
    cfg = smoke_cfg("stages=[monte_carlo,block_rg,susceptibility]",
                    "analysis.measurements.observables=[abs_magnetization,plaquette]")
    out = run_stages(cfg, memory)
    # the RG steps measured the new observable: at step 0 (the data itself) its mean over the data
    data = validate(cfg).parts.cache.load(out["data_key"])
    for i, T in enumerate(data.temperatures):
        history = memory.history(f"rg/plaquette/T{T:.4f}")
        assert [step for step, _ in history] == [0, 1, 2]
        assert history[0][1] == pytest.approx(plaquette(data.at(i)).mean(), rel=1e-12)
        assert memory.history(f"rg/plaquette_err/T{T:.4f}")[0][1] > 0
    chi = {float(k.rsplit("/T", 1)[1]): memory.history(k)[0][1] for k in memory.metrics
           if k.startswith("mc/susceptibility/")}
    assert set(chi) == {1.5, 2.2692, 3.5} and chi[2.2692] > chi[1.5] and chi[2.2692] > chi[3.5]  # peaks near T_c


def test_the_architecture_page_is_what_the_stage_declarations_draw():
    from pathlib import Path

    from rgexp.stages.__main__ import page

    committed = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
    assert committed.read_text() == page(), "regenerate: python -m rgexp.stages --write docs/architecture.md"
    for name in rgexp.stages.available():  # every stage is on it, with what it gives
        module = rgexp.stages.resolve([name])[0]
        assert f"| `{name}` |" in page() and all(f"`{p}`" in page() for p in module.GIVES)
