"""Assemble the comparison report from run records: tables, figures, verdicts -> report.md/.html.

``build_report(records, out_dir, …)`` is pure apart from writing into ``out_dir``; reading runs and
logging the result to MLflow are the caller's (:mod:`rgexp.report.__main__`).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import rgexp
from rgexp.metric_names import (MetricName, format_temperature, hidden_companions, parse_temperature, stage_of,
                                try_parse)
from rgexp.report.checks import Check, reference_value, trend_checks, value_checks
from rgexp.report.collect import IGNORED, Group, Series, final_point, group_runs, series
from rgexp.report.document import Block, Figure, Heading, Para, Table, to_html, to_markdown
from rgexp.report.figures import XLABELS, family_figure, save_figure, stage_figure
from rgexp.report.intervals import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, format_pm, summarize
from rgexp.report.names import is_diagnostic
from rgexp.report.references import SOURCES, reference_for
from rgexp.report.scorecard import Row, score, scorecard_blocks
from rgexp.tracking import RunRecord

__all__ = ["Report", "build_report", "main_metrics", "VERDICT_RULES"]

MAX_STEP_COLUMNS = 12
VERDICT_RULES = (
    "Value checks take each run's value at the last step of its stage (the longest flow, the last RG "
    "step or layer) and compare the {level:.0%} interval of the mean over seeds (the wider of "
    "t·std/√n across seeds and the runs' own logged errors or intervals, combined) with the "
    "reference. A claim that the metric equals the reference (=) is reproduced when the interval "
    "contains it and is no wider than ± τ (the tolerance in the reference column), not reproduced "
    "when the interval excludes it, inconclusive when the interval is wider than ± τ; a claim that "
    "it differs (≠) the other way round. Fewer than {min_runs} runs with the metric, or no metric: "
    "inconclusive. A trend claim compares the last with the first step of each curve, run by run: "
    "reproduced when the interval of the change has the claimed sign for every start temperature "
    "(with starts on both sides of T_c where the claim says so), not reproduced when it has the "
    "opposite sign for any start, inconclusive otherwise."
)


@dataclass
class Report:
    """What was written: the directory, the two documents, the figures, the scorecard and the
    per-metric verdict rows of the appendix."""

    out_dir: Path
    markdown: Path
    html: Path
    figures: list[Path] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    scorecard: list[Row] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Verdicts of the scorecard's rows (the report's headline)."""
        c = Counter(row.reading.verdict for row in self.scorecard)
        return {v: c.get(v, 0) for v in (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)}


def main_metrics(records: list[RunRecord]) -> list[str]:
    """The metrics the report judges: every logged name but companions and diagnostics."""
    names = {m for r in records for m in r.final}
    return sorted(n for n in names - hidden_companions(names) if not is_diagnostic(n))


def _diagnostics(records: list[RunRecord]) -> list[str]:
    names = {m for r in records for m in r.final}
    return sorted(n for n in names - hidden_companions(names) if is_diagnostic(n))


def _final_cell(group: Group, metric: str) -> str:
    s = summarize([p for r in group.runs if (p := final_point(r, metric)) is not None])
    if s is None:
        return "—"
    text = format_pm(s.mean, s.std)
    return text if s.n == len(group.runs) else f"{text} (n={s.n})"


def _reference_cell(groups: list[Group], metric: str) -> str:
    values = []
    for g in groups:
        names = {m for r in g.runs for m in r.final}
        ref = reference_for(metric, g.runs[0].params, names)
        value = reference_value(ref, g, metric) if ref is not None else None
        if value is not None:
            text = f"{'≠ ' if ref.expect == 'differ' else ''}{value:.4g}"
            if text not in values:
                values.append(text)
    return "; ".join(values) or "—"


def _final_table(groups: list[Group], metrics: list[str], with_reference: bool) -> Table:
    header = ["metric"] + (["reference"] if with_reference else []) + [f"{g.label} (n={len(g.runs)})" for g in groups]
    rows = [[m] + ([_reference_cell(groups, m)] if with_reference else []) + [_final_cell(g, m) for g in groups]
            for m in metrics]
    return Table(header, rows)


