"""``tracking=server``: runs logged to a real ``mlflow server`` (SQLite backend, artifacts served by
the server) on 127.0.0.1.

- Every documented UI/server command binds to 127.0.0.1.
- A sweep arriving whole on a server (runs, params, metrics, checkpoints and figures, nothing left in
  a local store): test_tracking_postgres.py, on the server backed by PostgreSQL as the manual gives
  it for shared use (what is checked is the client's side, which the backend does not change).
- The server killed mid-training (slow tier): a run with ``tracking.retry_seconds=5`` stops with
  one line (exit 75) naming what was not uploaded, its local checkpoint and the resume command;
  that command, run while the server is still down, is refused in one line (exit 2), and once the
  server is back it completes the run with every metric step exactly once and the numbers of an
  uninterrupted run. A run whose budget outlasts the restart computes on and ends FINISHED:
  test_tracking_postgres.py (the client's side of an outage does not depend on the backend).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT, compose_config
from tests.test_harness.test_faults import Job, _stop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# MLflow 3.x's server also starts six job-runner processes (~250 MB each, for GenAI evaluation
# jobs rgexp never submits) unless this is false: the server command in docs/operations.md sets it too.
NO_JOB_RUNNERS = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


class Server:
    """``mlflow server`` on a fixed port of 127.0.0.1 that a test can kill and start again; its
    backend store is ``backend`` (default: SQLite in ``base``), its artifacts under ``base``."""

    def __init__(self, base: Path, backend: str | None = None, workers: int = 1) -> None:
        self.base, self.port = base, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backend = backend or f"sqlite:///{base / 'server.db'}"
        self.artifacts, self.workers = base / "artifacts", workers
        self.proc: subprocess.Popen | None = None
        self.log = open(base / "server.log", "a")

    def argv(self) -> list[str]:
        return ["mlflow", "server", "--backend-store-uri", self.backend, "--artifacts-destination", str(self.artifacts),
                "--serve-artifacts", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]

    def start(self) -> float:
        """Start it and wait until it answers; the seconds that took."""
        t0 = time.monotonic()
        argv = self.argv()
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / argv[0]), *argv[1:]], env={**os.environ, **NO_JOB_RUNNERS},
            cwd=self.base, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)  # its own group: workers too
        deadline = time.monotonic() + 300
        while True:
            assert self.proc.poll() is None, (self.base / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "mlflow server did not answer: " + (self.base / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return time.monotonic() - t0
            except OSError:
                time.sleep(0.5)

    def kill(self) -> None:
        """SIGKILL, as a crash or a lost machine: no goodbye to any client."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:  # uvicorn waits for idle keep-alive connections to close
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A started :class:`Server`; stopped at teardown."""
    srv = Server(tmp_path_factory.mktemp("server"))
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        srv.log.close()


def server_checkpoint(client: MlflowClient, run_id: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        return torch.load(client.download_artifacts(run_id, "checkpoints/last.pt", tmp), weights_only=True)


def _commands(text: str) -> list[str]:
    """Shell lines (continuations joined) that start an MLflow UI or server with options."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line for line in joined.splitlines() if re.search(r"mlflow (ui|server) .*--", line)]


def test_documented_ui_and_server_commands_bind_to_localhost():
    sources = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "Makefile",
               *sorted((ROOT / "src" / "rgexp" / "conf" / "tracking").glob("*.yaml"))]
    commands = [(p.name, c) for p in sources for c in _commands(p.read_text())]
    assert any(name == "Makefile" for name, _ in commands)  # `make ui` is among them
    assert any(name == "operations.md" and "mlflow server" in c for name, c in commands)  # the team server
    assert [(name, c) for name, c in commands if "--host 127.0.0.1" not in c] == []
    assert "http://127.0.0.1:" in (ROOT / "src" / "rgexp" / "conf" / "tracking" / "server.yaml").read_text()


