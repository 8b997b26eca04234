"""A sweep as one MLflow family, in process: the names Hydra's overrides give (rgexp.cli), the parent
and its groups (rgexp.tracking.sweep) on a real SQLite store, closing a family (complete, not, and
again after the missing run came), the readers skipping the holders, the report's group labels.
End to end through ``python -m rgexp -m …``: test_sweep_cli.py (joblib and submitit_local: test_tracking_postgres.py)."""

from __future__ import annotations

import math
import warnings

import pytest

from rgexp.cli import choice_tags, fix_argv, job_group, job_name, sweep_title, swept_keys
from rgexp.metric_names import CI_HIGH, CI_LOW, N_EFF, companion, metric
from rgexp.report.collect import group_runs, split_overrides
from rgexp.tracking import MLflowTracker, RunRecord, read_runs
from rgexp.tracking import sweep as sweep_mod
from rgexp.tracking.reading import PARENT_TAG, SWEEP_ROLE_TAG
from rgexp.tracking.sweep import PlannedJob, SweepPlan, close_family, nested_under, open_sweep, parent_for

T975_2 = 4.302652729749464  # Student's t_{0.975, 2} (tables)
CHOICES = {"scale": "quick", "experiment": "coarse_graining", "scales/coarse_graining@_global_": "quick",
           "tracking": "local", "analysis": "default", "rg": "block_average", "flow": "rbm_flow",
           "model": "stacked_rbm", "model/train": "stacked_rbm", "sampler": "wolff", "hydra/launcher": "basic"}


# ------------------------------------------------------------------------------------- names
def test_a_jobs_name_is_what_varies_and_its_group_what_varies_but_the_seed():
    given = ["experiment=coarse_graining", "model=stacked_rbm", "progress=false", "seed=0,1,2"]
    params = {"model.layers": "[1024,256,64],[1024,64]"}  # the preset's own sweep (hydra.sweeper.params)
    swept = swept_keys(given, params)
    assert swept == ["model.layers", "seed"]
    job = ["model.layers=[1024,64]", "experiment=coarse_graining", "model=stacked_rbm", "progress=false", "seed=2"]
    # the preset picks model=stacked_rbm (not the primary config's rbm): a choice that sets the run apart
    assert job_name(job, swept, CHOICES) == "model=stacked_rbm model.layers=[1024,64] seed=2"
    assert job_group(job, swept) == "model.layers=[1024,64]"
    assert sweep_title(given, params) == "model=stacked_rbm model.layers=[1024,256,64],[1024,64] seed=0,1,2"
    plain = {**CHOICES, "experiment": "smoke", "model": "rbm", "model/train": "rbm"}
    assert job_name(["experiment=smoke", "seed=1"], ["seed"], plain) == "seed=1"
    assert job_group(["experiment=smoke", "seed=1", "quiet=true"], ["seed", "quiet"]) == ""  # harmless: one group
    assert job_name(["model=stacked_rbm", "seed=1"], ["model", "seed"], CHOICES | {"experiment": None}) == \
        "model=stacked_rbm seed=1"


def test_choices_become_tags_and_report_false_reaches_the_sweep_callback():
    tags = choice_tags(CHOICES | {"experiment": None})
    assert tags == {"scale": "quick", "tracking": "local", "analysis": "default", "rg": "block_average",
                    "flow": "rbm_flow", "model": "stacked_rbm", "model/train": "stacked_rbm", "sampler": "wolff"}
    assert fix_argv(["rgexp", "report=false", "-m", "seed=0,1"]) == [
        "rgexp", "-m", "++hydra.callbacks.tracking_store.report=false", "seed=0,1"]


def test_overrides_split_back_at_spaces_outside_brackets_and_quotes():
    assert split_overrides("experiment=smoke sampler.temperatures=[1.5, 2.0] a='x y' seed=1") == [
        "experiment=smoke", "sampler.temperatures=[1.5, 2.0]", "a='x y'", "seed=1"]


# ------------------------------------------------------------------------------------ families
@pytest.fixture
def family(tmp_path, monkeypatch):
    """A tracker on a fresh store and an empty list of open sweeps (the module's, for this test)."""
    monkeypatch.setattr(sweep_mod, "_OPEN", [])
    monkeypatch.setattr(sweep_mod, "_HELD", [])
    return MLflowTracker(root=str(tmp_path / "mlruns"), experiment="fam", system_metrics=False)


