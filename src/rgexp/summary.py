"""The few lines a run ends with: its id and status, the headline numbers of what it measured, its
cost, and where to look. Pure: it formats the run's latest metric values (``TrackedRun.latest``).

A sweep ends with one more block (:func:`sweep_summary`): the same headline numbers for every run of
each group of seeds side by side, with their mean and 95% interval over the seeds
(:func:`across_seeds`), which :func:`seed_aggregate` also turns into the metrics of the sweep's
parent run (:mod:`rgexp.tracking.sweep`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rgexp.metric_names import (ANY, CENSORED, CI_HIGH, CI_LOW, ERR, PEAK_RSS_GB, SECONDS,
                                MetricName, Select, companions_of, cost_metric, hidden_companions, try_parse,
                                with_companions)

__all__ = ["HEADLINES", "run_summary", "ui_address", "AcrossSeeds", "across_seeds", "aggregated", "seed_aggregate",
           "SweepGroup", "sweep_summary", "LEVEL"]

Latest = Mapping[str, tuple[int, float]]  # metric -> (its last step, its value there)

# (label, the metrics): shown where logged; a selector of one metric shows its value, one with an
# ANY field (a start temperature, a layer) the range over the curves it matches
HEADLINES: tuple[tuple[str, Select], ...] = (
    ("thermometer held-out accuracy", Select(stage="thermometer", path=("final",), observable="accuracy")),
    ("flows end at T (thermometer)", Select(stage="flow", observable="temperature", T=ANY)),
    ("⟨|m|⟩ at the flows' end", Select(stage="flow", observable="abs_magnetization", T=ANY)),
    ("pooled flow, binned by class: T", Select(stage="flow_binned", observable="temperature")),
    ("Δ_σ from ⟨|m|⟩, binned (the paper's Fig. 2)", Select(stage="flow_binned", observable="delta_sigma_from_m")),
    ("Δ_σ along the flow (correlators)", Select(stage="flow", observable="delta_sigma")),
    ("Δ_ε along the flow (correlators)", Select(stage="flow", observable="delta_epsilon")),
    ("fixed point at the end of training: T* (energy)", Select(stage="fixed_point", observable="temperature_energy")),
    ("fixed point: m*", Select(stage="fixed_point", observable="abs_magnetization")),
    ("RG steps end at T", Select(stage="rg", observable="temperature", T=ANY)),
    ("stack layers read T", Select(stage="stack", observable="temperature", T=ANY)),
    ("Monte Carlo T_c (Binder)", Select(stage="mc", observable="T_c")),
    ("Δ_σ (Monte Carlo, finite-size scaling)", Select(stage="mc", observable="delta_sigma")),
    ("receptive-field radius", Select(stage="receptive", path=ANY, observable="radius")),
    ("couplings of the last layer", Select(stage="stack", observable="coupling", T=ANY)),
    ("configurations per temperature: flows", Select(stage="flow", observable="n_configurations")),
    ("configurations per temperature: RG steps", Select(stage="rg", observable="n_configurations")),
    ("configurations per temperature: stack layers", Select(stage="stack", observable="n_configurations")),
    ("configurations: receptive fields", Select(stage="receptive", observable="n_configurations")),
)
TOTAL_SECONDS, PEAK_MEMORY = cost_metric(None, SECONDS), cost_metric(None, PEAK_RSS_GB)


def _censored(latest: Latest, name: str, found: dict[str, str], lo: float, hi: float) -> int:
    """The side at which a fit's interval reached its search bound: logged with the fit, or (older
    runs) inferred from today's bounds."""
    if CENSORED in found and not math.isnan(side := latest[found[CENSORED]][1]):
        return 0 if side == 0 else int(math.copysign(1, side))
    from rgexp.analysis.scaling import censored_metric  # scipy: imported when an interval is shown

    return censored_metric(name, lo, hi)


def _one(latest: Latest, name: str) -> str:
    """The value with its interval (or error) from its logged companions (rgexp.metric_names)."""
    value, found = latest[name][1], companions_of(name, latest.keys())
    if CI_LOW in found and CI_HIGH in found:
        lo, hi = latest[found[CI_LOW]][1], latest[found[CI_HIGH]][1]
        side = _censored(latest, name, found, lo, hi)
        if side:  # the interval is open at the search bound: only its other end is measured
            measured, search_bound = (f"< {hi:.4g}", lo) if side < 0 else (f"> {lo:.4g}", hi)
            return f"{measured} (censored: the fit reached its search bound {search_bound:g}; best fit {value:.4g})"
        return f"{value:.4g} [{lo:.4g}, {hi:.4g}]"
    err = latest[found[ERR]][1] if ERR in found else None
    return f"{value:.4g} ± {err:.2g}" if err is not None and math.isfinite(err) else f"{value:.4g}"


