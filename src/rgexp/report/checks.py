"""Every reference and claim of :mod:`rgexp.report.references`, checked on every group of runs.

Value references are checked at each run's last step (the end of the flow, the last RG step or
layer); trend claims compare the first and the last step of every curve, run by run. The rules
are in :mod:`rgexp.report.intervals`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rgexp.metric_names import MetricName, format_temperature
from rgexp.report.collect import Group, final_point, point_at, stage_last_step, steps_of, value_at
from rgexp.report.intervals import (INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Point, Summary, format_pm,
                                    sign_of, summarize, verdict_value)
from rgexp.report.references import Reference, Trend, reference_for, trends_for

__all__ = ["Check", "reference_value", "value_check", "value_checks", "trend_results", "trend_verdict",
           "trend_reference", "trend_tally", "trend_checks", "listed"]


@dataclass(frozen=True)
class Check:
    """One row of the verdict table."""

    claim: str
    source: str
    group: str
    metric: str
    estimate: str  # mean ± std (n) of what is tested
    interval: str
    reference: str
    verdict: str
    reason: str


def _interval(s: Summary | None) -> str:
    if s is None:
        return "—"
    note = f" ({s.censored} of {s.n} censored at the fit's search bound)" if s.censored else ""
    return f"[{s.low:.4g}, {s.high:.4g}]{note}"


def _estimate(s: Summary | None) -> str:
    return "—" if s is None else f"{format_pm(s.mean, s.std)} (n={s.n})"


def reference_value(ref: Reference, group: Group, metric: str) -> float | None:
    """The reference for ``metric`` in ``group``: from the params, or the mean over runs of the
    reference metric at the last step of the metric's stage."""
    if ref.reference_metric is None:
        return ref.value(group.runs[0].params)
    exact = []
    for run in group.runs:
        name = ref.reference_metric(metric, run.final.keys())
        x = value_at(run, name, stage_last_step(run, metric)) if name is not None else None
        if x is not None and math.isfinite(x):
            exact.append(x)
    return float(np.mean(exact)) if exact else None


def value_check(group: Group, metric: str, ref: Reference, level: float, min_runs: int) -> Check | None:
    """The row of ``metric`` against ``ref`` (None when the reference has no value for the group)."""
    r = reference_value(ref, group, metric)
    if r is None:
        return None
    s = summarize([p for run in group.runs if (p := final_point(run, metric)) is not None], level)
    verdict, reason = verdict_value(s, r, ref.tolerance(r), ref.expect, min_runs)
    sign = "=" if ref.expect == "equal" else "≠"
    return Check(ref.claim, ref.source, group.label, metric, _estimate(s), _interval(s),
                 f"{sign} {r:.4g} ({ref.label}; τ = {ref.tolerance(r):.3g})", verdict, reason)


def value_checks(group: Group, metrics: list[str], level: float, min_runs: int) -> list[Check]:
    """One row per metric of ``group`` that has a reference (metrics no run of the group logged are
    not rows: they belong to another model or stage)."""
    names = {m for r in group.runs for m in r.final}
    rows = []
    for metric in (m for m in metrics if m in names):
        ref = reference_for(metric, group.runs[0].params, names)
        row = value_check(group, metric, ref, level, min_runs) if ref is not None else None
        if row is not None:
            rows.append(row)
    return rows


def _measure(trend: Trend, target: float | None, p: Point) -> tuple[float, float]:
    """(value, standard error) of the quantity whose change the trend is about."""
    err = max(p.err_lo, p.err_hi)
    if trend.direction in ("toward", "away"):
        return abs(p.value - target), err
    return p.value, err


def _change(trend: Trend, target: float | None, run, metric: str) -> Point | None:
    """Last step minus first step of one run's curve (None with fewer than two steps)."""
    steps = steps_of(run, metric)
    if len(steps) < 2:
        return None
    first, last = point_at(run, metric, steps[0]), point_at(run, metric, steps[-1])
    (v0, e0), (v1, e1) = _measure(trend, target, first), _measure(trend, target, last)
    e = math.hypot(e0, e1)
    return Point(v1 - v0, e, e)


def _curves(trend: Trend, metrics: list[str], target: float | None) -> dict[str, str]:
    """Matching metric -> curve label, without starts at the target (they cannot approach it)."""
    curves = {}
    for metric in trend.select.select(metrics):
        start = MetricName.parse(metric).T
        if start is not None and target and abs(start - target) <= 0.01 * abs(target):
            continue
        curves[metric] = format_temperature(start) if start is not None else metric
    return curves


