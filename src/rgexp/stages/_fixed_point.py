"""The RBM flow's fixed point measured at scheduled training updates (``analysis.fixed_point``).

Part of the training stage: called from inside training (``rgexp.stages.training`` polls it after every update): at each update of
the schedule (``analysis.fixed_point``) it flows T = ∞ starts (and the data nearest T_c) through the
current RBM and logs ``fixed_point/*`` at step = that update. Its randomness is the ``fixed_point``
stream's child keyed by the update, so it neither touches the training's generator (the weights
come out identical with it on or off) nor depends on which other updates were measured. Its points
travel in the checkpoint, so a resumed run draws the whole curve.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rgexp.analysis.fixed_point import FixedPoint, fixed_point_readings
from rgexp.ising.data import IsingData
from rgexp.metric_names import metric, with_companions
from rgexp.seeding import child_stream, torch_generator
from rgexp.stages._types import Tracked

__all__ = ["FixedPointTracker"]


class FixedPointTracker:
    """Measures and logs the fixed point when ``due(update)``; ``points`` holds what it measured."""

    def __init__(self, spec: FixedPoint, rbm, data: IsingData, readers: dict, seed: np.random.SeedSequence,
                 tracked: Tracked, total_updates: int, T_c: float) -> None:
        self.spec, self.rbm, self.readers, self.seed, self.tracked = spec, rbm, readers, seed, tracked
        self.lattice_shape = data.lattice_shape
        self.due_updates = set(spec.schedule(total_updates))
        # start -> its configurations: None, the T = ∞ start (drawn per update, logged without a /T
        # qualifier); the data's temperature nearest T_c (logged with its /T<T>)
        self.starts: dict[float | None, torch.Tensor | None] = {None: None}
        if spec.from_data:
            i = int(np.argmin(np.abs(data.temperatures - T_c)))
            rows = data.rows([i], spec.n_samples)
            self.starts[float(data.temperatures[i])] = rbm.from_spins(rows)
        self.points: list[dict[str, float]] = []

    def due(self, update: int) -> bool:
        return update in self.due_updates

    def __call__(self, update: int) -> None:
        """Measure at ``update`` and log the metrics at that step."""
        gen = torch_generator(child_stream(self.seed, update), self.rbm.device)
        metrics: dict[str, float] = {}
        for start, v0 in self.starts.items():  # a fixed order: the generator's draws are reproducible
            if v0 is None:
                v0 = self.rbm.from_spins(self.spec.random_configs(self.rbm.n_visible, gen))
            found = fixed_point_readings(self.rbm, v0, self.spec.n_steps, self.spec.drift_steps, gen,
                                         self.lattice_shape, self.readers)
            found["temperature"] = found["temperature_energy"]
            for name, est in found.items():
                metrics |= with_companions(metric("fixed_point", name, T=start), est.value, err=est.error)
        metrics = {k: float(v) for k, v in metrics.items() if np.isfinite(v)}
        self.tracked.log_metrics(metrics, step=update)
        self.points.append({"update": float(update)} | metrics)

    def state(self) -> list[dict[str, float]]:
        """The measured points, for the checkpoint (plain floats)."""
        return [dict(p) for p in self.points]

    def load(self, points: list[dict[str, float]] | None) -> None:
        self.points = [dict(p) for p in points or []]

    def figure(self) -> Any:
        from rgexp.analysis.fixed_point_figures import plot_fixed_point

        return plot_fixed_point(self.points, sorted(self.starts, key=lambda t: (t is not None, t or 0.0)))
