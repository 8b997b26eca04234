"""The fixed-point study's two figures (matplotlib, written as PNG beside the page)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rgexp.constants import exact  # noqa: E402
from rgexp.report.fixed_point_study import READINGS, Setting  # noqa: E402

__all__ = ["side_figure", "size_figure"]


def _save(fig: plt.Figure, out_dir: Path, name: str) -> str:
    rel = f"figures/{name}.png"
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(out_dir / rel, dpi=110)
    finally:
        plt.close(fig)
    return rel


def side_figure(settings: tuple[list[Setting], dict[str, Setting]], out_dir: Path) -> str | None:
    """Ordered fraction (Wilson interval) and each seed's T* (energy) per setting; None without runs."""
    hidden, arms = settings
    rows = [*hidden, *arms.values()]
    if not rows:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.45 * len(rows) + 1.8), sharey=True)
    y = np.arange(len(rows))
    frac = np.array([s.ordered_fraction for s in rows])
    low = np.array([s.ordered_interval[0] for s in rows])
    high = np.array([s.ordered_interval[1] for s in rows])
    left.errorbar(frac, y, xerr=[frac - low, high - frac], fmt="o", capsize=3)
    left.set(xlim=(-0.05, 1.05), xlabel="fraction of seeds ordered (m* > 0.5)", yticks=y,
             yticklabels=[s.label for s in rows])
    for i, s in enumerate(rows):
        right.scatter([e.T["energy"] for e in s.ends], np.full(len(s.ends), i), s=18, alpha=0.8)
    right.axvline(exact("ising2d.T_c"), color="k", lw=0.8, ls="--", label="T_c")
    right.set(xlabel="T* (energy reading), one point per seed")
    right.legend(loc="lower right")
    left.invert_yaxis()
    fig.tight_layout()
    return _save(fig, out_dir, "fixed_point_side")


def size_figure(settings: Sequence[tuple[int, Setting]], out_dir: Path) -> str | None:
    """T* by each reading (mean ± standard error over seeds) against 1/L, with T_c; None without runs."""
    if not settings:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    inv_L = np.array([1.0 / L for L, _ in settings])
    for reading in READINGS:
        mean = np.array([s.T[reading].value for _, s in settings])
        sem = np.array([s.T[reading].error / math.sqrt(s.n) if s.n > 1 else 0.0 for _, s in settings])
        ax.errorbar(inv_L, mean, yerr=np.nan_to_num(sem), fmt="o-", capsize=3, label=f"T* ({reading})")
    ax.axhline(exact("ising2d.T_c"), color="k", lw=0.8, ls="--", label="T_c")
    ax.set(xlabel="1/L", ylabel="T* at the end of training", xlim=(0, None))
    ax.legend()
    fig.tight_layout()
    return _save(fig, out_dir, "fixed_point_size")