MAX_LISTED = 8  # curves a trend row lists one by one; more are tallied
_WANTED = {"toward": -1, "down": -1, "away": 1, "up": 1}
_WORDS = {"toward": "Δ|x − {t}| < 0", "away": "Δ|x − {t}| > 0", "down": "Δx < 0", "up": "Δx > 0"}


def trend_results(trend: Trend, group: Group, metrics: list[str],
                  level: float) -> tuple[float | None, dict[str, tuple[str, Summary | None]]]:
    """(target, curve label -> (metric, summary over runs of last − first step)) of one trend."""
    target = trend.target(group.runs[0].params) if trend.target is not None else None
    results = {}
    for metric, label in _curves(trend, metrics, target).items():
        changes = [p for run in group.runs if (p := _change(trend, target, run, metric)) is not None]
        results[label] = (metric, summarize(changes, level))
    return target, results


def trend_reference(trend: Trend, target: float | None) -> str:
    """The claimed sign of the change, in words (``Δ|x − 2.269| < 0``)."""
    return _WORDS[trend.direction].format(t=f"{target:.4g}" if target is not None else "")


def trend_tally(trend: Trend, results: dict[str, tuple[str, Summary | None]]) -> str:
    """``53 of 62 curves with the claimed sign, 8 opposite, 1 undecided; change −1.8 to 0.35``."""
    summaries = [s for _, s in results.values() if s is not None]
    signs = [sign_of(s) for s in summaries]
    wanted = _WANTED[trend.direction]
    text = (f"{signs.count(wanted)} of {len(results)} curves with the claimed sign, {signs.count(-wanted)} "
            f"opposite, {signs.count(0)} undecided")
    if summaries:
        text += f"; change {min(s.mean for s in summaries):.3g} to {max(s.mean for s in summaries):.3g}"
    return text


def trend_checks(group: Group, metrics: list[str], level: float, min_runs: int) -> list[Check]:
    """One row per trend claim that applies to ``group``'s model; with more than ``MAX_LISTED``
    curves (start temperatures) the row tallies them instead of listing each."""
    rows = []
    for trend in trends_for(group.runs[0].params):
        target, results = trend_results(trend, group, metrics, level)
        verdict, reason = trend_verdict(trend, target, results, min_runs)
        if len(results) > MAX_LISTED:
            estimate, interval = trend_tally(trend, results), "per curve: appendix C"
        else:
            estimate = "; ".join(f"{k}: {_estimate(s)}" for k, (_, s) in results.items()) or "—"
            interval = "; ".join(f"{k}: {_interval(s)}" for k, (_, s) in results.items()) or "—"
        rows.append(Check(trend.claim, trend.source, group.label, f"{trend.select.display()} (last − first step)",
                          estimate, interval, trend_reference(trend, target), verdict, reason))
    return rows


def listed(labels: list[str], at_most: int = 4) -> str:
    """``a, b, c, d, … (58 more)``: a reason names a few curves, not all 62 starts."""
    if len(labels) <= at_most:
        return ", ".join(labels)
    return f"{', '.join(labels[:at_most])}, … ({len(labels) - at_most} more)"


def trend_verdict(trend: Trend, target: float | None, results: dict, min_runs: int) -> tuple[str, str]:
    """(verdict, reason) of a trend claim from the per-curve summaries of ``trend_results``."""
    if not results:
        return INCONCLUSIVE, "metric missing"
    wanted = _WANTED[trend.direction]
    one_step = [k for k, (_, s) in results.items() if s is None]
    if one_step:
        return INCONCLUSIVE, f"fewer than 2 steps logged at {listed(one_step)}"
    few = [k for k, (_, s) in results.items() if s.n < min_runs]
    if few:
        return INCONCLUSIVE, f"fewer than min_runs={min_runs} runs at {listed(few)}"
    signs = {k: sign_of(s) for k, (_, s) in results.items()}
    against = [k for k, v in signs.items() if v == -wanted]
    if against:
        return NOT_REPRODUCED, f"opposite change at {listed(against)}"
    undecided = [k for k, v in signs.items() if v == 0]
    if undecided:
        return INCONCLUSIVE, f"interval contains 0 at {listed(undecided)}"
    if trend.both_sides:
        starts = [t for m, _ in results.values() if (t := MetricName.parse(m).T) is not None]
        if not (any(s < target for s in starts) and any(s > target for s in starts)):
            return INCONCLUSIVE, "starts on one side of the target only"
    return REPRODUCED, f"claimed sign at {listed(list(results))}"
