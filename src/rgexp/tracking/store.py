"""Writing runs: one Hydra job is one MLflow run (the package ``rgexp.tracking`` is the only one that
imports mlflow).

The default store is embedded (no server): SQLite at
``<root>/mlflow.db`` with artifacts under ``<root>/``. Runs are driven through an explicit
``MlflowClient`` (no fluent global state), metrics are buffered and written in batches, and
checkpoints are written atomically (write, then rename) into the run's artifacts.

Failure is harmless: a write to the artifact location that fails (read-only, full, a file where a
directory should be) raises :class:`~rgexp.errors.StorageError` naming the file, the place and the
reason, and leaves the file it was replacing as it was; an artifact location that cannot be
written is refused before a run is created. A new SQLite store is created under a file lock (and
once per sweep by :class:`SweepSetup`): parallel first writes race in MLflow's schema setup.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import mlflow
import torch
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

import rgexp
from rgexp.config import flat_items
from rgexp.errors import StorageError
from rgexp.tracking.system import quiet_mlflow_logging, start_system_metrics

quiet_mlflow_logging()

# MLflow's UI (3.x) opens an experiment in its GenAI view (traces, token usage) unless the experiment
# says it holds model training; rgexp's always do.
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"

__all__ = ["MLflowTracker", "TrackedRun", "SweepSetup", "flatten", "git_state"]

PARAM_MAX = 6000  # MLflow truncates longer param values; the full config is an artifact.
CHECKPOINT = "checkpoints/last.pt"


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

    uri:        an MLflow tracking URI (``sqlite:///x.db``, ``http://127.0.0.1:5000``, …) or null
                for the embedded default ``sqlite:///<root>/mlflow.db``.
    root:       directory of the embedded store and of artifacts for experiments rgexp creates.
    experiment: the MLflow experiment name.
    """

    def __init__(self, uri: str | None = None, root: str = "mlruns", experiment: str = "default",
                 system_metrics: bool = True, system_interval: float = 10.0) -> None:
        if not experiment:
            raise ValueError("experiment must be a non-empty name")
        if not system_interval > 0:
            raise ValueError(f"system_interval must be > 0 seconds, got {system_interval!r}")
        self.system_metrics, self.system_interval = bool(system_metrics), float(system_interval)
        self.root = Path(root).expanduser().resolve()
        self.uri = uri or f"sqlite:///{self.root / 'mlflow.db'}"
        self.experiment = experiment
        self._client: MlflowClient | None = None

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            with self._store_lock():  # constructing a client opens the store, creating a new one
                self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    @property
    def is_local_store(self) -> bool:
        return self.uri.startswith("sqlite:")

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
        where = _local_path(self.client.get_experiment(exp_id).artifact_location)
        if where is None:
            return
        try:
            _probe_writable(where)
        except OSError as err:
            raise StorageError(
                f"tracking.root: cannot write artifacts of experiment '{self.experiment}' under {where}: {_reason(err)}"
            ) from None

    def start(self, run_name: str, config_yaml: str, params: dict[str, str], tags: dict[str, str]) -> "TrackedRun":
        """A new RUNNING run with params, tags and the full resolved config as ``config.yaml``."""
        exp_id = self.setup()
        self._check_artifact_location(exp_id)
        all_tags = {"rgexp_version": rgexp.__version__, **git_state(Path(__file__).parent), **tags}
        run = self.client.create_run(exp_id, run_name=run_name, tags=all_tags)
        tracked = TrackedRun(self.client, run.info.run_id)
        tracked.log_params(params)
        tracked.log_text(config_yaml, "config.yaml")
        self._monitor(tracked, resume=False)
        return tracked

    def _monitor(self, tracked: "TrackedRun", resume: bool) -> None:
        if self.system_metrics:
            tracked.monitor = start_system_metrics(tracked.run_id, self.uri, self.system_interval, resume)

    def reopen(self, run_id: str) -> "TrackedRun":
        """Reopen an existing run as RUNNING (resume); metrics it already holds are not logged again."""
        self.client.update_run(run_id, status="RUNNING")
        tracked = TrackedRun(self.client, run_id)
        tracked.skip_logged()
        self._monitor(tracked, resume=True)
        return tracked

    def run_exists(self, run_id: str) -> bool:
        """Whether the store holds ``run_id`` (never creates a missing SQLite store)."""
        if not self.store_exists():
            return False
        try:
            self.client.get_run(run_id)
            return True
        except mlflow.exceptions.MlflowException:
            return False

    def logged_config(self, run_id: str) -> str:
        """The ``config.yaml`` a run was started with (FileNotFoundError if it has none)."""
        with tempfile.TemporaryDirectory() as tmp:
            try:
                with _no_download_bar():
                    path = self.client.download_artifacts(run_id, "config.yaml", tmp)
            except (mlflow.exceptions.MlflowException, OSError) as err:
                raise FileNotFoundError(f"run {run_id} has no config.yaml artifact") from err
            return Path(path).read_text()

    def load_checkpoint(self, run_id: str) -> dict:
        """The run's last checkpoint, loaded with ``weights_only=True``."""
        with tempfile.TemporaryDirectory() as tmp:
            try:
                with _no_download_bar():
                    path = self.client.download_artifacts(run_id, CHECKPOINT, tmp)
            except (mlflow.exceptions.MlflowException, OSError) as err:
                raise FileNotFoundError(f"run {run_id} has no checkpoint {CHECKPOINT}") from err
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except Exception as err:  # torch raises several types for a corrupt file
                raise ValueError(f"checkpoint of run {run_id} is corrupt: {err}") from err


