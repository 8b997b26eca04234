"""``python -m rgexp`` end to end in subprocesses: sweeps, exit codes, signals."""

import signal
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import run_cli


def runs_in(tmp_path):
    db = tmp_path / "mlruns" / "mlflow.db"
    if not db.exists():
        return []
    c = MlflowClient(f"sqlite:///{db}")
    return c.search_runs([e.experiment_id for e in c.search_experiments()])


def test_multirun_with_overrides_on_both_sides_gives_one_sweep_of_finished_runs(tmp_path):
    proc = run_cli(["experiment=smoke", "progress=false", f"cache.directory={tmp_path/'cache'}",
                    "-m", "seed=0", "quiet=false,true"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # each job ends with its summary (quiet=true: one line), and MLflow's INFO lines stay quiet
    assert proc.stdout.count("  flows end at T (thermometer): ") == 1
    assert proc.stdout.count("workflowType=machine_learning") == 1 and proc.stdout.count("rgexp: run ") == 2
    assert "INFO mlflow" not in proc.stdout + proc.stderr
    runs = runs_in(tmp_path)
    assert sorted(r.data.params["quiet"] for r in runs) == ["False", "True"]
    assert all(r.info.status == "FINISHED" for r in runs)
    sweep_ids = {r.data.tags.get("sweep_id") for r in runs}
    assert len(sweep_ids) == 1 and None not in sweep_ids
    assert (tmp_path / "multirun").is_dir()


def test_bad_value_exits_nonzero_with_one_line_and_no_run(tmp_path):
    proc = run_cli(["experiment=smoke", "sampler.L=-4"], cwd=tmp_path)
    assert proc.returncode == 2
    lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
    assert lines == [lines[-1]] and "sampler.L must be" in lines[-1]
    assert "Traceback" not in proc.stderr
    assert runs_in(tmp_path) == []


def test_sigterm_checkpoints_marks_killed_and_resumes(tmp_path):
    args = ["experiment=smoke", "progress=false", "model.train.epochs=300", "checkpoint_every=30",
            "model.train.metrics_every=100",
            f"cache.directory={tmp_path/'cache'}"]
    proc = subprocess.Popen([sys.executable, "-m", "rgexp", *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    ckpts = []
    while time.time() < deadline and not ckpts and proc.poll() is None:
        time.sleep(0.5)
        ckpts = list((tmp_path / "mlruns").glob("artifacts/*/*/artifacts/checkpoints/last.pt"))
    assert ckpts, "no checkpoint appeared"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    (run,) = runs_in(tmp_path)
    assert run.info.status == "KILLED"
    assert f"resume={run.info.run_id}" in err
    done = run_cli([f"resume={run.info.run_id}", "progress=false", f"cache.directory={tmp_path/'cache'}"],
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = runs_in(tmp_path)
    assert run.info.status == "FINISHED"


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
