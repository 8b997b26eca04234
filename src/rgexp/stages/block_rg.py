"""Stage ``block_rg``: block-spin RG (``rg`` group) of the data at every temperature, each step
measured (``rg/<obs>/T<T>`` against RG step); tie-breaks draw from the (rg, T) stream."""

from __future__ import annotations

from rgexp.seeding import numpy_generator
from rgexp.stages._transform import log_curves, over_temperatures

NEEDS = ("data",)
GIVES = ("rg",)


def run(ctx) -> None:
    data, rg = ctx.data, ctx.parts.rg
    curves = over_temperatures(ctx, "rg", lambda i, t: rg(data.at(i), numpy_generator(ctx.stream("rg", t)),
                                                          ndim=len(data.lattice_shape)))
    log_curves(ctx, "rg", curves)
    ctx.results["rg"] = curves
