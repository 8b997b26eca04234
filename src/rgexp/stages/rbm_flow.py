"""Stage ``rbm_flow``: the RBM flow v → h → v' (``flow`` group) of the data at every temperature
and of the extra starts (T = ∞, T = 0), each flow length measured (``flow/<obs>/T<T>`` against
flow length). The flow at T draws from its own stream (flow, T): it does not depend on the grid's
other temperatures, nor on what else is measured."""

from __future__ import annotations

from rgexp.flows.rbm_flow import START_TEMPERATURES
from rgexp.seeding import torch_generator
from rgexp.stages._transform import log_curves, over_temperatures
from rgexp.stages.training import bottom_rbm

NEEDS = ("data", "trained")
GIVES = ("flow",)


def run(ctx) -> None:
    rbm, data, flow, shape = bottom_rbm(ctx.model), ctx.data, ctx.parts.flow, ctx.data.lattice_shape

    def flowed(v0, gen) -> list:
        return [rbm.to_spins(f).detach().cpu().numpy().reshape(-1, *shape) for f in flow(rbm, v0, gen)]

    def at(i: int, t: float) -> list:
        v0 = rbm.from_spins(data.rows([i], flow.n_samples))  # only the rows it flows
        return flowed(v0, torch_generator(ctx.stream("flow", t), ctx.device))

    curves = over_temperatures(ctx, "flow", at)
    for kind in flow.extra_starts:
        gen = torch_generator(ctx.stream("flow", "start", kind), ctx.device)
        v0 = rbm.from_spins(flow.start(kind, rbm.n_visible, gen))
        curves[START_TEMPERATURES[kind]] = ctx.measurer("flow", START_TEMPERATURES[kind], flowed(v0, gen))
    log_curves(ctx, "flow", curves)
    ctx.results["flow"] = curves
