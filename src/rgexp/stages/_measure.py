"""How a transform stage measures each step it makes: the observables (``analysis.measurements``),
the thermometer's reading where one was trained on that lattice, Δ fits at the scaling
temperatures and, for the flow with ``analysis.binned``, the pools by read temperature.

Everything it reads is handed to it (the thermometers the ``thermometers`` stage gave, the
streams); everything it makes goes into the :class:`~rgexp.stages._types.Transformed` it fills.
Every reading and fit draws from its own (stage, T, step) stream: nothing measured depends on what
else was measured, or in which order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rgexp.analysis.binned import energy_temperatures, nearest_class
from rgexp.analysis.scaling import censored_side
from rgexp.metric_names import metric, with_companions
from rgexp.seeding import keyed_stream, numpy_generator, torch_generator
from rgexp.stages._types import Transformed

if TYPE_CHECKING:
    from rgexp.stages import Context

__all__ = ["StepMeasurer"]


class StepMeasurer:
    """``measurer(T, configs)`` measures configs[k] (k = flow length, RG step or layer) of the start
    at T and logs ``<stage>/<obs>/T<T>`` at step k; ``measurer.result`` is what it measured."""

    def __init__(self, ctx: Context, stage: str, pool: bool = False) -> None:
        analysis = ctx.parts.analysis
        self.stage, self.tracked, self.device = stage, ctx.tracked, ctx.device
        self.measurements = analysis["measurements"]
        self.thermometers = ctx.thermometers  # None: the thermometers stage did not run
        self.scaling = analysis.get("scaling")
        self.scaling_temperatures = self.scaling.picks(ctx.data.temperatures) if self.scaling is not None else []
        self.read_seed = ctx.stream("analysis", "read")
        self.scaling_seed = ctx.stream("analysis", "scaling")
        self.binned = analysis.get("binned") if pool else None
        self.result = Transformed(stage)

    def __call__(self, temperature: float, configs: list[np.ndarray]) -> None:
        curves: dict[str, list] = {}
        for step, x in enumerate(configs):
            estimates = dict(self.measurements(x))
            reading = self._read(temperature, step, x, estimates)
            if self.binned is not None:
                self._pool(step, x, reading)
            for name, est in estimates.items():
                self.tracked.log_metrics(with_companions(metric(self.stage, name, T=temperature), est.value,
                                                         err=est.error), step=step)
                curves.setdefault(name, []).append((est.value, est.error))
            if self.scaling is not None and temperature in self.scaling_temperatures:
                extra = temperature if temperature != self.scaling_temperatures[0] else None
                rng = numpy_generator(keyed_stream(self.scaling_seed, self.stage, temperature, step))
                self._fit_deltas(extra, step, x, rng)
        self.result.curves[temperature] = curves

    def _read(self, temperature: float, step: int, x: np.ndarray, estimates: dict):
        """The reading of the thermometer trained on x's lattice (None if there is none); its
        temperature estimate goes into ``estimates``."""
        shape = tuple(x.shape[1:])
        if self.thermometers is None or shape not in self.thermometers.by_shape:
            return None
        reader = self.thermometers.reader
        generator = torch_generator(keyed_stream(self.read_seed, self.stage, temperature, step), self.device)
        reading = reader.measure(self.thermometers.by_shape[shape], x, generator=generator)
        estimates["temperature"] = reader.temperature(reading, x, self.thermometers.curve(reader.reading, shape),
                                                      generator)
        self.result.readings.setdefault(temperature, []).append(reading)
        return reading

    def _pool(self, step: int, x: np.ndarray, reading) -> None:
        """Add step ``step``'s configurations x to each binning's pool (analysis.binned): the bins
        are the classes of the thermometer of the data's lattice."""
        shape = tuple(x.shape[1:])
        if self.thermometers is None or shape not in self.thermometers.by_shape:
            return
        grid = self.thermometers.by_shape[shape].temperatures
        for by in self.binned.by:
            if by == "network":
                classes = reading.predicted
            else:
                classes = nearest_class(energy_temperatures(x, self.thermometers.curve("energy", shape)), grid)
            self.result.pools.setdefault(by, self.binned.new_pool(grid)).add(step, x, classes)

    def _fit_deltas(self, extra: float | None, step: int, x: np.ndarray, rng: np.random.Generator) -> None:
        """Δ_op of configurations x at a scaling temperature: the main one logs ``stage/delta_op``,
        an extra one (``extra``: its T) ``stage/delta_op/T<T>``."""
        for op in self.scaling.operators:
            fit = self.scaling.fit(x, op, rng)
            if fit is None:
                continue
            self.tracked.log_metrics(with_companions(metric(self.stage, f"delta_{op}", T=extra), fit.value,
                                                     ci_low=fit.ci_low, ci_high=fit.ci_high,
                                                     censored=censored_side(fit.ci_low, fit.ci_high)), step=step)
            self.result.deltas.setdefault(extra, {}).setdefault(op, []).append((step, fit.value, fit.ci_low,
                                                                              fit.ci_high))
