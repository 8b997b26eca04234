"""Figures as matplotlib ``Figure`` objects (the tracking module saves them; nothing here does I/O)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are artifacts, never windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

__all__ = ["curves_by_temperature"]


def curves_by_temperature(
    curves: dict[float, list[tuple[float, float]]], xlabel: str, ylabel: str, title: str = ""
) -> plt.Figure:
    """One line with error bars per temperature: ``curves[T][k] = (value, error)`` at step k."""
    rows = [
        {"step": k, "value": v, "error": e, "T": f"{t:.3f}"}
        for t, series in sorted(curves.items())
        for k, (v, e) in enumerate(series)
    ]
    frame = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    palette = sns.color_palette("viridis", n_colors=max(len(curves), 1))
    for colour, (label, group) in zip(palette, frame.groupby("T", sort=False)):
        ax.errorbar(group["step"], group["value"], yerr=np.nan_to_num(group["error"]),
                    marker="o", ms=3, capsize=2, color=colour, label=f"T = {label}")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if len(curves) <= 12:
        ax.legend(fontsize="small")
    return fig


def delta_curves(
    points: dict[str, list[tuple[int, float, float, float]]], references: dict[str, float], xlabel: str,
    title: str = "",
) -> plt.Figure:
    """Δ with its interval against step, one line per operator: ``points[op] = [(step, Δ, lo, hi)]``;
    dashed lines at the exact ``references``."""
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    palette = sns.color_palette("deep", n_colors=max(len(points), 1))
    for colour, (op, rows) in zip(palette, sorted(points.items())):
        if not rows:
            continue
        k, v, lo, hi = (np.array(c, dtype=float) for c in zip(*rows))
        # a percentile bootstrap interval need not contain the point estimate: clip, don't fail
        ax.errorbar(k, v, yerr=[np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)], marker="o", ms=3, capsize=2, color=colour, label=f"Δ_{op}")
        if op in references:
            ax.axhline(references[op], ls="--", color=colour, lw=1, label=f"exact Δ_{op} = {references[op]:g}")
    ax.set(xlabel=xlabel, ylabel="scaling dimension Δ", title=title)
    ax.legend(fontsize="small")
    return fig
