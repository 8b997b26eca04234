"""The shared-server setup docs/operations.md documents, run for real: a PostgreSQL cluster (this machine's
``initdb``/``pg_ctl`` in a temporary directory), the manual's ``createuser``/``createdb`` and
``mlflow server`` commands on it (artifacts proxied by the server, ``--artifacts-destination``),
and ``python -m rgexp tracking=server`` jobs as lab members would start them:

- a 4-job sweep on the joblib launcher and a 2-job sweep on ``submitit_local`` (the code path of
  ``submitit_slurm`` without a cluster), both at once (six writers on one store): every run FINISHED
  under one ``sweep_id``, nested under the sweep's one parent (made in the launching process before
  the jobs, FINISHED with the mean over the seeds), every job in a worker process and none with an
  ``MLFLOW_RUN_ID`` in its environment (a Hydra callback records process ids and that variable),
  every metric step logged exactly once, the config, arrays, figures and checkpoint downloadable
  from the server, nothing left in a local store. Whether jobs overlap in time is not asserted: on
  a loaded machine one worker may finish before another starts, and that is no launcher's fault;
- a run SIGKILLed mid-training and resumed with ``resume=<id>`` from an empty directory: it starts
  from the server's checkpoint and ends with the numbers of a run that was not killed;
- that other run (``tracking.retry_seconds=600``, system metrics every second): the server killed
  while it trains and started again: it says once that the server is not answering and for how
  long it will try, computes on, catches up, and ends FINISHED with every metric step once (system
  metrics too) and the numbers of the killed-and-resumed run. ``test_tracking_server.py`` (SQLite)
  has the run whose budget ends before the server is back.

Slow tier, one module fixture: nine ``python -m rgexp`` processes (each imports torch and MLflow)
and two starts of a two-worker server (the manual's has four), the first creating MLflow's schema
in PostgreSQL. Skipped only where the PostgreSQL binaries are not installed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT
from tests.test_harness.postgres import Cluster, find_binaries
from tests.test_harness.test_faults import Job
from tests.test_harness.test_tracking_server import (NO_JOB_RUNNERS, Server, _histories, _said, _wait_for,
                                                     pause_mid_training, same_metrics_as_reference)

BINARIES = find_binaries()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BINARIES is None, reason="PostgreSQL is not installed: no initdb, pg_ctl, createuser and "
                       "createdb on PATH or in /usr/lib/postgresql/*/bin (Debian/Ubuntu: apt-get install postgresql)"),
]

PASSWORD = "lab-secret"
SMALL = ["experiment=smoke", "progress=false", "model.train.epochs=1", "analysis.thermometer=null",
         "analysis.receptive=null", "analysis.scaling=null", "flow.n_steps=1"]
# 3,000 updates (5 per epoch on the smoke data), a checkpoint every 100: long enough to stop mid-way
LONG = ["experiment=smoke", "progress=true", "model.train.epochs=600", "checkpoint_every=100",
        "model.train.metrics_every=20", "analysis.thermometer=null", "analysis.receptive=null",
        "analysis.scaling=null", "tracking.figures=false", "tracking.retry_seconds=600"]
SWEEPS = {"joblib": (["hydra/launcher=joblib", "tracking.figures=false"], "0,1,2,3"),
          "submitit": (["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"], "0,1")}


def readme_block() -> list[str]:
    """The manual's shell block for the shared server (docs/operations.md), continuation lines joined."""
    text = (ROOT / "docs" / "operations.md").read_text()
    block = re.search(r"back it with PostgreSQL.*?```bash\n(.*?)```", text, flags=re.S)
    assert block, "docs/operations.md: no ```bash block after 'back it with PostgreSQL'"
    return [" ".join(line.split()) for line in re.sub(r"\\\n", " ", block.group(1)).splitlines()]


def readme_line(start: str, **values: str) -> str:
    """The manual block's line that starts with ``start``, its placeholders replaced by ``values``."""
    lines = [line for line in readme_block() if line.startswith(start)]
    assert len(lines) == 1, f"docs/operations.md: expected one line starting with {start!r} in the server block"
    line = lines[0]
    for placeholder, value in values.items():
        line = line.replace(placeholder, value)
    return line


