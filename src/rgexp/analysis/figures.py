"""Figures as matplotlib ``Figure`` objects (the tracking module saves them; nothing here does I/O)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import matplotlib

matplotlib.use("Agg")  # headless: figures are artifacts, never windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402

from rgexp.analysis.scaling import censored_side  # noqa: E402

__all__ = ["MAX_LEGEND", "SPECIAL_STARTS", "temperature_colours", "temperature_label", "key_temperatures",
           "curves_by_temperature", "delta_curves"]

MAX_LEGEND = 8  # more curves than this: a colour bar keyed by temperature, not a legend that hides the plot
# Flows started from random spins (T = ∞) and from the ordered state (T = 0) are not points of the
# colour bar's temperature axis: fixed colours outside viridis, and a legend of just these two.
SPECIAL_STARTS: dict[float, tuple[str, str]] = {math.inf: ("tab:red", "random start (T = ∞)"),
                                                0.0: ("magenta", "ordered start (T = 0)")}


def temperature_colours(temperatures: Iterable[float],
                        max_legend: int = MAX_LEGEND) -> tuple[dict[float, object], ScalarMappable | None]:
    """A colour per temperature (viridis over the finite, non-zero ones) and, for more than
    ``max_legend`` curves, the ``ScalarMappable`` to draw as a colour bar (None: label each curve)."""
    ts = sorted(set(temperatures))
    ordinary = [t for t in ts if t not in SPECIAL_STARTS]
    colours: dict[float, object] = {t: SPECIAL_STARTS[t][0] for t in ts if t in SPECIAL_STARTS}
    if len(ts) <= max_legend:
        colours.update(zip(ordinary, sns.color_palette("viridis", n_colors=max(len(ordinary), 1))))
        return colours, None
    low, high = (min(ordinary), max(ordinary)) if ordinary else (0.0, 1.0)
    norm = Normalize(low, high if high > low else low + 1.0)
    cmap = plt.get_cmap("viridis")
    colours.update({t: cmap(norm(t)) for t in ordinary})
    return colours, ScalarMappable(norm=norm, cmap=cmap)


def temperature_label(t: float, keyed: bool) -> str:
    """A curve's legend label; ``_nolegend_`` for an ordinary temperature the colour bar keys."""
    if t in SPECIAL_STARTS:
        return SPECIAL_STARTS[t][1]
    return "_nolegend_" if keyed else f"T = {t:.3f}"


def key_temperatures(fig: plt.Figure, ax: plt.Axes, mappable: ScalarMappable | None,
                     label: str = "start temperature T", fontsize: str = "small") -> None:
    """The colour bar (when ``mappable``) and a legend of whatever curves still carry a label."""
    if mappable is not None:
        fig.colorbar(mappable, ax=ax, label=label)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=fontsize)


def curves_by_temperature(
    curves: dict[float, list[tuple[float, float]]], xlabel: str, ylabel: str, title: str = ""
) -> plt.Figure:
    """One line with error bars per temperature: ``curves[T][k] = (value, error)`` at step k; a
    colour bar keyed by T instead of a legend when there are more than ``MAX_LEGEND`` of them."""
    rows = [
        {"step": k, "value": v, "error": e, "T": t}
        for t, series in sorted(curves.items())
        for k, (v, e) in enumerate(series)
    ]
    frame = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    colours, mappable = temperature_colours(curves)
    many = mappable is not None  # markers and caps of many curves would bury the lines
    for t, group in frame.groupby("T", sort=True) if rows else ():
        ax.errorbar(group["step"], group["value"], yerr=np.nan_to_num(group["error"]), marker="" if many else "o",
                    ms=3, capsize=0 if many else 2, elinewidth=0.5 if many else None, color=colours[t],
                    label=temperature_label(t, many))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    key_temperatures(fig, ax, mappable)
    return fig


def delta_curves(
    points: dict[str, list[tuple[int, float, float, float]]], references: dict[str, float], xlabel: str,
    title: str = "",
) -> plt.Figure:
    """Δ with its interval against step, one line per operator: ``points[op] = [(step, Δ, lo, hi)]``;
    dashed lines at the exact ``references``. An interval that reached the fit's search bound
    (:func:`~rgexp.analysis.scaling.censored_side`) is drawn one-sided, as a triangle pointing to
    the bound: it bounds Δ on one side only."""
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    palette = sns.color_palette("deep", n_colors=max(len(points), 1))
    censored_label = "censored at the fit's search bound"
    for colour, (op, rows) in zip(palette, sorted(points.items())):
        if not rows:
            continue
        k, v, lo, hi = (np.array(c, dtype=float) for c in zip(*rows))
        side = np.array([censored_side(a, b) for a, b in zip(lo, hi)])
        # a percentile bootstrap interval need not contain the point estimate: clip, don't fail
        below, above = np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)
        ax.errorbar(k, v, yerr=[np.where(side < 0, 0, below), np.where(side > 0, 0, above)], marker="o", ms=3,
                    capsize=2, color=colour, label=f"Δ_{op}", markevery=list(np.flatnonzero(side == 0)))
        for s, marker in ((-1, "v"), (1, "^")):
            if np.any(side == s):
                ax.plot(k[side == s], v[side == s], ls="none", marker=marker, ms=7, mfc="none", color=colour,
                        label=censored_label)
                censored_label = None
        if op in references:
            ax.axhline(references[op], ls="--", color=colour, lw=1, label=f"exact Δ_{op} = {references[op]:g}")
    ax.set(xlabel=xlabel, ylabel="scaling dimension Δ", title=title)
    ax.legend(fontsize="small")
    return fig
