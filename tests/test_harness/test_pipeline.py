"""The orchestrator end to end, in process: one MLflow run, reproducible, resumable bit for bit."""

import math
import os
import signal
from pathlib import Path

import pytest
import torch

from tests.conftest import FIGURES, compose_config, isolated_overrides
from rgexp.analysis import abs_magnetization
from rgexp.cache import DataCache
from rgexp.errors import ConfigError, Interrupted
from rgexp.pipeline import run


def same_parameters(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_smoke_run_logs_params_tags_metrics_artifacts(smoke_cfg, mlflow_client, shared_root):
    cfg = smoke_cfg(FIGURES)
    result = run(cfg)
    c = mlflow_client
    r = c.get_run(result["run_id"])
    assert r.info.status == "FINISHED" and result["status"] == "FINISHED"
    assert r.data.params["seed"] == "0" and r.data.params["sampler.L"] == "8"
    for tag in ("git_commit", "git_dirty", "rgexp_version", "data_hash", "data_cache_hit"):
        assert tag in r.data.tags
    history = c.get_metric_history(r.info.run_id, "flow/abs_magnetization/T1.5000")
    assert sorted(m.step for m in history) == list(range(cfg.flow.n_steps + 1))
    assert any(k.startswith("train/") for k in r.data.metrics)
    arts = {a.path for a in c.list_artifacts(r.info.run_id)}
    assert {"config.yaml", "checkpoints", "figures", "arrays"} <= arts
    figures = {a.path for a in c.list_artifacts(r.info.run_id, "figures")}
    assert "figures/flow_abs_magnetization.png" in figures
    # Flow length 0 is the data itself: its |m| must equal the cached configurations' |m|.
    data = DataCache(shared_root / "cache").load(r.data.tags["data_hash"])
    direct = abs_magnetization(data.spins[0][: cfg.flow.n_samples]).mean()
    step0 = next(m.value for m in history if m.step == 0)
    assert step0 == pytest.approx(direct, rel=1e-12)


def test_same_seed_same_numbers_other_seed_other_numbers(smoke_cfg):
    a, b = run(smoke_cfg("seed=3")), run(smoke_cfg("seed=3"))
    c = run(smoke_cfg("seed=4"))
    assert same_parameters(a["model"], b["model"])
    assert a["metrics"]["flow"] == b["metrics"]["flow"]
    assert not same_parameters(a["model"], c["model"])
    assert a["data_key"] != c["data_key"]


def test_data_seed_pins_the_data_across_model_seeds(smoke_cfg, mlflow_client, shared_root, monkeypatch):
    import matplotlib.figure

    drawn = []  # tracking.figures=false (the tests' default): no figure is even drawn
    init = matplotlib.figure.Figure.__init__
    monkeypatch.setattr(matplotlib.figure.Figure, "__init__", lambda self, *a, **k: (drawn.append(1), init(self, *a, **k))[1])
    a = run(smoke_cfg("seed=0", "data_seed=5"))
    b = run(smoke_cfg("seed=1", "data_seed=5"))
    tags = mlflow_client.get_run(b["run_id"]).data.tags
    assert a["data_key"] == b["data_key"] and tags["data_cache_hit"] == "True"
    assert not same_parameters(a["model"], b["model"])
    assert drawn == [] and not mlflow_client.list_artifacts(b["run_id"], "figures")


class StopAfter:
    """A should_stop hook that asks to stop after ``n`` polls (one poll per RBM update)."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls > self.n


STACK = ("model=stacked_rbm", "model.layers=[64,36,16]")


@pytest.mark.parametrize("model", [(), STACK], ids=["rbm", "stacked_rbm"])
def test_interrupted_then_resumed_equals_uninterrupted(model, smoke_cfg, mlflow_client, shared_root):
    overrides = (*model, "checkpoint_every=4", "model.train.epochs=4")
    full = run(smoke_cfg(*overrides))
    with pytest.raises(Interrupted) as info:
        run(smoke_cfg(*overrides), should_stop=StopAfter(10))
    run_id = info.value.run_id
    c = mlflow_client
    assert c.get_run(run_id).info.status == "KILLED"
    resumed = run(smoke_cfg(*overrides, f"resume={run_id}"))
    assert resumed["run_id"] == run_id and c.get_run(run_id).info.status == "FINISHED"
    assert same_parameters(full["model"], resumed["model"])
    assert full["metrics"]["flow"] == resumed["metrics"]["flow"]
    # Training metrics were flushed with each checkpoint: no step is logged twice.
    steps = [m.step for m in c.get_metric_history(run_id, next(
        k for k in c.get_run(run_id).data.metrics if k.startswith("train/")))]
    assert len(steps) == len(set(steps))


@pytest.fixture(scope="module")
def uninterrupted(shared_root) -> tuple[dict, int]:
    """The smoke run without a stop, and how many safe points it polled (the stop tests' reference)."""
    counter = StopAfter(10**9)
    full = run(compose_config(["experiment=smoke", *isolated_overrides(shared_root)]), should_stop=counter)
    return full, counter.calls


def test_a_stop_during_the_monte_carlo_stage_leaves_a_resumable_run(uninterrupted, smoke_cfg, mlflow_client):
    """The first safe point comes after the untrained model's checkpoint (update 0) is written, so a
    run stopped while its data was being generated resumes to the uninterrupted numbers."""
    full, _ = uninterrupted
    with pytest.raises(Interrupted, match="stopped after the Monte Carlo and thermometer stages") as info:
        run(smoke_cfg(), should_stop=StopAfter(0))
    run_id = info.value.run_id
    assert mlflow_client.get_run(run_id).info.status == "KILLED"
    resumed = run(smoke_cfg(f"resume={run_id}"))
    assert resumed["status"] == "FINISHED"
    assert same_parameters(full["model"], resumed["model"]) and full["metrics"]["flow"] == resumed["metrics"]["flow"]


# Safe points after training, in order (smoke's stages; 3 temperatures): training done; rbm_flow after
# each temperature, then its end; block_rg likewise; scaling_fits; receptive (the thermometers train
# before the model, and no stop is acted on before its first checkpoint). Counting back from the last
# poll names where a stop lands.
@pytest.mark.parametrize("back,where", [
    (10, "after the training stage"), (8, "in the rbm_flow stage after T = 2.2692"),
    pytest.param(5, "in the block_rg stage after T = 1.5000", marks=pytest.mark.slow),
    pytest.param(1, "after the scaling_fits stage", marks=pytest.mark.slow)])
def test_a_stop_between_stages_is_honoured_and_resumes_to_the_same_numbers(back, where, uninterrupted, smoke_cfg,
                                                                          mlflow_client):
    full, polls = uninterrupted
    with pytest.raises(Interrupted, match=f"^stopped {where}$") as info:
        run(smoke_cfg(), should_stop=StopAfter(polls - back - 1))
    run_id = info.value.run_id
    assert mlflow_client.get_run(run_id).info.status == "KILLED"
    resumed = run(smoke_cfg(f"resume={run_id}"))
    assert resumed["status"] == "FINISHED" and mlflow_client.get_run(run_id).info.status == "FINISHED"
    assert same_parameters(full["model"], resumed["model"])
    assert full["metrics"]["flow"] == resumed["metrics"]["flow"]
    history = mlflow_client.get_metric_history(run_id, "flow/abs_magnetization/T1.5000")
    assert sorted(m.step for m in history) == list(range(smoke_cfg().flow.n_steps + 1))  # none twice


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGUSR2], ids=["SIGTERM", "SIGUSR2"])
def test_a_stop_signal_stops_training_at_the_next_update(signum, smoke_cfg, mlflow_client):
    """SIGUSR2 is what SLURM/submitit send before a time limit: it must stop a run as SIGTERM does."""
    calls = []

    def signal_self_after_update_5() -> bool:
        calls.append(1)
        if len(calls) == 6:  # poll 1 is the Monte Carlo stage's, 2–6 the first five updates
            os.kill(os.getpid(), signum)
        return False

    before = signal.getsignal(signum)
    with pytest.raises(Interrupted, match="RBM training stopped at epoch 1, update 6") as info:
        run(smoke_cfg("model.train.epochs=4"), should_stop=signal_self_after_update_5)
    # The signal arrived during the poll after update 5; the handler only raised the flag, and the
    # poll after update 6 saw it (without asking the hook again).
    assert len(calls) == 6
    assert mlflow_client.get_run(info.value.run_id).info.status == "KILLED"
    assert signal.getsignal(signum) is before  # the run put the previous handler back


