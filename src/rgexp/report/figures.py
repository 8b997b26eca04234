"""The report's figures: curves against step, mean ± std over seeds as a band.

Each function returns a matplotlib ``Figure`` and does no I/O; the builder saves it.
"""

from __future__ import annotations

import math
import textwrap

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from rgexp.report.collect import Series  # noqa: E402

__all__ = ["XLABELS", "family_figure", "stage_figure"]

XLABELS = {"flow": "flow length", "rg": "RG step", "stack": "stacked-RBM layer", "variational": "RG step"}
_MAX_COLUMNS = 3


def _band(ax, s: Series, colour, label: str) -> None:
    x, y = np.array(s.steps), np.array(s.mean)
    sd = np.nan_to_num(np.array(s.std))  # one run: no band
    ax.plot(x, y, marker="o", ms=3, color=colour, label=label)
    ax.fill_between(x, y - sd, y + sd, color=colour, alpha=0.2, lw=0)


def _finish(ax, xlabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_title("\n".join(textwrap.wrap(title, 42)), fontsize="medium")  # group labels can be long
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are integers
    ax.legend(fontsize="x-small")


def _axes(n: int, sharey: bool, width: float = 4.2, height: float = 3.3):
    cols = min(n, _MAX_COLUMNS)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), layout="constrained",
                             squeeze=False, sharey=sharey)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _references(ax, refs: dict[str, float | Series], colours: dict[str, object], label: str) -> None:
    """Dashed: a logged exact curve in its curve's colour, a constant reference in black."""
    exact = [(k, r) for k, r in refs.items() if isinstance(r, Series)]
    for k, r in exact:
        ax.plot(r.steps, r.mean, ls="--", lw=1, color=colours[k])
    if exact:
        ax.plot([], [], ls="--", lw=1, color="grey", label="exact (dashed)")
    for value in sorted({r for r in refs.values() if not isinstance(r, Series)}):
        ax.axhline(value, ls="--", color="black", lw=1, label=label or f"reference {value:.4g}")


def family_figure(family: str, per_group: dict[str, dict[str, Series]],
                  references: dict[str, dict[str, float | Series]], reference_label: str = "") -> plt.Figure:
    """One panel per group, one line per curve (start temperature) with its ± std band over seeds;
    ``references[group][curve]`` dashed (a constant, or a logged exact curve)."""
    stage = family.split("/")[0]
    fig, axes = _axes(len(per_group), sharey=True)  # one quantity: panels compare directly
    for ax, (group, curves) in zip(axes, per_group.items()):
        ordered = sorted(curves.items(), key=lambda kv: _start(kv[0]))
        colours = dict(zip([k for k, _ in ordered], sns.color_palette("viridis", n_colors=max(len(curves), 1))))
        for label, s in ordered:
            _band(ax, s, colours[label], label)
        _references(ax, references.get(group, {}), colours, reference_label)
        _finish(ax, XLABELS.get(stage, "step"), group)
    axes[0].set_ylabel(family)
    fig.suptitle(f"{family}: mean ± std over seeds")
    return fig


def _start(label: str) -> float:
    try:
        return float(label.lstrip("T"))
    except ValueError:
        return math.inf


def stage_figure(stage: str, per_metric: dict[str, dict[str, Series]],
                 references: dict[str, dict[str, float | Series]]) -> plt.Figure:
    """One panel per metric, one line per group (± std band); ``references[metric][group]`` dashed."""
    fig, axes = _axes(len(per_metric), sharey=False)  # panels hold different quantities
    groups = sorted({g for curves in per_metric.values() for g in curves})
    colours = dict(zip(groups, sns.color_palette("deep", n_colors=max(len(groups), 1))))
    for ax, (metric, curves) in zip(axes, per_metric.items()):
        for group, s in curves.items():
            _band(ax, s, colours[group], group)
        _references(ax, references.get(metric, {}), colours, "")
        _finish(ax, XLABELS.get(stage, "step"), metric)
    fig.suptitle(f"{stage}: mean ± std over seeds")
    return fig
