"""``tracking=server``: a sweep logged to a real ``mlflow server`` (SQLite backend, artifacts served
by the server) on 127.0.0.1 arrives whole — runs, params, metrics, checkpoints and figures — and
nothing is written to a local store. Every documented UI/server command binds to 127.0.0.1.
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
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT, run_cli

FAST = ["experiment=smoke", "progress=false", "model.train.epochs=1", "analysis.thermometer=null",
        "analysis.receptive=null", "analysis.scaling=null", "flow.n_steps=1"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``mlflow server`` on a free port of 127.0.0.1; yields (url, its directory); stopped at teardown."""
    base = tmp_path_factory.mktemp("server")
    port = _free_port()
    log = open(base / "server.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{base / 'server.db'}",
         "--artifacts-destination", str(base / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        cwd=base, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # its own group: workers too
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            assert proc.poll() is None, (base / "server.log").read_text()[-3000:]
            assert time.time() < deadline, "mlflow server did not answer: " + (base / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        yield url, base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:  # uvicorn waits for idle keep-alive connections to close
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        log.close()


def test_sweep_logs_runs_metrics_and_artifacts_to_the_server(server, tmp_path):
    url, base = server
    proc = run_cli([*FAST, "tracking=server", f"tracking.uri={url}", f"cache.directory={tmp_path / 'cache'}",
                    "-m", "seed=0,1"], cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(url)
    exp = client.get_experiment_by_name("smoke")
    assert exp.artifact_location.startswith("mlflow-artifacts:")  # the server stores the artifacts
    runs = client.search_runs([exp.experiment_id])
    assert sorted(r.data.params["seed"] for r in runs) == ["0", "1"]
    assert [r.info.status for r in runs] == ["FINISHED", "FINISHED"]
    assert len({r.data.tags["sweep_id"] for r in runs}) == 1
    for run in runs:
        history = client.get_metric_history(run.info.run_id, "flow/abs_magnetization/T1.5000")
        assert sorted(m.step for m in history) == [0, 1]
        assert any(k.startswith("train/") for k in run.data.metrics)
        paths = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"config.yaml", "checkpoints", "figures", "arrays"} <= paths
        with tempfile.TemporaryDirectory() as tmp:
            state = torch.load(client.download_artifacts(run.info.run_id, "checkpoints/last.pt", tmp),
                               weights_only=True)
        assert state["trainer"]["update"] > 0
    # The files are in the server's artifact store, and no local store was made.
    assert len(list((base / "artifacts").rglob("last.pt"))) == 2
    assert not (tmp_path / "mlruns").exists()


def _commands(text: str) -> list[str]:
    """Shell lines (continuations joined) that start an MLflow UI or server with options."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line for line in joined.splitlines() if re.search(r"mlflow (ui|server) .*--", line)]


def test_documented_ui_and_server_commands_bind_to_localhost():
    sources = [ROOT / "README.md", ROOT / "Makefile", *sorted((ROOT / "src" / "rgexp" / "conf" / "tracking").glob("*.yaml"))]
    commands = [(p.name, c) for p in sources for c in _commands(p.read_text())]
    assert any(name == "Makefile" for name, _ in commands)  # `make ui` is among them
    assert [(name, c) for name, c in commands if "--host 127.0.0.1" not in c] == []
    assert "http://127.0.0.1:" in (ROOT / "src" / "rgexp" / "conf" / "tracking" / "server.yaml").read_text()
