"""``python -m rgexp -m …`` end to end (basic launcher; joblib and submitit_local: test_tracking_postgres.py):
one parent per sweep, named children under it, the mean over seeds on the parent and in the
terminal, the commands the sweep prints run with their printed arguments (the report's through its
main in this process), a killed run failing its sweep until its
resume completes the family, a sweep over models as a group per model; and the MLflow UI as a person
sees that sweep (slow tier): the ``open:`` command and address it prints, run as printed (on a free
port), in headless Chromium (Debian's ``chromium``). The experiment opens in the model-training view
(the runs table), not MLflow's GenAI overview; the runs table lists the parent with its children
under it once its expander is clicked; the parent's metric charts show the mean."""

from __future__ import annotations

import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.browser import CHROMIUM, Browser, free_port, wait_for
from tests.conftest import run_cli

# Small and metrics-only: the thermometer, receptive fields and Δ fits off, one flow step.
FAST = ["experiment=smoke", "progress=false", "tracking.figures=false", "model.train.epochs=1",
        "analysis.thermometer=null", "analysis.receptive=null", "analysis.scaling=null", "flow.n_steps=1"]
T975_2 = 4.302652729749464  # Student's t_{0.975, 2} (tables): the 95% interval of 3 seeds
M = "flow/abs_magnetization/T1.5000"


