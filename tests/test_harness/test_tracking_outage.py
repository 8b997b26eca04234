"""A tracking server that goes away mid-run, without a server: the run's MLflow client is a real one
on a SQLite store, wrapped so that while ``down`` is set every call fails the way MLflow reports a
refused connection (the real server is killed in tests/test_harness/test_tracking_server.py).

The clock is simulated: pacing and budget are asserted on what happened, not on real waits.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from mlflow.exceptions import MlflowException, RestException  # noqa: E402
from mlflow.protos.databricks_pb2 import ENDPOINT_NOT_FOUND, TEMPORARILY_UNAVAILABLE  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from rgexp.errors import ConfigError  # noqa: E402
from rgexp.tracking import MLflowTracker, TrackingError, TrackingLost  # noqa: E402
from rgexp.tracking.outage import PACE, ServerLink, is_unavailable  # noqa: E402

REFUSED = ("API request to http://127.0.0.1:5000/api/2.0/mlflow/runs/log-batch failed with exception "
           "HTTPConnectionPool(host='127.0.0.1', port=5000): Max retries exceeded with url: "
           "/api/2.0/mlflow/runs/log-batch (Caused by NewConnectionError(\"Failed to establish a new "
           "connection: [Errno 111] Connection refused\"))")


class Clock:
    """Simulated time: ``sleep`` advances it and can run a callback (the server coming back)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.on_sleep = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(self.now)


class Server:
    """The MlflowClient a run talks to; ``down`` makes every call fail as a refused connection;
    ``lose_replies`` makes writes reach the store but fail as if the answer had been lost."""

    def __init__(self, client: MlflowClient) -> None:
        self.client, self.down, self.lose_replies, self.calls = client, False, False, 0

    def __getattr__(self, name):
        attr = getattr(self.client, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            self.calls += 1
            if self.down:
                raise MlflowException(REFUSED)
            out = attr(*args, **kwargs)
            if self.lose_replies:
                raise MlflowException(REFUSED.replace("NewConnectionError", "ProtocolError('Connection aborted.'"))
            return out

        return call


class RemoteTracker(MLflowTracker):
    """A tracker that treats its SQLite store as a server that can go away."""

    is_remote = True

    def __init__(self, server_of, **kwargs) -> None:
        super().__init__(**kwargs)
        self._server_of = server_of

    @property
    def client(self):
        return self._server_of(MLflowTracker.client.fget(self))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module (creating one costs seconds), seen through a Server."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in (("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "7"), ("MLFLOW_HTTP_REQUEST_TIMEOUT", "120")):
            mp.setenv(name, value)  # the tracker sets them for a server: restored afterwards
        servers: list[Server] = []

        def server_of(client):
            if not servers:
                servers.append(Server(client))
            return servers[0]

        tracker = RemoteTracker(server_of, root=str(tmp_path_factory.mktemp("outage") / "mlruns"),
                                experiment="outage", system_metrics=False, retry_seconds=60)
        tracker.setup()
        yield tracker


@pytest.fixture
def outage(store, monkeypatch):
    """(tracker, server, clock, lines, start): ``start()`` opens a run on a server the test takes
    down (``server.down``); ``lines`` are what the run said; ``start.probes`` when it probed."""
    tracker, server = store, store.client
    server.down = server.lose_replies = False
    clock, lines, probes = Clock(), [], []

    def probe(uri: str, timeout: float) -> str | None:
        probes.append(clock.now)
        return "connection refused" if server.down else None

    monkeypatch.setattr("rgexp.tracking.store.probe", probe)

    def start(name: str = "run"):
        tracked = tracker.start(name, "seed: 0\n", {"seed": "0"}, {})
        tracked.link = ServerLink(tracked.link.uri, tracker.retry_seconds, clock=clock, sleep=clock.sleep)
        tracked.notify = lines.append
        tracked.artifact_dir = None  # artifacts go through the client, as to a server's artifact store
        return tracked

    start.probes = probes
    yield tracker, server, clock, lines, start
    server.down = server.lose_replies = False