def test_resume_refuses_result_changing_overrides_and_leaves_run_alone(smoke_cfg, mlflow_client, shared_root):
    with pytest.raises(Interrupted) as info:
        run(smoke_cfg("model.train.epochs=4"), should_stop=StopAfter(3))
    run_id = info.value.run_id
    with pytest.raises(ConfigError, match="refusing overrides that would change results: model.net.n_hidden"):
        run(smoke_cfg(f"resume={run_id}", "model.net.n_hidden=7"), overrides=[f"resume={run_id}", "model.net.n_hidden=7"])
    assert mlflow_client.get_run(run_id).info.status == "KILLED"
    # Harmless overrides are fine: progress bars and checkpoint cadence do not change numbers.
    out = run(smoke_cfg(f"resume={run_id}", "checkpoint_every=2"), overrides=[f"resume={run_id}", "checkpoint_every=2"])
    assert out["status"] == "FINISHED"


def test_resume_of_unknown_run_or_missing_checkpoint_is_refused(smoke_cfg, mlflow_client, shared_root):
    with pytest.raises(ConfigError, match="no such run"):
        run(smoke_cfg("resume=0123456789abcdef"))
    done = run(smoke_cfg())
    ckpt = mlflow_client.get_run(done["run_id"]).info.artifact_uri.replace("file://", "")
    (Path(ckpt) / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="checkpoint of run .* is corrupt"):
        run(smoke_cfg(f"resume={done['run_id']}"))


