"""The fixed-point study's page: one table and one figure per question, from the runs, with the command
that regenerates them (:mod:`rgexp.study` writes it; the numbers: :mod:`rgexp.report.fixed_point_study`).

Question 1 (``side``): what picks the side of rbm_flow's fixed point — the runs of ``fixed_point_side``,
one setting per option of the config group ``fixed_point_side`` (the run's tag): the hidden layer's
size (``n_hidden_16`` … ``n_hidden_100``) and, at 81 hidden units, the optimizer, the Gibbs chains and
the learning-rate schedule (``sgd``, ``cd1``, ``decaying``, each against ``n_hidden_81``). Question 2
(``size``): T* against the lattice size in Iso et al.'s setup (``fixed_point_size``: one setting per
``sampler.L``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rgexp.constants import exact
from rgexp.report.document import Block, Figure, Heading, Para, Table, to_markdown
from rgexp.report.fixed_point_study import (READINGS, FiniteSizeFit, RunEnd, Setting, effect, finite_size_fit,
                                            run_end, summarize)
from rgexp.tracking import RunRecord

__all__ = ["ARMS", "SIDE", "SIZES", "side_blocks", "size_blocks", "write_page"]

SIDE = "fixed_point_side"  # the preset, and the config group whose option each run is tagged with
HIDDEN = "n_hidden_"  # the options that set the hidden layer's size: n_hidden_16, …
ARMS = {"sgd": "plain SGD (lr 0.01) instead of Adam", "cd1": "CD-1 instead of PCD-1",
        "decaying": "lr decaying to a tenth (cosine) instead of constant"}
SIZES = "fixed_point_size"
BASELINE_HIDDEN = 81  # rbm_flow's


def _fmt(x: float, digits: int = 3) -> str:
    return "—" if not math.isfinite(x) else f"{x:.{digits}g}"


def _interval(d: tuple[float, float, float]) -> str:
    return "—" if not math.isfinite(d[0]) else f"{d[0]:+.2f} [{d[1]:+.2f}, {d[2]:+.2f}]"


def _by_param(records: Sequence[RunRecord], key: str) -> dict[int, list[RunEnd]]:
    groups: dict[int, list[RunEnd]] = defaultdict(list)
    for r in records:
        if (end := run_end(r)) is not None:
            groups[int(float(r.params[key]))].append(end)
    return dict(sorted(groups.items()))


def _row(s: Setting) -> list[str]:
    low, high = s.ordered_interval
    return [s.label, str(s.n), f"{s.ordered}/{s.n} [{low:.2f}, {high:.2f}]",
            *(f"{_fmt(s.T[r].value)} ± {_fmt(s.T[r].error, 2)}" for r in READINGS),
            f"{_fmt(s.m.value)} ± {_fmt(s.m.error, 2)}", f"{_fmt(s.switches.value, 2)}"]


HEAD = ["setting", "seeds", "ordered [95% Wilson]", *(f"T* ({r})" for r in READINGS), "m*", "switches per seed"]


def side_settings(runs: dict[str, list[RunRecord]], level: float) -> tuple[list[Setting], dict[str, Setting]]:
    """(one setting per hidden size, one per arm), from each run's ``fixed_point_side`` tag; a setting
    without runs is left out."""
    records = runs.get(SIDE, [])
    sized = [r for r in records if r.tags.get(SIDE, "").startswith(HIDDEN)]
    hidden = [summarize(f"n_hidden={n}", ends, level) for n, ends in _by_param(sized, "model.net.n_hidden").items()]
    arms = {}
    for name, what in ARMS.items():
        ends = [e for r in records if r.tags.get(SIDE) == name and (e := run_end(r)) is not None]
        if ends:
            arms[name] = summarize(what, ends, level)
    return hidden, arms


def _sentence(what: str, arm: Setting, base: Setting, level: float) -> str:
    e = effect(arm, base, level)
    shown = lambda d: math.isfinite(d[1]) and (d[1] > 0 or d[2] < 0)  # noqa: E731
    verdict = ", ".join(name for name, d in (("the side", e.ordered), ("T*", e.T), ("the switching", e.switches))
                        if shown(d)) or "nothing"
    return (f"**{what}** ({arm.n} seeds against {base.n}): ordered fraction {_interval(e.ordered)}, "
            f"T* (energy) {_interval(e.T)}, switches per seed {_interval(e.switches)} — it changes {verdict} "
            f"at {level:.0%} (an interval that holds 0 is no effect within its width).")


def side_blocks(runs: dict[str, list[RunRecord]], level: float, figure: str | None) -> list[Block]:
    hidden, arms = side_settings(runs, level)
    base = next((s for s in hidden if s.label == f"n_hidden={BASELINE_HIDDEN}"), None)
    blocks: list[Block] = [Table(HEAD, [_row(s) for s in [*hidden, *arms.values()]])]
    if base is not None:
        blocks += [Para(_sentence(arm.label, arm, base, level)) for arm in arms.values()]
    if len(hidden) > 1:
        ends = {int(s.label.split("=")[1]): s for s in hidden}
        small, large = ends[min(ends)], ends[max(ends)]
        blocks.append(Para(_sentence(f"{large.label} against {small.label}", large, small, level)))
    if figure:
        blocks.append(Figure(figure, "Fraction of seeds whose fixed point is ordered (Wilson interval) and "
                                     "each seed's T* (energy reading), per setting"))
    return blocks


def size_settings(runs: Sequence[RunRecord], level: float) -> list[tuple[int, Setting]]:
    return [(L, summarize(f"L={L}", ends, level)) for L, ends in _by_param(runs, "sampler.L").items()]


def size_fits(settings: list[tuple[int, Setting]], reading: str = "energy") -> dict[str, FiniteSizeFit | None]:
    """The fits of T*(L) for ν = 1 and ν free, on the seed means with their standard errors."""
    L = [L for L, s in settings]
    T = [s.T[reading].value for _, s in settings]
    err = [s.T[reading].error / math.sqrt(s.n) for _, s in settings]
    fits: dict[str, FiniteSizeFit | None] = {}
    for name, nu in (("ν = 1", 1.0), ("ν free", None)):
        try:
            fits[name] = finite_size_fit(L, T, err, nu=nu)
        except (ValueError, RuntimeError):  # too few sizes, or no convergence: said in the page
            fits[name] = None
    return fits


def size_blocks(runs: Sequence[RunRecord], level: float, figure: str | None) -> list[Block]:
    settings = size_settings(runs, level)
    blocks: list[Block] = [Table(HEAD, [_row(s) for _, s in settings])]
    t_c = exact("ising2d.T_c")
    for reading in READINGS:  # each reading's own extrapolation: do they meet, and at T_c?
        for name, fit in size_fits(settings, reading).items():
            if fit is None:
                blocks.append(Para(f"T*(L) = T*_∞ + a·L^(−1/ν), {name} ({reading} reading): not fitted (too few "
                                   "sizes or no convergence)."))
                continue
            low, high = fit.interval
            where = "holds" if low <= t_c <= high else "excludes"
            blocks.append(Para(f"T*(L) = T*_∞ + a·L^(−1/ν), {name} ({reading} reading): T*_∞ = {fit.T_inf.value:.3f} "
                               f"[{low:.3f}, {high:.3f}] at {level:.0%}, ν = {fit.nu.value:.2f}, {fit.dof} degree(s) "
                               f"of freedom; the interval {where} T_c = {t_c:.4f}."))
    spread = [(L, max(s.T[r].value for r in READINGS) - min(s.T[r].value for r in READINGS)) for L, s in settings]
    blocks.append(Para("Spread of the three readings' means (largest − smallest) by L: "
                       + ", ".join(f"L={L}: {_fmt(d)}" for L, d in spread)
                       + " — where it shrinks with L, the flowed states come closer to Ising states."))
    if figure:
        blocks.append(Figure(figure, "T* (three readings, mean ± standard error over seeds) against 1/L, "
                                     "with T_c"))
    return blocks


SIDE_HEADING = "What picks the side in rbm_flow"
SIZE_HEADING = "T* against the lattice size in Iso et al.'s setup"


def write_page(path: Path, runs: dict[str, list[RunRecord]], command: str, level: float = 0.95,
               unfinished: dict[str, tuple[int, int | None]] | None = None) -> Path:
    """Write the study's page at ``path`` and its figures under ``path.parent / figures``;
    ``unfinished``: the presets whose sweep has not finished, (runs finished, runs it is to hold).

    A question with no run in ``runs`` keeps its section from the page ``path`` holds, where that one has
    results (each section names the command that wrote it): the two questions can be run on
    different machines, or the store of one be gone, without the page losing the other's answer."""
    unfinished = unfinished or {}
    from rgexp.report import study_figures

    path.parent.mkdir(parents=True, exist_ok=True)
    previous = path.read_text() if path.is_file() else ""
    written = Para(f"Written by `{command}`.")
    blocks: list[Block] = [
        Heading(1, "The fixed-point study"),
        Para("Do not edit: each section names the command that wrote it; run it again to regenerate the "
             "section. Per setting: the seeds, how many ended ordered (m* > 0.5) with Wilson's interval, T* "
             "by the three readings and m* (mean ± standard deviation over seeds) and how often the fixed "
             "point changed side while the RBM trained (from `fixed_point/abs_magnetization`)."),
        Heading(2, SIDE_HEADING)]
    if runs.get(SIDE):
        blocks += [written, *_so_far(SIDE, "side", unfinished)]
        blocks += side_blocks(runs, level, study_figures.side_figure(side_settings(runs, level), path.parent))
    else:
        blocks.append(_kept(previous, SIDE_HEADING) or _not_run("side"))
    blocks.append(Heading(2, SIZE_HEADING))
    if runs.get(SIZES):
        size_fig = study_figures.size_figure(size_settings(runs[SIZES], level), path.parent)
        blocks += [written, *_so_far(SIZES, "size", unfinished)]
        blocks += size_blocks(runs[SIZES], level, size_fig)
    else:
        blocks.append(_kept(previous, SIZE_HEADING) or _not_run("size"))
    path.write_text(to_markdown(blocks))
    return path


