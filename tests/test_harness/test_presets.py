"""Every preset of conf/experiment end to end at tiny size, with the physics that is exact checked.

Each preset is composed at scale=quick and at scale=paper (validated, not run); then run at
scale=quick with overrides that shrink it to seconds.
"""

import numpy as np
import pytest

from rgexp.config import check_config
from rgexp.pipeline import build_parts, run
from rgexp.rg import coupling_flow
from tests.conftest import FIGURES, compose_config

PRESETS = ["rbm_flow", "coarse_graining", "temperature_flow", "long_range", "mehta_schwab",
           "ising1d_fixed_point", "iso_flow"]

TINY = {
    "rbm_flow": ["sampler.temperatures=[1.0,1.8,2.0,2.1,2.2,2.3,2.5,3.5]", "sampler.n_samples=60",
                 "model.train.epochs=2", "flow.n_steps=3", "flow.n_samples=40", "analysis.thermometer.epochs=2",
                 "analysis.scaling.n_boot=10", "analysis.receptive.n_samples=60", "analysis.binned.n_boot=10",
                 "analysis.binned.min_count=10", "analysis.fixed_point.n_points=3",
                 "analysis.fixed_point.n_samples=40", "analysis.fixed_point.n_steps=3",
                 "analysis.fixed_point.drift_steps=1"],
    "iso_flow": ["sampler.temperatures=[1.0e-6,1.0,2.0,2.25,2.5,3.5,6.0]", "sampler.n_samples=60",
                 "model.train.epochs=3", "flow.n_steps=3", "flow.n_samples=40", "analysis.thermometer.epochs=2",
                 "analysis.scaling.n_boot=10", "analysis.receptive.n_samples=60",
                 "analysis.fixed_point.n_points=3", "analysis.fixed_point.n_samples=40",
                 "analysis.fixed_point.n_steps=3", "analysis.fixed_point.drift_steps=1"],
    "coarse_graining": ["sampler.L=16", "model.layers=[256,64,16]", "sampler.n_samples=40", "model.train.epochs=1",
                        "flow.n_steps=2", "flow.n_samples=20", "analysis.thermometer.epochs=2",
                        "analysis.scaling.n_boot=10", "analysis.receptive.n_samples=40"],
    "temperature_flow": ["sampler.L=16", "model.layers=[256,64,16]", "sampler.n_samples=40",
                         "model.train.batch_size=16",
                         "model.train.epochs=1", "flow.n_steps=1", "flow.n_samples=20", "rg.n_steps=2",
                         "analysis.thermometer.epochs=2", "analysis.scaling.n_boot=10",
                         "analysis.receptive.n_samples=40"],
    "long_range": ["sampler.L=8", "model.layers=[64,16]", "analysis.criticality=null", "sampler.n_samples=40", "model.train.epochs=1",
                   "flow.n_steps=2", "flow.n_samples=20", "analysis.thermometer.epochs=2",
                   "analysis.scaling.n_boot=10", "analysis.receptive.n_samples=40"],
    "mehta_schwab": ["sampler.L=16", "model.layers=[256,64,16,4]", "sampler.n_samples=200", "model.train.epochs=1",
                     "model.train.batch_size=100", "flow.n_steps=1", "flow.n_samples=20", "rg.n_steps=2",
                     "analysis.receptive.n_samples=200"],
    "ising1d_fixed_point": ["sampler.N=16", "model.layers=[16,8,4]", "sampler.n_samples=400",
                            "model.train.epochs=2", "flow.n_steps=2", "flow.n_samples=20", "rg.n_steps=2"],
}


@pytest.mark.parametrize("scale", ["quick", "paper"])
@pytest.mark.parametrize("preset", PRESETS)
def test_preset_composes_and_validates(preset, scale):
    cfg = compose_config([f"experiment={preset}", f"scale={scale}"])
    check_config(cfg)
    build_parts(cfg)
    assert cfg.name == preset


def test_scales_differ_for_every_preset():
    for preset in PRESETS:
        quick = compose_config([f"experiment={preset}", "scale=quick"])
        paper = compose_config([f"experiment={preset}", "scale=paper"])
        assert quick.sampler.n_samples < paper.sampler.n_samples, preset


def _history(client, run_id: str, key: str) -> list[float]:
    return [m.value for m in sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)]


# The presets whose own figures (Δ against T, the fixed point, the binned fits, G(d)) are checked
# below: drawn (half a run's cost at this size). iso_flow's are rbm_flow's kinds and mehta_schwab's
# coarse_graining's; the other presets' are the same curve plots, drawn here already.
DRAWN = {"rbm_flow", "coarse_graining"}


def _run(preset, isolated):
    return run(compose_config([f"experiment={preset}", "scale=quick", "progress=false", *isolated,
                               *([FIGURES] if preset in DRAWN else []), *TINY[preset]]))


