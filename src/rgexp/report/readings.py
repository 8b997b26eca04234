"""How a scorecard claim turns the metrics it matches into one reading per group of runs.

Every reduction reads each run's value at the last step of the metric's stage (the longest flow,
``collect.final_point``) with the run's own errors, and the verdict rules of
:mod:`rgexp.report.intervals` (``summarize``, ``verdict_value``, ``sign_of``):

- ``last``:      one metric (``flow_binned/temperature``): mean and interval over seeds.
- ``starts``:    all curves of a family (``flow/temperature/T*``, one per start temperature): each
                 run's mean over its starts is one number per run (its error the starts' errors
                 combined); then mean and interval over seeds. The spread over starts (min–max of
                 the per-start means over seeds) is shown, and an "equal" claim whose mean agrees
                 but some of whose starts end farther than the tolerance away is inconclusive: a
                 mean must not hide flows that end elsewhere.
- ``near_tc``:   the curves just below and just above T_c (largest T < T_c, smallest T > T_c of the
                 family), each checked against the reference.
- ``bracket``:   as ``near_tc``, for a claim that the value is under the reference below T_c and
                 over it above (dmk2020 Fig. 5a): a side is reproduced when its interval lies on its
                 claimed side within the tolerance, or contains the reference and is no wider than
                 the tolerance; not reproduced when it lies on the other side or farther than the
                 tolerance; else inconclusive.
- ``trend``:     a claim of ``references.TRENDS``, by the rule of :mod:`rgexp.report.checks`.
- ``reference``: every metric whose reference (``references.REFERENCES``) is the named one.

Several sides or metrics combine as: any not reproduced -> not reproduced; all reproduced ->
reproduced; else inconclusive. A claim none of whose metrics the group logged gives no reading
(the row is omitted: the runs belong to another experiment or model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from rgexp.metric_names import MetricName, Near, stage_of
from rgexp.report.checks import (listed, reference_value, trend_reference, trend_results, trend_tally,
                                 trend_verdict, value_check)
from rgexp.report.collect import Group, Series, final_point, series, stage_last_step
from rgexp.report.figures import XLABELS
from rgexp.report.intervals import (INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Point, Summary, sign_of,
                                    summarize, verdict_value)
from rgexp.report.references import REFERENCES, TRENDS, critical_temperature, reference_for, trends_for

if TYPE_CHECKING:
    from rgexp.report.scorecard import Claim

__all__ = ["Reading", "read", "combine"]


@dataclass(frozen=True)
class Reading:
    """One scorecard cell set: what was measured, against what, the verdict and why."""

    value: str
    reference: str
    verdict: str
    why: str
    metrics: tuple[str, ...]  # the metrics read, for the figure that shows them
    curves: dict[str, Series] = field(default_factory=dict)  # estimator's curves against step
    target: float | None = None  # the reference value (the figure's dashed line); None for trends


def combine(verdicts: list[str]) -> str:
    """Sides or metrics of one claim: any not reproduced, all reproduced, else inconclusive."""
    if NOT_REPRODUCED in verdicts:
        return NOT_REPRODUCED
    return REPRODUCED if verdicts and all(v == REPRODUCED for v in verdicts) else INCONCLUSIVE


def _matching(claim: Claim, names: list[str]) -> dict[str, float | None]:
    """Metric -> its start or bin temperature (None: not qualified), for the names the claim reads."""
    return {name: MetricName.parse(name).T for name in claim.select.select(names)}


def _summary(group: Group, metric: str, level: float) -> Summary | None:
    return summarize([p for run in group.runs if (p := final_point(run, metric)) is not None], level)


def _interval(s: Summary | None, n: bool = True) -> str:
    if s is None:
        return "—"
    censored = f"{s.censored} censored at the fit's search bound" if s.censored else ""
    if n:
        return f"{s.mean:.4g} [{s.low:.3g}, {s.high:.3g}] (n={s.n}" + (f", {censored})" if censored else ")")
    return f"{s.mean:.4g} [{s.low:.3g}, {s.high:.3g}]" + (f" ({censored})" if censored else "")


def _reference(claim: Claim, r: float) -> str:
    sign = "=" if claim.expect == "equal" else "≠"
    return f"{sign} {r:.4g} ({claim.target_label}; τ = {claim.tolerance(r):.3g})"


def _offset(x: float, r: float, label: str) -> str:
    """``19% below T_c``; an absolute difference for a reference of 0."""
    word = "below" if x < r else "above"
    size = f"{abs(x - r) / abs(r):.0%}" if r != 0 else f"{abs(x - r):.3g}"
    return f"{size} {word} {label}"


def _where(group: Group, metric: str) -> str:
    """``flow length 30``: the step a final value is read at (the longest flow of the first run)."""
    steps = [s for run in group.runs if (s := stage_last_step(run, metric)) is not None]
    return f"{XLABELS.get(stage_of(metric), 'step')} {max(steps)}" if steps else "the last step"


def _last(claim: Claim, group: Group, names: list[str], level: float, min_runs: int) -> Reading | None:
    metrics = sorted(_matching(claim, names))
    r = claim.target(group.runs[0].params)
    if not metrics or r is None:
        return None
    metric = metrics[0]
    s = _summary(group, metric, level)
    verdict, reason = verdict_value(s, r, claim.tolerance(r), claim.expect, min_runs)
    said = f"{s.mean:.3g} at {_where(group, metric)}, {_offset(s.mean, r, claim.target_label)}; " if s else ""
    curve = series(group, metric)
    return Reading(_interval(s), _reference(claim, r), verdict, said + reason, (metric,),
                   {claim.estimator: curve} if curve else {}, r)


def _mean_point(points: list[Point]) -> Point:
    """The mean over starts of one run, its errors the starts' errors combined."""
    n = len(points)
    return Point(float(np.mean([p.value for p in points])), math.sqrt(sum(p.err_lo ** 2 for p in points)) / n,
                 math.sqrt(sum(p.err_hi ** 2 for p in points)) / n)


