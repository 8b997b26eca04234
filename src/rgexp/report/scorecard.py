"""The scorecard the report leads with: one row per claim of a source, estimator and group of runs.

``CLAIMS`` is the declarative table, read top to bottom: each claim names the metrics it reads
(a :class:`rgexp.metric_names.Select`; their ``T`` is a start or bin temperature), how the matching
metrics reduce to one reading (:mod:`rgexp.report.readings`), the reference and whether the source
says the reading equals it or differs. A maintainer adds a claim by adding a row. The rows of the
main paper's §III (dmk2020) come first, each measured by the estimators the runs log side by side:
by start temperature (``flow/…``: every flow started at one temperature) and pooled over all
starts then binned by the thermometer's class (``flow_binned/…``) or by the energy thermometer
(``flow_binned_energy/…``). The other sources' claims follow, taken from ``references.TRENDS``
and ``references.REFERENCES`` (one row each, summarising all their curves).

A row whose metrics a group did not log is omitted, not shown as inconclusive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rgexp.metric_names import ANY, Select, stage_of, try_parse
from rgexp.report.collect import Group, Series
from rgexp.report.document import Block, Figure, Heading, Para, Table
from rgexp.report.figures import XLABELS, claim_figure, figure_path, save_figure
from rgexp.report.readings import Reading, read
from rgexp.report.references import REFERENCES, T_C, TRENDS, Params, Trend, critical_temperature, model_of

__all__ = ["Claim", "CLAIMS", "COVERED_REFERENCES", "Row", "SCORECARD_RULES", "score", "scorecard_blocks"]

Reduce = Literal["last", "starts", "near_tc", "bracket", "trend", "reference"]


@dataclass(frozen=True)
class Claim:
    """One row of the scorecard (per group of runs).

    key:       rows with the same key share a figure (the claim, all its estimators);
    figure:    where the source shows it ("Fig. 2"; "" when it has no figure of its own);
    estimator: how it is measured here; select: the metrics it reads; reduce: how (see readings);
    target:    the reference from the run's params (None: the claim does not apply to this model);
    trend / reference: the key of the ``references`` entry a "trend" / "reference" row restates.
    """

    key: str
    claim: str
    source: str
    figure: str
    estimator: str
    select: Select
    reduce: Reduce
    target: Callable[[Params], float | None] = lambda params: None
    target_label: str = ""
    expect: Literal["equal", "differ"] = "equal"
    rel_tol: float = 0.25
    abs_tol: float = 0.0
    trend: str = ""
    reference: str = ""

    def tolerance(self, reference: float) -> float:
        return self.rel_tol * abs(reference) + self.abs_tol


def _nn2d(value: float) -> Callable[[Params], float | None]:
    """A value of the 2D nearest-neighbour model (None for the other models)."""
    return lambda params: value if model_of(params) == "nn2d" else None


def _by_estimator(key: str, claim: str, figure: str, observable: str, reduce_starts: Reduce,
                  reduce_binned: Reduce, per_t: bool, **ref) -> tuple[Claim, ...]:
    """The rows of one dmk2020 claim: by start temperature, then binned by thermometer and energy."""
    per_start = ANY if reduce_starts in ("starts", "near_tc", "bracket") else None
    rows = [Claim(key, claim, "dmk2020", figure, "by start temperature",
                  Select(stage="flow", observable=observable, T=per_start), reduce_starts, **ref)]
    for stage, what in (("flow_binned", "thermometer class"), ("flow_binned_energy", "energy")):
        rows.append(Claim(key, claim, "dmk2020", figure, f"binned ({what})",
                          Select(stage=stage, observable=observable, T=ANY if per_t else None), reduce_binned, **ref))
    return tuple(rows)


_TC_REF = dict(target=critical_temperature, target_label="T_c", rel_tol=0.1)
_DS_REF = dict(target=_nn2d(0.125), target_label="Δ_σ = 1/8")
_DE_REF = dict(target=_nn2d(1.0), target_label="Δ_ε = 1", expect="differ")
_FLOW_TC = "the RBM flow approaches T_c (every start ends at the fixed point)"
_DS_M = "Δ_σ from ⟨|m|⟩(T) below T_c reaches 1/8 by flow length ~26"
_DS_BRACKET = "Δ_σ from ⟨σσ⟩ is slightly under 1/8 just below T_c and over it just above"
_DE = "Δ_ε along the RBM flow does not converge to 1"

_DMK2020: tuple[Claim, ...] = (
    *_by_estimator("flow_tc", _FLOW_TC, "§III-A", "temperature", "starts", "last", False, **_TC_REF),
    *_by_estimator("delta_sigma_m", _DS_M, "Fig. 2 (fit: Fig. 4)", "delta_sigma_from_m", "last", "last", False,
                   **_DS_REF),
    *_by_estimator("delta_sigma_bracket", _DS_BRACKET, "Fig. 5a", "delta_sigma", "bracket", "bracket", True,
                   **_DS_REF),
    Claim("delta_sigma_bracket", _DS_BRACKET, "dmk2020", "Fig. 5a", "by start temperature, grid T nearest T_c",
          Select(stage="flow", observable="delta_sigma"), "last", **_DS_REF),
    *(Claim("delta_sigma_bracket", _DS_BRACKET, "dmk2020", "Fig. 5a", f"binned ({what}), plane form",
            Select(stage=stage, observable="delta_sigma_plane", T=ANY), "bracket", **_DS_REF)
      for stage, what in (("flow_binned", "thermometer class"), ("flow_binned_energy", "energy"))),
    *_by_estimator("delta_epsilon", _DE, "Fig. 6b", "delta_epsilon", "near_tc", "near_tc", True, **_DE_REF),
    Claim("delta_epsilon", _DE, "dmk2020", "Fig. 6b", "by start temperature, grid T nearest T_c",
          Select(stage="flow", observable="delta_epsilon"), "last", **_DE_REF),
    *(Claim("delta_epsilon", _DE, "dmk2020", "Fig. 6b", f"binned ({what}), plane form",
            Select(stage=stage, observable="delta_epsilon_plane", T=ANY), "near_tc", **_DE_REF)
      for stage, what in (("flow_binned", "thermometer class"), ("flow_binned_energy", "energy"))),
)

# The other claims of references.py, one row each: trends over every curve, value references over
# every metric they apply to. The value references of dmk2020's flow are restated by the rows above.
COVERED_REFERENCES = ("flow_temperature", "flow_binned_temperature", "flow_delta_sigma", "flow_delta_epsilon")
_RESTATED_REFERENCES = ("mc_tc", "delta_sigma", "delta_epsilon", "exact_companion", "variational", "lr_flow_delta")


def _trend_claim(trend: Trend, key: str = "") -> Claim:
    return Claim(key or f"trend_{trend.key}", trend.claim, trend.source, "", "last − first step, every curve",
                 trend.select, "trend", trend=trend.key)


_FLOW_TO_TC = next(t for t in TRENDS if t.key == "flow_to_tc")

CLAIMS: tuple[Claim, ...] = (
    *_DMK2020[:3],
    _trend_claim(_FLOW_TO_TC, key="flow_tc"),  # next to the fixed point's reading, sharing its figure
    *_DMK2020[3:],
    *(_trend_claim(t) for t in TRENDS if t is not _FLOW_TO_TC),
    *(Claim(f"ref_{r.key}", r.claim, r.source, "", "each metric at its last step", r.select, "reference",
            reference=r.key) for key in _RESTATED_REFERENCES for r in REFERENCES if r.key == key),
)


@dataclass(frozen=True)
class Row:
    """A claim's reading in one group."""

    claim: Claim
    group: str
    reading: Reading


