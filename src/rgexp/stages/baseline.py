"""Stage ``baseline``: Δ of each operator against T on Monte Carlo data of each size in
``analysis.scaling.baseline_sizes`` (the sources' baseline; new Monte Carlo where L differs from the
data's): ``mc/delta_op/L<L>/T<T>``. Each fit draws its bootstrap from its own (L, T, operator) stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rgexp.analysis.scaling import censored_side
from rgexp.errors import ConfigError
from rgexp.lazy import lazy_module
from rgexp.metric_names import metric, with_companions
from rgexp.seeding import numpy_generator
from rgexp.stages.monte_carlo import data_at_sizes

figures = lazy_module("rgexp.analysis.figures")  # drawn only when a figure is kept

if TYPE_CHECKING:
    from rgexp.stages import Context

NEEDS = ("data",)
GIVES = ("baseline",)


def applies(ctx: Context) -> bool:
    scaling = ctx.parts.analysis.get("scaling")
    return scaling is not None and scaling.baseline_sizes is not None


def check(ctx: Context) -> None:
    if "L" not in ctx.cfg.sampler:
        raise ConfigError("analysis.scaling.baseline_sizes needs a sampler with a linear size L "
                          "(wolff, swendsen_wang, metropolis, long_range); set it to null")


def run(ctx: Context) -> dict[str, list]:
    """``"<op>, L = <L>"`` -> [(T, Δ, ci_low, ci_high)]."""
    scaling, L = ctx.parts.analysis["scaling"], ctx.data.lattice_shape[-1]
    others = data_at_sizes(ctx, [s for s in scaling.baseline_sizes if s != L])
    datasets = ({L: ctx.data} if L in scaling.baseline_sizes else {}) | others
    points: dict[str, list] = {}
    for size, data in sorted(datasets.items()):
        for t, spins in zip(data.temperatures, data.blocks):
            for op in scaling.operators:
                fit = scaling.fit(spins, op, numpy_generator(ctx.stream("analysis", "baseline", size, float(t), op)))
                if fit is None:
                    continue
                ctx.tracked.log_metrics(with_companions(metric("mc", f"delta_{op}", L=size, T=t), fit.value,
                                                        ci_low=fit.ci_low, ci_high=fit.ci_high,
                                                        censored=censored_side(fit.ci_low, fit.ci_high)))
                points.setdefault(f"{op}, L = {size}", []).append((float(t), fit.value, fit.ci_low, fit.ci_high))
    if points:
        exact = {k: scaling.exact[k.split(",")[0]] for k in points if k.split(",")[0] in scaling.exact}
        title = f"Monte Carlo data (T_c = {scaling.T_c:.4f})"
        ctx.tracked.log_figure(lambda: figures.delta_curves(points, exact, "temperature T", title), "figures/delta_vs_T_mc.png")
    ctx.results["baseline"] = points
    return points