def history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_a_run_computes_on_while_the_server_is_away_and_catches_up_exactly_once(outage):
    tracker, server, clock, lines, start = outage
    tracked = start()
    tracked.log_metrics({"train/loss": 0.0}, step=0)
    tracked.flush()
    server.down = True
    for step in (1, 2, 3):
        clock.now += 0.5
        tracked.log_metrics({"train/loss": float(step)}, step=step)
        tracked.flush()  # the run goes on: nothing raised
    tracked.save_checkpoint({"trainer": {"update": 3}, "config": "seed: 0\n"})
    fig = plt.figure()
    tracked.log_figure(fig, "figures/f.png")
    tracked.set_tags({"data_hash": "abc"})
    pending = tracked.pending
    assert [m.step for m in pending.metrics()] == [1, 2, 3]
    assert pending.checkpoint_pending() and [p.name for p in pending.artifact_files()] == ["f.png"]
    assert not plt.fignum_exists(fig.number)  # closed, as when it is uploaded
    assert len(lines) == 1 and lines[0].startswith("tracking server ") and "is not answering (connection refused)" in lines[0]
    assert str(pending.directory) in lines[0] and "for up to 60 s (tracking.retry_seconds)" in lines[0]
    calls = server.calls
    tracked.log_metrics({"train/loss": 4.0}, step=4)
    tracked.flush()  # the next try is not due yet (1 s after the last): no call at all
    assert server.calls == calls
    server.down = False
    clock.now += 10
    tracked.log_metrics({"train/loss": 5.0}, step=5)
    tracked.flush()
    assert lines[-1].startswith("tracking server ") and "answers again after 11 s" in lines[-1]  # down at 0.5 s, back at 11.5 s
    assert lines[-1].endswith("uploaded what was kept: 4 metric values, 1 tag, 1 artifact and the checkpoint")
    client = MlflowClient(tracker.uri)
    assert history(client, tracked.run_id, "train/loss") == [(s, float(s)) for s in range(6)]
    assert client.get_run(tracked.run_id).data.tags["data_hash"] == "abc"
    assert {a.path for a in client.list_artifacts(tracked.run_id, "figures")} == {"figures/f.png"}
    assert tracker.load_checkpoint(tracked.run_id)["trainer"]["update"] == 3
    assert pending.is_empty()
    tracked.end("FINISHED")
    assert client.get_run(tracked.run_id).info.status == "FINISHED"
    assert not pending.directory.exists()  # the server holds everything


def test_a_batch_whose_answer_was_lost_is_sent_again_and_stored_once(outage):
    """The store wrote the batch but the reply never came: the run keeps and resends it; the
    resent values carry their original timestamps, so the store keeps one entry per step."""
    tracker, server, clock, lines, start = outage
    tracked = start()
    server.lose_replies = True
    tracked.log_metrics({"a": 1.0, "b": 2.0}, step=7)
    tracked.flush()
    server.lose_replies = False
    assert len(tracked.pending.metrics()) == 2
    clock.now += 2
    tracked.flush()
    tracked.log_metrics({"a": 3.0}, step=8)
    tracked.end("FINISHED")
    client = MlflowClient(tracker.uri)
    assert history(client, tracked.run_id, "a") == [(7, 1.0), (8, 3.0)]
    assert history(client, tracked.run_id, "b") == [(7, 2.0)]


