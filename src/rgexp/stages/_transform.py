"""What the three transforms (rbm_flow, block_rg, stack_layers) share: a loop over the data's
temperatures measuring every step (:class:`~rgexp.stages._measure.StepMeasurer`), and the curves'
figures, arrays and reading histograms."""

from __future__ import annotations

from typing import Callable, TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from rgexp.analysis.labels import step_label
from rgexp.lazy import lazy_module
from rgexp.metric_names import format_temperature, metric
from rgexp.stages._measure import StepMeasurer
from rgexp.stages._types import Transformed

figures = lazy_module("rgexp.analysis.figures")  # drawn only when a figure is kept
thermometer_figures = lazy_module("rgexp.analysis.thermometer_figures")

if TYPE_CHECKING:
    from rgexp.stages import Context



def over_temperatures(ctx: Context, stage: str, name: str, transform: Callable[[int, float], list[np.ndarray]],
                      measurer: StepMeasurer | None = None) -> StepMeasurer:
    """``transform(i, T)`` -> the configurations [step 0, step 1, …] of temperature i, each
    (n, *shape), measured as ``stage`` (the metric family) at T; a stop is acted on after each
    temperature (``name``: the stage module's name). Logs ``<stage>/n_configurations``: how many of
    the data's configurations per temperature it measured (the flows and stack take the first
    ``flow.n_samples``; the RG steps all of them). Returns the measurer (its ``result`` filled)."""
    measurer = measurer if measurer is not None else StepMeasurer(ctx, stage)
    n_used = ctx.data.n_samples
    for i, t in enumerate(tqdm(ctx.data.temperatures, desc=stage, unit="T", disable=not ctx.settings.progress)):
        configs = transform(i, float(t))
        n_used = min(n_used, len(configs[0]))
        measurer(float(t), configs)
        del configs  # the measurements are all that is kept: the configurations go now
        ctx.stop.check(name, f" after T = {t:.4f}")
    if measurer.result.curves:
        measurer.result.n_configurations = n_used
        ctx.tracked.log_metrics({metric(stage, "n_configurations"): n_used})
    return measurer


def log_curves(ctx: Context, result: Transformed) -> None:
    """One figure and one array file per observable: value and error against step, per
    temperature; the reading histograms."""
    stage, curves = result.stage, result.curves
    if not curves:
        return
    for name in next(iter(curves.values())).keys():
        per_t = {t: c[name] for t, c in curves.items()}
        ctx.tracked.log_figure(lambda: figures.curves_by_temperature(per_t, step_label(stage), name, f"{stage}: {name}"),
                               f"figures/{stage}_{name}.png")
        arr = np.array([per_t[t] for t in sorted(per_t)])  # (n_T, n_steps + 1, 2)
        ctx.tracked.log_arrays(f"arrays/{stage}_{name}.npz", temperatures=np.array(sorted(per_t)),
                               value=arr[..., 0], error=arr[..., 1])
    log_histograms(ctx, result)


def log_histograms(ctx: Context, result: Transformed, max_temperatures: int = 6) -> None:
    """One heat map of the readings against step per initial temperature (at most a few)."""
    per_t = result.readings
    if not per_t:
        return
    temps = sorted(per_t)
    chosen = [temps[i] for i in np.unique(np.linspace(0, len(temps) - 1, max_temperatures).astype(int))]
    for t in chosen:
        if len(per_t[t]) < 2:  # a single reading (e.g. RG step 0 only) is no flow
            continue
        readings = {f"{result.stage} {k}": r for k, r in enumerate(per_t[t])}
        ctx.tracked.log_figure(lambda: thermometer_figures.plot_temperature_histograms(readings, T_c=None, kind="heatmap"),
                               f"figures/temperature_{result.stage}_{format_temperature(t)}.png")