def test_a_run_that_raises_ends_failed(smoke_cfg, mlflow_client, monkeypatch):
    import rgexp.stages.rbm_flow

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(rgexp.stages.rbm_flow, "run", broken)
    with pytest.raises(RuntimeError, match="boom"):
        run(smoke_cfg("name=failing"))
    runs = mlflow_client.search_runs([mlflow_client.get_experiment_by_name("failing").experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]


def test_bad_config_creates_no_run(smoke_cfg, tmp_path):
    with pytest.raises(ConfigError):
        run(smoke_cfg("sampler.L=-4", f"tracking.root={tmp_path / 'fresh'}"))
    assert not (tmp_path / "fresh" / "mlflow.db").exists()


def test_stacked_rbm_layers_are_measured(smoke_cfg, mlflow_client):
    out = run(smoke_cfg(*STACK))
    history = mlflow_client.get_metric_history(out["run_id"], "stack/abs_magnetization/T1.5000")
    assert sorted(m.step for m in history) == [0, 1, 2]
    # Layer 0 of the stack and flow length 0 are the same configurations.
    assert out["metrics"]["stack"][1.5]["abs_magnetization"][0] == out["metrics"]["flow"][1.5]["abs_magnetization"][0]


def test_thermometer_and_scaling_dimensions_along_the_flow(smoke_cfg, mlflow_client):
    cfg = smoke_cfg(FIGURES)
    out = run(cfg)
    metrics = mlflow_client.get_run(out["run_id"]).data.metrics
    accuracy = metrics["thermometer/final/accuracy"]
    assert 0.0 <= accuracy <= 1.0 and metrics["thermometer/final/accuracy_err"] > 0
    history = mlflow_client.get_metric_history(out["run_id"], "flow/temperature/T2.2692")
    readings = [m.value for m in sorted(history, key=lambda m: m.step)]
    assert len(readings) == cfg.flow.n_steps + 1
    grid = list(cfg.sampler.temperatures)
    assert all(min(grid) <= t <= max(grid) for t in readings)  # a mean of grid temperatures
    # Δ_σ is fitted on the data at T_c (flow length 0) and on every flow length; at length 0 the
    # configurations are Monte Carlo samples at T_c, so Δ_σ = 1/8 within errors. Not "the 90% interval
    # holds 1/8": one seed in ten fails that. Its 99.9% interval (each side of the 90% one stretched by
    # z(0.9995)/z(0.95) = 2, the bootstrap being near normal) misses 1/8 for one seed in a thousand;
    # seeds 0–20 gave |Δ − 1/8| up to 1.9 bootstrap errors (≈ 0.03), a wrong fit is off by far more.
    deltas = out["metrics"]["delta"]["flow"]["sigma"]
    assert [k for k, *_ in deltas] == list(range(cfg.flow.n_steps + 1))
    _, value, lo, hi = deltas[0]
    assert lo < value < hi and hi - lo < 0.2
    assert value - 2 * (value - lo) <= 0.125 <= value + 2 * (hi - value), deltas[0]
    arts = {a.path for a in mlflow_client.list_artifacts(out["run_id"], "figures")}
    assert {"figures/delta_flow.png", "figures/thermometer_confusion.png", "figures/G_of_d.png"} <= arts


# Thermometers that learn within the smoke run: smoke's 5 epochs at lr 1e-3 (~20 Adam updates for the
# 4×4 one) leave them near chance (seeds 0–9: the 4×4 accuracy's lower bound 0.25–0.37 against 1/3,
# and for 5 of the 10 an RG-step reading on the wrong side of T_c); 20 epochs at lr 1e-2 gave
# 0.44–0.58 and RG-step readings ≤ 1.9 (from 1.5) and ≥ 3.3 (from 3.5) for seeds 0–15.
TRAINED = ("analysis.thermometer.lr=1e-2", "analysis.thermometer.epochs=20")


def test_rg_steps_are_read_by_coarse_thermometers(smoke_cfg, mlflow_client):
    """An RG step of an ordered (disordered) state reads colder (hotter) than T_c on the 4×4
    thermometer trained on its own Monte Carlo data, which must beat chance."""
    from rgexp.ising import T_C

    result = run(smoke_cfg("model=stacked_rbm", "model.layers=[64,16]", *TRAINED))
    c, run_id = mlflow_client, result["run_id"]
    metrics = c.get_run(run_id).data.metrics
    n_t = 3
    assert metrics["thermometer/L4/final/accuracy_ci_low"] > 1.0 / n_t
    step1 = {}
    for t in (1.5, 3.5):
        history = {m.step: m.value for m in c.get_metric_history(run_id, f"rg/temperature/T{t:.4f}")}
        assert sorted(history) == [0, 1]  # step 2 is 2×2: no thermometer there
        step1[t] = history[1]
    assert step1[1.5] < T_C < step1[3.5], step1
    layer1 = {m.step for m in c.get_metric_history(run_id, "stack/temperature/T1.5000")}
    assert layer1 == {0, 1}  # the 16-unit layer is read as 4×4


WIDE = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0]


