"""Stage ``receptive`` (2D, ``analysis.receptive``): C_ia maps, receptive-field sizes and G(d) for
every model layer and one block-spin step, at one temperature, with the null patterns' G(d)."""

from __future__ import annotations

from rgexp.seeding import numpy_generator

NEEDS = ("data", "trained")
GIVES = ("receptive",)


def applies(ctx) -> bool:
    return ctx.parts.analysis.get("receptive") is not None and ctx.ndim == 2  # heat maps are 2D


def run(ctx) -> None:
    from rgexp.measure import receptive_stage

    ctx.results["receptive"] = receptive_stage(ctx.parts.analysis, ctx.model, ctx.data, ctx.parts.rg,
                                               numpy_generator(ctx.stream("analysis", "receptive")), ctx.tracked)
