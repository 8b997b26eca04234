"""Figures of RBM weights: returned as matplotlib ``Figure`` objects (no pyplot state, no saving)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from .rbm import RBM
from .stacked import StackedRBM

__all__ = ["plot_filters"]


def plot_filters(
    model: RBM | StackedRBM,
    lattice_shape: Sequence[int] | None = None,
    n_filters: int = 64,
    cmap: str = "RdBu_r",
) -> Figure:
    """Receptive fields W[:, j] of the first ``n_filters`` hidden units, each drawn on the lattice.

    ``lattice_shape`` (e.g. (L, L)) must multiply to n_visible; by default a square lattice when
    n_visible is a perfect square. Otherwise (or for 1D lattices) W is drawn as one
    (n_visible × n_hidden) heat map. One symmetric colour scale for all panels. For a
    :class:`StackedRBM` the bottom RBM (the one that sees the lattice) is drawn.
    """
    if isinstance(model, StackedRBM):
        model = model.rbms[0]
    w = model.weight.detach().to("cpu").double().numpy()
    nv, nh = w.shape
    if lattice_shape is None:
        side = math.isqrt(nv)
        lattice_shape = (side, side) if side * side == nv else (nv,)
    lattice_shape = tuple(int(s) for s in lattice_shape)
    if int(np.prod(lattice_shape)) != nv:
        raise ValueError(f"lattice_shape {lattice_shape} does not hold n_visible = {nv} units")
    vmax = float(np.abs(w).max()) or 1.0
    if len(lattice_shape) != 2:
        fig = Figure(figsize=(6, 4), layout="constrained")
        ax = fig.add_subplot()
        im = ax.imshow(w, cmap=cmap, vmin=-vmax, vmax=vmax, aspect="auto", interpolation="nearest")
        ax.set(xlabel="hidden unit j", ylabel="visible unit i", title="weights W")
        fig.colorbar(im, ax=ax)
        return fig
    n = min(n_filters, nh)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(1.2 * cols + 1.0, 1.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for j, ax in enumerate(axes):
        ax.set_axis_off()
        if j < n:
            im = ax.imshow(w[:, j].reshape(lattice_shape), cmap=cmap, vmin=-vmax, vmax=vmax,
                           interpolation="nearest")
    fig.colorbar(im, ax=axes.tolist(), shrink=0.8)
    fig.suptitle(f"RBM filters W[:, j] ({n} of {nh} hidden units)")
    return fig