def _mean_curve(group: Group, metrics: list[str]) -> Series | None:
    """At each step: the mean over starts of the seed means, the band ± std over starts."""
    per_step: dict[int, list[float]] = {}
    for metric in metrics:
        if (s := series(group, metric)) is not None:
            for step, mean in zip(s.steps, s.mean):
                per_step.setdefault(step, []).append(mean)
    if not per_step:
        return None
    steps = sorted(per_step)
    return Series(steps, [float(np.mean(per_step[k])) for k in steps],
                  [float(np.std(per_step[k], ddof=1)) if len(per_step[k]) > 1 else math.nan for k in steps],
                  [len(per_step[k]) for k in steps])


def _starts(claim: Claim, group: Group, names: list[str], level: float, min_runs: int) -> Reading | None:
    metrics = sorted(m for m, start in _matching(claim, names).items() if start is not None)
    r = claim.target(group.runs[0].params)
    if not metrics or r is None:
        return None
    per_run = []
    for run in group.runs:
        points = [p for m in metrics if (p := final_point(run, m)) is not None and math.isfinite(p.value)]
        if points:
            per_run.append(_mean_point(points))
    s = summarize(per_run, level)
    ends = [x.mean for m in metrics if (x := _summary(group, m, level)) is not None]
    tol = claim.tolerance(r)
    verdict, reason = verdict_value(s, r, tol, claim.expect, min_runs)
    if ends and verdict == REPRODUCED and claim.expect == "equal" and max(abs(e - r) for e in ends) > tol:
        verdict, reason = INCONCLUSIVE, f"the mean agrees, but some starts end more than τ = {tol:.3g} away"
    if s is None or not ends:
        return Reading("—", _reference(claim, r), verdict, reason, tuple(metrics), target=r)
    lo, hi = min(ends), max(ends)
    value = f"{_interval(s)}; over {len(ends)} starts {lo:.3g}–{hi:.3g}"
    why = (f"{len(ends)} starts end at {s.mean:.3g} ({lo:.3g}–{hi:.3g}) at {_where(group, metrics[0])}, "
           f"{_offset(s.mean, r, claim.target_label)}; {reason}")
    curve = _mean_curve(group, metrics)
    label = f"{claim.estimator}: mean of {len(ends)} starts (band ± std over starts)"
    return Reading(value, _reference(claim, r), verdict, why, tuple(metrics), {label: curve} if curve else {}, r)


def _bracket_side(s: Summary | None, r: float, tol: float, side: int, min_runs: int) -> tuple[str, str]:
    """A side of a bracket (side −1: under ``r`` below T_c, +1: over it above T_c)."""
    if s is None or s.n < min_runs or s.censored:
        return verdict_value(s, r, tol, "equal", min_runs)
    word, other = ("under", "over") if side < 0 else ("over", "under")
    sign = sign_of(Summary(s.n, s.mean - r, s.std, s.low - r, s.high - r, s.level))
    if sign == -side:
        return NOT_REPRODUCED, f"{s.mean:.3g} is {other} {r:.4g}"
    if sign == side:  # "slightly" under / over: the interval's near and far ends against τ
        near, far = sorted((abs(s.low - r), abs(s.high - r)))
        if far <= tol:
            return REPRODUCED, f"{s.mean:.3g} is {word} {r:.4g}, within τ"
        if near > tol:
            return NOT_REPRODUCED, f"{s.mean:.3g} is {word} {r:.4g} by more than τ"
        return INCONCLUSIVE, f"{s.mean:.3g} is {word} {r:.4g}; too wide to tell if within τ"
    return verdict_value(s, r, tol, "equal", min_runs)


