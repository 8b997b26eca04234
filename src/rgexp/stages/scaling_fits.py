"""Stage ``scaling_fits``: Δ_σ from ⟨|m|⟩(T) below T_c at every flow length
(``flow/delta_sigma_from_m``) and the Δ-against-step figures of the correlator fits the transforms
(rbm_flow, block_rg, stack_layers: whichever ran before it) made at the scaling temperatures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rgexp.analysis.labels import step_label
from rgexp.analysis.scaling import censored_side
from rgexp.lazy import lazy_module
from rgexp.metric_names import format_temperature, metric, with_companions

figures = lazy_module("rgexp.analysis.figures")  # drawn only when a figure is kept

if TYPE_CHECKING:
    from rgexp.stages import Context

NEEDS = ("data",)
USES = ("flow", "rg", "stack")  # the Δ points of each transform that runs (before this stage)
GIVES = ("scaling",)
FROM_M = "sigma from ⟨|m|⟩"  # the magnetization fit's curve in the flow's Δ figure


def applies(ctx: Context) -> bool:
    return ctx.parts.analysis.get("scaling") is not None


def run(ctx: Context) -> dict[str, dict[str, list]]:
    """``flow``, ``rg``, ``stack`` (``flow/T2.5000`` for an extra scaling temperature) -> operator -> points."""
    scaling = ctx.parts.analysis["scaling"]
    deltas: dict[tuple[str, float | None], dict[str, list]] = {}  # (stage, extra T or None) -> op -> points
    for result in (r for r in (ctx.flow, ctx.rg, ctx.stack) if r is not None):
        for extra, points in result.deltas.items():
            deltas[result.stage, extra] = {op: list(p) for op, p in points.items()}
    if ctx.flow is not None and scaling.magnetization:
        fitted = fit_magnetization(ctx, scaling, ctx.flow.curves)
        if fitted:
            deltas.setdefault(("flow", None), {})[FROM_M] = fitted
    _log_figures(ctx, scaling, deltas)
    named = {metric(stage, T=extra): points for (stage, extra), points in deltas.items()}
    ctx.results["delta"] = named
    return named


def fit_magnetization(ctx: Context, scaling, curves: dict[float, dict]) -> list[tuple]:
    """Δ_σ from ⟨|m|⟩(T) below T_c at every flow length (``flow/delta_sigma_from_m``): the points."""
    if not curves or "abs_magnetization" not in next(iter(curves.values())):
        return []
    temps = np.array(sorted(curves))
    m = np.array([curves[t]["abs_magnetization"] for t in temps])  # (n_T, n_steps + 1, 2)
    points = []
    for step in range(m.shape[1]):
        fit = scaling.fit_magnetization(temps, m[:, step, 0], m[:, step, 1])
        if fit is None:
            continue
        ctx.tracked.log_metrics(with_companions(metric("flow", "delta_sigma_from_m"), fit.value, err=fit.error,
                                                ci_low=fit.ci_low, ci_high=fit.ci_high,
                                                censored=censored_side(fit.ci_low, fit.ci_high)), step=step)
        points.append((step, fit.value, fit.ci_low, fit.ci_high))
    return points


def _log_figures(ctx: Context, scaling, deltas: dict[tuple[str, float | None], dict[str, list]]) -> None:
    """One Δ-against-step figure per transform and scaling temperature."""
    exact = scaling.exact | ({FROM_M: scaling.exact["sigma"]} if "sigma" in scaling.exact else {})
    main = scaling.picks(ctx.data.temperatures)[0] if deltas else None
    for (stage, extra), points in deltas.items():
        t = main if extra is None else extra
        title = f"{stage}: correlators at T = {t:.4f}"
        suffix = "" if extra is None else "_" + format_temperature(extra)
        ctx.tracked.log_figure(lambda: figures.delta_curves(points, exact, step_label(stage), title),
                               f"figures/delta_{stage}{suffix}.png")