def _kept(page: str, heading: str) -> Para | None:
    """The body of ``page``'s section ``## heading`` (up to the next ``## ``), verbatim, where it holds
    results (it names the command that wrote it); None where there is no such section or it holds none."""
    lines = page.splitlines()
    if f"## {heading}" not in lines:
        return None
    start = lines.index(f"## {heading}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    body = "\n".join(lines[start:end]).strip()
    return Para(body) if body.startswith("Written by `") else None


def _so_far(preset: str, question: str, unfinished: dict[str, tuple[int, int | None]]) -> list[Block]:
    """The line that says a question's sweep has not finished and what the table below holds."""
    if preset not in unfinished:
        return []
    done, planned = unfinished[preset]
    of = f" of the {planned} it is to hold" if planned is not None else ""
    return [Para(f"**Not finished**: its sweep stopped part-way or is still running; below are the {done} runs that finished{of} "
                 f"(the seeds column says how many each setting has). `python -m rgexp.study questions={question}` "
                 "continues it.")]


def _not_run(question: str) -> Para:
    return Para(f"Not run yet: `python -m rgexp.study questions={question}` runs it (its cost: "
                "docs/findings.md, \"What decides the fixed point\").")


def seed_values(settings: Sequence[Setting], reading: str = "energy") -> list[np.ndarray]:
    """Each setting's per-seed T* by ``reading`` (for the figure)."""
    return [np.array([e.T[reading] for e in s.ends]) for s in settings]
