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
from rgexp.analysis.labels import step_label
from rgexp.metric_names import (MetricName, format_temperature, hidden_companions, parse_temperature, stage_of,
                                try_parse)
from rgexp.report.claims import load_claims
from rgexp.report.collect import IGNORED, Group, Series, final_point, group_runs, series
from rgexp.report.document import Block, Figure, Heading, Para, Table, to_html, to_markdown
from rgexp.report.figures import family_figure, save_figure, stage_figure
from rgexp.report.intervals import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, format_pm, summarize
from rgexp.report.judge import Judgment, Part, score
from rgexp.report.names import is_diagnostic
from rgexp.report.scorecard import appendix_table, exact_check_blocks, scorecard_blocks
from rgexp.tracking import RunRecord

__all__ = ["Report", "build_report", "main_metrics", "reference_parts"]

MAX_STEP_COLUMNS = 12
APPENDIX_A = ("Every metric (a trend: every curve's change) that a row of the scorecard or of the checks of "
              "exact results read, with its own verdict by the same rules.")
References = dict[tuple[str, str], Part]  # (group label, metric) -> the part that judged it against a value


@dataclass
class Report:
    """What was written: the directory, the two documents, the figures, the scorecard (the judgments
    of the sources' claims) and the checks of exact results."""

    out_dir: Path
    markdown: Path
    html: Path
    figures: list[Path] = field(default_factory=list)
    scorecard: list[Judgment] = field(default_factory=list)
    exact_checks: list[Judgment] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        """Every file the report wrote: the two documents and the figures."""
        return [self.markdown, self.html, *self.figures]

    def counts(self) -> dict[str, int]:
        """Verdicts of the scorecard's rows (the report's headline; the exact checks are not counted)."""
        return verdict_counts(self.scorecard)

    def counts_text(self) -> str:
        """``8 reproduced, 24 not reproduced, 16 inconclusive``: the scorecard's counts as printed."""
        return counts_text(self.scorecard)


def verdict_counts(rows: list[Judgment]) -> dict[str, int]:
    """How many of ``rows`` have each verdict, in the order reproduced, not reproduced, inconclusive."""
    c = Counter(row.verdict for row in rows)
    return {v: c.get(v, 0) for v in (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)}


def counts_text(rows: list[Judgment]) -> str:
    return ", ".join(f"{n} {v}" for v, n in verdict_counts(rows).items())


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


def reference_parts(judgments: list[Judgment]) -> References:
    """(group, metric) -> the first value part (in the claims' order) that judged the metric."""
    refs: References = {}
    for j in judgments:
        for p in j.parts:
            if not p.change and p.value is not None:
                refs.setdefault((j.group, p.metric), p)
    return refs


def _reference_cell(groups: list[Group], metric: str, refs: References) -> str:
    values = []
    for g in groups:
        if (part := refs.get((g.label, metric))) is not None:
            text = f"{'≠ ' if part.reference.startswith('≠') else ''}{part.value:.4g}"
            if text not in values:
                values.append(text)
    return "; ".join(values) or "—"