def _sides(claim: Claim, group: Group, names: list[str], level: float, min_runs: int) -> Reading | None:
    """``near_tc`` and ``bracket``: the curves just below and just above T_c."""
    params = group.runs[0].params
    r, t_c = claim.target(params), critical_temperature(params)
    if r is None or t_c is None or not replace(claim.select, T=Near("T_c")).select(names, T_c=t_c):
        return None  # no curve at a finite temperature
    tol = claim.tolerance(r)
    # the grid points just below and just above T_c: side -> (T, metric)
    nearest = {side: [(MetricName.parse(m).T, m) for m in replace(claim.select, T=Near("T_c", side)).select(
        names, T_c=t_c)][:1] for side in ("below", "above")}
    verdicts, values, whys, ns, curves = [], [], [], [], {}
    for name, side in (("below", -1), ("above", 1)):
        if not nearest[name]:
            verdicts.append(INCONCLUSIVE)
            whys.append(f"no curve {name} T_c")
            continue
        ((t, metric),) = nearest[name]
        s = _summary(group, metric, level)
        verdict, reason = (_bracket_side(s, r, tol, side, min_runs) if claim.reduce == "bracket"
                           else verdict_value(s, r, tol, claim.expect, min_runs))
        verdicts.append(verdict)
        values.append(f"T = {t:.4g}: {_interval(s, n=False)}")
        ns.append(s.n if s is not None else 0)
        whys.append(f"{name} T_c (T = {t:.4g}): {reason}")
        if (c := series(group, metric)) is not None:
            curves[f"T = {t:.4g} ({name} T_c)"] = c
    metrics = tuple(m for found in nearest.values() for _, m in found)
    counts = sorted(set(ns))
    value = "; ".join(values) + (f" (n={counts[0]})" if len(counts) == 1 else f" (n={', '.join(map(str, ns))})")
    return Reading(value if values else "—", _reference(claim, r), combine(verdicts), "; ".join(whys), metrics,
                   curves, r)


def _trend(claim: Claim, group: Group, names: list[str], level: float, min_runs: int) -> Reading | None:
    trend = next(t for t in TRENDS if t.key == claim.trend)
    if trend not in trends_for(group.runs[0].params):
        return None
    target, results = trend_results(trend, group, names, level)
    if not results:
        return None
    verdict, reason = trend_verdict(trend, target, results, min_runs)
    return Reading(trend_tally(trend, results), trend_reference(trend, target), verdict, reason,
                   tuple(m for m, _ in results.values()))


def _by_reference(claim: Claim, group: Group, names: list[str], level: float, min_runs: int) -> Reading | None:
    ref = next(r for r in REFERENCES if r.key == claim.reference)
    known = {m for run in group.runs for m in run.final}
    params = group.runs[0].params
    metrics = [m for m in names if (found := reference_for(m, params, known)) is not None and found.key == ref.key]
    checks = [c for m in metrics if (c := value_check(group, m, ref, level, min_runs)) is not None]
    if not checks:
        return None
    verdict = combine([c.verdict for c in checks])
    if len(checks) == 1:
        (c,) = checks
        return Reading(_interval(_summary(group, c.metric, level)), c.reference, verdict, f"{c.metric}: {c.reason}",
                       (c.metric,), target=reference_value(ref, group, c.metric))
    tally = ", ".join(f"{n} {v}" for v in (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
                      if (n := sum(c.verdict == v for c in checks)))
    refs = {c.reference for c in checks}
    worst = [c.metric for c in checks if c.verdict == verdict] if verdict != REPRODUCED else []
    why = f"{verdict} at {listed(worst, 2)}" if worst else f"every metric {verdict}"
    one = len(refs) == 1  # one reference for every metric: a dashed line in the figure
    return Reading(f"{len(checks)} metrics: {tally}", refs.pop() if one else "per metric (appendix A)",
                   verdict, why, tuple(c.metric for c in checks),
                   target=reference_value(ref, group, checks[0].metric) if one else None)


_REDUCTIONS = {"last": _last, "starts": _starts, "near_tc": _sides, "bracket": _sides, "trend": _trend,
               "reference": _by_reference}


def read(claim: Claim, group: Group, names: list[str], level: float, min_runs: int) -> Reading | None:
    """The reading of ``claim`` in ``group`` (``names``: its metrics, without companions); None when
    the group logged none of the claim's metrics or the claim does not apply to its model."""
    return _REDUCTIONS[claim.reduce](claim, group, names, level, min_runs)
