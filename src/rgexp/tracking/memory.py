"""An in-memory run with the logging interface that stages use on a
:class:`~rgexp.tracking.store.TrackedRun`, so that stage tests run without MLflow or disk.

Everything lands in plain dicts: metric histories ``{name: [(step, value), ...]}`` (in logging
order, a step logged twice appears twice, so a test can see it), params, tags, texts, figure
names, arrays and checkpoints. A checkpoint goes through ``torch.save`` and
``torch.load(weights_only=True)`` as a real one does, so a state that a resume could not load
fails here too.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

__all__ = ["MemoryRun"]

CHECKPOINT = "checkpoints/last.pt"  # the same default path as TrackedRun's


class MemoryRun:
    """A run held in dicts. ``status`` is None until :meth:`end`."""

    def __init__(self, run_id: str | None = None, experiment_id: str = "0", draw: bool = False) -> None:
        self.run_id = run_id or uuid.uuid4().hex
        self.draw = draw  # False: a figure given as a function that draws it is recorded, not drawn
        self.experiment_id = experiment_id
        self.metrics: dict[str, list[tuple[int, float]]] = {}
        self.latest: dict[str, tuple[int, float]] = {}  # metric -> (last step, value), as TrackedRun's
        self.params: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        self.figures: list[str] = []  # artifact paths, in logging order
        self.arrays: dict[str, dict[str, Any]] = {}
        self.checkpoints: dict[str, dict] = {}
        self.flushes = 0
        self.status: str | None = None

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        step = int(step)
        for k, v in metrics.items():
            self.metrics.setdefault(k, []).append((step, float(v)))
            if k not in self.latest or step >= self.latest[k][0]:
                self.latest[k] = (step, float(v))

    def history(self, name: str) -> list[tuple[int, float]]:
        """The (step, value) pairs of metric ``name``, sorted by step."""
        return sorted(self.metrics.get(name, []))

    def flush(self) -> None:
        self.flushes += 1  # nothing is buffered: metrics are recorded as they are logged

    def log_params(self, params: dict[str, str]) -> None:
        self.params.update({k: str(v) for k, v in params.items()})

    def set_tags(self, tags: dict[str, str]) -> None:
        self.tags.update({k: str(v) for k, v in tags.items()})

    def log_text(self, text: str, path: str) -> None:
        self.texts[path] = text

    def log_figure(self, fig, path: str) -> None:
        """Record the figure's path and close it (the run takes ownership, as TrackedRun does);
        ``fig`` may be a function that draws it, called only with ``draw``."""
        self.figures.append(path)
        if callable(fig) and not self.draw:
            return
        import matplotlib.pyplot as plt

        plt.close(fig() if callable(fig) else fig)

    def log_arrays(self, path: str, **arrays) -> None:
        import numpy as np

        self.arrays[path] = {k: np.asarray(v).copy() for k, v in arrays.items()}

    def save_checkpoint(self, state: dict, path: str = CHECKPOINT) -> None:
        """Keep a copy of ``state`` as a resume would read it back (``weights_only=True``)."""
        import torch

        buf = io.BytesIO()
        torch.save(state, buf)
        buf.seek(0)
        self.checkpoints[path] = torch.load(buf, map_location="cpu", weights_only=True)

    def end(self, status: str) -> None:
        self.status = status
