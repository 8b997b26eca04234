"""The fixed-point figure: T* read three ways and m* against training updates (no I/O here)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are artifacts, never windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plot_fixed_point"]

from rgexp.constants import T_C as _T_C  # noqa: E402
from rgexp.metric_names import ERR, companion  # noqa: E402

_READINGS = {"energy": "energy reading", "magnetization": "magnetization reading", "network": "network thermometer"}


def plot_fixed_point(points: list[dict[str, float]], suffixes: list[str]) -> plt.Figure:
    """Two panels against training update (log axis): the fixed point's temperature by each
    reading, and its ⟨|m|⟩; ``suffixes`` are the starts ("" = T = ∞, "/T<T>" = data)."""
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    pts = sorted(points, key=lambda p: p["update"])
    u = np.array([p["update"] for p in pts])
    styles = ["-", "--", ":"]
    for style, suffix in zip(styles, suffixes):
        start = "T = ∞ start" if suffix == "" else f"data at {suffix[2:]}"
        for colour, (key, label) in zip(("C0", "C1", "C2"), _READINGS.items()):
            _line(ax_t, u, pts, f"fixed_point/temperature_{key}{suffix}", colour, style, f"{label}, {start}")
        _line(ax_m, u, pts, f"fixed_point/abs_magnetization{suffix}", "C3", style, start)
    ax_t.axhline(_T_C, color="black", lw=1, ls="--", label="T_c (Onsager)")
    ax_t.set(xscale="log", xlabel="training update", ylabel="fixed point temperature T*",
             title="where the flow ends, read three ways")
    ax_m.set(xscale="log", xlabel="training update", ylabel="⟨|m|⟩ at the fixed point", title="m* of the flow")
    ax_t.legend(fontsize="x-small")
    ax_m.legend(fontsize="x-small")
    return fig


def _line(ax, u: np.ndarray, pts: list[dict], name: str, colour, style: str, label: str) -> None:
    y = np.array([p.get(name, np.nan) for p in pts])
    err = np.array([p.get(companion(name, ERR), np.nan) for p in pts])  # the metric-name contract's rule
    if np.all(np.isnan(y)):
        return
    ax.errorbar(u, y, yerr=np.nan_to_num(err), color=colour, ls=style, marker="o", ms=3, capsize=2, label=label)
