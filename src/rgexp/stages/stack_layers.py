"""Stage ``stack_layers``: the data at every temperature propagated up a stacked RBM (hidden means,
deterministic), each layer measured as a configuration set (``stack/<obs>/T<T>`` against layer;
read by the coarse lattices' thermometers where a square layer has one); square layers are laid
out as lattices (by their units' receptive fields with ``analysis.receptive.arrange_layers``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from rgexp.analysis import receptive_field_size, stacked_correlator
from rgexp.analysis.receptive_size import arrange_on_grid
from rgexp.ising.data import IsingData
from rgexp.models import is_stack
from rgexp.stages._transform import log_curves, over_temperatures
from rgexp.stages._types import Transformed

if TYPE_CHECKING:
    from rgexp.stages import Context

NEEDS = ("data", "trained")
USES = ("thermometers",)
GIVES = ("stack",)


def applies(ctx: Context) -> bool:
    return is_stack(ctx.model)  # a single RBM's hidden layer is the flow's business


def run(ctx: Context) -> Transformed:
    model, data, n = ctx.trained, ctx.data, ctx.parts.flow.n_samples
    orders = layer_orders(ctx.parts.analysis.get("receptive"), model, data) or [None] * (len(model.rbms) + 1)

    def at(i: int, t: float) -> list:
        v0 = model.from_spins(data.rows([i], n))
        return [as_lattice(model.to_spins(x), o) for x, o in zip(model.propagate_up(v0), orders)]

    measurer = over_temperatures(ctx, "stack", "stack_layers", at)
    log_curves(ctx, measurer.result)
    ctx.results["stack"] = measurer.result.curves
    return measurer.result


def layer_orders(spec, model, data: IsingData) -> list[np.ndarray | None] | None:
    """For ``receptive.arrange_layers`` (``spec``: analysis.receptive): per stack layer (index 0 =
    the input), the unit order that lays a square layer out by its receptive fields (None: keep
    index order); None when off."""
    if spec is None or not spec.arrange_layers or len(data.lattice_shape) != 2:
        return None
    spins = data.at(spec.pick(data.temperatures), spec.n_samples)  # int8: converted per chunk
    orders: list[np.ndarray | None] = [None]
    for layer, rbm in enumerate(model.rbms, start=1):
        side = int(round(np.sqrt(rbm.n_hidden)))
        if side * side != rbm.n_hidden:
            orders.append(None)
            continue
        size = receptive_field_size(stacked_correlator(model, spins, layer), data.lattice_shape)
        orders.append(arrange_on_grid(size.centre, data.lattice_shape))
    return orders


def as_lattice(x: torch.Tensor, order: np.ndarray | None = None) -> np.ndarray:
    """(n, m) layer activations, units permuted by ``order`` when given, as (n, √m, √m) when m is a
    square, else (n, m).

    Hidden units carry no geometry of their own; the square arrangement only gives the layer's
    nearest-neighbour correlation a meaning when the stack has learned local filters. Its ⟨|m|⟩
    does not depend on the arrangement.
    """
    arr = x.detach().cpu().numpy()
    if order is not None:
        arr = arr[:, order]
    side = int(round(np.sqrt(arr.shape[1])))
    return arr.reshape(-1, side, side) if side * side == arr.shape[1] else arr
