"""The MLflow UI as a person sees it: the ``open:`` command and address a sweep prints, run as
printed (on a free port), in headless Chromium (Debian's ``chromium``). The experiment opens in the
model-training view (the runs table), not MLflow's GenAI overview; the runs table lists the parent
with its children under it once its expander is clicked; the parent's metric charts show the mean."""

import shlex
import sys
from pathlib import Path
import subprocess

import pytest
from mlflow.tracking import MlflowClient

from tests.browser import CHROMIUM, Browser, free_port, wait_for
from tests.conftest import run_cli

pytestmark = [pytest.mark.slow,  # ~60 s: a 2-seed sweep, an MLflow UI and Chromium start (one of each for every check)
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")]
FAST = ["experiment=smoke", "progress=false", "tracking.figures=false", "model.train.epochs=1",
        "analysis.thermometer=null", "analysis.receptive=null", "analysis.scaling=null", "flow.n_steps=1"]
EXPAND = """(() => {{
  const link = [...document.querySelectorAll('a')].find(a => a.textContent.trim() === {name!r});
  link.closest('[role=gridcell]').querySelector('button[data-component-id*="runnamecellrenderer"]').click();
  return true; }})()"""


def test_the_printed_address_shows_the_sweep_folded_under_its_parent(tmp_path):
    proc = run_cli([*FAST, "report=false", "-m", "seed=0,1"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    opened = [line for line in proc.stdout.splitlines() if line.startswith("  open: ")][-1]
    command, address = opened.removeprefix("  open: ").split("   then ")
    port = free_port()  # the printed 5000 may be taken on a test machine
    words = shlex.split(command.replace("--port 5000", f"--port {port}"))
    assert words[:2] == ["mlflow", "ui"]
    client = MlflowClient(words[words.index("--backend-store-uri") + 1])
    experiment = client.get_experiment_by_name("smoke")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # MLflow's tag for training
    server = subprocess.Popen([str(Path(sys.executable).parent / "mlflow"), *words[1:]], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", 90)
        address = address.replace("127.0.0.1:5000/", f"127.0.0.1:{port}/")
        runs_table = address.split("/runs/")[0] + "/runs?workflowType=machine_learning"
        parent = "smoke: seed=0,1"
        with Browser() as browser:
            # the experiment, at the address the manual gives: its runs, not the GenAI overview
            page = browser.open(address.split("/runs/")[0] + "?workflowType=machine_learning")
            page.wait_until(f"document.body.innerText.includes({'smoke: seed=0,1'!r})")
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
