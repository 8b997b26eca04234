"""Stage ``rbm_flow``: the RBM flow v → h → v' (``flow`` group) of the data at every temperature
and of the extra starts (T = ∞, T = 0), each flow length measured (``flow/<obs>/T<T>`` against
flow length), read by the thermometers where they were trained, Δ-fitted at the scaling
temperatures and, with ``analysis.binned``, pooled by read temperature for the ``binned`` stage.
The flow at T draws from its own stream (flow, T): it does not depend on the grid's other
temperatures, nor on what else is measured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rgexp.flows.rbm_flow import START_TEMPERATURES
from rgexp.seeding import torch_generator
from rgexp.stages._measure import StepMeasurer
from rgexp.stages._transform import log_curves, over_temperatures
from rgexp.stages._types import Transformed
from rgexp.stages.training import bottom_rbm

if TYPE_CHECKING:
    from rgexp.stages import Context

NEEDS = ("data", "trained")
USES = ("thermometers",)  # read along the flow when the thermometers stage runs (before this one)
GIVES = ("flow",)


def run(ctx: Context) -> Transformed:
    rbm, data, flow, shape = bottom_rbm(ctx.trained), ctx.data, ctx.parts.flow, ctx.data.lattice_shape

    def flowed(v0, gen) -> list:
        return [rbm.to_spins(f).detach().cpu().numpy().reshape(-1, *shape) for f in flow(rbm, v0, gen)]

    def at(i: int, t: float) -> list:
        v0 = rbm.from_spins(data.rows([i], flow.n_samples))  # only the rows it flows
        return flowed(v0, torch_generator(ctx.stream("flow", t), ctx.device))

    measurer = over_temperatures(ctx, "flow", "rbm_flow", at, StepMeasurer(ctx, "flow", pool=True))
    for kind in flow.extra_starts:
        gen = torch_generator(ctx.stream("flow", "start", kind), ctx.device)
        v0 = rbm.from_spins(flow.start(kind, rbm.n_visible, gen))
        measurer(START_TEMPERATURES[kind], flowed(v0, gen))
    log_curves(ctx, measurer.result)
    ctx.results["flow"] = measurer.result.curves
    return measurer.result