class TrackedRun:
    """An open MLflow run: buffered metrics, params, artifacts, atomic checkpoints."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self._metrics: list[Metric] = []
        self._logged: set[tuple[str, int]] = set()
        self.monitor = None  # MLflow's system-metrics sampler, when on
        self.latest: dict[str, tuple[int, float]] = {}  # metric -> (last step, value), this process
        self.artifact_uri = client.get_run(run_id).info.artifact_uri
        self.artifact_dir = _local_path(self.artifact_uri)

    @property
    def experiment_id(self) -> str:
        return self.client.get_run(self.run_id).info.experiment_id

    def log_params(self, params: dict[str, str]) -> None:
        items = [Param(k[:250], v[:PARAM_MAX]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[i : i + 100])

    def set_tags(self, tags: dict[str, str]) -> None:
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

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

        A chunk leaves the buffer only once written, so a failed flush retried later writes
        nothing twice."""
        while self._metrics:
            self.client.log_batch(self.run_id, metrics=self._metrics[:1000])
            del self._metrics[:1000]

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
            raise failure from err

    def log_text(self, text: str, path: str) -> None:
        with self._writing(path):
            self.client.log_text(self.run_id, text, path)

    def log_figure(self, fig, path: str) -> None:
        """Save a matplotlib figure as an artifact and close it (the run takes ownership)."""
        import matplotlib.pyplot as plt

        try:
            with self._writing(path):
                self.client.log_figure(self.run_id, fig, path)
        finally:
            plt.close(fig)

    def log_arrays(self, path: str, **arrays) -> None:
        """Arrays as one ``.npz`` artifact at ``path``."""
        import numpy as np

        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        self._write_bytes(buf.getvalue(), path)

    def save_checkpoint(self, state: dict, path: str = CHECKPOINT) -> None:
        """Atomically replace the checkpoint: a reader sees the old file or the new, never half."""
        buf = io.BytesIO()
        torch.save(state, buf)
        self._write_bytes(buf.getvalue(), path)

    def _write_bytes(self, data: bytes, path: str) -> None:
        """Write ``data`` as artifact ``path``: on a local location into a temporary file that is
        fsynced and renamed over the old one (a crash or a full disk leaves the old file whole)."""
        with self._writing(path):
            if self.artifact_dir is None:
                with tempfile.TemporaryDirectory() as tmp:
                    local = Path(tmp) / Path(path).name
                    local.write_bytes(data)
                    self.client.log_artifact(self.run_id, str(local), str(Path(path).parent or ""))
                return
            final = self.artifact_dir / path
            tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                with open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, final)
            except OSError:
                with contextlib.suppress(OSError):  # a partial temporary file must not linger
                    tmp.unlink()
                raise

    def end(self, status: str) -> None:
        """Flush and mark the run FINISHED, FAILED or KILLED."""
        try:
            if self.monitor is not None:
                self.monitor.finish()  # its last samples go in before the run closes
                self.monitor = None
            self.flush()
        finally:
            self.client.set_terminated(self.run_id, status=status)


try:  # Hydra is a dependency, but keep tracking importable without the callback API.
    from hydra.experimental.callback import Callback
except ImportError:  # pragma: no cover
    Callback = object


class SweepSetup(Callback):
    """Hydra callback: create the store and experiment once, before a multirun's jobs start."""

    def on_multirun_start(self, config, **kwargs) -> None:
        from hydra.utils import instantiate

        instantiate(config.tracking).setup()
