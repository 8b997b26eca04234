"""Reading runs back, and logging the comparison report (used by rgexp.report).

Runs come out as plain ``RunRecord``s: no MLflow object leaves this package. A report is logged as
the artifacts (``report/…``) of a dedicated run tagged ``rgexp_report=1`` in the experiment of the
runs it reports on; ``read_runs`` always skips such runs, so a report never reports on a report.
It skips the runs that hold a sweep (tag ``rgexp_sweep``: the parent and its groups,
:mod:`rgexp.tracking.sweep`) too: they hold the aggregate over seeds, not a run of the pipeline.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

import rgexp
from rgexp.tracking.tracker import MLflowTracker, git_state


REPORT_TAG = "rgexp_report"
SWEEP_ROLE_TAG = "rgexp_sweep"  # on the runs that hold a sweep: "parent", or "group" (a group of seeds)
PARENT_TAG = "mlflow.parentRunId"  # MLflow's nesting: the UI folds a run under the run this names
_TAG_MAX = 5000  # MLflow tag values are capped (8,000 characters in 3.x); stay well below
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.-]+")  # ids that can go into a filter string as they are
__all__ = ["REPORT_TAG", "SWEEP_ROLE_TAG", "PARENT_TAG", "RunRecord", "read_runs", "children_of", "log_report"]


@dataclass(frozen=True)
class RunRecord:
    """One run as plain data.

    final:   the latest value of every metric (MLflow's rule: largest step, then newest);
    history: for the metrics asked for, ``[(step, value), …]`` sorted by step, one value per step
             (the newest when a step was logged twice, e.g. across a resume).
    """

    run_id: str
    run_name: str
    experiment: str
    status: str
    params: dict[str, str]
    tags: dict[str, str]
    final: dict[str, float]
    history: dict[str, list[tuple[int, float]]]


def _require_store(tracker: MLflowTracker) -> None:
    """Refuse a local store that does not exist: opening it would silently create an empty one."""
    if not tracker.store_exists():
        raise LookupError(f"no MLflow store at {tracker._db_file()}; set tracking.root or tracking.uri")


def _experiment_id(tracker: MLflowTracker, name: str) -> str:
    exp = tracker.client.get_experiment_by_name(name)
    if exp is None:
        known = sorted(e.name for e in tracker.client.search_experiments())
        raise LookupError(f"no MLflow experiment '{name}' in {tracker.uri}; allowed: {', '.join(known) or '(none)'}")
    return exp.experiment_id


def _read_history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    newest: dict[int, tuple[int, float]] = {}
    for m in client.get_metric_history(run_id, key):
        if m.step not in newest or m.timestamp >= newest[m.step][0]:
            newest[m.step] = (m.timestamp, m.value)
    return [(step, newest[step][1]) for step in sorted(newest)]


def _to_record(client: MlflowClient, run, experiment: str, history: Callable[[str], bool]) -> RunRecord:
    final = {k: float(v) for k, v in run.data.metrics.items()}
    return RunRecord(
        run_id=run.info.run_id, run_name=run.info.run_name or run.info.run_id, experiment=experiment,
        status=run.info.status, params=dict(run.data.params), tags=dict(run.data.tags), final=final,
        history={k: _read_history(client, run.info.run_id, k) for k in sorted(final) if history(k)},
    )


def _tags_match(tags: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(tags.get(k) == v for k, v in wanted.items())


def read_runs(
    tracker: MLflowTracker,
    *,
    sweep_id: str | None = None,
    tags: dict[str, str] | None = None,
    run_ids: list[str] | None = None,
    history: Callable[[str], bool] = lambda name: True,
    every_experiment: bool = False,
) -> list[RunRecord]:
    """Runs of ``tracker.experiment`` (or exactly ``run_ids``, in any experiment; or, with
    ``every_experiment`` and a ``sweep_id``, the sweep's runs wherever they are), oldest first.

    ``sweep_id`` and ``tags`` narrow the selection (all must match); ``history(name)`` says which
    metrics get their full step history read (one query each), the others only their final value.
    Report runs (tag ``rgexp_report=1``) and the runs that hold a sweep (tag ``rgexp_sweep``) are
    never returned; runs of every status are (the caller decides what to do with unfinished ones).
    Raises LookupError with a one-line message for a missing store, experiment or run id, or a
    store that cannot be read (e.g. no server).
    """
    _require_store(tracker)
    wanted = dict(tags or {}) | ({"sweep_id": sweep_id} if sweep_id else {})
    try:
        if every_experiment and sweep_id and not run_ids:
            runs = _search(tracker, _every_experiment(tracker), _tag_filter("sweep_id", sweep_id))
        else:
            runs = _fetch_runs(tracker, run_ids)
        records = _records(tracker, runs, wanted, history)
    except mlflow.exceptions.MlflowException as err:
        raise LookupError(f"cannot read runs from {tracker.uri}: {str(err).splitlines()[0]}") from None
    return records


def children_of(tracker: MLflowTracker, parent_id: str, history: Callable[[str], bool] = lambda name: True,
                holders: bool = False) -> list[RunRecord]:
    """The runs nested directly under ``parent_id`` (in its experiment), oldest first: the pipeline's
    runs, or with ``holders`` the runs that hold a group of the sweep."""
    exp_id = tracker.client.get_run(parent_id).info.experiment_id
    runs = _search(tracker, [exp_id], _tag_filter(PARENT_TAG, parent_id))
    if holders:
        return _records(tracker, [r for r in runs if SWEEP_ROLE_TAG in r.data.tags], {}, history, holders=True)
    return _records(tracker, runs, {}, history)


def _records(tracker: MLflowTracker, runs: list, wanted: dict[str, str], history: Callable[[str], bool],
             holders: bool = False) -> list[RunRecord]:
    """MLflow runs as records, oldest first, without report runs (nor, unless ``holders``, sweep holders)."""
    names: dict[str, str] = {}
    records = []
    for run in sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id)):
        skip = run.data.tags.get(REPORT_TAG) == "1" or (SWEEP_ROLE_TAG in run.data.tags and not holders)
        if skip or not _tags_match(run.data.tags, wanted):
            continue
        exp_id = run.info.experiment_id
        if exp_id not in names:
            names[exp_id] = tracker.client.get_experiment(exp_id).name
        records.append(_to_record(tracker.client, run, names[exp_id], history))
    return records


def _tag_filter(key: str, value: str) -> str | None:
    """A search filter for tag ``key`` = ``value`` (None: ``value`` cannot go into one; match in Python)."""
    return f"tags.`{key}` = '{value}'" if _PLAIN_ID.fullmatch(value) else None


def _every_experiment(tracker: MLflowTracker) -> list[str]:
    return [e.experiment_id for e in tracker.client.search_experiments()]


def _search(tracker: MLflowTracker, exp_ids: list[str], filter_string: str | None) -> list:
    """Every run of ``exp_ids`` matching ``filter_string``, all pages."""
    runs, token = [], None
    while exp_ids:
        page = tracker.client.search_runs(exp_ids, filter_string or "", max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    return runs


def _fetch_runs(tracker: MLflowTracker, run_ids: list[str] | None) -> list:
    """The MLflow runs: exactly ``run_ids``, else every run of ``tracker.experiment``."""
    client = tracker.client
    if run_ids:
        runs = []
        for run_id in run_ids:
            try:
                runs.append(client.get_run(run_id))
            except mlflow.exceptions.MlflowException:
                raise LookupError(f"runs: no run '{run_id}' in {tracker.uri}") from None
        return runs
    # tags are matched by the caller, not in a filter string: values may hold any character
    return _search(tracker, [_experiment_id(tracker, tracker.experiment)], None)


def log_report(tracker: MLflowTracker, experiment: str, directory: Path, tags: dict[str, str],
               files: list[Path]) -> str:
    """Log ``files`` (the report's, under ``directory``) as artifacts ``report/<path relative to
    directory>`` of a new run in ``experiment``. Naming the files keeps out whatever else the
    directory holds (a tracking store that lives there would otherwise be copied into itself).

    The run is tagged ``rgexp_report=1`` (so readers skip it) plus ``tags`` (values truncated to
    MLflow's limit) and ends FINISHED, or FAILED if the upload fails. Returns its run id.
    """
    exp_id = tracker.setup() if experiment == tracker.experiment else _experiment_id(tracker, experiment)
    all_tags = {REPORT_TAG: "1", "rgexp_version": rgexp.__version__, **git_state(Path(__file__).parent),
                **{k: str(v)[:_TAG_MAX] for k, v in tags.items()}}
    run = tracker.client.create_run(exp_id, run_name=f"report-{time.strftime('%Y%m%d-%H%M%S')}", tags=all_tags)
    status = "FAILED"
    try:
        with tempfile.TemporaryDirectory() as tmp:  # one upload of just these files, laid out as in directory
            for f in files:
                rel = Path(f).resolve().relative_to(Path(directory).resolve())
                (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, Path(tmp) / rel)
            tracker.client.log_artifacts(run.info.run_id, tmp, "report")
        status = "FINISHED"
    finally:
        tracker.client.set_terminated(run.info.run_id, status=status)
    return run.info.run_id