@pytest.mark.parametrize("preset", [p for p in PRESETS if p != "ising1d_fixed_point"])
def test_preset_runs_end_to_end(preset, isolated, mlflow_client):
    result = _run(preset, isolated)
    r = mlflow_client.get_run(result["run_id"])
    assert r.info.status == "FINISHED"
    assert mlflow_client.get_experiment(r.info.experiment_id).name == preset
    metrics = r.data.metrics
    figures = {a.path for a in mlflow_client.list_artifacts(r.info.run_id, "figures")}
    assert ("figures/flow_abs_magnetization.png" in figures) == (preset in DRAWN)
    if preset == "rbm_flow":
        assert len(_history(mlflow_client, r.info.run_id, "flow/temperature/Tinf")) == 4
        assert any(k.startswith("mc/delta_sigma/L9/") for k in metrics)
        assert "figures/delta_vs_T_mc.png" in figures
    if preset in ("rbm_flow", "iso_flow"):  # the fixed point at 3 training updates, read three ways
        for reading in ("energy", "magnetization", "network"):
            assert len(_history(mlflow_client, r.info.run_id, f"fixed_point/temperature_{reading}")) >= 2
        assert ("figures/fixed_point.png" in figures) == (preset in DRAWN)
    if preset == "rbm_flow":
        assert "figures/flow_binned_fig2_delta_sigma_m.png" in figures
    if preset in ("coarse_graining", "temperature_flow", "long_range"):
        assert len(_history(mlflow_client, r.info.run_id, "rg/temperature/T" + _t(r, 0))) >= 2
    if preset in ("coarse_graining", "mehta_schwab"):
        assert "receptive/stack_layer_1/radius" in metrics and ("figures/G_of_d.png" in figures) == (preset in DRAWN)


def _t(r, i: int) -> str:
    temps = sorted(float(t) for t in r.data.params["sampler.temperatures"].strip("[]").split(","))
    return f"{temps[i]:.4f}"


def test_ising1d_fixed_point_couplings_follow_exact_decimation(isolated, mlflow_client):
    """Decimated exact chains: K_eff per RG step within 4σ of tanh K' = tanh² K; the exact
    variational construction equals the recursion to rounding; the stack's couplings are logged."""
    result = _run("ising1d_fixed_point", isolated)
    rid = result["run_id"]
    for t in (0.75, 1.5, 3.0):
        exact = coupling_flow(1.0 / t, 0.0, 2)[0]
        assert np.allclose(_history(mlflow_client, rid, f"rg/coupling_exact/T{t:.4f}"), exact, rtol=1e-12)
        assert np.allclose(_history(mlflow_client, rid, f"variational/coupling/T{t:.4f}"), exact, atol=1e-9)
        measured = np.array(_history(mlflow_client, rid, f"rg/coupling/T{t:.4f}"))
        err = np.array(_history(mlflow_client, rid, f"rg/coupling_err/T{t:.4f}"))
        assert np.all(np.abs(measured - exact) < 4 * err + 1e-12)
        assert len(_history(mlflow_client, rid, f"stack/coupling/T{t:.4f}")) == 3


@pytest.mark.slow  # ~19 s; the fast tier's sweep from the command line is test_cli's multirun test
def test_coarse_graining_sweep_runs_both_models_from_the_command_line(tmp_path):
    """``python -m rgexp -m experiment=coarse_graining``: the preset's own sweep (hydra.sweeper.params)
    runs the stack 1024→256→64 and the single RBM 1024→64 as two runs of one sweep (tiny sizes)."""
    from mlflow.tracking import MlflowClient

    from tests.conftest import run_cli

    tiny = ["sampler.n_samples=20", "model.train.epochs=1", "model.train.batch_size=20", "flow.n_steps=1",
            "flow.n_samples=10", "analysis.thermometer.epochs=1", "analysis.thermometer.n_samples=10",
            "analysis.scaling=null", "analysis.receptive.n_samples=40", "analysis.receptive.n_units=2"]
    proc = run_cli(["-m", "experiment=coarse_graining", f"tracking.root={tmp_path / 'mlruns'}",
                    f"cache.directory={tmp_path / 'cache'}", "progress=false", "tracking.figures=false", *tiny],
                   cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("coarse_graining").experiment_id])
    runs = [r for r in runs if "rgexp_sweep" not in r.data.tags]  # the sweep's parent and its groups hold no run
    assert sorted(r.data.params["model.layers"] for r in runs) == ["[1024, 256, 64]", "[1024, 64]"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert len({r.data.tags["sweep_id"] for r in runs}) == 1
    assert all("receptive/stack_layer_1/radius" in r.data.metrics for r in runs)