def _headline(latest: Latest, label: str, select: Select) -> str | None:
    if (name := select.name) is not None:
        return f"{label}: {_one(latest, name)}" if name in latest else None
    hits = {n: latest[n] for n in select.select(latest)}  # values only: companions have their own role
    if not hits:
        return None
    values = [v for _, v in hits.values()]
    step = max(s for s, _ in hits.values())
    if len(values) == 1:
        return f"{label}: {_one(latest, next(iter(hits)))} (step {step})"
    return f"{label}: {min(values):.4g} … {max(values):.4g} over {len(values)} curves (last step {step})"


def ui_address(tracking_uri: str, experiment_id: str, run_id: str) -> tuple[str, str]:
    """(how to open the UI, the run's address) — the model-training view of the MLflow UI."""
    path = f"#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"
    if tracking_uri.startswith(("http://", "https://")):
        return "", f"{tracking_uri.rstrip('/')}/{path}"
    return (f"mlflow ui --backend-store-uri {tracking_uri} --host 127.0.0.1 --port 5000",
            f"http://127.0.0.1:5000/{path}")


def run_summary(run_id: str, status: str, experiment: str, latest: Latest, open_with: str,
                address: str, report: str | None = None) -> list[str]:
    """The lines printed when a run ends (without the ``rgexp:`` prefix of the first); ``report``:
    the command that reports on the experiment (default: ``python -m rgexp.report name=<experiment>``)."""
    lines = [f"run {run_id} {status} (experiment {experiment})"]
    lines += [f"  {h}" for label, select in HEADLINES if (h := _headline(latest, label, select))]
    if TOTAL_SECONDS in latest:
        rss = latest.get(PEAK_MEMORY, (0, math.nan))[1]
        lines.append(f"  cost: {latest[TOTAL_SECONDS][1]:.0f} s, peak memory {rss:.2f} GB (perf/*)")
    if open_with:
        lines.append(f"  open: {open_with}   then {address}")
    else:
        lines.append(f"  open: {address}")
    lines.append(f"  report: {report or f'python -m rgexp.report name={experiment}'}")
    return lines


# ----------------------------------------------------------------------------------- a sweep
LEVEL = 0.95  # the interval over seeds a sweep reports
COSTS = (TOTAL_SECONDS, PEAK_MEMORY)


@dataclass(frozen=True)
class AcrossSeeds:
    """Values of one quantity over seeds: mean, sample std, n, and the Student-t interval of the
    mean at ``LEVEL`` (std and interval nan for one value)."""

    mean: float
    std: float
    n: int
    ci_low: float
    ci_high: float

    @property
    def sem(self) -> float:
        """The standard error of the mean, std / √n."""
        return self.std / math.sqrt(self.n)


def across_seeds(values: Sequence[float], level: float = LEVEL) -> AcrossSeeds | None:
    """Mean ± t_{(1+level)/2, n−1} · std/√n of the finite ``values`` (None when there is none)."""
    xs = [float(v) for v in values if math.isfinite(v)]
    if not xs:
        return None
    n, mean = len(xs), math.fsum(xs) / len(xs)
    if n == 1:
        return AcrossSeeds(mean, math.nan, 1, math.nan, math.nan)
    from scipy import stats  # imported when a sweep ends

    std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    return AcrossSeeds(mean, std, n, mean - half, mean + half)


def aggregated(names: Sequence[str]) -> list[str]:
    """The metrics a sweep aggregates over seeds: what the report judges (values, not their
    companions; no diagnostics: training curves, Monte Carlo bookkeeping, system samples) and the
    run's total cost."""
    from rgexp.report.names import is_diagnostic

    names = set(names)
    values = names - hidden_companions(names)
    return sorted(n for n in values if (not is_diagnostic(n) and try_parse(n) is not None) or n in COSTS)


Curves = Mapping[str, Sequence[tuple[int, float]]]  # metric -> [(step, value), …] of one run


def seed_aggregate(runs: Sequence[Curves], level: float = LEVEL) -> dict[int, dict[str, float]]:
    """The metrics of a group's holder run, step by step: for each metric and each step some run
    logged it at, the mean over the runs under the metric's own name (so that the holder's line
    lies in the same chart as its runs') with the companions of the contract
    (:mod:`rgexp.metric_names`): ``_err`` the standard error of the mean (the std over seeds is
    err·√n), ``_ci_low``/``_ci_high`` the t interval at ``level`` (the holder's param ``ci_level``:
    one chart fewer per metric than a companion), ``_n_eff`` the number of seeds (independent:
    n_eff = n). One seed: the value and n only."""
    per_step: dict[int, dict[str, list[float]]] = {}
    for run in runs:
        for name, curve in run.items():
            for step, value in curve:
                per_step.setdefault(int(step), {}).setdefault(name, []).append(value)
    out: dict[int, dict[str, float]] = {}
    for step, by_name in sorted(per_step.items()):
        for name, values in sorted(by_name.items()):
            s = across_seeds(values, level)
            if s is None:
                continue
            spread = {} if s.n < 2 else dict(err=s.sem, ci_low=s.ci_low, ci_high=s.ci_high)
            out.setdefault(step, {}).update(with_companions(name, s.mean, n_eff=float(s.n), **spread))
    return out


