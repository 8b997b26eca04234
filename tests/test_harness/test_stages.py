"""The stage list: a run does the stages its config lists, in order; a stage listed before what it
needs, or an unknown one, is refused before any work; a new stage is a module and a list entry."""

from __future__ import annotations

import textwrap

import pytest

import rgexp.stages
from rgexp.errors import ConfigError
from rgexp.pipeline import run_stages, validate
from rgexp.tracking import MemoryRun


def test_unknown_and_misordered_stages_are_refused_naming_the_allowed(smoke_cfg):
    with pytest.raises(ConfigError, match=r"^stages: unknown stage 'flows'; allowed: baseline, binned, block_rg"):
        validate(smoke_cfg("stages=[monte_carlo,flows]"))
    with pytest.raises(ConfigError, match=r"^stages: rbm_flow needs 'trained', given by training, listed before it"):
        validate(smoke_cfg("stages=[monte_carlo,rbm_flow,training]"))
    with pytest.raises(ConfigError, match="each stage once"):
        validate(smoke_cfg("stages=[monte_carlo,monte_carlo]"))


def test_only_the_listed_stages_run(smoke_cfg):
    memory = MemoryRun()
    out = run_stages(smoke_cfg("stages=[monte_carlo,block_rg]"), memory)
    assert any(k.startswith("rg/abs_magnetization/") for k in memory.metrics)
    assert not any(k.startswith(("flow/", "train/", "thermometer/")) for k in memory.metrics)
    assert set(out["metrics"]["perf"]) >= {"perf/monte_carlo_seconds", "perf/block_rg_seconds"}
    assert "perf/training_seconds" not in out["metrics"]["perf"]


def test_applicability_comes_from_the_model_and_lattice_not_the_list(smoke_cfg):
    names = lambda cfg: [m.__name__.rsplit(".", 1)[-1] for m in validate(cfg).stages]  # noqa: E731
    single = names(smoke_cfg())
    assert "stack_layers" not in single and "chain_couplings" not in single and "receptive" in single
    assert "stack_layers" in names(smoke_cfg("model=stacked_rbm", "model.layers=[64,36,16]"))


def test_a_new_stage_is_a_module_and_a_list_entry(smoke_cfg, tmp_path, monkeypatch):
    from rgexp.ising.exact import transfer_matrix_thermo

    (tmp_path / "mean_energy.py").write_text(textwrap.dedent('''
        from rgexp.ising.observables import mean_energy

        NEEDS = ("data",)
        GIVES = ("mean_energy",)

        def run(ctx):
            energies = []
            for i in range(len(ctx.data.temperatures)):
                e = mean_energy(ctx.data.at(i))
                ctx.tracked.log_metrics({"mc/energy": e.value, "mc/energy_error": e.error}, step=i)
                energies.append(e.value)
            return energies
    '''))
    monkeypatch.setattr(rgexp.stages, "__path__", [*rgexp.stages.__path__, str(tmp_path)])
    memory = MemoryRun()
    cfg = smoke_cfg("stages=[monte_carlo,mean_energy]")
    run_stages(cfg, memory)
    # the new stage saw the listed stage's data: each temperature's ⟨e⟩ is the exact (transfer
    # matrix) value of the L×L torus, within 5 of its autocorrelation-corrected errors
    energy, error = dict(memory.history("mc/energy")), dict(memory.history("mc/energy_error"))
    temperatures = list(cfg.sampler.temperatures)
    assert sorted(energy) == list(range(len(temperatures)))
    for i, T in enumerate(temperatures):
        exact = transfer_matrix_thermo(cfg.sampler.L, T)["energy"]
        assert 0 < error[i] < 0.05 and abs(energy[i] - exact) < 5 * error[i], (T, energy[i], error[i], exact)


def test_subsampling_measurements_say_how_many_configurations_they_used(smoke_cfg):
    memory = MemoryRun()
    cfg = smoke_cfg("stages=[monte_carlo,training,rbm_flow,block_rg,receptive]", "sampler.n_samples=60",
                    "flow.n_samples=25", "analysis.receptive.n_samples=1000")
    run_stages(cfg, memory)
    used = {k: memory.history(k)[-1][1] for k in ("flow/n_configurations", "rg/n_configurations",
                                                    "receptive/n_configurations")}
    # the flows take their first flow.n_samples; the RG steps all; more asked for than there are: all
    assert used == {"flow/n_configurations": 25, "rg/n_configurations": 60, "receptive/n_configurations": 60}