@pytest.fixture(scope="module")
def postgres():
    """A started cluster with the manual's ``mlflow`` role and database."""
    cluster = Cluster(BINARIES).start()
    try:
        admin = readme_line("createuser")
        assert admin == "createuser --pwprompt mlflow && createdb --owner=mlflow mlflow"
        cluster.admin(admin, input=f"{PASSWORD}\n{PASSWORD}\n")  # --pwprompt asks twice
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def server(postgres, tmp_path_factory):
    """The manual's ``mlflow server`` command on that database, artifacts in a temporary directory."""
    uri = f"postgresql+psycopg2://mlflow:{PASSWORD}@127.0.0.1:{postgres.port}/mlflow"
    # Two workers where the manual has four (each is a process importing MLflow's server, started
    # twice here): six writers at once still share them.
    srv = Server(tmp_path_factory.mktemp("pg_server"), backend=uri, workers=2)
    documented = readme_line("MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false mlflow server", PASSWORD=PASSWORD,
                             **{"127.0.0.1:5432": f"127.0.0.1:{postgres.port}", "/srv/mlflow/artifacts": str(srv.artifacts),
                                "--port 5000": f"--port {srv.port}", "--workers 4": "--workers 2"})
    assert documented == " ".join([*(f"{k}={v}" for k, v in NO_JOB_RUNNERS.items()), *srv.argv()])
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        srv.log.close()


# A Hydra callback, importable by the launching process and the workers alike (PYTHONPATH): the
# launching process's id in the sweep directory; each job's id and MLFLOW_RUN_ID in its own directory.
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