def score(groups: list[Group], metrics: list[str], level: float = 0.95, min_runs: int = 2) -> list[Row]:
    """Every claim of ``CLAIMS`` that some group logged metrics for: claim by claim (in the table's
    order), then group by group, then estimator by estimator."""
    names = {g.label: sorted({m for r in g.runs for m in r.final} & set(metrics)) for g in groups}
    rows = []
    for key in dict.fromkeys(c.key for c in CLAIMS):
        for g in groups:
            for claim in (c for c in CLAIMS if c.key == key):
                if (reading := read(claim, g, names[g.label], level, min_runs)) is not None:
                    rows.append(Row(claim, g.label, reading))
    return rows


SCORECARD_RULES = (
    "One row per claim, estimator and group of runs. Value: the mean over seeds of each run's reading "
    "at the last step of its stage (the longest flow) with its {level:.0%} interval [low, high] and the "
    "number of seeds n; \"by start temperature\" first averages each run over its starts, whose spread "
    "(min–max over starts) follows. Reference: = (the source says the value equals it) or ≠ (differs), "
    "with the tolerance τ. Verdicts follow the rules of appendix A; sides or metrics of one claim "
    "combine as: any not reproduced → not reproduced, all reproduced → reproduced, else inconclusive. "
    "Claims whose metrics the runs did not log are left out. T_c = 2/ln(1+√2) = {t_c:.4f} (Onsager)."
)