def _columns(steps: list[int]) -> list[int]:
    """All steps, or at most MAX_STEP_COLUMNS of them: the first few, then evenly spaced, the last."""
    if len(steps) <= MAX_STEP_COLUMNS:
        return steps
    idx = {0, 1, 2, len(steps) - 1}
    stride = (len(steps) - 1) / (MAX_STEP_COLUMNS - 4)
    idx |= {round(3 + k * stride) for k in range(MAX_STEP_COLUMNS - 4)}
    return [steps[i] for i in sorted(i for i in idx if i < len(steps))]


def _step_table(first_col: str, curves: dict[str, Series]) -> Table:
    steps = _columns(sorted({s for c in curves.values() for s in c.steps}))
    rows = []
    for label, c in curves.items():
        at = {s: format_pm(m, d) for s, m, d in zip(c.steps, c.mean, c.std)}
        rows.append([label] + [at.get(s, "—") for s in steps])
    return Table([first_col] + [f"{k}" for k in steps], rows)


def _stepped(groups: list[Group], metrics: list[str]) -> dict[str, dict[str, dict[str, Series]]]:
    """metric -> group label -> Series, for metrics with more than one step in some run."""
    out: dict[str, dict[str, Series]] = {}
    for metric in metrics:
        per_group = {g.label: s for g in groups if (s := series(g, metric)) is not None}
        if any(len(s.steps) > 1 for s in per_group.values()):
            out[metric] = per_group
    return out


def _reference_curve(group: Group, metric: str) -> float | Series | None:
    """What to draw as the reference of ``metric``: a constant, or the group's reference metric."""
    names = {m for r in group.runs for m in r.final}
    ref = reference_for(metric, group.runs[0].params, names)
    if ref is None:
        return None
    if ref.reference_metric is None:
        return ref.value(group.runs[0].params)
    name = ref.reference_metric(metric, names)
    return series(group, name) if name is not None else None


def _family_blocks(family: str, curves: dict[str, dict[str, Series]], groups: list[Group],
                   out_dir: Path, figures: list[Path]) -> list[Block]:
    """A family of ``…/T<T>`` curves: a figure (a panel per group) and a start-T × step table per group."""
    per_group: dict[str, dict[str, Series]] = {}
    references: dict[str, dict[str, float | Series]] = {}
    for metric, by_group in curves.items():
        start = format_temperature(MetricName.parse(metric).T)
        for g in groups:
            if g.label in by_group:
                per_group.setdefault(g.label, {})[start] = by_group[g.label]
                if (ref := _reference_curve(g, metric)) is not None:
                    references.setdefault(g.label, {})[start] = ref
    g0 = groups[0]
    first = reference_for(next(iter(curves)), g0.runs[0].params, {m for r in g0.runs for m in r.final})
    fig = family_figure(family, per_group, references, first.label if first is not None else "")
    stage = stage_of(family)
    blocks: list[Block] = [Heading(3, family), Figure(save_figure(fig, out_dir, family, figures),
                                                       f"{family} against {XLABELS.get(stage, 'step')}")]
    for glabel, by_start in per_group.items():
        ordered = dict(sorted(by_start.items(), key=lambda kv: parse_temperature(kv[0])))
        blocks += [Para(f"{family}, {glabel}: mean ± std over seeds; columns are steps."),
                   _step_table("start T", ordered)]
    return blocks


def _stage_blocks(stage: str, curves: dict[str, dict[str, Series]], groups: list[Group],
                  out_dir: Path, figures: list[Path]) -> list[Block]:
    """Single curves of a stage (Δ, couplings): a figure (a panel per metric) and one table."""
    references: dict[str, dict[str, float | Series]] = {}
    for metric in curves:
        for g in groups:
            if (ref := _reference_curve(g, metric)) is not None:
                references.setdefault(metric, {})[g.label] = ref
    fig = stage_figure(stage, curves, references)
    rows = {f"{m} [{g}]": s for m, by_group in curves.items() for g, s in by_group.items()}
    return [Heading(3, f"{stage}: single curves"),
            Figure(save_figure(fig, out_dir, f"{stage}_curves", figures), f"{stage} against {XLABELS.get(stage, 'step')}"),
            _step_table("metric [group]", rows)]


