"""What the three transforms (rbm_flow, block_rg, stack_layers) share: a loop over the data's
temperatures feeding the one measurer, and the curves' figures and arrays."""

from __future__ import annotations

from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from rgexp.analysis.figures import curves_by_temperature
from rgexp.metric_names import metric

XLABELS = {"flow": "flow length", "rg": "RG step", "stack": "stacked-RBM layer"}
MODULES = {"flow": "rbm_flow", "rg": "block_rg", "stack": "stack_layers"}  # metric prefix -> stage name


def over_temperatures(ctx, stage: str, transform: Callable[[int, float], list[np.ndarray]]) -> dict[float, dict]:
    """``transform(i, T)`` -> the configurations [step 0, step 1, …] of temperature i, each
    (n, *shape), measured as ``stage`` at T; a stop is acted on after each temperature. Logs
    ``<stage>/n_configurations``: how many of the data's configurations per temperature it measured
    (the flows and stack take the first ``flow.n_samples``; the RG steps all of them)."""
    curves: dict[float, dict] = {}
    n_used = ctx.data.n_samples
    for i, t in enumerate(tqdm(ctx.data.temperatures, desc=stage, unit="T", disable=not ctx.settings.progress)):
        configs = transform(i, float(t))
        n_used = min(n_used, len(configs[0]))
        curves[float(t)] = ctx.measurer(stage, float(t), configs)
        del configs  # the measurer's curves are all that is kept: the configurations go now
        ctx.stop.check(MODULES[stage], f" after T = {t:.4f}")
    if curves:
        ctx.tracked.log_metrics({metric(stage, "n_configurations"): n_used})
    return curves


def log_curves(ctx, stage: str, curves: dict[float, dict]) -> None:
    """One figure and one array file per observable: value and error against step, per temperature."""
    if not curves:
        return
    for name in next(iter(curves.values())).keys():
        per_t = {t: c[name] for t, c in curves.items()}
        fig = curves_by_temperature(per_t, XLABELS[stage], name, f"{stage}: {name}")
        ctx.tracked.log_figure(fig, f"figures/{stage}_{name}.png")
        arr = np.array([per_t[t] for t in sorted(per_t)])  # (n_T, n_steps + 1, 2)
        ctx.tracked.log_arrays(f"arrays/{stage}_{name}.npz", temperatures=np.array(sorted(per_t)),
                               value=arr[..., 0], error=arr[..., 1])
    ctx.measurer.log_histograms(stage)