# -- the server killed mid-training ---------------------------------------------------------------
# 5 updates per epoch on the smoke data: 3,000 updates, a checkpoint every 100, training metrics
# every 20 epochs. The run is paused (SIGSTOP) once 30% in and the server killed while it is
# paused, then it goes on: mid-training at the outage however fast the machine trains.
OUTAGE = ["experiment=smoke", "model.train.epochs=600", "checkpoint_every=100", "model.train.metrics_every=20",
          "analysis.thermometer=null", "analysis.receptive=null", "analysis.scaling=null", "tracking.figures=false"]
BUDGET = 5  # seconds: less than the server is away


def _said(job: Job, text: str) -> bool:
    return text in bytes(job.err).decode(errors="replace")


def _wait_for(what: str, ready, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def pause_mid_training(jobs: dict[str, Job], timeout: float = 300) -> None:
    """SIGSTOP each job once its training bar shows 30% (and not 100%); return when all are paused."""
    paused: set[str] = set()

    def ready() -> bool:
        for name, job in jobs.items():
            assert job.proc.poll() is None, bytes(job.err)[-2000:].decode(errors="replace")
            p = job.progress()
            if name not in paused and p is not None and p[0] >= 0.3 * p[1]:
                _stop(job.proc)
                paused.add(name)
                assert job.progress()[0] < job.progress()[1], f"{name} finished training before it was paused"
        return len(paused) == len(jobs)

    _wait_for("the runs 30% into training", ready, timeout)


def _histories(client: MlflowClient, run_id: str) -> dict[str, list[tuple[int, float]]]:
    """Every metric's full history as sorted (step, value) pairs, duplicates kept."""
    keys = client.get_run(run_id).data.metrics
    return {k: sorted((m.step, m.value) for m in client.get_metric_history(run_id, k)) for k in keys}


def _timing(key: str) -> bool:
    """Metrics whose values are clock readings (steps are compared, values are not)."""
    return key.startswith(("perf/", "system/")) or "seconds" in key


def same_metrics_as_reference(got: dict, ref: dict) -> list[str]:
    """The keys (system metrics aside) where ``got`` differs from the uninterrupted run: a missing
    or extra key, a step lost or doubled, a value that differs (clock readings aside)."""
    keys = {k for k in set(got) | set(ref) if not k.startswith("system/")}
    bad = []
    for k in sorted(keys):
        a, b = got.get(k), ref.get(k)
        if a is None or b is None or [s for s, _ in a] != [s for s, _ in b] or (not _timing(k) and a != b):
            bad.append(k)
    return bad


@pytest.fixture(scope="module")
def outage(server, tmp_path_factory) -> dict:
    """An uninterrupted reference run, then a run on the server, which is killed when the run is 30%
    into training and started again once the run has given up; then the run's resume command."""
    from rgexp.pipeline import run

    base = tmp_path_factory.mktemp("outage")
    out: dict = {"base": base}
    reference = run(compose_config([*OUTAGE, f"tracking.root={base / 'reference'}", "progress=false",
                                    f"cache.directory={base / '.rgexp_cache'}", "name=reference"]))
    GlobalHydra.instance().clear()
    out["reference"] = _histories(MlflowClient(f"sqlite:///{base / 'reference' / 'mlflow.db'}"), reference["run_id"])
    # From base, as a user would: ./mlruns holds the local copies, ./.rgexp_cache the (cached) data.
    job = Job([*OUTAGE, "tracking=server", f"tracking.uri={server.url}", "progress=true", "tracking.system_interval=1",
               "name=outage", f"tracking.retry_seconds={BUDGET}"], base)
    try:
        pause_mid_training({"outage": job})
        out["killed_at"] = job.progress()[0]
        server.kill()
        job.proc.send_signal(signal.SIGCONT)
        t_kill = time.monotonic()
        out["exit"] = job.wait(120)
        out["gave_up_after"] = time.monotonic() - t_kill
        command = re.search(r"resume with: (python -m rgexp \S.*)$", out["exit"][1].strip().splitlines()[-1])
        out["command"] = command.group(1) if command else None
        local = re.search(r"local checkpoint: (\S+);", out["exit"][1])
        out["local_checkpoint"] = Path(local.group(1)) if local else None
        if out["command"] is not None:  # its resume command while the server is still down
            argv = [sys.executable, *out["command"].split()[1:]]
            t0 = time.monotonic()
            early = subprocess.run(argv, cwd=base, capture_output=True, text=True, timeout=300)
            out["early"] = (early.returncode, early.stderr, time.monotonic() - t0)
    finally:  # a failed fixture leaves no job running and the server up
        if job.proc.poll() is None:
            job.proc.send_signal(signal.SIGCONT)
            job.proc.kill()
            job.proc.wait()
        if server.proc.poll() is not None:
            server.start()
    client = MlflowClient(server.url)
    run_id = client.search_runs([client.get_experiment_by_name("outage").experiment_id])[0].info.run_id
    out["id"], out["client"] = run_id, client
    out["status_before_resume"] = client.get_run(run_id).info.status
    out["server_update"] = server_checkpoint(client, run_id)["trainer"]["update"]
    if out["local_checkpoint"] is not None and out["local_checkpoint"].exists():
        out["local_update"] = torch.load(out["local_checkpoint"], weights_only=True)["trainer"]["update"]
    if out["command"] is not None:
        argv = [sys.executable, *out["command"].split()[1:]]
        done = subprocess.run(argv, cwd=base, capture_output=True, text=True, timeout=600)
        out["resume"] = (done.returncode, done.stderr)
    out["final"] = client.get_run(run_id)
    out["histories"] = _histories(client, run_id)
    return out


@pytest.mark.slow  # a server restart, two 3,000-update runs (one resumed)
def test_a_server_gone_past_the_budget_stops_the_run_in_one_line_and_its_resume_completes_it(outage, server):
    code, err = outage["exit"]
    run_id, base = outage["id"], outage["base"]
    last = err.strip().splitlines()[-1]
    print(last)
    assert code == 75, err[-3000:]
    assert "Traceback" not in err
    assert last.startswith(f"rgexp: error: tracking server {server.url} has not answered for "), last
    assert f"(tracking.retry_seconds={BUDGET}; connection refused); not uploaded: " in last
    pending = base / "mlruns" / "pending" / run_id
    assert f"kept in {pending}; local checkpoint: {pending / 'checkpoints' / 'last.pt'}; " in last
    assert "the run stays RUNNING in the store" in last
    assert outage["command"] == f"python -m rgexp resume={run_id} tracking.uri={server.url} tracking.root={base / 'mlruns'}"
    assert outage["status_before_resume"] == "RUNNING"
    # The local checkpoint went on while the server was away: newer than the server's, and the resume starts there.
    assert outage["local_update"] > outage["server_update"]
    print(f"killed at update {outage['killed_at']}, gave up after {outage['gave_up_after']:.1f} s; "
          f"checkpoint on the server: update {outage['server_update']}, local: {outage['local_update']}")
    early_code, early_err, early_seconds = outage["early"]
    assert early_code == 2 and early_err.strip().count("\n") == 0, early_err
    assert early_err.startswith(f"rgexp: error: tracking.uri={server.url}: the tracking server cannot be reached: "
                                "connection refused")
    print(f"resume while the server is down: exit 2 in {early_seconds:.1f} s")
    resume_code, resume_err = outage["resume"]
    assert resume_code == 0, resume_err[-3000:]
    assert f"uploaded what it had kept in {pending}" in resume_err
    assert outage["final"].info.status == "FINISHED"
    histories = outage["histories"]
    assert same_metrics_as_reference(histories, outage["reference"]) == []
    assert [k for k, h in histories.items() if len({s for s, _ in h}) != len(h)] == []
    assert not pending.exists()