def _client(base: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{base / 'mlruns' / 'mlflow.db'}")


def _family(base: Path):
    """(the parent, its children by name) in experiment smoke."""
    client = _client(base)
    runs = client.search_runs([client.get_experiment_by_name("smoke").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("rgexp_sweep") == "parent"]
    return parent, {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}


def _printed(stdout: str, prefix: str) -> list[str]:
    return [line.split(prefix, 1)[1].strip() for line in stdout.splitlines() if prefix in line]


def _run_printed(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """A command as the terminal printed it (``python -m …``), with this interpreter."""
    words = shlex.split(command)
    assert words[0] == "python", command
    return subprocess.run([sys.executable, *words[1:]], cwd=cwd, capture_output=True, text=True, timeout=600)


def _report_printed(command: str, cwd: Path, monkeypatch, capsys) -> subprocess.CompletedProcess:
    """A printed ``python -m rgexp.report …`` command, its arguments through the report's ``main`` in
    this process (the module's own entry point; a process would add ~8 s of imports for nothing the
    command line does)."""
    from rgexp.report.__main__ import main

    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "rgexp.report"], command
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    code = main(words[3:])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(words, code, out, err)


@pytest.fixture(scope="module")
def seed_sweep(tmp_path_factory):
    base = tmp_path_factory.mktemp("seed_sweep")
    proc = run_cli([*FAST, "-m", "seed=0,1,2"], cwd=base)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return base, proc


def test_a_seed_sweep_is_one_finished_parent_with_three_named_children(seed_sweep):
    base, _ = seed_sweep
    parent, children = _family(base)
    assert parent.info.run_name == "smoke: seed=0,1,2" and parent.info.status == "FINISHED"
    assert parent.data.tags["sweep_overrides"] == " ".join([*FAST, "seed=0,1,2"])  # the full override line
    assert sorted(children) == ["seed=0", "seed=1", "seed=2"]
    for name, run in children.items():
        assert run.info.status == "FINISHED" and run.data.params["seed"] == name[-1]
        assert run.data.tags["sweep_id"] == parent.data.tags["sweep_id"]
        # each config group's choice, so that the UI can group and filter by it
        assert {k: run.data.tags[k] for k in ("experiment", "model", "sampler", "rg")} == {
            "experiment": "smoke", "model": "rbm", "sampler": "wolff", "rg": "block_average"}
        assert run.info.start_time >= parent.info.start_time  # the parent came first


def test_the_parent_holds_the_mean_and_95_percent_interval_over_seeds_at_every_step(seed_sweep):
    base, _ = seed_sweep
    client = _client(base)
    parent, children = _family(base)
    at = {name: {m.step: m.value for m in client.get_metric_history(r.info.run_id, M)} for name, r in children.items()}
    mean_curve = {m.step: m.value for m in client.get_metric_history(parent.info.run_id, M)}
    assert sorted(mean_curve) == [0, 1]  # flow length 0 and 1: a curve, one line in the parent's chart
    for step, mean in mean_curve.items():
        values = [at[name][step] for name in sorted(at)]
        m = sum(values) / 3
        assert mean == pytest.approx(m, rel=1e-12)
    values = [at[name][1] for name in sorted(at)]
    m = sum(values) / 3
    half = T975_2 * math.sqrt(sum((v - m) ** 2 for v in values) / 2) / math.sqrt(3)
    final = parent.data.metrics
    assert final["flow/abs_magnetization_ci_low/T1.5000"] == pytest.approx(m - half, rel=1e-12)
    assert final["flow/abs_magnetization_ci_high/T1.5000"] == pytest.approx(m + half, rel=1e-12)
    assert final["flow/abs_magnetization_n_eff/T1.5000"] == 3 and parent.data.params["ci_level"] == "0.95"
    assert final["perf/total_seconds"] == pytest.approx(
        sum(r.data.metrics["perf/total_seconds"] for r in children.values()) / 3, rel=1e-12)
    assert not any(k.startswith(("train/", "system/")) for k in final)  # diagnostics are not averaged


def test_the_terminal_ends_with_the_answer_across_seeds(seed_sweep):
    base, proc = seed_sweep
    parent, children = _family(base)
    tail = proc.stdout[proc.stdout.index("rgexp: sweep "):].splitlines()
    assert tail[0] == f"rgexp: sweep 'smoke: seed=0,1,2' FINISHED: 3 of 3 runs finished (parent run {parent.info.run_id})"
    assert tail[1].split() == ["quantity", "seed=0", "seed=1", "seed=2", "mean", "[95%", "interval]", "(n)"]
    row = next(line for line in tail if line.strip().startswith("⟨|m|⟩ at the flows' end T=1.5 "))
    finals = [children[f"seed={s}"].data.metrics[M] for s in range(3)]
    cells = row.split("T=1.5", 1)[1].split()
    assert cells[:3] == [f"{v:.4g}" for v in finals]
    m = parent.data.metrics
    assert " ".join(cells[3:]) == (f"{m[M]:.4g} [{m['flow/abs_magnetization_ci_low/T1.5000']:.4g}, "
                                   f"{m['flow/abs_magnetization_ci_high/T1.5000']:.4g}] (n=3)")
    assert f"/#/experiments/{parent.info.experiment_id}/runs/{parent.info.run_id}?workflowType=machine_learning" in (
        _printed(proc.stdout, "  open: ")[-1])


def test_every_report_command_and_file_the_sweep_prints_works(seed_sweep, monkeypatch, capsys):
    base, proc = seed_sweep
    parent, children = _family(base)
    (sweep_command,) = set(_printed(proc.stdout, "  report: python -m rgexp.report sweep="))
    done = _report_printed(f"python -m rgexp.report sweep={sweep_command}", base, monkeypatch, capsys)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(3 runs; scorecard:" in done.stdout
    # what each run printed (the command a single run prints): the experiment's runs, by name
    (run_command,) = set(_printed(proc.stdout, "  report: python -m rgexp.report name="))
    done = _report_printed(f"python -m rgexp.report name={run_command} log=false", base, monkeypatch, capsys)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(3 runs; scorecard:" in done.stdout  # the parent is not taken for a run
    (written,) = _printed(proc.stdout, "  the sweep's report: ")
    html = Path(written.split(" (also")[0])
    assert html.is_file() and html.parent.parent == Path(parent.data.tags["sweep_dir"])
    files = {a.path for a in _client(base).list_artifacts(parent.info.run_id, "report")}
    assert {"report/report.html", "report/report.md"} <= files


# A sweep over two seeds whose seed=1 gets a SIGTERM right after its second checkpoint: that run stops
# at its next safe point, KILLED, and the launcher stops on it (exit 130).
KILL_SEED_1 = """
import os, runpy, signal
from rgexp.tracking.store import TrackedRun

save, saved = TrackedRun.save_checkpoint, []

def save_then_stop(self, state, *args, **kwargs):
    save(self, state, *args, **kwargs)
    if self.client.get_run(self.run_id).info.run_name == "seed=1":
        saved.append(state)
        if len(saved) == 2:
            os.kill(os.getpid(), signal.SIGTERM)

TrackedRun.save_checkpoint = save_then_stop
runpy.run_module("rgexp", run_name="__main__", alter_sys=True)
"""


def test_a_killed_run_fails_its_sweep_until_its_resume_completes_the_family(tmp_path):
    args = [*FAST, "checkpoint_every=2", "report=false", "-m", "seed=0,1"]
    proc = subprocess.run([sys.executable, "-c", KILL_SEED_1, *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 130, proc.stderr[-3000:]
    parent, children = _family(tmp_path)
    killed = children["seed=1"]
    assert parent.info.status == "FAILED" and killed.info.status == "KILLED"
    resume = f"python -m rgexp resume={killed.info.run_id}"
    assert parent.data.tags["sweep_unfinished"] == f"seed=1 KILLED (resume: {resume})"
    assert f"rgexp: sweep 'smoke: seed=0,1' FAILED: 1 of 2 runs finished (parent run {parent.info.run_id})" in proc.stdout
    assert f"  not finished: seed=1 KILLED (resume: {resume})" in proc.stdout.splitlines()
    assert M not in parent.data.metrics  # no aggregate over a part of the sweep
    done = _run_printed(_printed(proc.stdout, "(resume: ")[0].rstrip(")"), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    parent, children = _family(tmp_path)  # the resumed run kept its parent
    assert sorted(children) == ["seed=0", "seed=1"] and children["seed=1"].info.status == "FINISHED"
    assert parent.info.status == "FINISHED" and "sweep_unfinished" not in parent.data.tags
    assert parent.data.metrics["flow/abs_magnetization_n_eff/T1.5000"] == 2
    assert parent.data.metrics[M] == pytest.approx(sum(r.data.metrics[M] for r in children.values()) / 2, rel=1e-12)
    assert done.stdout.splitlines()[-1].startswith("  report: python -m rgexp.report sweep=")
    assert f"rgexp: sweep 'smoke: seed=0,1' FINISHED: 2 of 2 runs finished (parent run {parent.info.run_id})" in done.stdout


def test_a_sweep_launched_again_in_its_directory_continues_it(tmp_path):
    """Seeds 0, 1, 2 on the basic launcher: seed=1 stopped (KILLED) after its second checkpoint stops
    the launcher, so seed=2 never starts. The same command again with ``hydra.sweep.dir`` at that
    sweep's directory: the same parent, seed=0 not run again, seed=1 resumed (the same run, from its
    checkpoint), seed=2 started; then the family closed FINISHED with the mean over three seeds. Other
    overrides in that directory are refused in one line before anything is touched."""
    args = [*FAST, "checkpoint_every=2", "report=false", "-m", "seed=0,1,2"]
    first = subprocess.run([sys.executable, "-c", KILL_SEED_1, *args], cwd=tmp_path, capture_output=True, text=True,
                           timeout=600)
    assert first.returncode == 130, first.stderr[-3000:]
    parent, children = _family(tmp_path)
    assert sorted(children) == ["seed=0", "seed=1"] and children["seed=1"].info.status == "KILLED"
    before = {name: (r.info.run_id, r.info.end_time) for name, r in children.items()}
    where = f"hydra.sweep.dir={parent.data.tags['sweep_dir']}"
    again = run_cli([*args, where], cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    skipped = f"rgexp: run {before['seed=0'][0]} FINISHED (before, in this sweep's directory: not run again)"
    assert skipped in again.stdout.splitlines()
    parent_now, children = _family(tmp_path)
    assert parent_now.info.run_id == parent.info.run_id and parent_now.info.status == "FINISHED"
    assert sorted(children) == ["seed=0", "seed=1", "seed=2"]
    assert {r.info.status for r in children.values()} == {"FINISHED"}
    assert children["seed=0"].info.end_time == before["seed=0"][1]  # untouched
    assert children["seed=1"].info.run_id == before["seed=1"][0]
    assert parent_now.data.metrics["flow/abs_magnetization_n_eff/T1.5000"] == 3
    assert parent_now.data.metrics[M] == pytest.approx(sum(r.data.metrics[M] for r in children.values()) / 3, rel=1e-12)
    assert len(_client(tmp_path).search_runs([parent.info.experiment_id])) == 4  # the parent and its three runs
    # other overrides in that directory: refused before anything is touched (what the launching process
    # prints in one line, exit 2), here in process
    from rgexp.errors import ConfigError
    from rgexp.tracking.sweep import SweepPlan, _continue, family_key
    from rgexp.tracking.tracker import MLflowTracker

    tracker = MLflowTracker(root=str(tmp_path / "mlruns"), experiment="smoke")
    sweep_dir = Path(parent.data.tags["sweep_dir"])
    plan = SweepPlan(parent.data.tags["sweep_id"], sweep_dir, "seed=0,1", "experiment=smoke -m seed=0,1", ["seed"], None,
                     tracker)
    with pytest.raises(ConfigError, match=f"^hydra.sweep.dir={sweep_dir} holds another sweep") as info:
        _continue(plan, {family_key(tracker): tracker})
    assert "\n" not in str(info.value) and _family(tmp_path)[0].info.status == "FINISHED"


def test_a_sweep_over_models_has_a_run_per_model_and_its_report_says_model(tmp_path):
    proc = run_cli([*FAST, "sampler.L=10", "rg.n_steps=1", "-m", "model=rbm,stacked_rbm"],
                   cwd=tmp_path)  # the stack takes 10×10 lattices
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = _client(tmp_path)
    parent, groups = _family(tmp_path)
    assert parent.info.run_name == "smoke: model=rbm,stacked_rbm" and parent.info.status == "FINISHED"
    assert sorted(groups) == ["model=rbm", "model=stacked_rbm"]
    exp = parent.info.experiment_id
    for name, group in groups.items():
        assert group.info.status == "FINISHED" and group.data.tags["rgexp_sweep"] == "group"
        (child,) = client.search_runs([exp], f"tags.`mlflow.parentRunId` = '{group.info.run_id}'")
        assert child.info.run_name == name and child.data.tags["model"] == name.split("=")[1]
        assert group.data.metrics[M] == child.data.metrics[M]  # the mean of one run
    assert "  model=rbm:" in proc.stdout.splitlines() and "  model=stacked_rbm:" in proc.stdout.splitlines()
    md = (Path(parent.data.tags["sweep_dir"]) / "report" / "report.md").read_text()
    runs_table = md[md.index("## Runs"):].split("\n## ")[0]
    assert re.findall(r"^\| (model=\w+) \| 1 \|", runs_table, re.MULTILINE) == ["model=rbm", "model=stacked_rbm"]
    assert "_target_" not in runs_table


# -- the sweep in the MLflow UI, as a person sees it ----------------------------------------------
EXPAND = """(() => {{
  const link = [...document.querySelectorAll('a')].find(a => a.textContent.trim() === {name!r});
  link.closest('[role=gridcell]').querySelector('button[data-component-id*="runnamecellrenderer"]').click();
  return true; }})()"""


@pytest.mark.slow  # ~45 s: an MLflow UI and Chromium start (one of each for every check)
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_the_printed_address_shows_the_sweep_folded_under_its_parent(seed_sweep, tmp_path):
    base, proc = seed_sweep
    opened = [line for line in proc.stdout.splitlines() if line.startswith("  open: ")][-1]
    command, address = opened.removeprefix("  open: ").split("   then ")
    port = free_port()  # the printed 5000 may be taken on a test machine
    words = shlex.split(command.replace("--port 5000", f"--port {port}"))
    assert words[:2] == ["mlflow", "ui"]
    client = MlflowClient(words[words.index("--backend-store-uri") + 1])
    experiment = client.get_experiment_by_name("smoke")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # MLflow's tag for training
    server = subprocess.Popen([str(Path(sys.executable).parent / "mlflow"), *words[1:]], cwd=base,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", 90)
        address = address.replace("127.0.0.1:5000/", f"127.0.0.1:{port}/")
        runs_table = address.split("/runs/")[0] + "/runs?workflowType=machine_learning"
        parent = "smoke: seed=0,1,2"
        with Browser() as browser:
            # the experiment, at the address the manual gives: its runs, not the GenAI overview
            page = browser.open(address.split("/runs/")[0] + "?workflowType=machine_learning")
            page.wait_until(f"document.body.innerText.includes({parent!r})")
            assert "Token Usage" not in page.text() and "Evaluation runs" not in page.text()
            page = browser.open(address)  # the parent's own page
            page.wait_until(f"document.body.innerText.includes({parent!r})")
            page = browser.open(address.replace("?", "/model-metrics?"))
            page.wait_until("document.body.innerText.includes('abs_magnetization')", 90)
            page = browser.open(runs_table)
            page.wait_until(f"document.body.innerText.includes({parent!r})")
            assert "seed=0" not in page.text().splitlines()  # folded
            page.evaluate(EXPAND.format(name=parent))
            page.wait_until("document.body.innerText.split('\\n').includes('seed=1')")
            text = page.text()
            page.screenshot(tmp_path / "runs.png")
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = text[text.index("Run Name"):].splitlines()
    assert rows.index(parent) < rows.index("seed=1") and rows.index(parent) < rows.index("seed=0")
    assert "Token Usage" not in text and "Evaluation runs" not in text  # the model-training view
