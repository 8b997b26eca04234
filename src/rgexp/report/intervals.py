"""Mean ± std over seeds, confidence intervals for the mean, and the verdict rules.

Interval for the mean of one metric over the n runs of a group (``level``, default 0.95):

- between seeds: ``B = t_{(1+level)/2, n−1} · s / √n`` (s: the sample std, ddof = 1; n ≥ 2);
- within runs: each run's own standard errors e_i (``_err``; or from a logged interval
  [lo_i, hi_i] at level c as e_lo = (x_i − lo_i)/z_c, e_hi = (hi_i − x_i)/z_c, which keeps the
  asymmetry of bootstrap intervals), combined as ``W = z_{(1+level)/2} · √(Σ e_i²) / n``;
- interval ``[x̄ − max(B, W_lo), x̄ + max(B, W_hi)]``. The seed scatter already contains the
  statistical noise; the runs' own errors are a floor for when a few seeds agree by chance.

Verdicts (``reproduced`` means the source's claim is reproduced):

- inconclusive when fewer than ``min_runs`` runs (default 2: one run has no seed scatter) have the
  metric, or the metric is missing;
- "equal" claims (the metric is the reference r): not reproduced if the interval excludes r
  (beyond a numerical slack of 1e-9·max(1, |r|));
  reproduced if it contains r and its larger half-width is at most the reference's tolerance τ
  (rel_tol·|r| + abs_tol, see ``references``), i.e. the runs could have resolved a deviation of τ;
  otherwise inconclusive ("too wide");
- "differ" claims: reproduced if the interval excludes r, not reproduced if it contains r and is
  at most τ wide on each side, otherwise inconclusive;
- sign claims (a change is negative / positive): supported if the whole interval has the claimed
  sign, contradicted if the whole interval has the other sign, else undecided.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Point", "Summary", "summarize", "verdict_value", "sign_of", "REPRODUCED", "NOT_REPRODUCED",
           "INCONCLUSIVE", "format_pm"]

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"


@dataclass(frozen=True)
class Point:
    """One run's value with its standard errors below and above (0 when none were logged)."""

    value: float
    err_lo: float = 0.0
    err_hi: float = 0.0
    censored: int = 0  # −1 / +1: the logged interval ends at a fit's lower / upper search bound


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

    @property
    def half_width(self) -> float:
        return max(self.mean - self.low, self.high - self.mean)

    def contains(self, x: float) -> bool:
        """``x`` in the interval, to numerical precision (an exact construction logged next to its
        closed form agrees to rounding, and seeds that agree exactly give a zero-width interval)."""
        slack = 1e-9 * max(1.0, abs(x))
        return self.low - slack <= x <= self.high + slack


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
                   sum(p.censored < 0 for p in points), sum(p.censored > 0 for p in points))


def _finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def verdict_value(s: Summary | None, reference: float, tolerance: float, expect: str,
                  min_runs: int) -> tuple[str, str]:
    """(verdict, reason) of an "equal" or "differ" claim about ``reference``."""
    if s is None:
        return INCONCLUSIVE, "metric missing at the stage's last step"
    if s.n < min_runs:
        return INCONCLUSIVE, f"{s.n} run(s) < min_runs={min_runs}"
    inside = s.contains(reference)
    narrow = s.half_width <= tolerance
    # a censored end is a bound, not an estimate: only an exclusion past the other end stands
    beyond_censored = (s.censored_low and reference < s.high) or (s.censored_high and reference > s.low)
    if s.censored and (inside or beyond_censored):
        return INCONCLUSIVE, (f"censored: {s.censored} of {s.n} run(s) fitted to the search bound "
                              f"(interval ends there, so it bounds Δ on that side only)")
    if not inside:
        why = f"interval excludes {reference:.4g}"
        return (NOT_REPRODUCED if expect == "equal" else REPRODUCED), why
    if not narrow:
        return INCONCLUSIVE, f"too wide: ±{s.half_width:.3g} > tolerance {tolerance:.3g}"
    why = f"interval contains {reference:.4g}, ±{s.half_width:.3g} <= tolerance {tolerance:.3g}"
    return (REPRODUCED if expect == "equal" else NOT_REPRODUCED), why


def sign_of(s: Summary) -> int:
    """+1 / −1 when the whole interval is above / below 0, else 0."""
    return 1 if s.low > 0 else -1 if s.high < 0 else 0


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
