"""Scaling out: sweeps on Hydra's launchers end to end, and parallel jobs on one fresh SQLite store.

- ``hydra/launcher=joblib`` (parallel jobs on one machine) and ``hydra/launcher=submitit_local``
  (submitit's local executor: the code path of ``submitit_slurm`` without a cluster) each run a
  two-job sweep through ``python -m rgexp``; every run must end FINISHED in the store, under one
  ``sweep_id``, and the two jobs must have run at the same time.
- A reduced ``benchmarks/bench_concurrency.py``: jobs started together on a store that does not exist
  yet (the schema-setup race), one of them SIGKILLed mid-run and finished by a resume; no run lost,
  no "database is locked", no metric step written twice.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT, run_cli

FAST = ["experiment=smoke", "progress=false", "model.train.epochs=1", "analysis.thermometer=null",
        "analysis.receptive=null", "analysis.scaling=null", "flow.n_steps=1"]
LAUNCHERS = {
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    "submitit_local": ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"],
}


def _job_logs(base: Path) -> str:
    """submitit keeps each job's stderr in the sweep directory: the place to look when a job fails."""
    return "\n".join(p.read_text()[-1500:] for p in base.glob("multirun/**/.submitit/**/*.err"))


@pytest.mark.parametrize("launcher", [pytest.param("joblib"),  # submitit_local: ~35 s, the slow set
                                      pytest.param("submitit_local", marks=pytest.mark.slow)])
def test_sweep_on_launcher_finishes_every_run_under_one_sweep_id(launcher, tmp_path):
    proc = run_cli([*FAST, f"cache.directory={tmp_path / 'cache'}", *LAUNCHERS[launcher], "-m", "seed=0,1"],
                   cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:] + _job_logs(tmp_path)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("smoke").experiment_id])
    assert sorted(r.data.params["seed"] for r in runs) == ["0", "1"]
    assert [r.info.status for r in runs] == ["FINISHED", "FINISHED"]
    assert len({r.data.tags["sweep_id"] for r in runs}) == 1
    assert sorted(r.data.tags["job_num"] for r in runs) == ["0", "1"]
    assert all(r.data.metrics.get("flow/abs_magnetization/T1.5000") is not None for r in runs)
    # Parallel, not one after the other: each run started before the other ended.
    a, b = (r.info for r in runs)
    assert a.start_time < b.end_time and b.start_time < a.end_time


@pytest.mark.slow
def test_parallel_jobs_on_a_fresh_store_lose_no_run_even_when_one_is_killed(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # the spawned workers import it too
    from bench_concurrency import trial

    result = trial("rgexp", jobs=4, runs=2, n_steps=60, every=10, kill=1, rng=random.Random(0))
    assert result["errors"] == [] and result["crashed"] == []  # no "database is locked", no schema race
    assert result["lost"] == 0 and result["duplicate_steps"] == 0
    assert result["resumed"] + result["restarted"] >= 1  # the killed job's work was redone
