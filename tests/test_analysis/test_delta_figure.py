"""The Δ-against-step figure draws an interval censored at the fit's search bound one-sided."""

import matplotlib.pyplot as plt
import pytest

from rgexp.analysis.figures import delta_curves
from rgexp.analysis.scaling import DELTA_BOUNDS


def test_censored_intervals_are_one_sided_triangles_pointing_to_the_bound():
    low, high = DELTA_BOUNDS
    fig = delta_curves({"sigma": [(0, 0.12, 0.11, 0.13), (1, 0.04, low, 0.06), (2, 7.9, 0.5, high)]},
                       {"sigma": 0.125}, "flow length")
    ax = fig.axes[0]
    triangles = {line.get_marker(): list(zip(line.get_xdata(), line.get_ydata())) for line in ax.lines
                 if line.get_marker() in ("v", "^")}
    assert triangles == {"v": [(1.0, 0.04)], "^": [(2.0, 7.9)]}
    assert ax.get_legend_handles_labels()[1].count("censored at the fit's search bound") == 1
    bars = ax.containers[0]  # errorbar: (data line, caps, bar collections)
    segments = bars.lines[2][0].get_segments()  # one vertical segment per point
    (_, y0a), (_, y0b) = segments[0]
    (_, y1a), (_, y1b) = segments[1]
    (_, y2a), (_, y2b) = segments[2]
    assert (y0a, y0b) == pytest.approx((0.11, 0.13))
    assert (y1a, y1b) == pytest.approx((0.04, 0.06))  # censored below: no bar down to the bound
    assert (y2a, y2b) == pytest.approx((0.5, 7.9))  # censored above: no bar up to it
    plt.close(fig)