def _member(args: list[str], cwd: Path, url: str, hooks: Path | None = None) -> subprocess.Popen:
    """``python -m rgexp tracking=server …`` as a lab member runs it (through the tunnel the manual's
    ``tracking=server`` points at 127.0.0.1:5000; here the test server's port), with the Hydra
    callbacks of ``hooks`` importable where given."""
    cwd.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join(filter(None, [str(hooks) if hooks else None, os.environ.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-m", "rgexp", "tracking=server", f"tracking.uri={url}", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **({"PYTHONPATH": path} if path else {})})


def _pids(base: Path) -> tuple[set[int], list[int]]:
    """(the launching process's ids, each job's process id) as the callback recorded them."""
    read = lambda name: [int(p.read_text()) for p in base.glob(f"multirun/**/{name}")]  # noqa: E731
    return set(read("launcher.pid")), read("job.pid")


def _faults(server: Server, base: Path) -> dict:
    """R: the server killed and restarted while it trains. K: SIGKILLed mid-training, then resumed
    from an empty directory with ``resume=<id>``."""
    out: dict = {}
    where = ["tracking=server", f"tracking.uri={server.url}", "seed=0"]
    (base / "r").mkdir()
    (base / "k").mkdir()
    jobs = {"R": Job([*LONG, *where, "name=pg_restart", "tracking.system_interval=1"], base / "r"), "K": Job([*LONG, *where, "name=pg_killed"], base / "k")}
    try:
        pause_mid_training(jobs)  # mid-training when K dies and the server goes, however fast they train
        jobs["K"].proc.kill()
        jobs["K"].wait(60)
        out["K_killed_at"] = jobs["K"].progress()
        server.kill()
        jobs["R"].proc.send_signal(signal.SIGCONT)
        _wait_for("R to notice", lambda: _said(jobs["R"], "is not answering"), 300)
        out["R_still_running"] = jobs["R"].proc.poll() is None
        server.start()
        out["R"] = jobs["R"].wait(600)
    finally:  # a failed fixture leaves no job stopped or running and the server up
        for job in jobs.values():
            if job.proc.poll() is None:
                job.proc.send_signal(signal.SIGCONT)
                job.proc.kill()
                job.proc.wait()
        if server.proc.poll() is not None:
            server.start()
    client = MlflowClient(server.url)
    ids = {name: client.search_runs([client.get_experiment_by_name(experiment).experiment_id])[0].info.run_id
           for name, experiment in (("R", "pg_restart"), ("K", "pg_killed"))}
    out["ids"] = ids
    out["K_status_after_kill"] = client.get_run(ids["K"]).info.status
    out["K_server_update"] = _checkpoint(client, ids["K"])["trainer"]["update"]
    fresh = base / "resume_elsewhere"  # no local store, no pending record, no data cache: all from the server
    fresh.mkdir()
    resumed = subprocess.run([sys.executable, "-m", "rgexp", f"resume={ids['K']}", "tracking=server",
                              f"tracking.uri={server.url}", "progress=false"], cwd=fresh, capture_output=True,
                             text=True, timeout=600)
    out["K_resume"] = (resumed.returncode, resumed.stderr)
    for name, run_id in ids.items():
        out[f"{name}_final"] = client.get_run(run_id)
        out[f"{name}_histories"] = _histories(client, run_id)
    return out


@pytest.fixture(scope="module")
def lab(server, tmp_path_factory) -> dict:
    """Both sweeps at once, then the two faulty runs; what the server holds afterwards."""
    base = tmp_path_factory.mktemp("lab")
    member = readme_line("python -m rgexp tracking=server").split()[4:]  # the manual's sweep, after tracking=server
    assert set(member) <= {*SWEEPS["joblib"][0], "-m", f"seed={SWEEPS['joblib'][1]}"}, member
    hooks = base / "hooks"
    hooks.mkdir()
    (hooks / "record_pids.py").write_text(RECORD_PIDS)
    procs = {}
    for name, (launcher, seeds) in SWEEPS.items():
        procs[name] = _member([*SMALL, f"name=pg_{name}", f"cache.directory={base / 'cache'}", *launcher,
                               "+hydra.callbacks.record_pids._target_=record_pids.RecordPids", "-m", f"seed={seeds}"],
                              base / name, server.url, hooks)
    out: dict = {"base": base, "client": MlflowClient(server.url)}
    for name, proc in procs.items():
        stdout, err = proc.communicate(timeout=600)
        logs = "\n".join(p.read_text()[-1500:] for p in (base / name).glob("multirun/**/.submitit/**/*.err"))
        out[f"{name}_exit"] = (proc.returncode, err[-3000:] + logs)
        out[f"{name}_stdout"] = stdout
    out |= _faults(server, base)
    return out


def _checkpoint(client: MlflowClient, run_id: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        return torch.load(client.download_artifacts(run_id, "checkpoints/last.pt", tmp), weights_only=True)


def _steps_once(histories: dict) -> list[str]:
    """The metrics with a step logged more than once."""
    return [k for k, h in histories.items() if len({s for s, _ in h}) != len(h)]


@pytest.mark.parametrize("sweep", list(SWEEPS))
def test_sweeps_on_both_launchers_land_whole_in_the_postgres_store(lab, sweep, server):
    code, err = lab[f"{sweep}_exit"]
    assert code == 0, err
    client = lab["client"]
    exp = client.get_experiment_by_name(f"pg_{sweep}")
    assert exp.artifact_location.startswith("mlflow-artifacts:")  # the server stores the artifacts
    everything = client.search_runs([exp.experiment_id])
    (parent,) = [r for r in everything if r.data.tags.get("rgexp_sweep") == "parent"]  # the sweep's, made first
    runs = [r for r in everything if r is not parent]
    seeds = SWEEPS[sweep][1].split(",")
    assert sorted(r.data.params["seed"] for r in runs) == seeds
    assert sorted(r.info.run_name for r in runs) == [f"seed={s}" for s in seeds]
    assert {r.info.status for r in runs} == {"FINISHED"} and len({r.data.tags["sweep_id"] for r in [parent, *runs]}) == 1
    assert sorted(r.data.tags["job_num"] for r in runs) == [str(i) for i in range(len(seeds))]
    # nested under the one parent, made before the jobs, FINISHED with the mean over the seeds
    assert {r.data.tags["mlflow.parentRunId"] for r in runs} == {parent.info.run_id}
    assert parent.info.run_name == f"pg_{sweep}: seed={SWEEPS[sweep][1]}" and parent.info.status == "FINISHED"
    assert parent.info.start_time <= min(r.info.start_time for r in runs)
    name = "flow/abs_magnetization/T1.5000"
    assert parent.data.metrics[name] == pytest.approx(sum(r.data.metrics[name] for r in runs) / len(runs), rel=1e-12)
    # launched, not run in line: every job in a worker process, none in the launching one, none given a
    # run id through its environment; joblib's workers may take several jobs each, submitit one each
    base = lab["base"] / sweep
    launching, jobs = _pids(base)
    assert len(launching) == 1 and len(jobs) == len(seeds) and not launching & set(jobs), (launching, jobs)
    assert sweep != "submitit" or len(set(jobs)) == len(seeds), jobs
    assert [p.read_text() for p in base.glob("multirun/**/job.env")] == ["(unset)"] * len(seeds)
    tail = lab[f"{sweep}_stdout"].splitlines()[-3:]  # the sweep's lines end the output: where to look, the report
    assert [line.split(":")[0] for line in tail] == ["  open", "  report", "  the sweep's report"], tail
    for run in runs:
        histories = _histories(client, run.info.run_id)
        assert _steps_once(histories) == [] and any(k.startswith("train/") for k in histories)
        assert [s for s, _ in histories["flow/abs_magnetization/T1.5000"]] == [0, 1]
        assert _checkpoint(client, run.info.run_id)["trainer"]["update"] > 0
        with tempfile.TemporaryDirectory() as tmp:
            assert f"name: pg_{sweep}\n" in Path(client.download_artifacts(run.info.run_id, "config.yaml", tmp)).read_text()
        paths = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"config.yaml", "checkpoints", "arrays"} <= paths
        if sweep == "submitit":  # figures on: rendered and stored by the server
            assert client.list_artifacts(run.info.run_id, "figures")
    assert [p for p in base.glob("mlruns/**/*") if p.is_file()] == []  # nothing kept locally
    assert len(list(server.artifacts.rglob("last.pt"))) >= len(seeds)


def test_a_killed_run_resumes_from_the_servers_checkpoint_to_the_numbers_of_one_not_killed(lab):
    code, err = lab["K_resume"]
    assert code == 0, err[-3000:]
    assert lab["K_status_after_kill"] == "RUNNING"  # SIGKILL: no goodbye
    done, total = lab["K_killed_at"]
    assert 0 < lab["K_server_update"] <= done < total  # killed mid-training, after a checkpoint reached the server
    assert lab["K_final"].info.status == "FINISHED"
    assert _steps_once(lab["K_histories"]) == []
    assert same_metrics_as_reference(lab["K_histories"], lab["R_histories"]) == []


def test_the_server_restarted_mid_run_leaves_the_run_finished_with_every_metric_once(lab):
    code, err = lab["R"]
    assert code == 0, err[-3000:]
    assert "Traceback" not in err and lab["R_still_running"]
    lost = [line for line in err.splitlines() if "is not answering" in line]
    back = [line for line in err.splitlines() if "answers again after" in line]
    assert len(lost) == 1 and len(back) == 1, err[-3000:]
    assert lost[0].startswith("rgexp: tracking server http://127.0.0.1:")
    assert "trying again for up to 600 s (tracking.retry_seconds)" in lost[0]
    assert lab["R_final"].info.status == "FINISHED"
    histories = lab["R_histories"]
    assert _steps_once(histories) == [] and any(k.startswith("system/") for k in histories)  # sampled each second
    train = {k: [s for s, _ in h] for k, h in histories.items() if k.startswith("train/")}
    assert train and all(steps == list(range(20, 601, 20)) for steps in train.values())  # every 20th epoch, once
    assert not (lab["base"] / "r" / "mlruns" / "pending" / lab["ids"]["R"]).exists()  # nothing left behind
