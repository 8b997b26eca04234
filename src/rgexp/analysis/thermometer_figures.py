"""Thermometer figures as matplotlib ``Figure`` objects (the tracking module saves them).

* :func:`plot_confusion` — the held-out confusion matrix, rows normalised (true → predicted).
* :func:`plot_temperature_histograms` — the measured temperature distribution of several sets of
  configurations (flow lengths, RG steps, stacked-RBM layers): one bar row per set, or one
  heat-map row per set when there are many.
"""

from __future__ import annotations

from typing import Literal

import matplotlib

matplotlib.use("Agg")  # headless: figures are artifacts, never windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from rgexp.analysis.thermometer import TemperatureReading, ThermometerResult  # noqa: E402

__all__ = ["plot_confusion", "plot_temperature_histograms"]


def _tick_positions(n: int, max_ticks: int = 12) -> np.ndarray:
    return np.arange(0, n, max(1, int(np.ceil(n / max_ticks))))


def plot_confusion(result: ThermometerResult, normalize: bool = True) -> plt.Figure:
    """Heat map of the held-out confusion matrix; rows = true T, columns = predicted T.

    ``normalize`` divides each row by its count (the fraction of class-k configurations read as
    class j); otherwise raw counts are shown.
    """
    conf = result.confusion.astype(np.float64)
    if normalize:
        conf = conf / np.maximum(conf.sum(axis=1, keepdims=True), 1.0)
    temps = result.temperatures
    n = temps.size
    fig, ax = plt.subplots(figsize=(5.5, 4.8), layout="constrained")
    sns.heatmap(conf, ax=ax, cmap="viridis", square=True, xticklabels=False, yticklabels=False,
                cbar_kws={"label": "fraction" if normalize else "count"})
    ticks = _tick_positions(n)
    labels = [f"{temps[i]:.3g}" for i in ticks]
    ax.set_xticks(ticks + 0.5, labels, rotation=90)
    ax.set_yticks(ticks + 0.5, labels, rotation=0)
    ax.set(xlabel="predicted T", ylabel="true T",
           title=f"held-out accuracy {result.accuracy.value:.3f} ± {result.accuracy.error:.3f}, "
                 f"within one class {result.within_one_accuracy.value:.3f}")
    ax.title.set_fontsize("small")
    return fig


def plot_temperature_histograms(
    readings: dict[str, TemperatureReading],
    T_c: float | None = None,
    kind: Literal["bars", "heatmap"] = "bars",
    weights: Literal["counts", "probabilities"] = "counts",
    title: str = "",
) -> plt.Figure:
    """Measured temperature distributions, one row per reading (in the dict's order).

    ``weights="counts"`` shows the argmax fractions (the paper's reading), ``"probabilities"``
    the averaged softmax. Bars mark the mean (argmax) temperature with its error; ``T_c`` draws a
    dashed line. ``kind="heatmap"`` packs many readings (e.g. every flow length) into one panel.
    All readings must come from thermometers with the same temperature grid for a heat map.
    """
    if not readings:
        raise ValueError("readings must hold at least one TemperatureReading")
    labels = [str(k) for k in readings]
    values = [r.fractions if weights == "counts" else r.probabilities for r in readings.values()]
    if kind == "heatmap":
        return _heatmap(labels, list(readings.values()), values, T_c, title)
    if kind != "bars":
        raise ValueError(f"kind must be one of 'bars', 'heatmap', got {kind!r}")
    n = len(readings)
    fig, axes = plt.subplots(n, 1, figsize=(6, 0.9 + 0.85 * n), sharex=True, squeeze=False,
                             layout="constrained")
    palette = sns.color_palette("viridis", n_colors=n)
    for ax, colour, label, reading, v in zip(axes[:, 0], palette, labels, readings.values(), values):
        t = reading.temperatures
        width = 0.8 * (np.min(np.diff(t)) if t.size > 1 else 1.0)
        ax.bar(t, v, width=width, color=colour)
        m = reading.mean_temperature
        ax.errorbar([m.value], [1.05 * max(v.max(), 1e-12)], xerr=[np.nan_to_num(m.error)], fmt="v",
                    color="k", ms=4, capsize=2)
        if T_c is not None:
            ax.axvline(T_c, color="tab:red", ls="--", lw=1)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize="small")
        ax.set_yticks([])
    axes[-1, 0].set_xlabel("measured T")
    if title:
        fig.suptitle(title)
    return fig


def _heatmap(labels: list[str], readings: list[TemperatureReading], values: list[np.ndarray],
             T_c: float | None, title: str) -> plt.Figure:
    temps = readings[0].temperatures
    if any(r.temperatures.shape != temps.shape or not np.allclose(r.temperatures, temps) for r in readings):
        raise ValueError("a heat map needs readings on one temperature grid")
    grid = np.vstack(values)
    fig, ax = plt.subplots(figsize=(6.5, 1.2 + 0.28 * len(labels)), layout="constrained")
    sns.heatmap(grid, ax=ax, cmap="viridis", cbar_kws={"label": "fraction"}, xticklabels=False,
                yticklabels=labels)
    ticks = _tick_positions(temps.size)
    ax.set_xticks(ticks + 0.5, [f"{temps[i]:.3g}" for i in ticks], rotation=90)
    ax.tick_params(axis="y", rotation=0)
    means = [r.mean_temperature.value for r in readings]
    ax.plot(np.interp(means, temps, np.arange(temps.size)) + 0.5, np.arange(len(labels)) + 0.5,
            "w.-", lw=1, ms=4, label="mean T")
    if T_c is not None:
        ax.axvline(float(np.interp(T_c, temps, np.arange(temps.size))) + 0.5, color="tab:red", ls="--", lw=1)
    ax.set(xlabel="measured T", title=title)
    return fig