def test_the_spent_budget_stops_the_run_with_one_line_and_resume_completes_it(outage):
    tracker, server, clock, lines, start = outage
    tracked = start()
    tracked.save_checkpoint({"trainer": {"update": 0}, "config": "seed: 0\n"})
    tracked.log_metrics({"train/loss": 0.0}, step=0)
    tracked.flush()
    server.down = True
    with pytest.raises(TrackingLost) as info:
        for step in range(1, 10_000):
            clock.now += 0.25
            tracked.log_metrics({"train/loss": float(step)}, step=step)
            tracked.flush()
            if step % 4 == 0:
                tracked.save_checkpoint({"trainer": {"update": step}, "config": "seed: 0\n"})
    message, gave_up_at = str(info.value), clock.now
    tried_at = [0.25, *start.probes]  # the failed write at 0.25 s, then the probes
    # tried at the first failure, then 1, 2, 4, 8, 15, 15 s apart, the last try at the deadline (60 s)
    gaps = [round(b - a, 2) for a, b in zip(tried_at, tried_at[1:])]
    assert gaps[: len(PACE) + 1] == [*PACE, PACE[-1]] and tried_at[-1] == gave_up_at
    assert gave_up_at - tried_at[0] == pytest.approx(60, abs=0.3)
    assert "\n" not in message
    assert message.startswith(f"tracking server {tracker.uri} has not answered for 60 s "
                              "(tracking.retry_seconds=60; connection refused); not uploaded: ")
    steps = int(gave_up_at / 0.25)
    local = tracked.pending.checkpoint
    assert f"not uploaded: {steps} metric values and the checkpoint, kept in {tracked.pending.directory}; " in message
    assert f"local checkpoint: {local}; the run stays RUNNING in the store; " in message
    command = f"python -m rgexp resume={tracked.run_id} tracking.root={tracker.root}"
    assert message.endswith(f"once the server is back, resume with: {command}")
    assert info.value.run_id == tracked.run_id and info.value.resume_command == command
    tracked.end("FAILED")  # as pipeline.run's finally does: silent, nothing waits again
    client = MlflowClient(tracker.uri)
    assert client.get_run(tracked.run_id).info.status == "RUNNING"
    # The server's checkpoint is the one from before the loss; the local one is newer, and a resume reads it.
    assert torch_load(client, tracked.run_id)["trainer"]["update"] == 0
    last = 4 * (steps // 4)
    assert tracker.load_checkpoint(tracked.run_id)["trainer"]["update"] == last
    server.down = False
    resumed = tracker.reopen(tracked.run_id)
    assert client.get_run(tracked.run_id).info.status == "RUNNING"
    assert history(client, tracked.run_id, "train/loss") == [(s, float(s)) for s in range(steps + 1)]
    for step in range(last + 1, steps + 3):  # the resumed run redoes the steps after its checkpoint
        resumed.log_metrics({"train/loss": float(step)}, step=step)
    resumed.end("FINISHED")
    assert history(client, tracked.run_id, "train/loss") == [(s, float(s)) for s in range(steps + 3)]
    assert torch_load(client, tracked.run_id)["trainer"]["update"] == last  # uploaded on resume
    assert not tracked.pending.directory.exists()


def torch_load(client: MlflowClient, run_id: str) -> dict:
    import tempfile

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        return torch.load(client.download_artifacts(run_id, "checkpoints/last.pt", tmp), weights_only=True)


def test_a_finished_run_waits_for_the_server_at_its_end(outage):
    tracker, server, clock, lines, start = outage
    tracked = start()
    server.down = True
    tracked.log_metrics({"x": 1.0}, step=0)
    tracked.flush()
    clock.on_sleep = lambda now: setattr(server, "down", now < 40)  # back after 40 s of the 60
    tracked.end("FINISHED")
    client = MlflowClient(tracker.uri)
    assert client.get_run(tracked.run_id).info.status == "FINISHED"
    assert history(client, tracked.run_id, "x") == [(0, 1.0)]
    assert 40 <= clock.now < 60 and "answers again after" in lines[-1]


def _checkpointed_then_away(start, server):
    """A run with a checkpoint, whose server then goes away, holding one unsent metric (x = 1 at step 0)."""
    tracked = start()
    tracked.save_checkpoint({"trainer": {"update": 5}, "config": "seed: 0\n"})
    server.down = True
    tracked.log_metrics({"x": 1.0}, step=0)
    return tracked


def test_a_finished_run_whose_server_stays_away_ends_with_the_resume_line(outage):
    tracker, server, clock, lines, start = outage
    tracked = _checkpointed_then_away(start, server)
    with pytest.raises(TrackingLost, match=r"not uploaded: 1 metric value and the final status, kept in .*"
                                           r"resume with: python -m rgexp resume="):
        tracked.end("FINISHED")
    assert clock.now == pytest.approx(60)  # the budget, waited once


def test_ctrl_c_while_a_finished_run_waits_is_the_resume_line_not_a_traceback(outage):
    tracker, server, clock, lines, start = outage
    tracked = _checkpointed_then_away(start, server)

    def press_ctrl_c(now: float) -> None:
        if now > 10:
            raise KeyboardInterrupt

    clock.on_sleep = press_ctrl_c
    with pytest.raises(TrackingLost) as info:
        tracked.end("FINISHED")
    assert str(info.value).startswith(f"stopped while waiting for tracking server {tracker.uri} "
                                      "(connection refused, away for 15 s); not uploaded: 1 metric value")
    assert info.value.resume_command in str(info.value) and not isinstance(info.value.__context__, TrackingLost)


def test_a_killed_run_whose_server_is_away_does_not_wait(outage):
    tracker, server, clock, lines, start = outage
    tracked = _checkpointed_then_away(start, server)
    tracked.end("KILLED")  # no exception: the Interrupted that stopped the run is what the user sees
    assert clock.now == 0
    assert len(lines) == 2 and f"run {tracked.run_id} could not be marked KILLED; not uploaded: " in lines[-1]
    assert "1 metric value and the final status" in lines[-1] and "resume with: python -m rgexp resume=" in lines[-1]
    server.down = False
    tracker.reopen(tracked.run_id).end("KILLED")
    client = MlflowClient(tracker.uri)
    assert client.get_run(tracked.run_id).info.status == "KILLED"
    assert history(client, tracked.run_id, "x") == [(0, 1.0)]


def test_a_refused_write_is_one_line_and_the_run_ends_failed(outage):
    tracker, server, clock, lines, start = outage
    tracked = start()
    tracked.log_metrics({"bad key!": 1.0})  # MLflow refuses the name (HTTP 400), it is not retried
    with pytest.raises(TrackingError) as info:
        tracked.flush()
    assert not isinstance(info.value, TrackingLost) and "\n" not in str(info.value)
    assert str(info.value).startswith(f"tracking: cannot log metrics of run {tracked.run_id} at {tracker.uri}: ")
    assert str(info.value).endswith('Invalid value "bad key!" for parameter \'metrics[0].name\' supplied: Names may only '
                                   'contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).')
    with pytest.raises(TrackingError):
        tracked.end("FAILED")
    assert MlflowClient(tracker.uri).get_run(tracked.run_id).info.status == "FAILED"
    assert lines == []


@pytest.mark.parametrize("err, expected", [
    (MlflowException(REFUSED), True),
    (MlflowException("API request to http://h/api/2.0/mlflow/runs/get failed with timeout exception Read timed out."), True),
    (MlflowException("API request to endpoint /api/2.0/mlflow/runs/log-batch failed with error code 503 != 200. "
                     "Response body: 'Service Unavailable'", error_code=TEMPORARILY_UNAVAILABLE), True),
    (RestException({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}), True),
    (RestException({"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid metric name"}), False),
    (RestException({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run not found"}), False),
    (MlflowException("API request to endpoint /x failed with error code 404 != 200. Response body: ''",
                     error_code=ENDPOINT_NOT_FOUND), False),
    (MlflowException("database is locked"), False),  # an embedded store's failure: not an outage
    (ConnectionRefusedError(111, "Connection refused"), True),
    (ValueError("x"), False),
])
def test_what_counts_as_the_server_being_away(err, expected):
    assert is_unavailable(err) is expected


def test_retry_seconds_is_checked_with_the_key_and_what_is_allowed():
    from tests.conftest import compose_config

    from rgexp.config import instantiate_node

    for bad in ("-1", "soon"):
        with pytest.raises(ConfigError, match=r"^tracking\.retry_seconds must be a number of seconds >= 0, got"):
            instantiate_node(compose_config([f"tracking.retry_seconds={bad}"]).tracking, "tracking")
    assert instantiate_node(compose_config(["tracking=server"]).tracking, "tracking").retry_seconds == 300


def test_mlflow_own_retries_are_off_for_a_server_so_a_refused_call_fails_at_once(monkeypatch):
    """MLflow alone retries 7 times with backoff (minutes) and waits 120 s a request; rgexp's budget
    replaces that: one connection attempt, with rgexp's request timeout (counted, not timed)."""
    import socket

    import urllib3.util.connection

    from rgexp.tracking.outage import REQUEST_TIMEOUT

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "7")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "120")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    attempts: list[tuple] = []
    connect = urllib3.util.connection.create_connection

    def counted(address, timeout=None, *args, **kwargs):
        attempts.append((address, timeout))
        return connect(address, timeout, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", counted)
    tracker = MLflowTracker(uri=f"http://127.0.0.1:{port}", experiment="x", system_metrics=False)
    with pytest.raises(MlflowException) as info:
        tracker.client.get_experiment_by_name("x")
    assert is_unavailable(info.value)
    assert attempts == [(("127.0.0.1", port), REQUEST_TIMEOUT)]


def test_a_sweeps_store_that_fails_before_its_jobs_is_one_line_and_exit_1(smoke_cfg, monkeypatch, capsys):
    from rgexp.tracking.tracker import SweepSetup

    def refuse(self):
        raise MlflowException("the database is locked", error_code="INTERNAL_ERROR")

    monkeypatch.setattr(MLflowTracker, "setup", refuse)
    with pytest.raises(SystemExit) as ended:
        SweepSetup().on_multirun_start(smoke_cfg())
    assert ended.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rgexp: error: tracking.uri=") and "the database is locked" in err