def test_a_sweep_directory_in_use_by_another_launch_is_refused_and_freed_when_its_sweep_closes(family, tmp_path):
    import fcntl

    from rgexp.errors import ConfigError

    (tmp_path / "sweep").mkdir()
    with open(tmp_path / "sweep" / sweep_mod.LOCK_FILE, "w") as other:  # another launching process's lock
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ConfigError, match="its sweep is running in another process") as info:
            open_sweep(_plan(family, tmp_path, [""]))
        assert "\n" not in str(info.value) and not (tmp_path / "sweep" / sweep_mod.SWEEP_FILE).exists()
    open_sweep(_plan(family, tmp_path, [""]))  # free again: this process holds it until the sweep closes
    with open(tmp_path / "sweep" / sweep_mod.LOCK_FILE, "w") as other:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        sweep_mod.close_open_sweeps(failed=False)
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released


def _plan(tracker, tmp_path, groups: list[str], report: bool = False) -> SweepPlan:
    jobs = [PlannedJob([g, f"seed={k}"], tracker, g) for k, g in enumerate(groups)]
    return SweepPlan("abc123", tmp_path / "sweep", "seed=0,1,2", "experiment=x seed=0,1,2", ["seed"], jobs, tracker,
                     report)


def _child(tracker, parent: str, seed: int, values: list[float], status: str = "FINISHED") -> str:
    run = tracker.start(f"seed={seed}", "seed: 0\n", {"seed": str(seed), "name": "fam"}, nested_under(parent))
    for step, v in enumerate(values):
        run.log_metrics({metric("flow", "temperature", T=1.5): v}, step=step)
    run.end(status)
    return run.run_id


def test_a_family_finishes_only_when_every_run_has_and_then_holds_the_mean(family, tmp_path):
    client, name = family.client, metric("flow", "temperature", T=1.5)
    record = open_sweep(_plan(family, tmp_path, ["", "", ""]))
    parent = parent_for(record, family, "")
    assert (tmp_path / "sweep" / sweep_mod.SWEEP_FILE).exists() and sweep_mod._OPEN == [(family, parent, False)]
    assert client.get_run(parent).info.run_name == "fam: seed=0,1,2"
    assert client.get_run(parent).info.status == "RUNNING"  # before any job: jobs need it RUNNING to nest
    values = [[1.5, 2.0], [1.5, 2.4], [1.5, 2.6]]
    first = _child(family, parent, 0, values[0])
    second = _child(family, parent, 1, values[1], status="KILLED")
    lines = close_family(family, parent)
    run = client.get_run(parent)
    assert run.info.status == "FAILED" and name not in run.data.metrics  # no aggregate over a part
    assert run.data.tags["sweep_unfinished"] == (
        f"seed=1 KILLED (resume: {family.resume_command(second)}); 1 run(s) never started")
    assert lines[0].startswith("sweep 'fam: seed=0,1,2' FAILED: 1 of 3 runs finished")
    # the killed run resumed and finished, the missing one came: closing again completes the family
    client.set_terminated(second, "FINISHED")
    _child(family, parent, 2, values[2])
    lines = close_family(family, parent)
    run = client.get_run(parent)
    assert run.info.status == "FINISHED" and "sweep_unfinished" not in run.data.tags
    history = {m.step: m.value for m in client.get_metric_history(parent, name)}
    mean = sum(v[1] for v in values) / 3
    std = math.sqrt(sum((v[1] - mean) ** 2 for v in values) / 2)
    assert history == pytest.approx({0: 1.5, 1: mean}, rel=1e-14)
    assert run.data.metrics[companion(name, CI_LOW)] == pytest.approx(mean - T975_2 * std / math.sqrt(3), rel=1e-12)
    assert run.data.metrics[companion(name, CI_HIGH)] == pytest.approx(mean + T975_2 * std / math.sqrt(3), rel=1e-12)
    assert run.data.metrics[companion(name, N_EFF)] == 3
    close_family(family, parent)  # closed a third time: no step logged twice
    assert len(client.get_metric_history(parent, name)) == 2
    assert lines[0] == f"sweep 'fam: seed=0,1,2' FINISHED: 3 of 3 runs finished (parent run {parent})"
    # readers of runs never take the parent for one
    assert sorted(r.run_id for r in read_runs(family)) == sorted(
        r.info.run_id for r in client.search_runs([run.info.experiment_id], f"tags.`{PARENT_TAG}` = '{parent}'"))
    assert first in {r.run_id for r in read_runs(family)} and parent not in {r.run_id for r in read_runs(family)}


