"""``python -m rgexp`` end to end in subprocesses: sweeps, exit codes, signals."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from mlflow.tracking import MlflowClient

from tests.conftest import run_cli


def runs_in(tmp_path):
    db = tmp_path / "mlruns" / "mlflow.db"
    if not db.exists():
        return []
    c = MlflowClient(f"sqlite:///{db}")
    return c.search_runs([e.experiment_id for e in c.search_experiments()])


def test_multirun_with_overrides_on_both_sides_gives_one_sweep_of_finished_runs(tmp_path):
    proc = run_cli(["experiment=smoke", "progress=false", "tracking.figures=false", f"cache.directory={tmp_path/'cache'}",
                    "report=false", "-m", "seed=0", "quiet=false,true"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # each job ends with its summary (quiet=true: one line), the sweep with its own (report=false:
    # no report written), and MLflow's INFO lines stay quiet
    assert proc.stdout.count("  flows end at T (thermometer): ") == 1
    assert proc.stdout.count("workflowType=machine_learning") == 2 and proc.stdout.count("rgexp: run ") == 2
    assert "the sweep's report" not in proc.stdout and not list(tmp_path.glob("multirun/*/*/report"))
    assert "INFO mlflow" not in proc.stdout + proc.stderr
    runs = runs_in(tmp_path)
    (parent,) = [r for r in runs if r.data.tags.get("rgexp_sweep") == "parent"]
    runs = [r for r in runs if r is not parent]
    assert sorted(r.data.params["quiet"] for r in runs) == ["False", "True"]
    assert sorted(r.info.run_name for r in runs) == ["quiet=False", "quiet=True"]  # what varies, as Hydra writes it
    assert all(r.info.status == "FINISHED" for r in runs) and parent.info.status == "FINISHED"
    assert {r.data.tags["mlflow.parentRunId"] for r in runs} == {parent.info.run_id}
    sweep_ids = {r.data.tags.get("sweep_id") for r in [parent, *runs]}
    assert len(sweep_ids) == 1 and None not in sweep_ids
    assert (tmp_path / "multirun").is_dir()
    # the sweep's last lines; quiet=true is the jobs' setting, the sweep's is quiet=false
    assert f"rgexp: sweep 'smoke: quiet=false,true' FINISHED: 2 of 2 runs finished (parent run {parent.info.run_id})" \
        in proc.stdout


def test_bad_value_exits_nonzero_with_one_line_and_no_run(tmp_path):
    proc = run_cli(["experiment=smoke", "sampler.L=-4"], cwd=tmp_path)
    assert proc.returncode == 2
    lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
    assert lines == [lines[-1]] and "sampler.L must be" in lines[-1]
    assert "Traceback" not in proc.stderr
    assert runs_in(tmp_path) == []


# ``python -m rgexp`` with one change, so that the SIGTERM arrives at a known point instead of racing
# the run's end: right after its second checkpoint (the first one of training) the run writes the
# checkpoint's update into $RGEXP_TEST_MARKER and waits (at most 300 s) until a SIGTERM has reached
# it, then hands the signal on to the handler the run had installed and carries on.
PAUSE_AFTER_SECOND_CHECKPOINT = """
import os, runpy, signal, time
from pathlib import Path
from rgexp.tracking.store import TrackedRun

save, saved = TrackedRun.save_checkpoint, []

def save_then_wait_for_sigterm(self, state, *args, **kwargs):
    save(self, state, *args, **kwargs)
    saved.append(state["trainer"]["update"])
    if len(saved) != 2:
        return
    handler, got = signal.getsignal(signal.SIGTERM), []
    def relay(signum, frame):
        got.append(signum)
        handler(signum, frame)
    signal.signal(signal.SIGTERM, relay)
    Path(os.environ["RGEXP_TEST_MARKER"]).write_text(str(saved[-1]))
    deadline = time.monotonic() + 300
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    signal.signal(signal.SIGTERM, handler)

TrackedRun.save_checkpoint = save_then_wait_for_sigterm
runpy.run_module("rgexp", run_name="__main__", alter_sys=True)
"""


def test_sigterm_checkpoints_marks_killed_and_resumes(tmp_path):
    """SIGTERM mid-training: the run stops at the next update with a checkpoint there, ends KILLED,
    exits 130 and prints the resume command, which finishes it."""
    every, updates = 10, 8 * 5  # 5 updates per epoch on the smoke data: checkpoints at 0, 10, 20, 30, 40
    args = ["experiment=smoke", "progress=false", "tracking.figures=false", "model.train.epochs=8", f"checkpoint_every={every}",
            f"cache.directory={tmp_path/'cache'}", "analysis.thermometer=null", "analysis.receptive=null",
            "analysis.scaling=null"]  # the stages after training are not what a stop in training tests
    marker = tmp_path / "paused_at_update"
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err_file:
        proc = subprocess.Popen([sys.executable, "-c", PAUSE_AFTER_SECOND_CHECKPOINT, *args], cwd=tmp_path,
                                stdout=out, stderr=err_file, env={**os.environ, "RGEXP_TEST_MARKER": str(marker)})
        try:
            deadline = time.monotonic() + 300
            while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert marker.exists(), f"the run never reached its second checkpoint (exit {proc.poll()}): " + (
                tmp_path / "err.txt").read_text()[-2000:]
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err = (tmp_path / "err.txt").read_text()
    assert proc.returncode == 130, err[-2000:]
    assert int(marker.read_text()) == every
    (run,) = runs_in(tmp_path)
    assert run.info.status == "KILLED"
    assert f"resume with: python -m rgexp resume={run.info.run_id}" in err.strip().splitlines()[-1]
    # stopped at the first safe point after the signal, well before training's end, with a checkpoint there
    ckpt, = (tmp_path / "mlruns").glob(f"artifacts/*/{run.info.run_id}/artifacts/checkpoints/last.pt")
    stopped_at = torch.load(ckpt, weights_only=True)["trainer"]["update"]
    assert every <= stopped_at <= every + 1 and f"update {stopped_at}" in err, err[-2000:]
    done = run_cli([f"resume={run.info.run_id}", "progress=false", f"cache.directory={tmp_path/'cache'}"],
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = runs_in(tmp_path)
    assert run.info.status == "FINISHED"
    assert torch.load(ckpt, weights_only=True)["trainer"]["update"] == updates


@pytest.mark.parametrize(
    "override,message",
    [
        ("sampler.foo=1", "unknown key 'sampler.foo'; allowed: L, temperatures, n_samples, algorithm"),
        ("sampler=glauber", "Could not find 'sampler/glauber'; allowed sampler: chain1d, long_range, metropolis"),
        ("seed=[1,2", "malformed override"),
    ],
)
def test_hydra_level_mistakes_are_one_line_too(override, message, tmp_path):
    proc = run_cli(["experiment=smoke", override, "-m", "seed=0,1"], cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"rgexp: error: {proc.stderr.strip()[14:]}"]
    assert message in proc.stderr
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "multirun").exists()
