"""When the tracking server stops answering mid-run: the run computes on, keeps on local disk what
it could not upload, retries for a bounded time, and then either catches up or stops with one line.

The parts, used by :class:`rgexp.tracking.store.TrackedRun` for runs on an ``http(s)://`` server:

- :func:`is_unavailable` tells a server that is down, restarting or overloaded (connection refused
  or reset, timed out, HTTP 429/5xx) from a request the server refuses (4xx): only the first is
  retried.
- :class:`ServerLink` is up, or away since when: it paces the tries (1, 2, 4, 8, then every 15 s)
  and says when the budget ``tracking.retry_seconds`` is spent.
- :class:`Pending` is the on-disk record ``<tracking.root>/pending/<run_id>/``: metric values, tags
  and params, artifacts and the local copy of the checkpoint that the server does not hold yet.
  Whoever catches up (the run itself when the server returns, or ``resume=<run_id>``) uploads it.

MLflow's own HTTP retries (7, with backoff: minutes) would hide an outage inside one call and blow
any stated budget, so :func:`bound_http_requests` turns them off and bounds each request; rgexp's
tries replace them. The longest a run waits for a server that is gone is ``retry_seconds`` from
the first failed write, plus one request (:data:`REQUEST_TIMEOUT`) — meanwhile it computes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Callable, Iterable

from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException, RestException

__all__ = ["TrackingError", "TrackingLost", "ServerLink", "Pending", "is_unavailable",
           "bound_http_requests", "resume_command", "REQUEST_TIMEOUT"]

REQUEST_TIMEOUT = 30  # seconds for one HTTP request (MLflow's default: 120, retried 7 times)
PACE = (1.0, 2.0, 4.0, 8.0, 15.0)  # seconds between tries while the server is away; then every 15 s
BATCH = 1000  # MLflow's limit of metrics per log_batch


class TrackingError(RuntimeError):
    """A tracking call failed for a reason other than the server being away; one line.

    ``run_id`` (when a run exists) lets the CLI print the resume command."""

    run_id: str | None = None
    resume_command: str | None = None


class TrackingLost(TrackingError):
    """The server stayed away for the whole retry budget; what it lacks is kept on local disk and
    the message says what, where, and the command that completes the run once it is back."""


def bound_http_requests(timeout: int = REQUEST_TIMEOUT) -> None:
    """No retries inside MLflow's HTTP client and at most ``timeout`` s per request (read by MLflow
    at every request, so this process and its threads, the system-metrics sampler included)."""
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(int(timeout))


_TRANSPORT = re.compile(r"^API request to \S+ failed with (timeout )?exception")


def is_unavailable(err: BaseException) -> bool:
    """True for what a server that is down, restarting or overloaded gives: no connection, a reset,
    a timeout (MLflow wraps them all as ``API request to … failed with exception …``), HTTP 429 or
    5xx. False for a request the server answered and refused (bad value, no such run: 4xx)."""
    if isinstance(err, MlflowException):
        if _TRANSPORT.match(str(err)):
            return True
        status = err.get_http_status_code()
        from_server = isinstance(err, RestException) or str(err).startswith("API request to ")
        return from_server and (status == 429 or status >= 500)
    import requests

    return isinstance(err, (ConnectionError, TimeoutError, requests.exceptions.ConnectionError,
                            requests.exceptions.Timeout))


def reason_of(err: BaseException | str) -> str:
    """A short phrase for why the server did not answer (the innermost cause MLflow names)."""
    text = str(err)
    for pattern, phrase in (("connection refused", "connection refused"), ("connection reset", "connection reset"),
                            ("connection aborted", "connection aborted"), ("timed out", "timed out"),
                            ("name or service not known", "the host name does not resolve"),
                            ("does not resolve", "the host name does not resolve")):
        if pattern in text.lower():
            return phrase
    m = re.search(r"error code (\d{3})", text)
    if m:
        return f"HTTP {m.group(1)}"
    return text.splitlines()[0][:400] if text else type(err).__name__


def resume_command(run_id: str, uri: str | None = None, root: str | Path | None = None,
                   always_root: bool = False) -> str:
    """``python -m rgexp resume=<run_id>`` with the tracking keys needed to find the run again: the
    URI when one was given, the root when it is not ./mlruns (``always_root``: in any case, since a
    pending record lives there and the command may be typed in another directory)."""
    words = ["python -m rgexp", f"resume={run_id}"]
    if uri:
        words.append(f"tracking.uri={uri}")
    if root is not None:
        where = Path(root).expanduser().resolve()
        if always_root or where != Path("mlruns").resolve():
            words.append(f"tracking.root={where}")
    return " ".join(words)


class ServerLink:
    """The connection to a tracking server: up, or away since when.

    ``clock`` and ``sleep`` are injectable so the pacing can be tested without waiting."""

    def __init__(self, uri: str, retry_seconds: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.uri, self.budget = uri, float(retry_seconds)
        self.clock, self.sleep = clock, sleep
        self.down_since: float | None = None
        self.reason = ""
        self.tries = 0  # failed tries in this outage
        self._next_try = 0.0

    @property
    def up(self) -> bool:
        return self.down_since is None

    def failed(self, err: BaseException | str) -> bool:
        """Note a failed try; True when it starts an outage."""
        now, first = self.clock(), self.down_since is None
        if first:
            self.down_since = now
        self.reason = reason_of(err)
        self.tries += 1
        pause = PACE[min(self.tries - 1, len(PACE) - 1)]
        self._next_try = min(now + pause, self.down_since + self.budget)  # the last try at the deadline
        return first

    def due(self) -> bool:
        """Whether the next try is due (always while up)."""
        return self.up or self.clock() >= self._next_try

    def spent(self) -> bool:
        """Whether the server has now been away for the whole budget."""
        return not self.up and self.clock() - self.down_since >= self.budget

    def away(self) -> float:
        """Seconds since the outage began (0 while up)."""
        return 0.0 if self.up else self.clock() - self.down_since

    def wait_for_try(self) -> None:
        """Sleep until the next try is due."""
        self.sleep(max(0.0, self._next_try - self.clock()))

    def back(self) -> float:
        """The server answers again: the outage's length in seconds."""
        away = self.away()
        self.down_since, self.tries, self.reason = None, 0, ""
        return away


