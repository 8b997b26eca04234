"""Where runs go: the config group ``tracking`` as :class:`MLflowTracker` (store, experiment, new
and reopened runs, the checkpoint a resume starts from) and the sweep callback :class:`SweepSetup`.

The default store is embedded (no server): SQLite at ``<root>/mlflow.db`` with artifacts under
``<root>/``. A new SQLite store is created under a file lock (and once per sweep by
:class:`SweepSetup`): parallel first writes race in MLflow's schema setup; it is a copy of an empty
store MLflow made once (:mod:`rgexp.tracking.new_store`). On an ``http(s)://``
server a run survives the server going away for up to ``retry_seconds``
(:mod:`rgexp.tracking.outage`); what it could not upload waits in ``<root>/pending/<run_id>/``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

import mlflow
import torch
from mlflow.tracking import MlflowClient

import rgexp
from rgexp.config import flat_items
from rgexp.errors import ConfigError, StorageError
from rgexp.tracking.new_store import create_from_template
from rgexp.tracking.outage import (PACE, Pending, TrackingError, bound_http_requests, is_unavailable, reason_of,
                                   resume_command)
from rgexp.tracking.store import CHECKPOINT, TrackedRun, _local_path, _reason
from rgexp.tracking.system import start_system_metrics

__all__ = ["MLflowTracker", "SweepSetup", "flatten", "git_state"]

# MLflow's UI (3.x) opens an experiment in its GenAI view (traces, token usage) unless the experiment
# says it holds model training; rgexp's always do.
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"
T = TypeVar("T")


def flatten(tree: Any) -> dict[str, str]:
    """Nested dicts -> MLflow params ``{"a.b": "value"}``; lists are kept whole as their str()."""
    return {k: "null" if v is None else str(v) for k, v in flat_items(tree).items()}


def git_state(path: Path) -> dict[str, str]:
    """The git commit of the source tree at ``path`` and whether it has uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=path, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        return {"git_commit": git("rev-parse", "HEAD"), "git_dirty": str(bool(git("status", "--porcelain")))}
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "git_dirty": "unknown"}


