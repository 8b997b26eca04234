"""Scaling out: parallel jobs on one fresh SQLite store.

The sweeps on Hydra's launchers (joblib and submitit_local) run end to end in
test_tracking_postgres.py, against the shared server as a lab runs them (their launching process,
worker processes, parent run and environment checked there); the basic launcher's sweeps in
test_sweep_cli.py. Here: a reduced ``benchmarks/bench_concurrency.py``: jobs started together on a
store that does not exist yet (the schema-setup race), one of them SIGKILLed mid-run and finished by
a resume; no run lost, no "database is locked", no metric step written twice.
"""

from __future__ import annotations

import random

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_parallel_jobs_on_a_fresh_store_lose_no_run_even_when_one_is_killed(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # the spawned workers import it too
    from bench_concurrency import trial

    # one worker kills itself after the checkpoint of step 20 of its first run: mid-run on any machine
    result = trial("rgexp", jobs=4, runs=2, n_steps=60, every=10, kill=1, rng=random.Random(0), die_at=20)
    assert result["errors"] == [] and result["crashed"] == []  # no "database is locked", no schema race
    assert result["lost"] == 0 and result["duplicate_steps"] == 0
    # the killed run resumed from its checkpoint; the worker's second run, never started, run afresh
    assert result["resumed"] == 1 and result["restarted"] == 1
