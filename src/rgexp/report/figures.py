"""The report's figures: curves against step, mean ± std over seeds as a band.

Each figure function returns a matplotlib ``Figure`` and does no I/O; ``save_figure`` writes one.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from rgexp.analysis.figures import key_temperatures, temperature_colours, temperature_label  # noqa: E402
from rgexp.analysis.labels import step_label  # noqa: E402
from rgexp.metric_names import parse_temperature, stage_of  # noqa: E402
from rgexp.report.collect import Series  # noqa: E402
from rgexp.report.names import slug  # noqa: E402

__all__ = ["family_figure", "stage_figure", "claim_figure", "figure_path", "save_figure"]

_MAX_COLUMNS = 3


def figure_path(name: str) -> str:
    """Where the figure called ``name`` is written, relative to the report's directory."""
    return f"figures/{slug(name)}.png"


def save_figure(fig: plt.Figure, out_dir: Path, name: str, figures: list[Path]) -> str:
    """Write ``fig`` as ``figure_path(name)`` under ``out_dir``, close it, append it to ``figures``."""
    rel = figure_path(name)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(out_dir / rel, dpi=110)
    finally:
        plt.close(fig)
    figures.append(out_dir / rel)
    return rel


def _band(ax, s: Series, colour, label: str, **style) -> None:
    x, y = np.array(s.steps), np.array(s.mean)
    sd = np.nan_to_num(np.array(s.std))  # one run: no band
    ax.plot(x, y, marker=style.pop("marker", "o"), ms=3, color=colour, label=label, **style)
    ax.fill_between(x, y - sd, y + sd, color=colour, alpha=0.2, lw=0)


def _finish(ax, xlabel: str, title: str, legend: bool = True) -> None:
    ax.set_xlabel(xlabel)
    ax.set_title("\n".join(textwrap.wrap(title, 42)), fontsize="medium")  # group labels can be long
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are integers
    if legend and ax.get_legend_handles_labels()[0]:
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
    """One panel per group, one line per curve (start temperature ``T<T>``) with its ± std band over
    seeds; ``references[group][curve]`` dashed (a constant, or a logged exact curve). More than
    ``MAX_LEGEND`` curves are keyed by a colour bar, not a legend that would cover the panel."""
    stage = stage_of(family)
    key_label = "bin temperature T" if stage in ("flow_binned", "flow_binned_energy") else "start temperature T"
    fig, axes = _axes(len(per_group), sharey=True)  # one quantity: panels compare directly
    for ax, (group, curves) in zip(axes, per_group.items()):
        temperature = {label: _start(label) for label in curves}
        by_t, mappable = temperature_colours(temperature.values())
        colours = {label: by_t[t] for label, t in temperature.items()}
        for label, s in sorted(curves.items(), key=lambda kv: temperature[kv[0]]):
            if mappable is None:
                _band(ax, s, colours[label], label)
            else:  # many curves: no markers (they would bury the lines), only T = 0 and ∞ in the legend
                _band(ax, s, colours[label], temperature_label(temperature[label], keyed=True), marker="")
        _references(ax, references.get(group, {}), colours, reference_label)
        _finish(ax, step_label(stage), group, legend=False)
        key_temperatures(fig, ax, mappable, key_label, fontsize="x-small")
    axes[0].set_ylabel(family)
    fig.suptitle(f"{family}: mean ± std over seeds")
    return fig


def _start(label: str) -> float:
    try:
        return parse_temperature(label)  # "Tinf" -> inf: a random start
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
        _finish(ax, step_label(stage), metric)
    fig.suptitle(f"{stage}: mean ± std over seeds")
    return fig


def claim_figure(title: str, panels: dict[str, dict[str, Series]], references: dict[str, float],
                 reference_label: str, xlabel: str) -> plt.Figure:
    """A scorecard claim: one panel per title (a group, or an estimator), one line per label
    against step, the panel's reference dashed. A label has one colour in every panel, so one
    legend under the panels keys them all (labels are long: inside a panel they would cover it)."""
    fig, axes = _axes(len(panels), sharey=True, width=6.0 if len(panels) == 1 else 4.6, height=3.6)
    labels = list(dict.fromkeys(label for curves in panels.values() for label in curves))
    colours = dict(zip(labels, sns.color_palette("deep", n_colors=max(len(labels), 1))))
    for ax, (panel, curves) in zip(axes, panels.items()):
        for label, s in curves.items():
            _band(ax, s, colours[label], label, marker="v" if "below T_c" in label else "o")
        if panel in references:
            ax.axhline(references[panel], ls="--", color="black", lw=1, label=reference_label)
        _finish(ax, xlabel, panel, legend=False)
    handles = {}
    for ax in axes:
        handles.update({label: h for h, label in zip(*ax.get_legend_handles_labels())})
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", fontsize="small", frameon=False,
               ncols=1 if len(axes) == 1 else min(len(handles), 3))
    width = fig.get_figwidth()  # wrap the title to the figure, or a one-panel figure cuts it off
    fig.suptitle("\n".join(textwrap.wrap(title, int(9 * width))), fontsize="medium")
    return fig
