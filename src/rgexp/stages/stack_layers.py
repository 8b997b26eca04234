"""Stage ``stack_layers``: the data at every temperature propagated up a stacked RBM (hidden means,
deterministic), each layer measured as a configuration set (``stack/<obs>/T<T>`` against layer);
square layers are laid out as lattices (by their units' receptive fields with
``analysis.receptive.arrange_layers``)."""

from __future__ import annotations

import numpy as np
import torch

from rgexp.models import is_stack
from rgexp.stages._transform import log_curves, over_temperatures

NEEDS = ("data", "trained")
GIVES = ("stack",)


def applies(ctx) -> bool:
    return is_stack(ctx.model)  # a single RBM's hidden layer is the flow's business


def run(ctx) -> None:
    from rgexp.measure import layer_orders

    model, data, n = ctx.model, ctx.data, ctx.parts.flow.n_samples
    orders = layer_orders(ctx.parts.analysis, model, data) or [None] * (len(model.rbms) + 1)

    def at(i: int, t: float) -> list:
        v0 = model.from_spins(data.rows([i], n))
        return [as_lattice(model.to_spins(x), o) for x, o in zip(model.propagate_up(v0), orders)]

    curves = over_temperatures(ctx, "stack", at)
    log_curves(ctx, "stack", curves)
    ctx.results["stack"] = curves


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
