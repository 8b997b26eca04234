"""The report's verdict tables from the judgments of :mod:`rgexp.report.judge`: the scorecard (the
sources' claims), the checks of exact results (kept apart: they test the harness, not a source),
the per-metric appendix, and the claims' figures. Presentation only: the verdicts are the judge's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rgexp.analysis.labels import step_label
from rgexp.constants import T_C
from rgexp.metric_names import stage_of, try_parse
from rgexp.report.collect import Series
from rgexp.report.document import Block, Figure, Heading, Para, Table
from rgexp.report.figures import claim_figure, figure_path, save_figure
from rgexp.report.intervals import format_pm
from rgexp.report.judge import Judgment

__all__ = ["RULES", "rules_text", "verdict_table", "EXACT_CHECKS", "scorecard_blocks", "exact_check_blocks", "appendix_table", "value_cell",
           "claim_text"]

RULES = (
    "One row per claim of a source, estimator and group of runs. Value: the mean over seeds of each run's "
    "reading at the last step of its stage (the longest flow) with its {level:.0%} interval [low, high] (the "
    "wider of t·std/√n across seeds and the runs' own logged errors) and the number of seeds n. Each claim is "
    "an equivalence test against its band: a claim that the value equals r (=) is reproduced when the whole "
    "interval lies inside [r − τ, r + τ], not reproduced when it lies wholly outside, inconclusive otherwise "
    "(the interval crosses an edge of the band, or is wider than it); a claim that it differs (≠), the other "
    "way round; a claim that it is under r just below T_c and over it just above, the bands [r − τ, r] and "
    "[r, r + τ]. A trend is the change last − first step of every curve in the claimed direction, reproduced "
    "when its interval lies beyond the minimum effect δ, not reproduced when it lies below δ (no change of "
    "δ, or the other way), inconclusive otherwise. A fit's interval that reached its search bound counts "
    "as open on that side: only a verdict it cannot change stands.{fewer} "
    "Starts, sides, curves and metrics of one row combine as: any not reproduced → not reproduced, all "
    "reproduced → reproduced, else inconclusive. Claims whose metrics the runs did not log are left out. "
    "T_c = 2/ln(1+√2) = {t_c:.4f} (Onsager). The claims and their tolerances: rgexp/report/claims.yaml."
)


def rules_text(level: float, min_runs: int) -> str:
    """The rules paragraph for intervals at ``level`` and verdicts from ``min_runs`` runs on."""
    fewer = f" Fewer than {min_runs} runs: inconclusive." if min_runs > 1 else ""
    return RULES.format(level=level, fewer=fewer, t_c=T_C)


EXACT_CHECKS = (
    "Not the sources' claims, and not counted in the scorecard: the harness's measurements against exact "
    "results (baseline: they can fail, and test the estimators) and constructions against the closed form "
    "they are proven equal to (construction: they cannot fail on data; a check of the code). Same rules."
)
_CATEGORY = {"baseline": "baseline (measured vs exact)", "construction": "construction (cannot fail on data)"}


def _category(j: Judgment) -> str:
    return _CATEGORY[j.claim.category]


def claim_text(j: Judgment) -> str:
    return f"{j.claim.statement} ({j.claim.cited})"


def value_cell(j: Judgment) -> str:
    """The reading, and where it was read (``… at flow length 30``)."""
    return j.value + (f" at {step_label(j.at[0])} {j.at[1]}" if j.at is not None else "")


def _family(metric: str) -> str:
    """The family of curves a metric belongs to: its name without a final ``/T<T>``."""
    parsed = try_parse(metric)
    return parsed.family if parsed is not None and parsed.T is not None and not parsed.stage_qualified else metric


def _appendix_figure(metrics: tuple[str, ...], existing: set[str]) -> str | None:
    """The appendix figure that draws the first of ``metrics`` (a family, or its stage's panels)."""
    for metric in metrics:
        family = _family(metric)
        name = family if family != metric else f"{stage_of(metric)}_curves"
        if figure_path(name) in existing:
            return figure_path(name)
    return None


def _figure_key(j: Judgment) -> str:
    return j.claim.figure or j.claim.key


def _panels(rows: list[Judgment]) -> tuple[dict[str, dict[str, Series]], dict[str, float]]:
    """Panel title -> curves, and the reference of each panel. A claim read on both sides of T_c
    gets a panel per estimator (its two sides in each); otherwise a panel per group holds every
    estimator, so that they compare on one axis."""
    sided = any(r.estimator.reduce == "sides" for r in rows)
    several = len({r.group for r in rows}) > 1
    panels: dict[str, dict[str, Series]] = {}
    references: dict[str, float] = {}
    for r in rows:
        title = (r.estimator.name + (f" ({r.group})" if several else "")) if sided else r.group
        panels.setdefault(title, {}).update(r.curves)
        if r.target is not None:
            references[title] = r.target
    return panels, references


def _claim_figures(rows: list[Judgment], out_dir: Path, figures: list[Path]) -> tuple[dict[str, tuple[str, str]],
                                                                                       list[Block]]:
    """A figure per figure key whose rows carry curves: key -> (link text, path); the blocks."""
    links, blocks = {}, []
    for key in dict.fromkeys(_figure_key(r) for r in rows if r.curves):
        mine = [r for r in rows if _figure_key(r) == key and r.curves]
        first = mine[0]
        stages = {stage_of(m) for r in mine for m in r.metrics}
        xlabel = step_label(stages.pop()) if len(stages) == 1 else "step"
        number = f"Fig. S{len(links) + 1}"
        panels, references = _panels(mine)
        fig = claim_figure(f"{number}. {claim_text(first)}", panels, references, first.claim.label, xlabel)
        path = save_figure(fig, out_dir, f"scorecard_{key}", figures)
        links[key] = (number, path)
        blocks.append(Figure(path, f"{number}. {claim_text(first)}: each estimator against {xlabel}, mean ± std "
                                   f"over seeds; dashed: the reference."))
    return links, blocks


def _link(j: Judgment, links: dict[str, tuple[str, str]], existing: set[str]) -> str:
    if _figure_key(j) in links:
        number, path = links[_figure_key(j)]
        return f"[{number}]({path})"
    path = _appendix_figure(j.metrics, existing) if j.metrics else None
    return f"[{_family(j.metrics[0])}]({path})" if path else "—"


def verdict_table(rows: list[Judgment], link: Callable[[Judgment], str] | None = None,
                  kind: Callable[[Judgment], str] | None = None) -> Table:
    """One row per judgment: the claim (once per block of its rows), ``kind(row)`` when given, the
    group (when there are several), estimator, value, reference, verdict, why, and ``link(row)``
    (the figure column) when given."""
    several = len({r.group for r in rows}) > 1
    header = (["claim"] + (["kind"] if kind else []) + (["group"] if several else [])
              + ["estimator", "value [interval] (n)", "reference", "verdict", "why"] + (["figure"] if link else []))
    table, previous = [], None
    for r in rows:
        # a claim's text once per block of its rows: the estimators below it read as its measurements
        shown = claim_text(r) if (r.claim.key, r.group) != previous else ""
        previous = (r.claim.key, r.group)
        table.append([shown] + ([kind(r)] if kind else []) + ([r.group] if several else [])
                     + [r.estimator.name, value_cell(r), r.reference, r.verdict, r.why] + ([link(r)] if link else []))
    return Table(header, table)


def scorecard_blocks(rows: list[Judgment], out_dir: Path, figures: list[Path], level: float,
                     min_runs: int) -> list[Block]:
    """The scorecard (the judgments of the sources' claims): rules, the table, the claims' figures."""
    links, figure_blocks = _claim_figures(rows, out_dir, figures)
    existing = {str(p.relative_to(out_dir)) for p in figures}
    rules = rules_text(level, min_runs)
    return [Heading(2, "Scorecard"), Para(rules), verdict_table(rows, lambda r: _link(r, links, existing)), *figure_blocks]


def exact_check_blocks(rows: list[Judgment], out_dir: Path, figures: list[Path]) -> list[Block]:
    """The checks of exact results, in a table of their own (none: a line that says so)."""
    existing = {str(p.relative_to(out_dir)) for p in figures}
    if not rows:
        return [Heading(2, "Checks of exact results"), Para("None of the runs logged a metric an exact check reads.")]
    return [Heading(2, "Checks of exact results"), Para(EXACT_CHECKS), verdict_table(rows, lambda r: _link(r, {}, existing), _category)]


def _estimate(j_part) -> str:
    s = j_part.summary
    return "—" if s is None else f"{format_pm(s.mean, s.std)} (n={s.n})"


def _interval(j_part) -> str:
    s = j_part.summary
    if s is None:
        return "—"
    note = f" ({s.censored} of {s.n} censored at the fit's search bound)" if s.censored else ""
    return f"[{s.low:.4g}, {s.high:.4g}]{note}"


def appendix_table(judgments: list[Judgment], level: float) -> Table:
    """Appendix A: every metric (or curve) each judgment read, with its own verdict."""
    header = ["claim", "group", "estimator", "metric", "mean ± std (n)", f"{level:.0%} interval", "reference",
              "verdict", "why"]
    rows = [[claim_text(j), j.group, j.estimator.name, p.metric + (" (last − first step)" if p.change else ""),
             _estimate(p), _interval(p), p.reference, p.verdict, p.reason] for j in judgments for p in j.parts]
    return Table(header, rows)