def _source(claim: Claim) -> str:
    return f"{claim.claim} ({claim.source}{' ' + claim.figure if claim.figure else ''})"


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


def _panels(rows: list[Row]) -> tuple[dict[str, dict[str, Series]], dict[str, float]]:
    """Panel title -> curves, and the reference of each panel. A claim read on both sides of T_c
    gets a panel per estimator (its two sides in each); otherwise a panel per group holds every
    estimator, so that they compare on one axis."""
    sided = any(r.claim.reduce in ("near_tc", "bracket") for r in rows)
    several = len({r.group for r in rows}) > 1
    panels: dict[str, dict[str, Series]] = {}
    references: dict[str, float] = {}
    for r in rows:
        title = (r.claim.estimator + (f" ({r.group})" if several else "")) if sided else r.group
        panels.setdefault(title, {}).update(r.reading.curves)
        if r.reading.target is not None:
            references[title] = r.reading.target
    return panels, references


def _claim_figures(rows: list[Row], out_dir: Path, figures: list[Path]) -> tuple[dict[str, tuple[str, str]],
                                                                                  list[Block]]:
    """A figure per claim key whose rows carry curves: claim key -> (link text, path); the blocks."""
    links, blocks = {}, []
    for key in dict.fromkeys(r.claim.key for r in rows if r.reading.curves):
        mine = [r for r in rows if r.claim.key == key and r.reading.curves]
        first = mine[0].claim
        xlabel = XLABELS.get(first.select.stage, "step")  # one stage, or several: "step"
        number = f"Fig. S{len(links) + 1}"
        panels, references = _panels(mine)
        fig = claim_figure(f"{number}. {_source(first)}", panels, references, first.target_label, xlabel)
        path = save_figure(fig, out_dir, f"scorecard_{key}", figures)
        links[key] = (number, path)
        blocks.append(Figure(path, f"{number}. {_source(first)}: each estimator against {xlabel}, mean ± std "
                                   f"over seeds; dashed: the reference."))
    return links, blocks


def scorecard_blocks(rows: list[Row], out_dir: Path, figures: list[Path], level: float) -> list[Block]:
    """The scorecard: rules, the table (figure links into the report), the claims' figures."""
    links, figure_blocks = _claim_figures(rows, out_dir, figures)
    existing = {str(p.relative_to(out_dir)) for p in figures}
    several = len({r.group for r in rows}) > 1
    header = ["claim"] + (["group"] if several else []) + ["estimator", "value [interval] (n)", "reference",
                                                            "verdict", "why", "figure"]
    table, previous = [], None
    for r in rows:
        if r.claim.key in links:
            link = f"[{links[r.claim.key][0]}]({links[r.claim.key][1]})"
        else:
            path = _appendix_figure(r.reading.metrics, existing)
            link = f"[{_family(r.reading.metrics[0])}]({path})" if path else "—"
        # a claim's text once per block of its rows: the estimators below it read as its measurements
        shown = _source(r.claim) if (r.claim.claim, r.group) != previous else ""
        previous = (r.claim.claim, r.group)
        table.append([shown] + ([r.group] if several else []) + [r.claim.estimator, r.reading.value,
                                                                 r.reading.reference, r.reading.verdict,
                                                                 r.reading.why, link])
    rules = SCORECARD_RULES.format(level=level, t_c=T_C)
    return [Heading(2, "Scorecard"), Para(rules), Table(header, table), *figure_blocks]
