"""Mean ± std over seeds, confidence intervals for the mean, and the verdict rule.

Interval for the mean of one metric over the n runs of a group (``level``, default 0.95):

- between seeds: ``B = t_{(1+level)/2, n−1} · s / √n`` (s: the sample std, ddof = 1; n ≥ 2);
- within runs: each run's own standard errors e_i (``_err``; or from a logged interval
  [lo_i, hi_i] at level c as e_lo = (x_i − lo_i)/z_c, e_hi = (hi_i − x_i)/z_c, which keeps the
  asymmetry of bootstrap intervals), combined as ``W = z_{(1+level)/2} · √(Σ e_i²) / n``;
- interval ``[x̄ − max(B, W_lo), x̄ + max(B, W_hi)]``. The seed scatter already contains the
  statistical noise; the runs' own errors are a floor for when a few seeds agree by chance.

Verdicts (``reproduced`` means the source's claim is reproduced) are equivalence tests: two
one-sided tests of the interval against a band (:class:`Band`), the one rule of every claim:

- inconclusive when fewer than ``min_runs`` runs (default 2: one run has no seed scatter) have the
  metric, or the metric is missing;
- "equals" r within τ: the band is [r − τ, r + τ]; reproduced when the whole interval lies inside
  it, not reproduced when the whole interval lies outside it, else inconclusive (the interval
  crosses an edge of the band, or is wider than it);
- "differs": the same band, the verdicts the other way round;
- "bracket" sides: the band [r − τ, r] just below T_c, [r, r + τ] just above, as "equals";
- trends: the change (last − first step) in the claimed direction against the minimum effect δ:
  the band (−∞, δ] is "no change of at least δ"; reproduced when the whole interval lies beyond δ,
  not reproduced when it lies inside (−∞, δ], else inconclusive;
- censored fits: a run whose interval reached its fit's search bound (``censored`` −1 / +1) has no
  estimate on that side, so the interval is taken to extend to −∞ / +∞ there; a verdict that the
  extended interval no longer supports is inconclusive ("censored"). Only a verdict that the
  censored side cannot change stands.

The edges carry a numerical slack of 1e-9·max(1, |edge|) (an exact construction logged next to its
closed form agrees to rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Point", "Summary", "summarize", "Band", "band_verdict", "judge_interval", "format_interval",
           "REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE", "format_pm"]

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"


@dataclass(frozen=True)
class Point:
    """One run's value with its standard errors below and above (0 when none were logged)."""

    value: float
    err_lo: float = 0.0
    err_hi: float = 0.0
    censored: int = 0  # −1 / +1: the logged interval ends at a fit's lower / upper search bound (2: both sides)


@dataclass(frozen=True)
class Summary:
    """A metric over the runs of a group: n, mean, sample std (nan for n = 1), interval at ``level``."""

    n: int
    mean: float
    std: float
    low: float
    high: float
    level: float
    censored_low: int = 0  # runs whose interval ends at the fit's lower search bound
    censored_high: int = 0

    @property
    def censored(self) -> int:
        return self.censored_low + self.censored_high


def summarize(points: list[Point], level: float = 0.95) -> Summary | None:
    """The summary of finite ``points`` (None when there are none)."""
    points = [p for p in points if math.isfinite(p.value)]
    if not points:
        return None
    x = np.array([p.value for p in points])
    n = len(x)
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    between = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n) if n > 1 else 0.0
    z = float(stats.norm.ppf(0.5 + level / 2))
    w_lo = z * math.sqrt(sum(_finite(p.err_lo) ** 2 for p in points)) / n
    w_hi = z * math.sqrt(sum(_finite(p.err_hi) ** 2 for p in points)) / n
    return Summary(n, mean, std, mean - max(between, w_lo), mean + max(between, w_hi), level,
                   sum(p.censored < 0 or p.censored == 2 for p in points), sum(p.censored > 0 for p in points))


def _finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0


@dataclass(frozen=True)
class Band:
    """The band a claim's interval is tested against: [low, high] (±∞ allowed), the verdict when the
    whole interval lies inside it (``inside``), the other one when it lies wholly outside; ``name``
    says it in words (``1/8 ± 0.031 = [0.094, 0.156]``)."""

    low: float
    high: float
    inside: str
    name: str

    @property
    def outside(self) -> str:
        return NOT_REPRODUCED if self.inside == REPRODUCED else REPRODUCED


def band_verdict(low: float, high: float, band: Band) -> str:
    """The verdict of the interval [low, high] against ``band`` (no censoring, no run count)."""
    slack_lo, slack_hi = (1e-9 * max(1.0, abs(x)) if math.isfinite(x) else 0.0 for x in (band.low, band.high))
    if low >= band.low - slack_lo and high <= band.high + slack_hi:
        return band.inside
    if high < band.low - slack_lo or low > band.high + slack_hi:
        return band.outside
    return INCONCLUSIVE


def format_interval(low: float, high: float) -> str:
    """``[0.1, 0.2]``; an end at infinity (a censored side) as ``(−∞, 0.2]``."""
    left = "(−∞" if low == -math.inf else f"[{low:.4g}"
    right = "+∞)" if high == math.inf else f"{high:.4g}]"
    return f"{left}, {right}"


def judge_interval(s: Summary | None, band: Band, min_runs: int) -> tuple[str, str]:
    """(verdict, reason) of a summary's interval against ``band``, by the rules above."""
    if s is None:
        return INCONCLUSIVE, "metric missing at the stage's last step"
    if s.n < min_runs:
        return INCONCLUSIVE, f"{s.n} run(s) < min_runs={min_runs}"
    low = -math.inf if s.censored_low else s.low
    high = math.inf if s.censored_high else s.high
    verdict = band_verdict(low, high, band)
    shown = format_interval(low, high)
    if verdict == INCONCLUSIVE and s.censored and band_verdict(s.low, s.high, band) != INCONCLUSIVE:
        side = " and ".join(w for w, k in (("below", s.censored_low), ("above", s.censored_high)) if k)
        return INCONCLUSIVE, (f"censored: {s.censored} of {s.n} run(s) fitted to the search bound {side}, "
                              f"so the interval is {shown} and could cross {band.name}")
    if verdict == band.inside:
        return verdict, f"interval {shown} inside {band.name}"
    if verdict != INCONCLUSIVE:
        return verdict, f"interval {shown} outside {band.name}"
    wide = math.isfinite(band.high - band.low) and high - low > band.high - band.low
    return INCONCLUSIVE, (f"interval {shown} {'wider than' if wide else 'crosses an edge of'} {band.name}")


def format_pm(mean: float, std: float) -> str:
    """``mean ± std`` with std to 2 significant digits and mean to the same decimal place."""
    if not math.isfinite(mean):
        return "—"
    if not math.isfinite(std):  # a single run: no scatter to show
        return f"{mean:.4g}"
    if std == 0 or std < 1e-9 * abs(mean):  # seeds that agree up to rounding
        return f"{mean:.4g} ± 0"
    decimals = min(12, max(0, 1 - math.floor(math.log10(abs(std)))))
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"
