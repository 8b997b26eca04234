"""Writing runs: one Hydra job is one MLflow run, an open :class:`TrackedRun` (the package
``rgexp.tracking`` is the only one that imports mlflow; where runs go is
:class:`rgexp.tracking.tracker.MLflowTracker`).

Runs are driven through an explicit ``MlflowClient`` (no fluent global state), metrics are buffered
and written in batches, and checkpoints are written atomically (write, then rename).

Failure is harmless: a write to the artifact location that fails (read-only, full, a file where a
directory should be) raises :class:`~rgexp.errors.StorageError` naming the file, the place and the
reason, and leaves the file it was replacing as it was. A tracking server that stops answering is
waited for while the run computes on (:mod:`rgexp.tracking.outage`): what it lacks is kept in the
run's pending record on local disk, uploaded when it answers again, and after
``tracking.retry_seconds`` the run stops with :class:`~rgexp.tracking.outage.TrackingLost`, one
line with the command that completes it. Any other tracking failure is one-line
:class:`~rgexp.tracking.outage.TrackingError`.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlparse

import mlflow
import torch
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from rgexp.errors import StorageError
from rgexp.tracking.outage import (BATCH, Pending, ServerLink, TrackingError, TrackingLost, atomic_write,
                                   is_unavailable, reason_of, resume_command)
from rgexp.tracking.probe import probe
from rgexp.tracking.system import quiet_mlflow_logging

quiet_mlflow_logging()

__all__ = ["TrackedRun", "CHECKPOINT"]

PARAM_MAX = 6000  # MLflow truncates longer param values; the full config is an artifact.
CHECKPOINT = "checkpoints/last.pt"
RECONNECT_PROBE = 5.0  # seconds: a try to reach a server that is away starts with the /health-like probe


def _local_path(uri: str) -> Path | None:
    """A filesystem path for a file: (or scheme-less) URI, else None."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None


def _reason(err: BaseException) -> str:
    """The OS's reason for a failed write, one line (``Permission denied``, ``No space left …``)."""
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror} [errno {err.errno}]"
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _say(message: str) -> None:
    """One line on stderr, above any progress bar."""
    from tqdm import tqdm

    tqdm.write(f"rgexp: {message}", file=sys.stderr)