def _final_table(groups: list[Group], metrics: list[str], refs: References | None) -> Table:
    header = ["metric"] + (["reference"] if refs is not None else []) + [f"{g.label} (n={len(g.runs)})" for g in groups]
    rows = [[m] + ([_reference_cell(groups, m, refs)] if refs is not None else []) + [_final_cell(g, m) for g in groups]
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


def _reference_curve(group: Group, metric: str, refs: References) -> float | Series | None:
    """What to draw as the reference of ``metric``: a constant, or the group's reference metric."""
    part = refs.get((group.label, metric))
    if part is None:
        return None
    return part.value if part.reference_metric is None else series(group, part.reference_metric)


def _family_blocks(family: str, curves: dict[str, dict[str, Series]], groups: list[Group],
                   out_dir: Path, figures: list[Path], refs: References) -> list[Block]:
    """A family of ``…/T<T>`` curves: a figure (a panel per group) and a start-T × step table per group."""
    per_group: dict[str, dict[str, Series]] = {}
    references: dict[str, dict[str, float | Series]] = {}
    for metric, by_group in curves.items():
        start = format_temperature(MetricName.parse(metric).T)
        for g in groups:
            if g.label in by_group:
                per_group.setdefault(g.label, {})[start] = by_group[g.label]
                if (ref := _reference_curve(g, metric, refs)) is not None:
                    references.setdefault(g.label, {})[start] = ref
    first = next((p for m in curves for g in groups if (p := refs.get((g.label, m))) is not None), None)
    fig = family_figure(family, per_group, references, first.label if first else "")
    stage = stage_of(family)
    blocks: list[Block] = [Heading(3, family), Figure(save_figure(fig, out_dir, family, figures),
                                                       f"{family} against {step_label(stage)}")]
    for glabel, by_start in per_group.items():
        ordered = dict(sorted(by_start.items(), key=lambda kv: parse_temperature(kv[0])))
        blocks += [Para(f"{family}, {glabel}: mean ± std over seeds; columns are steps."),
                   _step_table("start T", ordered)]
    return blocks


def _stage_blocks(stage: str, curves: dict[str, dict[str, Series]], groups: list[Group],
                  out_dir: Path, figures: list[Path], refs: References) -> list[Block]:
    """Single curves of a stage (Δ, couplings): a figure (a panel per metric) and one table."""
    references: dict[str, dict[str, float | Series]] = {}
    for metric in curves:
        for g in groups:
            if (ref := _reference_curve(g, metric, refs)) is not None:
                references.setdefault(metric, {})[g.label] = ref
    fig = stage_figure(stage, curves, references)
    rows = {f"{m} [{g}]": s for m, by_group in curves.items() for g, s in by_group.items()}
    return [Heading(3, f"{stage}: single curves"),
            Figure(save_figure(fig, out_dir, f"{stage}_curves", figures), f"{stage} against {step_label(stage)}"),
            _step_table("metric [group]", rows)]


def _curve_blocks(groups: list[Group], metrics: list[str], out_dir: Path, figures: list[Path],
                  refs: References) -> list[Block]:
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
        blocks += _family_blocks(family, curves, groups, out_dir, figures, refs)
    for stage, curves in singles.items():
        blocks += _stage_blocks(stage, curves, groups, out_dir, figures, refs)
    return blocks


def _runs_table(groups: list[Group]) -> Table:
    rows = [[g.label, str(len(g.runs)), ", ".join(r.params.get("seed", "?") for r in g.runs),
             ", ".join(r.run_id[:8] for r in g.runs)] for g in groups]
    return Table(["group", "runs", "seeds", "run ids"], rows)


def build_report(records: list[RunRecord], out_dir: Path, *, title: str, selection: str,
                 skipped: list[RunRecord] = (), level: float = 0.95, min_runs: int = 2,
                 claims_file: Path | None = None) -> Report:
    """Write ``report.md``, ``report.html`` and ``figures/*.png`` for ``records`` into ``out_dir``:
    the scorecard first, the checks of exact results, the per-metric detail in appendices
    (``claims_file``: another claims file than the packaged one)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    claims = load_claims(claims_file)
    groups = group_runs(records)
    metrics = main_metrics(records)
    judgments = score(groups, metrics, level, min_runs, claims)
    sourced = [j for j in judgments if j.claim.category == "claim"]
    exact = [j for j in judgments if j.claim.category != "claim"]
    refs = reference_parts(judgments)
    figures: list[Path] = []
    curves = _curve_blocks(groups, metrics, out_dir, figures, refs)  # first: the scorecard links to its figures
    blocks: list[Block] = [Heading(1, title), Para(_intro(records, groups, selection, skipped)),
                           *scorecard_blocks(sourced, out_dir, figures, level, min_runs),
                           *exact_check_blocks(exact, out_dir, figures),
                           Heading(2, "Runs"), _runs_table(groups),
                           Heading(2, "Appendix A. Verdicts per metric"), Para(APPENDIX_A),
                           appendix_table(judgments, level),
                           Heading(2, "Appendix B. Final values (last step of each stage): mean ± std over seeds"),
                           _final_table(groups, metrics, refs),
                           Heading(2, "Appendix C. Curves against step"), *curves,
                           Heading(2, "Appendix D. Diagnostics (final values)"),
                           _final_table(groups, _diagnostics(records), None), Heading(2, "Sources")]
    used = dict.fromkeys(key for j in judgments for key in j.claim.source)
    blocks += [Para(f"{key}: {claims.sources[key]}") for key in used]
    report = Report(out_dir, out_dir / "report.md", out_dir / "report.html", figures, sourced, exact)
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
