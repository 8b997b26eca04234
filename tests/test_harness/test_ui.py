"""The MLflow UI as a person sees it: an rgexp experiment opens in the model-training view (the runs
table), not MLflow's GenAI overview. Starts ``mlflow ui`` on a temporary store on 127.0.0.1 and
renders the address the README gives in headless Chromium (Debian's ``chromium``)."""

import subprocess
import sys
from pathlib import Path

import pytest

from rgexp.tracking import MLflowTracker
from tests.browser import CHROMIUM, free_port, wait_for

pytestmark = pytest.mark.slow


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_experiment_opens_in_the_model_training_view(tmp_path: Path):
    tracker = MLflowTracker(root=str(tmp_path / "mlruns"), experiment="smoke", system_metrics=False)
    run = tracker.start("smoke-seed0", "seed: 0\n", {"seed": "0"}, {})
    run.log_metrics({"flow/abs_magnetization/T2.0000": 0.5}, step=0)
    run.end("FINISHED")
    exp = tracker.client.get_experiment_by_name("smoke")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", tracker.uri,
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", 90)
        url = f"http://127.0.0.1:{port}/#/experiments/{exp.experiment_id}?workflowType=machine_learning"
        dom = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                              "--virtual-time-budget=20000", "--dump-dom", url],
                             capture_output=True, text=True, timeout=180).stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "smoke-seed0" in dom  # the runs table lists the run
    assert "Token Usage" not in dom and "Evaluation runs" not in dom  # not the GenAI overview
