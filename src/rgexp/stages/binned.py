"""Stage ``binned`` (the main paper's own estimators, ``analysis.binned``): the flowed
configurations of every start, pooled by the rbm_flow stage per flow length and bin (the
thermometer's classes), fitted and logged (``flow_binned/…``, ``flow_binned_energy/…``) with their
figures; binning ``by`` draws its bootstrap from child ``list(PREFIXES).index(by)`` of the
(bootstrap, binned) stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rgexp.analysis.binned import PREFIXES
from rgexp.constants import ISING_2D  # the main paper's binned estimators are for the 2D Ising model
from rgexp.errors import ConfigError
from rgexp.lazy import lazy_module
from rgexp.seeding import child_stream

binned_figures = lazy_module("rgexp.analysis.binned_figures")  # drawn only when a figure is kept

if TYPE_CHECKING:
    from rgexp.stages import Context

NEEDS = ("flow", "thermometers")  # its bins are the thermometer's classes; its pools the flow's
GIVES = ("binned",)


def applies(ctx: Context) -> bool:
    return ctx.parts.analysis.get("binned") is not None


def check(ctx: Context) -> None:
    if ctx.parts.analysis.get("thermometer") is None:
        raise ConfigError("analysis.binned needs analysis.thermometer (its bins are the thermometer's classes); "
                          "set analysis.binned=null or keep the thermometer")


def run(ctx: Context) -> dict[str, dict]:
    """Binning -> flow length -> the fitted bins."""
    binned, flow, seed = ctx.parts.analysis["binned"], ctx.flow, ctx.stream("bootstrap", "binned")
    out = {}
    for by, pool in flow.pools.items():
        steps = binned.results(pool, child_stream(seed, list(PREFIXES).index(by)))
        for k, step in steps.items():
            ctx.tracked.log_metrics(binned.metrics(by, pool.grid, step), step=k)
        _log_figures(ctx, binned, by, pool.grid, steps)
        out[by] = steps
    ctx.results["flow_binned"] = out
    return out


def _log_figures(ctx: Context, binned, by: str, grid, steps: dict) -> None:
    name, last, T_c = PREFIXES[by], max(steps), binned.T_c
    figures = {"fig2_delta_sigma_m": lambda: binned_figures.fig2_delta_sigma_m(steps, by),
               "fig4_m_fit": lambda: binned_figures.fig4_magnetization_fit(grid, steps[last], last, by, T_c),
               "fig5a_delta_sigma": lambda: binned_figures.fig_binned_deltas(grid, steps, "sigma", by, ISING_2D.delta_sigma),
               "fig6a_delta_epsilon": lambda: binned_figures.fig_binned_deltas(grid, steps, "epsilon", by, ISING_2D.delta_epsilon),
               "occupancy": lambda: binned_figures.fig_occupancy(grid, steps, by, T_c)}
    for label, draw in figures.items():
        ctx.tracked.log_figure(draw, f"figures/{name}_{label}.png")
