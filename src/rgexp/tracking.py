"""MLflow tracking: the only module that imports mlflow.

One Hydra job is one MLflow run. The default store is embedded (no server): SQLite at
``<root>/mlflow.db`` with artifacts under ``<root>/``. Runs are driven through an explicit
``MlflowClient`` (no fluent global state), metrics are buffered and written in batches, and
checkpoints are written atomically (write, then rename) into the run's artifacts.
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


class MLflowTracker:
    """Config group ``tracking``: where runs go.

    uri:        an MLflow tracking URI (``sqlite:///x.db``, ``http://127.0.0.1:5000``, …) or null
                for the embedded default ``sqlite:///<root>/mlflow.db``.
    root:       directory of the embedded store and of artifacts for experiments rgexp creates.
    experiment: the MLflow experiment name.
    """

    def __init__(self, uri: str | None = None, root: str = "mlruns", experiment: str = "default") -> None:
        if not experiment:
            raise ValueError("experiment must be a non-empty name")
        self.root = Path(root).expanduser().resolve()
        self.uri = uri or f"sqlite:///{self.root / 'mlflow.db'}"
        self.experiment = experiment
        self._client: MlflowClient | None = None

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    @property
    def is_local_store(self) -> bool:
        return self.uri.startswith("sqlite:")

    @contextlib.contextmanager
    def _store_lock(self):
        """Serialise store creation: concurrent first writes to a new SQLite store race."""
        if not self.is_local_store:
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".rgexp.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def setup(self) -> str:
        """Create the store and the experiment if needed; return the experiment id."""
        with self._store_lock():
            exp = self.client.get_experiment_by_name(self.experiment)
            if exp is not None:
                return exp.experiment_id
            location = None
            if self.is_local_store:
                slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.experiment)
                location = (self.root / "artifacts" / slug).as_uri()
            return self.client.create_experiment(self.experiment, artifact_location=location)

    def start(self, run_name: str, config_yaml: str, params: dict[str, str], tags: dict[str, str]) -> "TrackedRun":
        """A new RUNNING run with params, tags and the full resolved config as ``config.yaml``."""
        exp_id = self.setup()
        all_tags = {"rgexp_version": rgexp.__version__, **git_state(Path(__file__).parent), **tags}
        run = self.client.create_run(exp_id, run_name=run_name, tags=all_tags)
        tracked = TrackedRun(self.client, run.info.run_id)
        tracked.log_params(params)
        tracked.log_text(config_yaml, "config.yaml")
        return tracked

    def reopen(self, run_id: str) -> "TrackedRun":
        """Reopen an existing run as RUNNING (resume)."""
        self.client.update_run(run_id, status="RUNNING")
        return TrackedRun(self.client, run_id)

    def run_exists(self, run_id: str) -> bool:
        try:
            self.client.get_run(run_id)
            return True
        except mlflow.exceptions.MlflowException:
            return False

    def logged_config(self, run_id: str) -> str:
        """The ``config.yaml`` a run was started with."""
        with tempfile.TemporaryDirectory() as tmp:
            path = self.client.download_artifacts(run_id, "config.yaml", tmp)
            return Path(path).read_text()

    def load_checkpoint(self, run_id: str) -> dict:
        """The run's last checkpoint, loaded with ``weights_only=True``."""
        with tempfile.TemporaryDirectory() as tmp:
            try:
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
        info = client.get_run(run_id).info
        self.artifact_dir = _local_path(info.artifact_uri)

    def log_params(self, params: dict[str, str]) -> None:
        items = [Param(k[:250], v[:PARAM_MAX]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[i : i + 100])

    def set_tags(self, tags: dict[str, str]) -> None:
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        """Buffer metrics; they are written by :meth:`flush` (one SQLite write per batch)."""
        now = int(time.time() * 1000)
        self._metrics.extend(Metric(k, float(v), now, int(step)) for k, v in metrics.items())

    def flush(self) -> None:
        for i in range(0, len(self._metrics), 1000):
            self.client.log_batch(self.run_id, metrics=self._metrics[i : i + 1000])
        self._metrics.clear()

    def log_text(self, text: str, path: str) -> None:
        self.client.log_text(self.run_id, text, path)

    def log_figure(self, fig, path: str) -> None:
        """Save a matplotlib figure as an artifact and close it (the run takes ownership)."""
        import matplotlib.pyplot as plt

        try:
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
        if self.artifact_dir is not None:
            final = self.artifact_dir / path
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
            return
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / Path(path).name
            local.write_bytes(data)
            self.client.log_artifact(self.run_id, str(local), str(Path(path).parent or ""))

    def end(self, status: str) -> None:
        """Flush and mark the run FINISHED, FAILED or KILLED."""
        try:
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
