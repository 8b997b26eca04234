"""One function judges every claim: :func:`judge` (a claim in a group of runs -> one
:class:`Judgment` per estimator), and :func:`score` (every claim in every group).

A judgment holds its verdict, why, the reading and the reference in words, and its
:class:`Part` s — the verdict of each metric (or curve) it read, which the report's per-metric
appendix lists: the scorecard, the checks of exact results and the appendix all come from here.
The estimator's ``reduce`` says how its metrics are read (each run at the last step of the
metric's stage, ``collect.final_point``, with the run's own errors):

- ``last``:   the first matching metric;
- ``starts``: every start temperature (``T`` qualifier) judged; the row shows the mean over starts
              (each run's mean over its starts, then over seeds) and their spread;
- ``sides``:  the grid temperatures just below and just above T_c (``bracket``: the side's band);
- ``each``:   every matching metric with a reference;
- ``curves``: (trends) every curve, last − first step, run by run, in the claimed direction;
              curves that start within δ of the target are skipped (at the claim's resolution they
              start at the fixed point: they cannot approach it by δ); with ``both_sides`` the
              curves must start below and above it.

The parts combine as: any not reproduced -> not reproduced; all reproduced -> reproduced; else
inconclusive. The verdict of one interval is :func:`rgexp.report.intervals.judge_interval`. A claim
whose metrics a group did not log, or whose models exclude the group's, gives no judgment.
No plotting here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from rgexp.metric_names import MetricName, Near, format_temperature, stage_of
from rgexp.report.claims import Claim, Claims, Estimator, critical_temperature, load_claims
from rgexp.report.collect import Group, Series, final_point, point_at, series, stage_last_step, steps_of, value_at
from rgexp.report.intervals import (INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Band, Point, Summary,
                                    judge_interval, summarize)

__all__ = ["Part", "Judgment", "judge", "score", "combine", "listed", "band_of"]


@dataclass(frozen=True)
class Part:
    """The verdict of one metric (a trend: one curve's change) inside a judgment: an appendix row."""

    metric: str
    summary: Summary | None
    reference: str
    verdict: str
    reason: str
    value: float | None = None  # the reference r (None for a trend)
    reference_metric: str | None = None  # where r was read, for a metric reference
    change: bool = False  # a trend: last − first step
    label: str = ""  # the reference in words (T_c, Δ_σ)


@dataclass(frozen=True)
class Judgment:
    """A claim's verdict for one estimator in one group of runs."""

    claim: Claim
    estimator: Estimator
    group: str
    verdict: str
    why: str
    value: str
    reference: str
    parts: tuple[Part, ...]
    at: tuple[str, int] | None = None  # (stage, step) the reading is at: the longest flow
    curves: dict[str, Series] = field(default_factory=dict)  # for the claim's figure
    target: float | None = None  # the figure's dashed line

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(p.metric for p in self.parts)


def combine(verdicts: list[str]) -> str:
    """Any not reproduced -> not reproduced; all reproduced -> reproduced; else inconclusive."""
    if NOT_REPRODUCED in verdicts:
        return NOT_REPRODUCED
    return REPRODUCED if verdicts and all(v == REPRODUCED for v in verdicts) else INCONCLUSIVE


def listed(labels: list[str], at_most: int = 4) -> str:
    """``a, b, c, d, … (58 more)``: a reason names a few curves, not all 62 starts."""
    if len(labels) <= at_most:
        return ", ".join(labels)
    return f"{', '.join(labels[:at_most])}, … ({len(labels) - at_most} more)"


def _combined_reason(parts: list[Part], labels: list[str], noun: str) -> str:
    """One part: its reason; several: the tally and the first reason behind the verdict."""
    if len(parts) == 1:
        return parts[0].reason
    verdict = combine([p.verdict for p in parts])
    counts = ", ".join(f"{n} {v}" for v in (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
                       if (n := sum(p.verdict == v for p in parts)))
    if verdict == REPRODUCED:
        return f"{len(parts)} {noun}: {counts}"
    at = [(label, p) for label, p in zip(labels, parts) if p.verdict == verdict]
    return f"{len(parts)} {noun}: {counts}; {verdict} at {listed([a for a, _ in at])}: {at[0][1].reason}"


# ------------------------------------------------------------------------------------ one interval
def band_of(kind: str, r: float, tau: float, side: int = 0) -> Band:
    """The band of a value claim (``side`` −1 / +1: a bracket's side below / above T_c)."""
    if kind == "bracket":
        low, high = (r - tau, r) if side < 0 else (r, r + tau)
        return Band(low, high, REPRODUCED, f"[{low:.4g}, {high:.4g}] ({'under' if side < 0 else 'over'} "
                                           f"{r:.4g} within τ)")
    return Band(r - tau, r + tau, REPRODUCED if kind == "equals" else NOT_REPRODUCED, f"{r:.4g} ± {tau:.3g}")


def _reference_text(claim: Claim, kind: str, r: float) -> str:
    tau = claim.tolerance.of(r)
    if kind == "bracket":
        return f"< {r:.4g} below T_c, > {r:.4g} above ({claim.label}; τ = {tau:.3g})"
    return f"{'=' if kind == 'equals' else '≠'} {r:.4g} ({claim.label}; τ = {tau:.3g})"


def _summary(group: Group, metric: str, level: float) -> Summary | None:
    return summarize([p for run in group.runs if (p := final_point(run, metric)) is not None], level)


def _reference(claim: Claim, group: Group, metric: str) -> tuple[float | None, str | None]:
    """(r, the metric it was read from): a constant of the run's model, or the mean over runs of
    the reference metric at the last step of the measured metric's stage."""
    name = claim.reference_metric(metric)
    if name is None:
        return claim.reference_value(group.runs[0].params), None
    values = [x for run in group.runs if (x := value_at(run, name, stage_last_step(run, metric))) is not None
              and math.isfinite(x)]
    return (float(np.mean(values)) if values else None), name


def _part(claim: Claim, kind: str, group: Group, metric: str, level: float, min_runs: int,
          side: int = 0) -> Part | None:
    """The verdict of one metric (None when it has no reference in this group)."""
    r, source = _reference(claim, group, metric)
    if r is None:
        return None
    s = _summary(group, metric, level)
    verdict, reason = judge_interval(s, band_of(kind, r, claim.tolerance.of(r), side), min_runs)
    return Part(metric, s, _reference_text(claim, kind, r), verdict, reason, r, source, label=claim.label)


def _interval(s: Summary | None, n: bool = True) -> str:
    if s is None:
        return "—"
    censored = f"{s.censored} censored at the fit's search bound" if s.censored else ""
    text = f"{s.mean:.4g} [{s.low:.3g}, {s.high:.3g}]"
    if n:
        return text + f" (n={s.n}" + (f", {censored})" if censored else ")")
    return text + (f" ({censored})" if censored else "")


def _offset(x: float, r: float, label: str) -> str:
    """``19% below T_c``; an absolute difference for a reference of 0."""
    size = f"{abs(x - r) / abs(r):.0%}" if r != 0 else f"{abs(x - r):.3g}"
    return f"{size} {'below' if x < r else 'above'} {label}"


def _at(group: Group, metric: str) -> tuple[str, int] | None:
    steps = [s for run in group.runs if (s := stage_last_step(run, metric)) is not None]
    return (stage_of(metric), max(steps)) if steps else None


# ------------------------------------------------------------------------------------- reductions
def _last(claim: Claim, est: Estimator, group: Group, names: list[str], level: float,
          min_runs: int) -> Judgment | None:
    metrics = sorted(est.select.select(names))
    part = _part(claim, claim.kind_of(est), group, metrics[0], level, min_runs) if metrics else None
    if part is None:
        return None
    s, r = part.summary, part.value
    said = f"{s.mean:.3g}, {_offset(s.mean, r, claim.label)}; " if s is not None else ""
    curve = series(group, part.metric)
    return Judgment(claim, est, group.label, part.verdict, said + part.reason, _interval(s), part.reference,
                    (part,), _at(group, part.metric), {est.name: curve} if curve else {}, r)


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


def _label(metric: str) -> str:
    T = MetricName.parse(metric).T
    return format_temperature(T) if T is not None else metric


def _starts(claim: Claim, est: Estimator, group: Group, names: list[str], level: float,
            min_runs: int) -> Judgment | None:
    metrics = sorted((m for m in est.select.select(names) if MetricName.parse(m).T is not None),
                     key=lambda m: MetricName.parse(m).T)
    parts = [p for m in metrics if (p := _part(claim, claim.kind_of(est), group, m, level, min_runs)) is not None]
    if not parts:
        return None
    r = parts[0].value
    per_run = [_mean_point(points) for run in group.runs
               if (points := [p for m in metrics if (p := final_point(run, m)) is not None and math.isfinite(p.value)])]
    s = summarize(per_run, level)
    ends = [p.summary.mean for p in parts if p.summary is not None]
    verdict = combine([p.verdict for p in parts])
    tally = _combined_reason(parts, [_label(p.metric) for p in parts], "starts")
    if s is None or not ends:
        return Judgment(claim, est, group.label, verdict, tally, "—", parts[0].reference, tuple(parts), target=r)
    lo, hi = min(ends), max(ends)
    why = f"{len(ends)} starts end at {s.mean:.3g} ({lo:.3g}–{hi:.3g}), {_offset(s.mean, r, claim.label)}; {tally}"
    curve = _mean_curve(group, metrics)
    label = f"{est.name}: mean of {len(ends)} starts (band ± std over starts)"
    return Judgment(claim, est, group.label, verdict, why, f"{_interval(s)}; over {len(ends)} starts {lo:.3g}–{hi:.3g}",
                    parts[0].reference, tuple(parts), _at(group, metrics[0]), {label: curve} if curve else {}, r)


def _sides(claim: Claim, est: Estimator, group: Group, names: list[str], level: float,
           min_runs: int) -> Judgment | None:
    t_c = critical_temperature(group.runs[0].params)
    if t_c is None or not est.select.select(names):
        return None
    kind, verdicts, values, whys, parts, curves = claim.kind_of(est), [], [], [], [], {}
    for word, side in (("below", -1), ("above", 1)):
        found = replace(est.select, T=Near("T_c", word)).select(names, T_c=t_c)[:1]
        part = _part(claim, kind, group, found[0], level, min_runs, side) if found else None
        if part is None:
            verdicts.append(INCONCLUSIVE)
            whys.append(f"no curve {word} T_c")
            continue
        t = MetricName.parse(part.metric).T
        parts.append(part)
        verdicts.append(part.verdict)
        values.append(f"T = {t:.4g}: {_interval(part.summary, n=False)}")
        whys.append(f"{word} T_c (T = {t:.4g}): {part.reason}")
        if (c := series(group, part.metric)) is not None:
            curves[f"T = {t:.4g} ({word} T_c)"] = c
    if not parts:
        return None
    counts = sorted({p.summary.n if p.summary is not None else 0 for p in parts})
    value = "; ".join(values) + f" (n={', '.join(map(str, counts))})"
    r = parts[0].value
    return Judgment(claim, est, group.label, combine(verdicts), "; ".join(whys), value,
                    _reference_text(claim, kind, r), tuple(parts), _at(group, parts[0].metric), curves, r)


def _each(claim: Claim, est: Estimator, group: Group, names: list[str], level: float,
          min_runs: int) -> Judgment | None:
    kind = claim.kind_of(est)
    parts = [p for m in est.select.select(names) if (p := _part(claim, kind, group, m, level, min_runs)) is not None]
    if not parts:
        return None
    verdict = combine([p.verdict for p in parts])
    why = _combined_reason(parts, [p.metric for p in parts], "metrics")
    if len(parts) == 1:
        why = f"{parts[0].metric}: {why}"
    refs = {p.reference for p in parts}
    one = len(refs) == 1  # one reference for every metric: a dashed line in the figure
    value = _interval(parts[0].summary) if len(parts) == 1 else f"{len(parts)} metrics"
    return Judgment(claim, est, group.label, verdict, why, value, refs.pop() if one else "per metric (appendix A)",
                    tuple(parts), target=parts[0].value if one and parts[0].reference_metric is None else None)


# ------------------------------------------------------------------------------------------ trends
_SIGN = {"toward": -1, "down": -1, "away": 1, "up": 1}
_WORDS = {"toward": "|x − {t}| shrinks", "away": "|x − {t}| grows", "down": "x falls", "up": "x rises"}


def _measure(direction: str, target: float | None, p: Point) -> Point:
    """The quantity whose change the trend is about: |x − target| (censoring: either side), or x."""
    if direction in ("toward", "away"):
        return Point(abs(p.value - target), max(p.err_lo, p.err_hi), max(p.err_lo, p.err_hi), 2 if p.censored else 0)
    return p


def _effect(claim: Claim, target: float | None, run, metric: str) -> Point | None:
    """The change last − first step of one run's curve, signed so that the claimed direction is
    positive (None with fewer than two steps)."""
    steps = steps_of(run, metric)
    if len(steps) < 2:
        return None
    first, last = (_measure(claim.direction, target, point_at(run, metric, k)) for k in (steps[0], steps[-1]))
    w, e = _SIGN[claim.direction], math.hypot(max(first.err_lo, first.err_hi), max(last.err_lo, last.err_hi))
    # censoring: the last step's side carries over, the first step's flips; |x − t|: both sides
    sides = {last.censored, -first.censored} - {0}
    censored = 2 if 2 in sides or -2 in sides or len(sides) > 1 else (sides.pop() * w if sides else 0)
    return Point(w * (last.value - first.value), e, e, censored)


def _start(group: Group, metric: str) -> float | None:
    firsts = [point_at(run, metric, steps_of(run, metric)[0]).value for run in group.runs if steps_of(run, metric)]
    return float(np.mean(firsts)) if firsts else None


def _curves(claim: Claim, est: Estimator, group: Group, names: list[str], level: float,
            min_runs: int) -> Judgment | None:
    metrics = sorted(est.select.select(names), key=lambda m: (MetricName.parse(m).T is None, MetricName.parse(m).T or 0))
    if not metrics:
        return None
    target = claim.reference_value(group.runs[0].params)
    if target is None and claim.direction in ("toward", "away"):
        return None  # no target known for this model: the claim says nothing here
    delta = claim.tolerance.of(target)
    words = _WORDS[claim.direction].format(t=f"{target:.4g}" if target is not None else "")
    reference = f"{words} by ≥ δ = {delta:.3g}"
    band = Band(-math.inf, delta, NOT_REPRODUCED, f"(−∞, δ = {delta:.3g}]")
    parts, starts, skipped = [], [], []
    for metric in metrics:
        x0 = _start(group, metric)
        if target is not None and x0 is not None and abs(x0 - target) <= delta:
            skipped.append(_label(metric))
            continue
        effects = [p for run in group.runs if (p := _effect(claim, target, run, metric)) is not None]
        s = summarize(effects, level)
        if s is None:
            parts.append(Part(metric, None, reference, INCONCLUSIVE, "fewer than 2 steps logged", change=True))
            continue
        verdict, reason = judge_interval(s, band, min_runs)
        parts.append(Part(metric, s, reference, verdict, f"effect {reason}", change=True))
        starts.append(x0)
    skip = f"; {len(skipped)} curve(s) start within δ of {target:.4g}: {listed(skipped)}" if skipped else ""
    if not parts:
        return Judgment(claim, est, group.label, INCONCLUSIVE, f"every curve starts within δ of the target{skip}",
                        "—", reference, ())
    verdict = combine([p.verdict for p in parts])
    why = _combined_reason(parts, [_label(p.metric) for p in parts], "curves")
    if verdict == REPRODUCED and claim.both_sides and not (any(x < target for x in starts)
                                                            and any(x > target for x in starts)):
        verdict, why = INCONCLUSIVE, f"curves start on one side of {target:.4g} only; {why}"
    means = [p.summary.mean for p in parts if p.summary is not None]
    value = f"{len(parts)} curves" + (f", effect {min(means):.3g} to {max(means):.3g}" if means else "")
    return Judgment(claim, est, group.label, verdict, why + skip, value, reference, tuple(parts))


_REDUCTIONS = {"last": _last, "starts": _starts, "sides": _sides, "each": _each, "curves": _curves}


# ------------------------------------------------------------------------------------ the one entry
def judge(claim: Claim, group: Group, names: list[str], level: float = 0.95, min_runs: int = 2) -> list[Judgment]:
    """The judgments of ``claim`` in ``group``, one per estimator that read something (``names``:
    the group's metrics, without companions); none when the claim does not apply to its runs."""
    if not claim.applies(group.runs[0].params):
        return []
    return [j for est in claim.estimators if (j := _REDUCTIONS[est.reduce](claim, est, group, names, level, min_runs))
            is not None]


def score(groups: list[Group], metrics: list[str], level: float = 0.95, min_runs: int = 2,
          claims: Claims | None = None) -> list[Judgment]:
    """Every claim (default: the packaged file) in every group: claim by claim in the file's order,
    then group by group, then estimator by estimator."""
    claims = claims if claims is not None else load_claims()
    names = {g.label: sorted({m for r in g.runs for m in r.final} & set(metrics)) for g in groups}
    return [j for claim in claims for g in groups for j in judge(claim, g, names[g.label], level, min_runs)]