def _probe_writable(directory: Path) -> None:
    """Create ``directory`` and a file in it, then remove the file; OSError if either fails."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".rgexp-probe.", dir=directory)
    os.close(fd)
    os.unlink(name)


@contextlib.contextmanager
def _no_download_bar():
    """MLflow draws a progress bar for every artifact download; a resume fetches two small files."""
    old = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = old


class MLflowTracker:
    """Config group ``tracking``: where runs go.

    uri:           an MLflow tracking URI (``sqlite:///x.db``, ``http://127.0.0.1:5000``, …) or
                   null for the embedded default ``sqlite:///<root>/mlflow.db``.
    root:          directory of the embedded store and of artifacts for experiments rgexp creates;
                   with a server, of the local copies a run keeps while the server is away.
    experiment:    the MLflow experiment name.
    retry_seconds: how long a run on a server goes on without it (computing, keeping what the
                   server lacks on local disk) before it stops with the command that completes it.
    """

    def __init__(self, uri: str | None = None, root: str = "mlruns", experiment: str = "default",
                 system_metrics: bool = True, system_interval: float = 10.0, retry_seconds: float = 300.0,
                 figures: bool = True) -> None:
        if not experiment:
            raise ValueError("experiment must be a non-empty name")
        if not system_interval > 0:
            raise ValueError(f"system_interval must be > 0 seconds, got {system_interval!r}")
        if not isinstance(retry_seconds, (int, float)) or not retry_seconds >= 0:
            raise ValueError(f"retry_seconds must be a number of seconds >= 0, got {retry_seconds!r}")
        self.system_metrics, self.system_interval = bool(system_metrics), float(system_interval)
        self.retry_seconds = float(retry_seconds)
        self.figures = bool(figures)  # False: figures are built but not rendered nor stored
        self.root = Path(root).expanduser().resolve()
        self._given_uri = uri
        self.uri = uri or f"sqlite:///{self.root / 'mlflow.db'}"
        self.experiment = experiment
        self._client: MlflowClient | None = None
        if self.is_remote:
            bound_http_requests()  # rgexp's tries, within retry_seconds, replace MLflow's minutes of retries

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            with self._store_lock():  # constructing a client opens the store, creating a new one
                db = self._db_file()
                if db is not None and not db.exists():
                    create_from_template(db)  # seconds faster than MLflow's migrations; else MLflow makes it
                self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    @property
    def is_local_store(self) -> bool:
        return self.uri.startswith("sqlite:")

    @property
    def is_remote(self) -> bool:
        """A tracking server, which can go away while a run goes on."""
        return self.uri.startswith(("http://", "https://"))

    def pending(self, run_id: str) -> Pending:
        """The local record of what run ``run_id`` could not upload (and its checkpoint's copy)."""
        return Pending(self.root / "pending" / run_id)

    def resume_command(self, run_id: str) -> str:
        """The command that continues ``run_id`` with this store (its pending record included)."""
        return resume_command(run_id, self._given_uri, self.root)

    def report_command(self, sweep_id: str | None = None) -> str:
        """The command that reports on this experiment's runs (``sweep_id``: on that sweep's, in
        whichever experiments they are), with the tracking keys needed to find them."""
        words = ["python -m rgexp.report", f"sweep={sweep_id}" if sweep_id else f"name={shlex.quote(self.experiment)}"]
        if self._given_uri:
            words.append(f"tracking.uri={shlex.quote(self._given_uri)}")
        if self.root != Path("mlruns").resolve():
            words.append(f"tracking.root={shlex.quote(str(self.root))}")
        return " ".join(words)

    def _db_file(self) -> Path | None:
        """The database file of a ``sqlite:///`` store (None for servers and in-memory stores)."""
        path = self.uri[len("sqlite:///"):].split("?", 1)[0] if self.uri.startswith("sqlite:///") else ""
        return Path(path) if path and path != ":memory:" else None

    def store_exists(self) -> bool:
        """False only for a SQLite store whose file is missing (opening it would create it)."""
        db = self._db_file()
        return db is None or db.exists()

    @contextlib.contextmanager
    def _store_lock(self):
        """Serialise first use of a SQLite store: processes opening a new one at once race in
        MLflow's schema setup. The lock file sits next to the database."""
        db = self._db_file()
        if db is None:
            yield
            return
        where = db.parent
        try:
            where.mkdir(parents=True, exist_ok=True)
            fh = open(where / ".rgexp.lock", "w")
        except OSError as err:
            why = "it exists and is not a directory" if where.exists() and not where.is_dir() else _reason(err)
            key = f"tracking.root={where}" if where == self.root else f"tracking.uri={self.uri}"
            raise StorageError(f"{key}: cannot create the store there: {why}") from None
        with fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _retrying(self, what: str, call: Callable[[], T], run_id: str | None = None) -> T:
        """``call()``, tried again while the server does not answer, for up to ``retry_seconds``
        (nothing is computing yet: this waits); any failure as one-line :class:`TrackingError`."""
        deadline, tries = time.monotonic() + self.retry_seconds, 0
        while True:
            try:
                return call()
            except mlflow.exceptions.MlflowException as err:
                if self.is_remote and is_unavailable(err) and time.monotonic() < deadline:
                    time.sleep(min(PACE[min(tries, len(PACE) - 1)], max(0.0, deadline - time.monotonic())))
                    tries += 1
                    continue
                waited = f" (tried for {self.retry_seconds:g} s, tracking.retry_seconds)" if tries else ""
                failure = TrackingError(f"tracking.uri={self.uri}: cannot {what}: {reason_of(err)}{waited}")
                if run_id is not None:
                    failure.run_id, failure.resume_command = run_id, self.resume_command(run_id)
                raise failure from None

    def setup(self) -> str:
        """Create the store and the experiment if needed; return the experiment id."""
        client = self.client  # (takes the lock itself: flock is not re-entrant across opens)
        with self._store_lock():
            exp = client.get_experiment_by_name(self.experiment)
            if exp is not None:
                if exp.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:  # a store made before the tag
                    client.set_experiment_tag(exp.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
                return exp.experiment_id
            location = None
            if self.is_local_store:
                slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.experiment)
                location = (self.root / "artifacts" / slug).as_uri()
            try:
                return self.client.create_experiment(self.experiment, artifact_location=location,
                                                     tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
            except mlflow.exceptions.MlflowException as err:
                # A tracking server is not covered by the file lock: another job may have won.
                if err.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                return self.client.get_experiment_by_name(self.experiment).experiment_id

    def _check_artifact_location(self, exp_id: str) -> None:
        """Refuse, before any run exists, an artifact location on this machine that cannot be written."""
        location = self._retrying("read the experiment", lambda: self.client.get_experiment(exp_id).artifact_location)
        where = _local_path(location)
        if where is None:
            return
        try:
            _probe_writable(where)
        except OSError as err:
            raise StorageError(
                f"tracking.root: cannot write artifacts of experiment '{self.experiment}' under {where}: {_reason(err)}"
            ) from None

    def _open(self, run_id: str) -> TrackedRun:
        """A TrackedRun for ``run_id``; on a server, with its outage handling."""
        def new_monitor(resume: bool):
            return start_system_metrics(run_id, self.uri, self.system_interval, resume) if self.system_metrics else None

        remote = dict(pending=self.pending(run_id), retry_seconds=self.retry_seconds) if self.is_remote else {}
        return self._retrying("read the run", lambda: TrackedRun(
            self.client, run_id, resume=resume_command(run_id, self._given_uri, self.root, always_root=True),
            new_monitor=new_monitor, figures=self.figures, **remote), run_id)

    def start(self, run_name: str, config_yaml: str, params: dict[str, str], tags: dict[str, str]) -> TrackedRun:
        """A new RUNNING run with params, tags and the full resolved config as ``config.yaml``."""
        exp_id = self._retrying("create the experiment", self.setup)
        self._check_artifact_location(exp_id)
        all_tags = {"rgexp_version": rgexp.__version__, **git_state(Path(__file__).parent), **tags}
        run = self._retrying("create the run", lambda: self.client.create_run(exp_id, run_name=run_name, tags=all_tags))
        tracked = self._open(run.info.run_id)
        tracked.log_params(params)
        tracked.log_text(config_yaml, "config.yaml")
        tracked.start_monitor(resume=False)
        return tracked

    def reopen(self, run_id: str) -> TrackedRun:
        """Reopen an existing run as RUNNING (resume): first upload what it kept locally while its
        server was away; metrics it then holds are not logged again."""
        tracked = self._open(run_id)
        if tracked.pending is not None and not tracked.pending.is_empty():
            sent = self._retrying("upload what the run kept locally",
                                  lambda: tracked.pending.upload(self.client, run_id), run_id)
            tracked.notify(f"run {run_id}: uploaded what it had kept in {tracked.pending.directory}: {sent}")
        self._retrying("reopen the run", lambda: self.client.update_run(run_id, status="RUNNING"), run_id)
        self._retrying("read the run's metrics", tracked.skip_logged, run_id)
        tracked.start_monitor(resume=True)
        return tracked

    def run_exists(self, run_id: str) -> bool:
        """Whether the store holds ``run_id`` (never creates a missing SQLite store)."""
        return self.find_run(run_id) is not None

    def find_run(self, run_id: str) -> mlflow.entities.Run | None:
        """The run ``run_id``, None where the store does not hold it (never creates a missing SQLite store)."""
        if not self.store_exists():
            return None
        try:
            return self.client.get_run(run_id)
        except mlflow.exceptions.MlflowException:
            return None

    def logged_config(self, run_id: str) -> str:
        """The ``config.yaml`` a run was started with (FileNotFoundError if it has none); a copy
        still waiting in the run's pending record counts."""
        kept = self.pending(run_id).artifacts / "config.yaml"
        if self.is_remote and kept.exists():
            return kept.read_text()
        with tempfile.TemporaryDirectory() as tmp:
            try:
                with _no_download_bar():
                    path = self.client.download_artifacts(run_id, "config.yaml", tmp)
            except (mlflow.exceptions.MlflowException, OSError) as err:
                raise FileNotFoundError(f"run {run_id} has no config.yaml artifact") from err
            return Path(path).read_text()

    def local_checkpoint(self, run_id: str) -> Path | None:
        """The local copy of a server run's checkpoint, when there is one: it is written before
        the upload, so it is never older than the server's."""
        path = self.pending(run_id).checkpoint
        return path if self.is_remote and path.exists() else None

    def load_checkpoint(self, run_id: str) -> dict:
        """The run's last checkpoint (the local copy first), loaded with ``weights_only=True``."""
        with tempfile.TemporaryDirectory() as tmp:
            path = self.local_checkpoint(run_id)
            if path is None:
                try:
                    with _no_download_bar():
                        path = self.client.download_artifacts(run_id, CHECKPOINT, tmp)
                except (mlflow.exceptions.MlflowException, OSError) as err:
                    raise FileNotFoundError(f"run {run_id} has no checkpoint {CHECKPOINT}") from err
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except Exception as err:  # torch raises several types for a corrupt file
                raise ValueError(f"checkpoint of run {run_id} is corrupt: {err}") from err


try:  # Hydra is a dependency, but keep tracking importable without the callback API.
    from hydra.experimental.callback import Callback
except ImportError:  # pragma: no cover
    Callback = object


class SweepSetup(Callback):
    """Hydra callback, in the launching process of a multirun: before any job starts, create the
    store, the experiment and the sweep's parent run (:func:`rgexp.tracking.sweep.open_sweep`); after
    the last, close the parent with the sweep's aggregate over seeds and its report (``report``:
    whether to build it; ``python -m rgexp report=false -m …`` sets it to false)."""

    def __init__(self, report: bool = True) -> None:
        self.report = bool(report)

    def on_multirun_start(self, config, **kwargs) -> None:
        """A store that fails here (a server gone since the pre-flight probe) ends the sweep with one
        line and exit 1, before any job starts, as a single run's setup would."""
        from hydra.utils import instantiate

        from rgexp.tracking.sweep import open_sweep, plan_from_hydra

        tracker = instantiate(config.tracking)
        try:
            tracker._retrying("create the experiment", tracker.setup)
            open_sweep(plan_from_hydra(config, tracker, report=self.report))
        except TrackingError as err:
            print(f"rgexp: error: {err}", file=sys.stderr)
            sys.exit(1)
        except ConfigError as err:  # its directory holds another sweep
            print(f"rgexp: error: {err}", file=sys.stderr)
            sys.exit(2)

    def on_multirun_end(self, config, **kwargs) -> None:
        from rgexp.tracking.sweep import close_open_sweeps

        close_open_sweeps(failed=False)
