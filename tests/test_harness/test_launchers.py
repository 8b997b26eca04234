"""Scaling out: sweeps on Hydra's launchers end to end, and parallel jobs on one fresh SQLite store.

- ``hydra/launcher=joblib`` (parallel jobs on one machine) and ``hydra/launcher=submitit_local``
  (submitit's local executor: the code path of ``submitit_slurm`` without a cluster) each run a
  two-job sweep through ``python -m rgexp``; every run must end FINISHED in the store, under one
  ``sweep_id``, nested under the sweep's one parent (made in the launching process before the
  jobs, FINISHED with the mean over the seeds), each job in a worker process, not in the launching
  one, and none with an ``MLFLOW_RUN_ID`` in its environment (a Hydra callback records the process
  ids and that variable). Whether the two jobs' run times overlap is not asserted: on a loaded
  machine one worker may finish before the other starts, and that is no failure of the launcher.
  The basic launcher's sweeps: test_sweep_cli.py.
- A reduced ``benchmarks/bench_concurrency.py``: jobs started together on a store that does not exist
  yet (the schema-setup race), one of them SIGKILLed mid-run and finished by a resume; no run lost,
  no "database is locked", no metric step written twice.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT, run_cli

FAST = ["experiment=smoke", "progress=false", "tracking.figures=false", "model.train.epochs=1", "analysis.thermometer=null",
        "analysis.receptive=null", "analysis.scaling=null", "flow.n_steps=1"]
LAUNCHERS = {
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    "submitit_local": ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"],
}


def _job_logs(base: Path) -> str:
    """submitit keeps each job's stderr in the sweep directory: the place to look when a job fails."""
    return "\n".join(p.read_text()[-1500:] for p in base.glob("multirun/**/.submitit/**/*.err"))


# A Hydra callback, importable by the launching process and the workers alike (PYTHONPATH): the
# launching process's id in the sweep directory, each job's in its own directory.
RECORD_PIDS = """
import os
from pathlib import Path

from hydra.experimental.callback import Callback


class RecordPids(Callback):
    def on_multirun_start(self, config, **kwargs):
        Path(config.hydra.sweep.dir).mkdir(parents=True, exist_ok=True)
        (Path(config.hydra.sweep.dir) / "launcher.pid").write_text(str(os.getpid()))

    def on_job_start(self, config, **kwargs):
        Path(config.hydra.runtime.output_dir).mkdir(parents=True, exist_ok=True)
        (Path(config.hydra.runtime.output_dir) / "job.pid").write_text(str(os.getpid()))
        (Path(config.hydra.runtime.output_dir) / "job.env").write_text(os.environ.get("MLFLOW_RUN_ID", "(unset)"))
"""


def _pids(base: Path) -> tuple[set[int], list[int]]:
    """(the launching process's ids, each job's process id) as the callback recorded them."""
    read = lambda name: [int(p.read_text()) for p in base.glob(f"multirun/**/{name}")]  # noqa: E731
    return set(read("launcher.pid")), read("job.pid")


@pytest.mark.slow  # ~15 s (joblib), ~35 s (submitit_local): the launchers are an optional extra
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_sweep_on_launcher_finishes_every_run_under_one_sweep_id(launcher, tmp_path):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "record_pids.py").write_text(RECORD_PIDS)
    proc = run_cli([*FAST, f"cache.directory={tmp_path / 'cache'}", "report=false", *LAUNCHERS[launcher],
                    "+hydra.callbacks.record_pids._target_=record_pids.RecordPids", "-m", "seed=0,1"],
                   cwd=tmp_path, timeout=600,
                   env_extra={"PYTHONPATH": os.pathsep.join(filter(None, [str(hooks), os.environ.get("PYTHONPATH")]))})
    assert proc.returncode == 0, proc.stderr[-3000:] + _job_logs(tmp_path)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("smoke").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("rgexp_sweep") == "parent"]
    runs = [r for r in runs if r is not parent]
    assert sorted(r.data.params["seed"] for r in runs) == ["0", "1"]
    assert sorted(r.info.run_name for r in runs) == ["seed=0", "seed=1"]
    assert [r.info.status for r in runs] == ["FINISHED", "FINISHED"]
    assert len({r.data.tags["sweep_id"] for r in [parent, *runs]}) == 1
    assert sorted(r.data.tags["job_num"] for r in runs) == ["0", "1"]
    assert all(r.data.metrics.get("flow/abs_magnetization/T1.5000") is not None for r in runs)
    # nested under the one parent, made before the jobs; FINISHED with the mean over the two seeds
    assert {r.data.tags["mlflow.parentRunId"] for r in runs} == {parent.info.run_id}
    assert parent.info.run_name == "smoke: seed=0,1" and parent.info.status == "FINISHED"
    assert parent.info.start_time <= min(r.info.start_time for r in runs)
    assert parent.data.metrics["flow/abs_magnetization/T1.5000"] == pytest.approx(
        sum(r.data.metrics["flow/abs_magnetization/T1.5000"] for r in runs) / 2, rel=1e-12)
    assert [p.read_text() for p in tmp_path.glob("multirun/**/job.env")] == ["(unset)", "(unset)"]
    assert proc.stdout.splitlines()[-2].startswith("  open: ")  # the sweep's lines end the output
    # Launched, not run in line: every job ran in a worker process, none in the launching one (joblib
    # with n_jobs=1 would run them in the launching process). submitit_local starts one process per
    # job; joblib's two workers usually take one job each, but one may take both: not asserted.
    launching, jobs = _pids(tmp_path)
    assert len(launching) == 1 and len(jobs) == 2 and not launching & set(jobs), (launching, jobs)
    if launcher == "submitit_local":
        assert len(set(jobs)) == 2, jobs


@pytest.mark.slow
def test_parallel_jobs_on_a_fresh_store_lose_no_run_even_when_one_is_killed(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # the spawned workers import it too
    from bench_concurrency import trial

    result = trial("rgexp", jobs=4, runs=2, n_steps=60, every=10, kill=1, rng=random.Random(0))
    assert result["errors"] == [] and result["crashed"] == []  # no "database is locked", no schema race
    assert result["lost"] == 0 and result["duplicate_steps"] == 0
    assert result["resumed"] + result["restarted"] >= 1  # the killed job's work was redone