def test_a_sweep_over_more_than_seeds_has_a_run_per_group_holding_its_own_mean(family, tmp_path):
    client, name = family.client, metric("flow", "temperature", T=1.5)
    record = open_sweep(_plan(family, tmp_path, ["model=rbm", "model=rbm", "model=stacked_rbm"]))
    parent = parent_for(record, family, "nonexistent group")
    holders = {g: parent_for(record, family, g) for g in ("model=rbm", "model=stacked_rbm")}
    assert len({parent, *holders.values()}) == 3
    for group, holder in holders.items():
        run = client.get_run(holder)
        assert run.info.run_name == group and run.data.tags[PARENT_TAG] == parent
        assert run.data.tags[SWEEP_ROLE_TAG] == "group"
    _child(family, holders["model=rbm"], 0, [1.0, 2.0])
    _child(family, holders["model=rbm"], 1, [1.0, 3.0])
    _child(family, holders["model=stacked_rbm"], 0, [1.0, 5.0])
    lines = close_family(family, parent)
    assert client.get_run(parent).info.status == "FINISHED"
    assert {m.step: m.value for m in client.get_metric_history(holders["model=rbm"], name)} == {0: 1.0, 1: 2.5}
    assert client.get_run(holders["model=stacked_rbm"]).data.metrics[name] == 5.0
    assert name not in client.get_run(parent).data.metrics  # means over different models are no answer
    assert "  model=rbm:" in lines and "  model=stacked_rbm:" in lines
    assert read_runs(family, sweep_id="abc123") == []  # the holders are skipped; the children carry no sweep tag here


# ------------------------------------------------------------------------------------- report labels
def _record(run_id: str, params: dict, tags: dict) -> RunRecord:
    return RunRecord(run_id, run_id, "x", "FINISHED", params, tags, {}, {})


def test_report_groups_are_labelled_by_preset_then_what_differs_within_it():
    cg = {"name": "coarse_graining", "sampler.L": "32", "model._target_": "rgexp.models.StackedRBM"}
    records = [
        _record("a", {"name": "rbm_flow", "sampler.L": "10", "model.net._target_": "rgexp.models.RBM", "seed": "0"},
                {"experiment": "rbm_flow", "model": "rbm", "hydra_overrides": "experiment=rbm_flow seed=0"}),
        *[_record(f"c{k}", {**cg, "model.layers": layers, "seed": "0"},
                  {"experiment": "coarse_graining", "model": "stacked_rbm",
                   "hydra_overrides": f"model.layers={typed} experiment=coarse_graining seed=0"})
          for k, (layers, typed) in enumerate([("[1024, 256, 64]", "[1024,256,64]"), ("[1024, 64]", "[1024,64]")])]]
    assert [g.label for g in group_runs(records)] == [
        "rbm_flow", "coarse_graining: model.layers=[1024,256,64]", "coarse_graining: model.layers=[1024,64]"]
    # one preset, two models: the choice, not the fifty resolved keys in which the models differ
    models = [_record(m, {"name": "default", "model.x": m, **{f"model.k{i}": f"{m}{i}" for i in range(50)}},
                      {"model": m, "hydra_overrides": f"model={m} seed=0"}) for m in ("rbm", "stacked_rbm")]
    assert [g.label for g in group_runs(models)] == ["model=rbm", "model=stacked_rbm"]
    # runs without those tags: the params that differ, as before
    plain = [_record(str(L), {"sampler.L": str(L)}, {}) for L in (8, 16)]
    assert [g.label for g in group_runs(plain)] == ["sampler.L=8", "sampler.L=16"]


def test_the_report_of_two_presets_draws_its_figures_without_collapsed_axes(tmp_path):
    """Labelled by the fifty resolved keys in which two presets differ (lists of sixty temperatures),
    each panel's title was taller than its figure: matplotlib's "constrained_layout not applied"."""
    from rgexp.report.build import build_report

    grid = "[" + ", ".join(f"{0.1 * i:.2f}" for i in range(1, 61)) + "]"

    def run(run_id, preset, seed, end):
        T = metric("flow", "temperature", T=1.5)
        return RunRecord(run_id, run_id, preset, "FINISHED",
                         {"name": preset, "seed": str(seed), **{f"sampler.k{i}": f"{preset}{grid}" for i in range(50)}},
                         {"experiment": preset, "hydra_overrides": f"experiment={preset} seed={seed}"},
                         {T: end}, {T: [(0, 1.5), (1, (1.5 + end) / 2), (2, end)]})

    records = [run(f"{p}{s}", p, s, 2.2 + 0.1 * s) for p in ("rbm_flow", "iso_flow") for s in (0, 1)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = build_report(records, tmp_path, title="t", selection="s")
    assert not [w for w in caught if "constrained_layout" in str(w.message)], [str(w.message) for w in caught]
    assert "| rbm_flow | 2 |" in report.markdown.read_text() and report.figures