def _curve_blocks(groups: list[Group], metrics: list[str], out_dir: Path, figures: list[Path]) -> list[Block]:
    stepped = _stepped(groups, metrics)
    families: dict[str, dict[str, dict[str, Series]]] = {}
    singles: dict[str, dict[str, dict[str, Series]]] = {}
    for metric, per_group in stepped.items():
        parsed = try_parse(metric)
        if parsed is not None and parsed.T is not None and not parsed.stage_qualified:  # a curve per start
            families.setdefault(parsed.family, {})[metric] = per_group
        else:
            singles.setdefault(stage_of(metric), {})[metric] = per_group
    blocks: list[Block] = []
    for family, curves in families.items():
        blocks += _family_blocks(family, curves, groups, out_dir, figures)
    for stage, curves in singles.items():
        blocks += _stage_blocks(stage, curves, groups, out_dir, figures)
    return blocks


def _verdict_table(checks: list[Check], level: float) -> Table:
    header = ["claim", "group", "metric", "mean ± std (n)", f"{level:.0%} interval", "reference", "verdict",
              "why", "source"]
    return Table(header, [[c.claim, c.group, c.metric, c.estimate, c.interval, c.reference, c.verdict,
                           c.reason, c.source] for c in checks])


def _runs_table(groups: list[Group]) -> Table:
    rows = [[g.label, str(len(g.runs)), ", ".join(r.params.get("seed", "?") for r in g.runs),
             ", ".join(r.run_id[:8] for r in g.runs)] for g in groups]
    return Table(["group", "runs", "seeds", "run ids"], rows)


def build_report(records: list[RunRecord], out_dir: Path, *, title: str, selection: str,
                 skipped: list[RunRecord] = (), level: float = 0.95, min_runs: int = 2) -> Report:
    """Write ``report.md``, ``report.html`` and ``figures/*.png`` for ``records`` into ``out_dir``:
    the scorecard first, the per-metric detail in appendices."""
    out_dir.mkdir(parents=True, exist_ok=True)
    groups = group_runs(records)
    metrics = main_metrics(records)
    checks = [c for g in groups for c in value_checks(g, metrics, level, min_runs)]
    checks += [c for g in groups for c in trend_checks(g, metrics, level, min_runs)]
    rows = score(groups, metrics, level, min_runs)
    figures: list[Path] = []
    curves = _curve_blocks(groups, metrics, out_dir, figures)  # first: the scorecard links to its figures
    blocks: list[Block] = [Heading(1, title), Para(_intro(records, groups, selection, skipped)),
                           *scorecard_blocks(rows, out_dir, figures, level),
                           Heading(2, "Runs"), _runs_table(groups),
                           Heading(2, "Appendix A. Verdicts per metric"),
                           Para(VERDICT_RULES.format(level=level, min_runs=min_runs)), _verdict_table(checks, level),
                           Heading(2, "Appendix B. Final values (last step of each stage): mean ± std over seeds"),
                           _final_table(groups, metrics, with_reference=True),
                           Heading(2, "Appendix C. Curves against step"), *curves,
                           Heading(2, "Appendix D. Diagnostics (final values)"),
                           _final_table(groups, _diagnostics(records), False), Heading(2, "Sources")]
    used = sorted({s.strip() for c in checks for s in c.source.split(",")}
                  | {s.strip() for r in rows for s in r.claim.source.split(",")})
    blocks += [Para(f"{key}: {SOURCES[key]}") for key in used if key in SOURCES]
    report = Report(out_dir, out_dir / "report.md", out_dir / "report.html", figures, checks, rows)
    report.markdown.write_text(to_markdown(blocks))
    report.html.write_text(to_html(blocks, out_dir, title))
    return report


def _intro(records: list[RunRecord], groups: list[Group], selection: str, skipped: list[RunRecord]) -> str:
    text = (f"{len(records)} finished runs in {len(groups)} group(s) of seeds; selection: {selection}. "
            f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')} by rgexp {rgexp.__version__}. "
            f"Groups differ in the params that label them; seeds and the keys that cannot change "
            f"results ({', '.join(IGNORED)}) are ignored.")
    if skipped:
        listed = ", ".join(f"{r.run_id[:8]} ({r.status})" for r in skipped)
        text += f" Skipped {len(skipped)} unfinished run(s): {listed}."
    return text
