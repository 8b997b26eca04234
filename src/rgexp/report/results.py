"""``docs/results.md``: what a reproduction found, written by :mod:`rgexp.reproduce`, never by hand.

The file holds the scorecard of the sources' claims (with their figures, copied next to it under
``figures/results/``), the checks of exact results, a short table of each preset's headline numbers
(the run summary's :data:`rgexp.summary.HEADLINES`, mean ± std over seeds) and the provenance: the
commit and whether the tree was clean (the report's, and the runs'), the dates, the command, the machine and the library
versions, and each preset's wall time and peak memory (the largest ``perf/peak_rss_gb`` of its runs).
"""

from __future__ import annotations

import math
import shutil
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rgexp.metric_names import PEAK_RSS_GB, cost_metric
from rgexp.report.build import Report, counts_text
from rgexp.report.collect import group_runs
from rgexp.report.document import Block, Figure, Heading, Para, Table, to_markdown
from rgexp.report.figures import figure_path
from rgexp.report.intervals import format_pm
from rgexp.report.judge import Judgment
from rgexp.report.provenance import machine, wall_seconds
from rgexp.report.scorecard import EXACT_CHECKS, claim_text, rules_text, verdict_table
from rgexp.summary import HEADLINES
from rgexp.tracking import RunRecord

__all__ = ["FIGURES", "write_results", "headline_rows"]

FIGURES = Path("figures") / "results"  # relative to the results file; the harness owns this folder
PEAK_MEMORY = cost_metric(None, PEAK_RSS_GB)


def _copy_figures(report: Report, rows: list[Judgment], folder: Path) -> dict[str, str]:
    """Figure key -> its link relative to the results file, for the claims that have a figure."""
    target = folder / FIGURES
    if target.exists():  # last time's figures: a claim that has none now must not keep an old one
        for old in target.glob("*.png"):
            old.unlink()
    links: dict[str, str] = {}
    for key in dict.fromkeys(r.claim.figure or r.claim.key for r in rows):
        source = report.out_dir / figure_path(f"scorecard_{key}")
        if source.is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / source.name)
            links[key] = (FIGURES / source.name).as_posix()
    return links


def headline_rows(preset: str, records: list[RunRecord]) -> list[list[str]]:
    """[preset, quantity, value] for each headline the runs (seeds of one config) logged: one metric
    as mean ± std over seeds, a family of curves (one per start temperature, layer) as the range of
    its curves' seed means."""
    names = sorted({m for r in records for m in r.final})
    rows = []
    for label, select in HEADLINES:
        if select.observable == "n_configurations":  # bookkeeping, not a result
            continue
        found = select.select(names)
        means = {m: [r.final[m] for r in records if m in r.final and math.isfinite(r.final[m])] for m in found}
        means = {m: v for m, v in means.items() if v}
        if not means:
            continue
        if len(means) == 1:
            (values,) = means.values()
            std = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
            text = f"{format_pm(float(np.mean(values)), std)} (n={len(values)})"
        else:
            per_curve = [float(np.mean(v)) for v in means.values()]
            text = f"{min(per_curve):.4g} to {max(per_curve):.4g} over {len(per_curve)} curves"
        rows.append([preset, label, text])
    return rows


def _preset_headlines(preset: str, records: list[RunRecord]) -> list[list[str]]:
    """A preset's headline rows, group by group when its runs are more than seeds of one config."""
    groups = group_runs(records) if records else []
    if len(groups) <= 1:
        return headline_rows(preset, records)
    return [row for g in groups for row in headline_rows(f"{preset} ({g.label})", g.runs)]


def _cost_table(presets: Mapping[str, Mapping], records: dict[str, RunRecord]) -> Table:
    rows = []
    for preset, state in presets.items():
        peaks = [r.final[PEAK_MEMORY] for i in state["runs"] if (r := records.get(i)) is not None
                 and PEAK_MEMORY in r.final]
        rows.append([preset, str(len(state["runs"])), f"{state['seconds'] / 60:.1f} min",
                     f"{max(peaks):.2f} GB" if peaks else "not logged"])
    total = wall_seconds(list(presets.values()))  # sweeps that ran side by side count once
    rows.append(["all", str(sum(len(s["runs"]) for s in presets.values())), f"{total / 60:.1f} min", ""])
    return Table(["preset", "runs", "wall time (its sweep; sweeps may run side by side)",
                  "peak memory (largest perf/peak_rss_gb of its runs)"], rows)


def _runs_code(records: list[RunRecord]) -> tuple[str, str]:
    """The commits the runs were made with (their tags), with how many runs each: on a resumed
    reproduction the report's own commit above may be later than the runs'."""
    counts = Counter((r.tags.get("git_commit", "unknown"), r.tags.get("git_dirty", "?")) for r in records)
    return ("runs made with", "; ".join(f"{commit[:12]}{' (tree not clean)' if dirty == 'True' else ''}: {n} runs"
                                        for (commit, dirty), n in counts.items()))


def write_results(path: Path, report: Report, records: list[RunRecord], presets: Mapping[str, Mapping], *,
                  command: str, code: list[tuple[str, str]], started: str, finished: str, level: float,
                  min_runs: int) -> Path:
    """Write the results file at ``path`` (and its figures under ``path.parent / FIGURES``).

    presets: preset -> {"runs": [run ids], "seconds": wall time}; code: :func:`provenance.code_state`
    taken before the runs; started / finished: the dates of the command."""
    path.parent.mkdir(parents=True, exist_ok=True)
    links = _copy_figures(report, report.scorecard, path.parent)
    by_id = {r.run_id: r for r in records}
    headlines = [row for preset, state in presets.items()
                 for row in _preset_headlines(preset, [by_id[i] for i in state["runs"] if i in by_id])]
    figures = [Figure(link, f"{claim_text(next(r for r in report.scorecard if (r.claim.figure or r.claim.key) == key))}")
               for key, link in links.items()]
    blocks: list[Block] = [
        Heading(1, "Results"),
        Para(f"Written by `{command}` ({finished}); do not edit: run the command again to regenerate it. "
             f"Scorecard of the sources' claims: {counts_text(report.scorecard)}; checks of exact results: "
             f"{counts_text(report.exact_checks)}. The claims, their references and tolerances: "
             "`src/rgexp/report/claims.yaml`; the values and sources: [references](references.md)."),
        Heading(2, "Scorecard"), Para(rules_text(level, min_runs)),
        verdict_table(report.scorecard, lambda r: f"[figure]({link})" if (link := links.get(r.claim.figure or r.claim.key))
                      else "—"),
        Heading(2, "Checks of exact results"), Para(EXACT_CHECKS),
        verdict_table(report.exact_checks, kind=lambda r: r.claim.category),
        Heading(2, "Headline numbers per preset"),
        Para("Each run's final value; mean ± std over seeds (a family of curves: the range of their seed means)."),
        Table(["preset", "quantity", "value"], headlines),
        Heading(2, "Figures"), *figures,
        Heading(2, "Provenance"),
        Table(["", "value"], [[k, v] for k, v in [*code, _runs_code(records), ("started", started), ("finished", finished),
                                             ("command", f"`{command}`"), *machine()]]),
        _cost_table(presets, by_id),
    ]
    path.write_text(to_markdown(blocks))
    return path

