"""Figures of visible–hidden correlators: heat-map grids of C_a(x) and G(d) curves.

Both return matplotlib ``Figure`` objects (Agg backend); saving them is the tracking module's job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: figures are artifacts, never windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from rgexp.analysis.receptive import Correlator, GCurve, correlator_maps  # noqa: E402

__all__ = ["plot_correlator_maps", "plot_G"]


def _pick_units(n_hidden: int, n_units: int, units: Sequence[int] | None) -> np.ndarray:
    if units is not None:
        picked = np.asarray(units, dtype=int)
        if picked.size == 0 or picked.min() < 0 or picked.max() >= n_hidden:
            raise ValueError(f"units must index 0..{n_hidden - 1}, got {list(picked)}")
        return picked
    # evenly spread over the hidden units (for RG blocks: spread over the coarse lattice)
    return np.unique(np.linspace(0, n_hidden - 1, min(n_units, n_hidden)).round().astype(int))


def plot_correlator_maps(
    c: Correlator | np.ndarray,
    lattice_shape: tuple[int, int] | None = None,
    n_units: int = 16,
    *,
    units: Sequence[int] | None = None,
    ncols: int | None = None,
    shared_scale: bool = True,
    cmap: str = "RdBu_r",
    title: str = "",
    panel_size: float = 1.6,
) -> plt.Figure:
    """One heat map of C_a(x) on the visible L×L lattice per hidden unit a, in a grid of panels.

    c: a :class:`Correlator`, (n_visible, n_hidden) with ``lattice_shape``, or maps (n_hidden, Lx, Ly).
    ``units`` picks hidden units explicitly, else ``n_units`` evenly spaced ones. With
    ``shared_scale`` all panels share one symmetric colour scale (±max |C| over the shown maps), so
    bright spots compare across units; otherwise each panel is scaled to itself.
    """
    maps = correlator_maps(c, lattice_shape)
    if maps.ndim != 3:
        raise ValueError(f"heat maps need a 2D visible lattice, got maps of shape {maps.shape}")
    picked = _pick_units(maps.shape[0], n_units, units)
    ncols = ncols or math.ceil(math.sqrt(picked.size))
    nrows = math.ceil(picked.size / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols + 1.0, panel_size * nrows + 0.4),
                             squeeze=False, layout="constrained")
    vmax = float(np.abs(maps[picked]).max()) or 1.0
    image = None
    for ax, a in zip(axes.flat, picked):
        lim = vmax if shared_scale else float(np.abs(maps[a]).max()) or 1.0
        image = ax.imshow(maps[a], cmap=cmap, vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_title(f"a = {a}", fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[picked.size:]:
        ax.set_axis_off()
    if shared_scale and image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label=r"$C_{ia}$")
    if title:
        fig.suptitle(title)
    return fig


def plot_G(
    curves: Mapping[str, GCurve | tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    xlabel: str = "distance d",
    ylabel: str = "G(d)",
    title: str = "",
    marker_size: float = 3.0,
) -> plt.Figure:
    """One G(d) curve with error bars per label: ``curves[label] = (d, G, dG)``."""
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    palette = sns.color_palette("viridis" if len(curves) > 6 else "deep", n_colors=max(len(curves), 1))
    for colour, (label, (d, G, dG)) in zip(palette, curves.items()):
        ax.errorbar(d, G, yerr=np.nan_to_num(np.asarray(dG, dtype=float)), marker="o", ms=marker_size,
                    lw=1, capsize=2, color=colour, label=str(label))
    ax.axhline(0.0, color="0.6", lw=0.8, zorder=0)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if 0 < len(curves) <= 12:
        ax.legend(fontsize="small")
    return fig