class TrackedRun:
    """An open MLflow run: buffered metrics, params, artifacts, atomic checkpoints.

    On a tracking server (``pending`` given), a server that stops answering does not stop the run
    for ``retry_seconds``: writes go to the pending record instead, the server is tried again at
    a growing interval (every 15 s at most), and what was kept is uploaded, in order, when it
    answers. ``resume`` is the command printed when the run has to give up."""

    def __init__(self, client: MlflowClient, run_id: str, *, pending: Pending | None = None,
                 retry_seconds: float = 300.0, resume: str | None = None,
                 new_monitor: Callable[[bool], Any] | None = None,
                 notify: Callable[[str], None] = _say, figures: bool = True) -> None:
        self.client = client
        self.run_id = run_id
        self.figures = figures  # False: log_figure closes the figure without rendering it (tracking.figures)
        self._metrics: list[Metric] = []
        self._logged: set[tuple[str, int]] = set()
        self.monitor = None  # MLflow's system-metrics sampler, when on
        self._new_monitor = new_monitor
        self.latest: dict[str, tuple[int, float]] = {}  # metric -> (last step, value), this process
        info = client.get_run(run_id).info
        self.artifact_uri, self._experiment_id = info.artifact_uri, info.experiment_id
        self.artifact_dir = _local_path(self.artifact_uri)
        self.pending = pending
        self.link = ServerLink(client.tracking_uri, retry_seconds) if pending is not None else None
        self.resume = resume or resume_command(run_id)
        self.notify = notify
        self._given_up = False  # the budget is spent: everything goes to the pending record

    @property
    def experiment_id(self) -> str:
        return self._experiment_id  # read once: the run summary must not need the server

    def start_monitor(self, resume: bool) -> None:
        """Start MLflow's system-metrics sampler (``resume``: continuing the run's steps)."""
        if self._new_monitor is not None:
            self.monitor = self._new_monitor(resume)

    # -- talking to the server ------------------------------------------------------------------
    def _error(self, what: str, err: BaseException) -> TrackingError:
        failure = TrackingError(f"tracking: cannot {what} of run {self.run_id} at {self.client.tracking_uri}: "
                                f"{reason_of(err)}")
        failure.run_id, failure.resume_command = self.run_id, self.resume
        return failure

    def _send(self, what: str, write: Callable[[], None], keep: Callable[[], None], raw: bool = False) -> bool:
        """``write()`` to the store; True once written. While the server does not answer, ``keep()``
        it in the pending record instead and return False (the run goes on); TrackingLost once the
        server has been away for the whole budget. A refusal (or any failure of an embedded store)
        is a TrackingError, or with ``raw`` the exception itself (artifact writes: a StorageError)."""
        if self._given_up:
            keep()
            return False
        if self.link is None or self.link.up or self._catch_up():
            try:
                write()
                return True
            except Exception as err:
                if self.link is None or not is_unavailable(err):
                    if raw or not isinstance(err, mlflow.exceptions.MlflowException):
                        raise
                    raise self._error(what, err) from err
                if self.link.failed(err):
                    self.notify(f"tracking server {self.link.uri} is not answering ({self.link.reason}); computing on, "
                                f"keeping what it lacks in {self.pending.directory}; trying again for up to "
                                f"{self.link.budget:g} s (tracking.retry_seconds)")
        keep()
        if self.link.spent():
            self._give_up()
        return False

    def _catch_up(self) -> bool:
        """When a try is due: reach the server and upload what was kept. True when it is back."""
        if self.link.up:
            return True
        if not self.link.due():
            return False
        problem = probe(self.link.uri, RECONNECT_PROBE)
        if problem is not None:
            self.link.failed(problem)
            return False
        try:
            sent = self.pending.upload(self.client, self.run_id)
        except Exception as err:
            if not is_unavailable(err):
                raise self._error("upload what was kept locally", err) from err
            self.link.failed(err)
            return False
        away = self.link.back()
        self.notify(f"tracking server {self.link.uri} answers again after {away:.0f} s; uploaded what was kept: {sent}")
        self._restart_monitor()
        return True

    def _restart_monitor(self) -> None:
        """MLflow's sampler ends itself when it cannot read the run: after an outage start a new one,
        continuing the steps, once the old one's samples are in."""
        old, self.monitor = self.monitor, None
        if old is None:
            return
        old.finish()
        if getattr(getattr(old, "mlflow_logger", None), "data", None):
            self.monitor = old  # its samples did not go in: a new sampler would reuse their steps
            return
        self.start_monitor(resume=True)

    def _stop_monitor(self) -> None:
        """Stop the sampler; samples it could not send join the metric buffer (sent with the rest)."""
        monitor, self.monitor = self.monitor, None
        if monitor is None:
            return
        monitor.finish()  # its last samples go in before the run closes (MLflow logs its own failure)
        left = getattr(getattr(monitor, "mlflow_logger", None), "data", None)
        if left:
            self._metrics.extend(left)
            left.clear()

    def _checkpoint_file(self) -> Path | None:
        local = self.pending.checkpoint if self.pending is not None else None
        if local is None or not local.exists():
            local = self.artifact_dir / CHECKPOINT if self.artifact_dir is not None else None
        return local if local is not None and local.exists() else None

    def _left_behind(self) -> str:
        """What the server lacks, where it is, and what to do: the end of a give-up line."""
        self._given_up = True
        self._stop_monitor()
        self.flush()  # (given up: into the record)
        checkpoint = self._checkpoint_file()
        then = (f"once the server is back, resume with: {self.resume}" if checkpoint is not None else
                "nothing to resume (no checkpoint yet): run the command again once the server is back")
        return (f"not uploaded: {self.pending.describe()}, kept in {self.pending.directory}; "
                f"local checkpoint: {checkpoint or 'none'}; the run stays RUNNING in the store; {then}")

    def _give_up(self, head: str | None = None) -> None:
        link = self.link
        head = head or (f"tracking server {link.uri} has not answered for {link.away():.0f} s "
                        f"(tracking.retry_seconds={link.budget:g}; {link.reason})")
        failure = TrackingLost(f"{head}; {self._left_behind()}")
        failure.run_id = self.run_id
        failure.resume_command = self.resume if self._checkpoint_file() is not None else None
        raise failure

    # -- what stages call -----------------------------------------------------------------------
    def log_params(self, params: dict[str, str]) -> None:
        items = [Param(k[:250], v[:PARAM_MAX]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            chunk = items[i : i + 100]
            self._send("log params", lambda: self.client.log_batch(self.run_id, params=chunk),
                       lambda: self.pending.keep_fields("param", {p.key: p.value for p in chunk}))

    def set_tags(self, tags: dict[str, str]) -> None:
        self._send("set tags", lambda: self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()]),
                   lambda: self.pending.keep_fields("tag", tags))

    def skip_logged(self) -> None:
        """From now on drop every (metric, step) the run already holds.

        A resumed run redoes the work after its last checkpoint, and the metrics of that stretch
        may already have been written (the process died between flushing them and writing the
        checkpoint). Recomputed values are the same numbers, so the first write stands and a
        resumed run logs no step twice."""
        run = self.client.get_run(self.run_id)
        self._logged = {(key, m.step) for key in run.data.metrics
                        for m in self.client.get_metric_history(self.run_id, key)}

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        """Buffer metrics; they are written by :meth:`flush` (one SQLite write per batch)."""
        now, step = int(time.time() * 1000), int(step)
        for k, v in metrics.items():  # the latest value of each metric, for the run's summary
            if k not in self.latest or step >= self.latest[k][0]:
                self.latest[k] = (step, float(v))
        self._metrics.extend(Metric(k, float(v), now, step) for k, v in metrics.items()
                             if (k, step) not in self._logged)

    def flush(self) -> None:
        """Write the buffered metrics, 1,000 per call (MLflow's batch limit).

        A chunk leaves the buffer only once written (or kept in the pending record), so a failed
        flush retried later writes nothing twice; a chunk sent again after an outage keeps its
        timestamps, and the store drops what it already holds."""
        while self._metrics:
            chunk, kept = self._metrics[:BATCH], []
            del self._metrics[: len(chunk)]  # (before: giving up flushes the rest into the record)
            try:
                self._send("log metrics", lambda: self.client.log_batch(self.run_id, metrics=chunk),
                           lambda: kept.append(self.pending.keep_metrics(chunk)))
            except BaseException:
                if not kept:  # neither written nor kept: back into the buffer
                    self._metrics[:0] = chunk
                raise

    @contextlib.contextmanager
    def _writing(self, path: str):
        """A failed artifact write as one StorageError naming the file, the place and the reason."""
        try:
            yield
        except (OSError, mlflow.exceptions.MlflowException) as err:
            where = self.artifact_dir if self.artifact_dir is not None else self.artifact_uri
            failure = StorageError(
                f"cannot write {path} of run {self.run_id} under {where}: {_reason(err)} "
                f"(the previous {Path(path).name}, if any, is unchanged)"
            )
            failure.run_id = self.run_id  # the CLI prints the resume command
            failure.resume_command = self.resume
            raise failure from err

    def log_text(self, text: str, path: str) -> None:
        self._write_bytes(text.encode(), path)

    def log_figure(self, fig, path: str) -> None:
        """Save a matplotlib figure as an artifact and close it (the run takes ownership). ``fig`` may
        be a function that draws it, called here or, with figures off, never (nor matplotlib imported)."""
        if not self.figures and callable(fig):  # drawing is most of a small run's cost (axes, text, PNG)
            return
        import matplotlib.pyplot as plt

        fig = fig() if callable(fig) else fig
        try:
            if not self.figures:
                return
            buf = io.BytesIO()
            fig.savefig(buf, format=Path(path).suffix.lstrip(".") or "png")
            self._write_bytes(buf.getvalue(), path)
        finally:
            plt.close(fig)

    def log_arrays(self, path: str, **arrays) -> None:
        """Arrays as one ``.npz`` artifact at ``path``."""
        import numpy as np

        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        self._write_bytes(buf.getvalue(), path)

    def save_checkpoint(self, state: dict, path: str = CHECKPOINT) -> None:
        """Atomically replace the checkpoint: a reader sees the old file or the new, never half.
        On a server it is written to local disk first (the pending record), then uploaded."""
        buf = io.BytesIO()
        torch.save(state, buf)
        self._write_bytes(buf.getbuffer(), path)  # a view: no second copy of a ~50 MB stack checkpoint

    def _write_bytes(self, data: bytes | memoryview, path: str) -> None:
        """Write ``data`` as artifact ``path``: on a local location by :func:`atomic_write` (a crash or a
        full disk leaves the old file whole), else uploaded."""
        with self._writing(path):
            if self.artifact_dir is None:
                self._upload(data, path)
                return
            atomic_write(self.artifact_dir / path, data)

    def _upload(self, data: bytes | memoryview, path: str) -> None:
        """Artifact ``path`` to a remote artifact store; kept in the pending record while the
        server is away. The checkpoint is written to local disk first in any case."""
        parent = Path(path).parent.as_posix()
        parent = None if parent == "." else parent
        if self.pending is not None and path == CHECKPOINT:
            local = self.pending.write_checkpoint(data)
            if self._send(f"upload {path}", lambda: self.client.log_artifact(self.run_id, str(local), parent),
                          lambda: None, raw=True):
                self.pending.checkpoint_uploaded()
            return
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / Path(path).name
            local.write_bytes(data)
            self._send(f"upload {path}", lambda: self.client.log_artifact(self.run_id, str(local), parent),
                       lambda: self.pending.keep_artifact(path, data), raw=True)

    def end(self, status: str) -> None:
        """Flush and mark the run FINISHED, FAILED or KILLED.

        While its server is away: FINISHED waits for it (what is left of ``retry_seconds``, then
        TrackingLost); FAILED and KILLED try once and otherwise leave the pending record and one
        line, so that what stopped the run is what the user sees next."""
        if self._given_up:
            return
        try:
            self._stop_monitor()
            self.flush()
        except TrackingLost:
            raise
        except BaseException:
            with contextlib.suppress(Exception):  # still say that it failed, where the store can hear
                self._send("mark the run FAILED", lambda: self.client.set_terminated(self.run_id, "FAILED"),
                           lambda: None)
            raise
        marked = self._send(f"mark the run {status}", lambda: self.client.set_terminated(self.run_id, status=status),
                            lambda: self.pending.keep_fields("status", {"status": status}))
        if self.link is None:
            return
        if not marked and not self._given_up:
            if status == "FINISHED":
                try:
                    while not self._catch_up():
                        if self.link.spent():
                            self._give_up()
                        self.link.wait_for_try()
                except KeyboardInterrupt:  # Ctrl-C while waiting: the run's own handler is gone by now
                    self._give_up(f"stopped while waiting for tracking server {self.link.uri} ({self.link.reason}, "
                                  f"away for {self.link.away():.0f} s)")
            elif not self._catch_up():
                self.notify(f"tracking server {self.link.uri} is not answering ({self.link.reason}); "
                            f"run {self.run_id} could not be marked {status}; {self._left_behind()}")
                return
        if self._given_up:
            return
        self.pending.clear()  # the server holds everything, the checkpoint included
