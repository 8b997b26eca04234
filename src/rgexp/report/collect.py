"""From run records to numbers: groups of seeds, each run's value (with errors) at a step.

Runs are grouped by their params, ignoring the seeds and the keys that cannot change results
(``IGNORED``). A group is labelled in the words the runs were started with: its preset's name when
the groups come from several (``rbm_flow``), then, among the groups of one preset, the config-group
choices and the overrides that differ (``model=stacked_rbm``, ``model.layers=[1024,64]``; from the
runs' tags). Runs without those tags (started from Python, or before they were written) are
labelled by the params that differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scipy import stats

from rgexp.config import HARMLESS_GROUPS, HARMLESS_SETTINGS
from rgexp.metric_names import CENSORED, CI_HIGH, CI_LEVEL, CI_LOW, ERR, companions_of, stage_of
from rgexp.report.intervals import Point
from rgexp.analysis.scaling import censored_metric
from rgexp.tracking import RunRecord

__all__ = ["IGNORED", "Group", "Series", "group_runs", "split_overrides", "value_at", "point_at", "final_point", "last_step",
           "stage_last_step", "steps_of", "series"]

IGNORED_KEYS = {"seed", "data_seed", "device", *HARMLESS_SETTINGS}
IGNORED_PREFIXES = tuple(f"{group}." for group in HARMLESS_GROUPS)
IGNORED = sorted(IGNORED_KEYS) + [p + "*" for p in IGNORED_PREFIXES]
DEFAULT_CI_LEVEL = 0.9  # the level of the scaling fits' intervals unless the run says otherwise


@dataclass
class Group:
    """Runs that differ only in seed; ``label`` names the params that set it apart from the others."""

    label: str
    key: tuple[tuple[str, str], ...]
    runs: list[RunRecord] = field(default_factory=list)

    @property
    def params(self) -> dict[str, str]:
        return dict(self.key)


def _relevant(params: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in params.items()
                        if k not in IGNORED_KEYS and not k.startswith(IGNORED_PREFIXES)))


def group_runs(records: list[RunRecord]) -> list[Group]:
    """Groups in order of first appearance, labelled by what sets them apart (the module's docstring)."""
    groups: dict[tuple, Group] = {}
    for record in records:
        key = _relevant(record.params)
        groups.setdefault(key, Group("", key)).runs.append(record)
    result = list(groups.values())
    if len(result) == 1:
        result[0].label = "all runs"
        return result
    presets = [g.params.get("name", "") for g in result]
    several = len(set(presets)) > 1
    for preset in dict.fromkeys(presets):
        members = [g for g, p in zip(result, presets) if p == preset]
        for g, within in zip(members, _differences(members)):
            g.label = f"{preset}: {within}" if several and within else (preset if several else within)
    if len({g.label for g in result}) < len(result) or not all(g.label for g in result):
        _label_by_params(result)
    return result


def _label_by_params(result: list[Group]) -> None:
    """Labels ``key=value, …`` from the params that differ (runs without choice and override tags)."""
    keys = sorted({k for g in result for k, _ in g.key})
    # Compact labels name the keys with two or more values; a key that only some groups have (another
    # model's, e.g. sampler.sigma) is named only if the compact labels would not tell groups apart.
    compact = [k for k in keys if len({g.params[k] for g in result if k in g.params}) > 1]
    full = [k for k in keys if len({g.params.get(k) for g in result}) > 1]
    for differing in (compact, full):
        for g in result:
            g.label = ", ".join(f"{k}={_short(g.params[k])}" for k in differing if k in g.params) or "(defaults)"
        if len({g.label for g in result}) == len(result):
            break


def _differences(members: list[Group]) -> list[str]:
    """For groups of one preset: the choices (tags ``model=…``) and typed overrides (tag
    ``hydra_overrides``) in which they differ, one short line each ("" for a lone group)."""
    if len(members) < 2:
        return [""] * len(members)
    from rgexp.cli import default_choices, override_key, seedlike

    firsts = [g.runs[0] for g in members]
    words: list[list[str]] = [[] for _ in members]
    for group in (k for k in default_choices() if k != "experiment" and not seedlike(k)):
        values = [r.tags.get(group) for r in firsts]
        if len(set(values)) > 1:
            for w, v in zip(words, values):
                w.extend([f"{group}={v}"] if v is not None else [])
    typed = [dict((override_key(o), o.split("=", 1)[1]) for o in split_overrides(r.tags.get("hydra_overrides", ""))
                  if "=" in o) for r in firsts]
    skip = {*default_choices(), "name"}
    for key in dict.fromkeys(k for t in typed for k in t if k not in skip and not _ignored(k)):
        values = [t.get(key, g.params.get(key)) for t, g in zip(typed, members)]
        if len({str(v) for v in values}) > 1:
            for w, v in zip(words, values):
                w.extend([f"{key}={_short(str(v))}"] if v is not None else [])
    return [" ".join(w) for w in words]


def _ignored(key: str) -> bool:
    return key in IGNORED_KEYS or key.startswith(IGNORED_PREFIXES) or key.startswith("hydra")


def split_overrides(line: str) -> list[str]:
    """A line of overrides (as the tag ``hydra_overrides`` joins them) back into overrides: split at
    the spaces outside brackets and quotes (``sampler.temperatures=[1.5, 2.0]`` is one)."""
    out, word, depth, quote = [], "", 0, ""
    for ch in line:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == " " and depth == 0:
            out, word = out + [word] if word else out, ""
            continue
        word += ch
    return out + [word] if word else out


def _short(value: str) -> str:
    """A class path as its class name (``rgexp.ising.Ising2DSampler`` -> ``Ising2DSampler``)."""
    return value.rsplit(".", 1)[-1] if value.startswith("rgexp.") else value


def steps_of(run: RunRecord, metric: str) -> list[int]:
    """The steps at which ``metric`` was logged (empty when its history was not read)."""
    return [step for step, _ in run.history.get(metric, [])]


def last_step(run: RunRecord, metric: str) -> int | None:
    steps = steps_of(run, metric)
    return steps[-1] if steps else None


def value_at(run: RunRecord, metric: str, step: int | None = None) -> float | None:
    """The value at ``step`` (None: the last one); None when not logged there."""
    history = run.history.get(metric)
    if history is None:
        return run.final.get(metric) if step is None else None
    if step is None:
        return history[-1][1] if history else None
    return next((v for s, v in history if s == step), None)


def _ci_level(run: RunRecord, name: str | None, step: int | None) -> float:
    """A logged interval's level: its ``_ci_level`` metric, else a unique ``*ci_level`` param."""
    level = value_at(run, name, step) if name else None
    if level is None:
        levels = {v for k, v in run.params.items() if k.endswith("ci_level")}
        level = float(levels.pop()) if len(levels) == 1 else DEFAULT_CI_LEVEL
    return level


def point_at(run: RunRecord, metric: str, step: int | None = None) -> Point | None:
    """The run's value at ``step`` (None: its last step) with standard errors from its companions."""
    if step is None:
        step = last_step(run, metric)
    value = value_at(run, metric, step)
    if value is None:
        return None
    names = companions_of(metric, run.final.keys())
    err = value_at(run, names[ERR], step) if ERR in names else None
    if err is not None:
        return Point(value, abs(err), abs(err))
    lo, hi = (value_at(run, names[k], step) if k in names else None for k in (CI_LOW, CI_HIGH))
    if lo is None or hi is None:
        return Point(value)
    level = _ci_level(run, names.get(CI_LEVEL), step)
    z = float(stats.norm.ppf(0.5 + level / 2))
    return Point(value, max(value - lo, 0.0) / z, max(hi - value, 0.0) / z, _censored(run, metric, names, step, lo, hi))


def _censored(run: RunRecord, metric: str, names: dict[str, str], step: int | None, lo: float, hi: float) -> int:
    """The side (−1 / 0 / +1) at which the interval was censored by the fit's search bound: as the
    fit logged it (its ``censored`` companion), else inferred from today's bounds (older runs)."""
    logged = value_at(run, names[CENSORED], step) if CENSORED in names else None
    if logged is None or math.isnan(logged):
        return censored_metric(metric, lo, hi)
    return 0 if logged == 0 else int(math.copysign(1, logged))


def stage_last_step(run: RunRecord, metric: str) -> int | None:
    """The last step of ``metric``'s stage in this run (``flow/…``: the longest flow), over every
    metric of the stage whose history was read; None when there is none."""
    stage = stage_of(metric)
    lasts = [h[-1][0] for name, h in run.history.items() if h and stage_of(name) == stage]
    return max(lasts) if lasts else None


def final_point(run: RunRecord, metric: str) -> Point | None:
    """The run's value at the last step of the metric's stage, so that a Δ fitted only at flow
    length 0 is not taken for the end of the flow (None: not logged there). Metrics without a
    read history (diagnostics) give their final value."""
    if metric not in run.history:
        return point_at(run, metric)
    return point_at(run, metric, stage_last_step(run, metric))


@dataclass(frozen=True)
class Series:
    """A curve over the runs of a group: at each step, mean, sample std (nan for one run) and n."""

    steps: list[int]
    mean: list[float]
    std: list[float]
    n: list[int]


def series(group: Group, metric: str) -> Series | None:
    """Mean ± std over runs at every step any run logged (None when no run has a history)."""
    per_step: dict[int, list[float]] = {}
    for run in group.runs:
        for step, value in run.history.get(metric, []):
            if math.isfinite(value):
                per_step.setdefault(step, []).append(value)
    if not per_step:
        return None
    steps = sorted(per_step)
    values = [per_step[s] for s in steps]
    return Series(steps, [float(sum(v) / len(v)) for v in values],
                  [_std(v) for v in values], [len(v) for v in values])


def _std(values: list[float]) -> float:
    if len(values) < 2:
        return math.nan
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
