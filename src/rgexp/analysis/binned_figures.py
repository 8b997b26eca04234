"""Figures of the binned flow measurements, named after the main paper's (no I/O here).

* Fig. 2: Δ_σ^m (⟨|m|⟩ against bin temperature, below T_c) against flow length;
* Fig. 4: that fit at the longest flow, with Onsager's infinite-lattice curve for scale;
* Figs. 5a / 6a: Δ_σ / Δ_ε of the bins just below and above T_c against flow length, per fit form;
* occupancy: configurations per bin against flow length.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are artifacts, never windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from rgexp.analysis.binned import BinnedStep  # noqa: E402
from rgexp.analysis.labels import FLOW_LENGTH  # noqa: E402
from rgexp.constants import ISING_2D  # noqa: E402

__all__ = ["fig2_delta_sigma_m", "fig4_magnetization_fit", "fig_binned_deltas", "fig_occupancy"]


def _interval_line(ax, rows: list[tuple[int, float, float, float]], colour, label: str) -> None:
    if not rows:
        return
    k, v, lo, hi = (np.array(c, dtype=float) for c in zip(*rows))
    # a percentile bootstrap interval need not contain the point estimate: clip, don't fail
    ax.errorbar(k, v, yerr=[np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)], marker="o", ms=3,
                capsize=2, color=colour, label=label)


def fig2_delta_sigma_m(steps: dict[int, BinnedStep], by: str, exact: float = ISING_2D.delta_sigma) -> plt.Figure:
    """Δ_σ^m with its interval against flow length (the paper's Fig. 2)."""
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    rows = [(k, s.delta_m.value, s.delta_m.ci_low, s.delta_m.ci_high) for k, s in sorted(steps.items())
            if s.delta_m is not None]
    _interval_line(ax, rows, "C0", "Δ_σ from ⟨|m|⟩ of the bins below T_c")
    ax.axhline(exact, ls="--", color="black", lw=1, label=f"exact Δ_σ = {exact:g}")
    ax.set(xlabel=FLOW_LENGTH, ylabel="Δ_σ^m", title=f"Fig. 2 (binned by {by}): Δ_σ from ⟨|m|⟩(T_bin)")
    ax.legend(fontsize="small")
    return fig


def fig4_magnetization_fit(grid: np.ndarray, step: BinnedStep, k: int, by: str, T_c: float) -> plt.Figure:
    """⟨|m|⟩ per bin at flow length k, the fitted B|t|^β and Onsager's m(T) (the paper's Fig. 4)."""
    from rgexp.ising.exact import onsager_magnetization

    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    bins = sorted(step.magnetization)
    if bins:
        m = np.array([[step.magnetization[b].value, step.magnetization[b].error] for b in bins])
        ax.errorbar(grid[bins], m[:, 0], yerr=m[:, 1], fmt="o", ms=3, capsize=2, label="bins (⟨|m|⟩)")
    T = np.linspace(max(grid[0], 0.05), T_c, 200)
    ax.plot(T, [onsager_magnetization(t) for t in T], color="grey", lw=1, label="Onsager (L = ∞)")
    fit = step.delta_m
    if fit is not None:
        lo, hi = fit.window
        t = np.linspace(lo, hi, 100)
        ax.plot(T_c * (1 - t), fit.amplitude * t**fit.value, color="C3",
                label=f"fit B|t|^Δ: Δ = {fit.value:.3f} [{fit.ci_low:.3f}, {fit.ci_high:.3f}]")
    ax.axvline(T_c, ls=":", color="black", lw=1)
    ax.set(xlabel="bin temperature T", ylabel="⟨|m|⟩", title=f"Fig. 4 (binned by {by}), {FLOW_LENGTH} {k}")
    ax.legend(fontsize="small")
    return fig


def fig_binned_deltas(grid: np.ndarray, steps: dict[int, BinnedStep], operator: str, by: str,
                      exact: float) -> plt.Figure:
    """Δ of ``operator`` for the bins just below / above T_c against flow length, one line per
    (bin, form): the paper's Fig. 5a (σ) or 6a (ε)."""
    lines: dict[tuple[str, int], list] = {}
    for k, s in sorted(steps.items()):
        for (op, form, b), fit in s.deltas.items():
            if op == operator:
                lines.setdefault((form, b), []).append((k, fit.value, fit.ci_low, fit.ci_high))
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    colours = sns.color_palette("deep", n_colors=max(len(lines), 1))
    for colour, ((form, b), rows) in zip(colours, sorted(lines.items())):
        _interval_line(ax, rows, colour, f"bin T = {grid[b]:.3g}, {form} form")
    ax.axhline(exact, ls="--", color="black", lw=1, label=f"exact Δ = {exact:g}")
    number = "5a" if operator == "sigma" else "6a"
    ax.set(xlabel=FLOW_LENGTH, ylabel=f"Δ_{operator}",
           title=f"Fig. {number} (binned by {by}): Δ_{operator} of the bins next to T_c")
    ax.legend(fontsize="small")
    return fig


def fig_occupancy(grid: np.ndarray, steps: dict[int, BinnedStep], by: str, T_c: float) -> plt.Figure:
    """Configurations per bin (colour, log scale) against flow length."""
    ks = sorted(steps)
    counts = np.array([steps[k].counts for k in ks]).T  # (n_T, n_steps)
    fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
    edges_k = np.arange(len(ks) + 1) - 0.5 + (ks[0] if ks else 0)
    mid = (grid[1:] + grid[:-1]) / 2
    edges_t = np.concatenate([[grid[0] - (mid[0] - grid[0])], mid, [grid[-1] + (grid[-1] - mid[-1])]])
    mesh = ax.pcolormesh(edges_k, edges_t, np.where(counts > 0, counts, np.nan),
                         norm=LogNorm(vmin=1, vmax=max(counts.max(), 2)), cmap="viridis")
    fig.colorbar(mesh, ax=ax, label="configurations in the bin")
    ax.axhline(T_c, ls="--", color="white", lw=1)
    ax.set(xlabel=FLOW_LENGTH, ylabel="bin temperature", title=f"bin occupancy (binned by {by})")
    return fig