def _metric_line(m: Metric) -> str:
    return json.dumps({"key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step})


class Pending:
    """What the server does not hold yet, on local disk: ``metrics.jsonl`` (metric values with
    their original timestamps, so a value uploaded twice is one entry: MLflow's SQL stores drop an
    identical (key, timestamp, step, value)), ``fields.jsonl`` (tags, params, the final status),
    ``artifacts/<path>`` (figures, arrays, texts) and ``checkpoints/last.pt`` (the local copy of
    the checkpoint; ``last.pt.pending`` marks it as not uploaded)."""

    CHECKPOINT = "checkpoints/last.pt"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.metrics_file = self.directory / "metrics.jsonl"
        self.fields_file = self.directory / "fields.jsonl"
        self.artifacts = self.directory / "artifacts"
        self.checkpoint = self.directory / self.CHECKPOINT
        self._checkpoint_mark = self.checkpoint.with_name("last.pt.pending")

    # -- keeping -------------------------------------------------------------------------------
    def _append(self, file: Path, lines: Iterable[str]) -> None:
        text = "".join(line + "\n" for line in lines)
        if not text:
            return
        file.parent.mkdir(parents=True, exist_ok=True)
        with open(file, "a") as fh:  # fsynced: the record must outlive the process
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    def keep_metrics(self, metrics: list[Metric]) -> None:
        self._append(self.metrics_file, map(_metric_line, metrics))

    def keep_fields(self, kind: str, items: dict[str, str]) -> None:
        """``kind``: tag, param or status (``{"status": "FINISHED"}``)."""
        self._append(self.fields_file, (json.dumps({"kind": kind, "key": k, "value": str(v)}) for k, v in items.items()))

    def keep_artifact(self, path: str, data: bytes | memoryview) -> None:
        atomic_write(self.artifacts / path, data)

    def write_checkpoint(self, data: bytes | memoryview) -> Path:
        """The local copy of the checkpoint, replaced atomically and marked as not uploaded."""
        self._checkpoint_mark.parent.mkdir(parents=True, exist_ok=True)
        self._checkpoint_mark.touch()
        atomic_write(self.checkpoint, data)
        return self.checkpoint

    def checkpoint_uploaded(self) -> None:
        self._checkpoint_mark.unlink(missing_ok=True)

    # -- reading -------------------------------------------------------------------------------
    def metrics(self) -> list[Metric]:
        if not self.metrics_file.exists():
            return []
        rows = [json.loads(line) for line in self.metrics_file.read_text().splitlines() if line.strip()]
        return [Metric(r["key"], float(r["value"]), int(r["timestamp"]), int(r["step"])) for r in rows]

    def fields(self) -> list[dict]:
        if not self.fields_file.exists():
            return []
        return [json.loads(line) for line in self.fields_file.read_text().splitlines() if line.strip()]

    def artifact_files(self) -> list[Path]:
        return sorted(p for p in self.artifacts.rglob("*") if p.is_file()) if self.artifacts.exists() else []

    def checkpoint_pending(self) -> bool:
        return self._checkpoint_mark.exists() and self.checkpoint.exists()

    def is_empty(self) -> bool:
        """Nothing left to upload (the local checkpoint copy may remain)."""
        return not (self.metrics() or self.fields() or self.artifact_files() or self.checkpoint_pending())

    def describe(self) -> str:
        """What is not uploaded, e.g. ``412 metric values, 1 tag, 3 artifacts and the checkpoint``."""
        n_metrics, n_artifacts = len(self.metrics()), len(self.artifact_files())
        kinds: dict[str, int] = {}
        for f in self.fields():
            kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
        parts = [_count(n_metrics, "metric value")] if n_metrics else []
        parts += [_count(n, kind) for kind, n in kinds.items() if kind != "status"]
        parts += [_count(n_artifacts, "artifact")] if n_artifacts else []
        parts += ["the checkpoint"] if self.checkpoint_pending() else []
        parts += ["the final status"] if "status" in kinds else []
        if not parts:
            return "nothing"
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    # -- catching up ---------------------------------------------------------------------------
    def upload(self, client, run_id: str) -> str:
        """Send everything to the server, in the order it was made; each part is removed once
        sent, so a failure midway leaves only what is still missing (and a part sent twice is
        harmless). Returns what was sent, as :meth:`describe` says it."""
        what = self.describe()
        metrics = self.metrics()
        for i in range(0, len(metrics), BATCH):
            client.log_batch(run_id, metrics=metrics[i : i + BATCH])
        self.metrics_file.unlink(missing_ok=True)
        fields = self.fields()
        tags = [RunTag(f["key"], f["value"]) for f in fields if f["kind"] == "tag"]
        params = [Param(f["key"], f["value"]) for f in fields if f["kind"] == "param"]
        for i in range(0, max(len(tags), len(params)), 100):
            client.log_batch(run_id, tags=tags[i : i + 100], params=params[i : i + 100])
        for file in self.artifact_files():
            parent = file.parent.relative_to(self.artifacts).as_posix()
            client.log_artifact(run_id, str(file), None if parent == "." else parent)
            file.unlink()
        if self.checkpoint_pending():
            client.log_artifact(run_id, str(self.checkpoint), str(Path(self.CHECKPOINT).parent))
            self.checkpoint_uploaded()
        status = [f["value"] for f in fields if f["kind"] == "status"]
        if status:  # last: a run marked finished holds everything
            client.set_terminated(run_id, status=status[-1])
        self.fields_file.unlink(missing_ok=True)
        return what

    def clear(self) -> None:
        """Remove the record (everything is on the server), and ``pending/`` when it is empty."""
        shutil.rmtree(self.directory, ignore_errors=True)
        try:
            self.directory.parent.rmdir()
        except OSError:  # other runs' records are there
            pass


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def atomic_write(final: Path, data: bytes | memoryview) -> None:
    """Write, fsync, rename: a reader sees the old file or the new one, never half of one (a crash or a
    full disk leaves the old file whole). On failure the temporary file goes and the error is raised."""
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except OSError:
        with contextlib.suppress(OSError):  # a partial temporary file must not linger, nor hide the error
            tmp.unlink()
        raise