@dataclass(frozen=True)
class SweepGroup:
    """One group of seeds of a sweep for its table: ``label`` what sets it apart ("" for a sweep
    over seeds alone), ``runs`` each run's column head (``seed=1``) and latest metric values."""

    label: str
    runs: Sequence[tuple[str, Mapping[str, float]]]


MAX_CURVE_ROWS = 4  # a headline over more curves (start temperatures, layers) is one row of ranges


def _curve_tag(name: str, select: Select) -> str:
    """What tells one of a headline's curves from the others: the fields it left open (T=1.5, RBM)."""
    parsed = MetricName.parse(name)
    parts = []
    if select.path is ANY:
        parts.append("/".join(parsed.path))
    if select.L is ANY:
        parts.append(f"L={parsed.L}")
    if select.T is ANY:
        parts.append(f"T={parsed.T:g}")
    return " ".join(parts)


def _names(group: SweepGroup, select: Select) -> list[str]:
    """The metrics of a headline that some run of the group logged, curves in order of path and T."""
    if select.name is not None:
        return [select.name] if any(select.name in latest for _, latest in group.runs) else []
    found = {n for _, latest in group.runs for n in select.select(latest)}

    def order(name: str) -> tuple:
        parsed = MetricName.parse(name)
        return parsed.path, parsed.L or 0, parsed.T if parsed.T is not None else -1.0

    return sorted(found, key=order)


def _rows(group: SweepGroup, label: str, select: Select) -> list[tuple[str, list[str], str]]:
    """(quantity, per-run cells, across seeds) of one headline: a row per curve, or one of ranges."""
    names = _names(group, select)
    if len(names) <= MAX_CURVE_ROWS:
        return [(f"{label} {_curve_tag(n, select)}".rstrip() if select.name is None else label,
                 [_cell(latest.get(n)) for _, latest in group.runs],
                 _across([latest.get(n) for _, latest in group.runs])) for n in names]
    ranges = [[latest[n] for n in names if n in latest] for _, latest in group.runs]
    means = [s.mean for n in names if (s := across_seeds([lt[n] for _, lt in group.runs if n in lt])) is not None]
    return [(f"{label} ({len(names)} curves)", [f"{min(r):.4g}…{max(r):.4g}" if r else "—" for r in ranges],
             f"means {min(means):.4g} … {max(means):.4g}")]


def _cell(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.4g}"


def _across(values: Sequence[float | None]) -> str:
    s = across_seeds([v for v in values if v is not None])
    if s is None:
        return "—"
    if s.n < 2:
        return f"{s.mean:.4g} (n=1)"
    return f"{s.mean:.4g} [{s.ci_low:.4g}, {s.ci_high:.4g}] (n={s.n})"


def _table(group: SweepGroup, level: float) -> list[str]:
    rows = [r for label, select in HEADLINES for r in _rows(group, label, select)]
    rows += [(label, [_cell(latest.get(name)) for _, latest in group.runs],
              _across([latest.get(name) for _, latest in group.runs]))
             for label, name in (("cost: seconds", TOTAL_SECONDS), ("cost: peak memory, GB", PEAK_MEMORY))
             if any(name in latest for _, latest in group.runs)]
    head = ("quantity", [h for h, _ in group.runs], f"mean [{level:.0%} interval] (n)")
    widths = [max(len(r[0]) for r in [head, *rows])]
    widths += [max(len(r[1][i]) for r in [head, *rows]) for i in range(len(group.runs))]
    lines = []
    for quantity, cells, across in [head, *rows]:
        lines.append("  " + "  ".join([quantity.ljust(widths[0]), *(c.rjust(w) for c, w in zip(cells, widths[1:])),
                                       across]))
    return lines


def sweep_summary(title: str, status: str, parent_id: str, total: int, groups: Sequence[SweepGroup],
                  problems: Sequence[str], open_with: str, address: str, report: str, written: str | None = None,
                  level: float = LEVEL) -> list[str]:
    """The lines a sweep ends with (without the ``rgexp:`` prefix of the first): its status, a table
    per group of seeds (each headline quantity per finished run, and across seeds), where to look.
    ``total``: the runs the sweep has (or was to have); ``problems``: one phrase per run that did
    not finish (``seed=1 KILLED (resume: …)``)."""
    n = sum(len(g.runs) for g in groups)
    lines = [f"sweep '{title}' {status}: {n} of {total} runs finished (parent run {parent_id})"]
    if problems:
        lines.append(f"  not finished: {'; '.join(problems)}")
        lines.append("  the parent holds no aggregate until every run has finished (resume a run and it is recomputed)")
    for g in groups:
        if g.label:
            lines.append(f"  {g.label}:")
        if g.runs:
            lines += _table(g, level)
    lines.append(f"  open: {open_with}   then {address}" if open_with else f"  open: {address}")
    lines.append(f"  report: {report}")
    if written:
        lines.append(f"  the sweep's report: {written} (also artifacts report/ of the parent run)")
    return lines
