"""Stage ``block_rg``: block-spin RG (``rg`` group) of the data at every temperature, each step
measured (``rg/<obs>/T<T>`` against RG step; read by the coarse lattices' thermometers where they
were trained); tie-breaks draw from the (rg, T) stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rgexp.errors import ConfigError
from rgexp.seeding import numpy_generator
from rgexp.stages._transform import log_curves, over_temperatures
from rgexp.stages._types import Transformed

if TYPE_CHECKING:
    from rgexp.stages import Context

NEEDS = ("data",)
USES = ("thermometers",)
GIVES = ("rg",)


def check(ctx: Context) -> None:
    rg, lattice = ctx.parts.rg, ctx.parts.sampler.lattice_shape
    if rg.n_steps > 0:
        try:
            rg.check_lattice(lattice[-1])
        except ValueError as err:
            raise ConfigError(f"rg: {err}; change sampler.L or rg.n_steps") from None


def run(ctx: Context) -> Transformed:
    data, rg = ctx.data, ctx.parts.rg
    measurer = over_temperatures(ctx, "rg", "block_rg",
                                 lambda i, t: rg(data.at(i), numpy_generator(ctx.stream("rg", t)),
                                                 ndim=len(data.lattice_shape)))
    log_curves(ctx, measurer.result)
    ctx.results["rg"] = measurer.result.curves
    return measurer.result