T_C = 2.0 / math.log(1.0 + math.sqrt(2.0))


def _beyond(value: float, err: float, edge: float, side: int) -> bool:
    """The reading lies beyond ``edge`` (side +1: above, −1: below) by 4 errors, or is censored at
    the grid's end on that side (error NaN)."""
    if math.isnan(err):
        return value == (WIDE[-1] if side > 0 else WIDE[0])
    return side * (value - edge) > 4 * err


@pytest.mark.parametrize("reading,real_inputs", [("likelihood", "as_is"), ("energy", "sign")])
def test_thermometers_on_a_wider_grid_read_rg_steps_beyond_the_data_grid(reading, real_inputs, smoke_cfg,
                                                                          mlflow_client):
    """With analysis.thermometer.temperatures every thermometer trains on new data at that grid, so
    RG steps can read beyond the data's grid [1.5, T_c, 3.5]: a b = 2 block step drives T away from
    T_c (temperature is relevant), the hot data hotter than 3.5; the ordered data stays below T_c
    (the ⟨s s'⟩ curve is flat there, so "colder than 1.5" is not resolved on 4×4).

    Read by energy (maximum likelihood within the model itself), the data reads its own temperature
    within errors and the hot step reads beyond 3.5. Read by the network's likelihood, a reading is
    only as calibrated as the network: seeds 0–13 read the data at 3.5 as 3.2–4.4 with errors of
    0.03–0.2, and the hot step as 3.6–6; there the test asks what holds whatever the seed: the data at
    3.5 reads hot (above T_c, inside the grid) and so does its RG step."""
    result = run(smoke_cfg(f"analysis.thermometer.temperatures={WIDE}", "analysis.thermometer.n_samples=1000",
                           f"analysis.thermometer.reading={reading}",
                           f"analysis.thermometer.real_inputs={real_inputs}", *TRAINED))
    c, run_id = mlflow_client, result["run_id"]
    assert set(result["metrics"]["thermometers"]) == {"L8", "L4"}
    metrics = c.get_run(run_id).data.metrics
    for size in ("", "L4/"):  # both beat chance over the 9 classes of the wide grid (seeds 0–13: ≥ 0.21)
        assert metrics[f"thermometer/{size}final/accuracy_ci_low"] > 1.0 / len(WIDE)
    read, err = {}, {}
    for t in (1.5, 3.5):
        read[t] = {m.step: m.value for m in c.get_metric_history(run_id, f"rg/temperature/T{t:.4f}")}
        err[t] = {m.step: m.value for m in c.get_metric_history(run_id, f"rg/temperature_err/T{t:.4f}")}
    assert _beyond(read[1.5][1], err[1.5][1], T_C, -1), (read, err)  # ordered stays ordered
    if reading == "energy":
        assert abs(read[3.5][0] - 3.5) < 4 * err[3.5][0], (read, err)
        assert _beyond(read[3.5][1], err[3.5][1], 3.5, +1), (read, err)
    else:
        assert _beyond(read[3.5][0], err[3.5][0], T_C, +1) and read[3.5][0] < WIDE[-1], (read, err)
        assert _beyond(read[3.5][1], err[3.5][1], T_C, +1), (read, err)


def test_arranging_stack_layers_by_receptive_field_changes_geometry_only(smoke_cfg):
    """arrange_layers permutes a square layer's units before it is read as a lattice: ⟨|m|⟩ of every
    layer, which ignores geometry, is the same with and without it, to the last bit."""
    stack = ("model=stacked_rbm", "model.layers=[64,16]", "analysis.thermometer=null", "analysis.scaling=null")
    plain = run(smoke_cfg(*stack))
    arranged = run(smoke_cfg(*stack, "analysis.receptive.arrange_layers=true"))
    for t, curves in plain["metrics"]["stack"].items():
        assert arranged["metrics"]["stack"][t]["abs_magnetization"] == curves["abs_magnetization"]
