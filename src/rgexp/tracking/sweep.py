"""A sweep as one MLflow family: a parent run, a run per group of seeds, the jobs' runs under them.

``python -m rgexp -m seed=0,1,2`` makes, in the launching process and before any job starts (Hydra's
``on_multirun_start``, :class:`rgexp.tracking.SweepSetup`):

- one parent run per experiment the sweep writes to, named after the sweep (``smoke: seed=0,1,2``)
  and tagged with the sweep id, the override line and the number of runs it is to hold;
- when the sweep varies more than the seed (``-m model=rbm,stacked_rbm seed=0,1``), one run per
  group of seeds under the parent (``model=stacked_rbm``), each to hold its group's aggregate.

Where they are goes into ``<sweep dir>/rgexp_sweep.json``: every job, in the launching process
(basic launcher) or another (joblib, submitit), reads it and creates its run nested under its
group's holder (``mlflow.parentRunId``). The id is never handed on as ``MLFLOW_RUN_ID``: in a job's
environment that would win over the nesting (MLflow issue #15713).

After the last job (``on_multirun_end``, or the launching process's exit when a job raised)
:func:`close_family` reads the runs back. A group whose runs all FINISHED gets the mean over seeds
of every result metric, step by step (:func:`rgexp.summary.seed_aggregate`), and ends FINISHED; the
parent ends FINISHED when every run did, else FAILED with the runs that did not finish named in tag
``sweep_unfinished`` and on the terminal. A finished sweep's report (the comparison report over its
runs) is written into the sweep directory and logged as the parent's artifacts ``report/``. A
resumed run of a sweep (``python -m rgexp resume=<id>``) keeps its parent, and when it finishes its
family is closed again (:func:`close_after_resume`): groups now complete get their aggregate.

The same sweep launched again in its directory (``hydra.sweep.dir``, same overrides) continues it:
its parent is reopened instead of made anew, a job whose run FINISHED is skipped, one whose run
stopped (KILLED, FAILED, or left RUNNING by a lost machine) is resumed from its checkpoint, one that
never started starts; then the family is closed as usual (:func:`job_run`). While a sweep runs, its launching process holds a
lock in the directory: a second launch there meanwhile is refused in one line.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rgexp
from rgexp.errors import ConfigError
from rgexp.tracking.outage import atomic_write, reason_of
from rgexp.tracking.reading import PARENT_TAG, SWEEP_ROLE_TAG, RunRecord, children_of
from rgexp.tracking.tracker import MLflowTracker, git_state

__all__ = ["SWEEP_FILE", "SweepPlan", "PlannedJob", "plan_from_hydra", "open_sweep", "read_record", "parent_for",
           "job_run", "nested_under", "sweep_id_of", "close_family", "close_open_sweeps", "close_after_resume"]

SWEEP_FILE = "rgexp_sweep.json"
PARENT, GROUP = "parent", "group"  # values of the holders' tag rgexp_sweep
SWEEP_ID, SWEEP_DIR, OVERRIDES, TITLE = "sweep_id", "sweep_dir", "sweep_overrides", "sweep_title"
JOBS, REPORT, UNFINISHED = "sweep_jobs", "sweep_report", "sweep_unfinished"
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
_TAG_MAX = 5000  # MLflow caps tag values (8,000 characters in 3.x)
_RUN_NAME_MAX = 250
# (tracker, parent run id, quiet) of the sweeps this process opened and has not closed yet
_OPEN: list[tuple[MLflowTracker, str, bool]] = []
LOCK_FILE = ".rgexp_sweep.lock"
_HELD: list[Any] = []  # the locks of those sweeps' directories


def sweep_id_of(sweep_dir: str | Path) -> str:
    """The sweep's id: a hash of its resolved directory (every job resolves the same one)."""
    return hashlib.sha1(str(Path(sweep_dir).resolve()).encode()).hexdigest()[:12]


def family_key(tracker: MLflowTracker) -> str:
    """Where a run goes: the store and the experiment (a sweep has one parent per such place)."""
    return f"{tracker.uri}#{tracker.experiment}"


def nested_under(parent_id: str) -> dict[str, str]:
    """The tag that nests a new run under ``parent_id``."""
    return {PARENT_TAG: parent_id}


@dataclass
class PlannedJob:
    """One job of a sweep as the launching process sees it: its overrides, where its run goes, its group."""

    overrides: list[str]
    tracker: MLflowTracker
    group: str


@dataclass
class SweepPlan:
    """What the launching process knows of a sweep before its jobs start (``jobs`` None: a sweeper
    whose jobs are not known up front, e.g. an optimiser's)."""

    sweep_id: str
    sweep_dir: Path
    title: str
    override_line: str
    swept: list[str]
    jobs: list[PlannedJob] | None
    tracker: MLflowTracker
    report: bool = True
    quiet: bool = False


def plan_from_hydra(config: Any, tracker: MLflowTracker, report: bool = True) -> SweepPlan:
    """The plan of the multirun whose composed config (with its ``hydra`` node) is ``config``."""
    from rgexp.cli import expand_sweep, job_group, sweep_title, swept_keys

    overrides = [str(o) for o in config.hydra.overrides.task]
    sweeper = config.hydra.sweeper
    params = dict(sweeper.get("params") or {})
    swept = swept_keys(overrides, params)
    expanded = expand_sweep(overrides, params) if sweeper.get("_target_") == BASIC_SWEEPER else None
    jobs = None
    if expanded is not None:
        trackers = _job_trackers(config, expanded, swept, tracker)
        jobs = [PlannedJob(job, t, job_group(job, swept)) for job, t in zip(expanded, trackers)]
    sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
    return SweepPlan(sweep_id_of(sweep_dir), sweep_dir, sweep_title(overrides, params), " ".join(overrides),
                     swept, jobs, tracker, report, bool(config.get("quiet")))


def _job_trackers(config: Any, jobs: list[list[str]], swept: list[str], tracker: MLflowTracker) -> list[MLflowTracker]:
    """Each job's tracker: the sweep's own, unless the sweep varies where runs go (``experiment``,
    ``name``, ``tracking…``); then each job's config, composed as the sweeper will compose it."""
    if not any(k in ("experiment", "name") or k.split(".")[0].split("/")[0] == "tracking" for k in swept):
        return [tracker] * len(jobs)
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate

    loader, made, out = GlobalHydra.instance().config_loader(), {}, []
    for job in jobs:
        job_tracker = instantiate(loader.load_sweep_config(config, list(job)).tracking)
        out.append(made.setdefault(family_key(job_tracker), job_tracker))
    return out


def open_sweep(plan: SweepPlan) -> dict[str, Any]:
    """Create the sweep's parents (one per experiment it writes to) and, for a sweep over more than
    the seed, a run per group of seeds; write where they are into the sweep directory. Returns what
    was written."""
    families: dict[str, tuple[MLflowTracker, list[PlannedJob] | None]] = {}
    if plan.jobs is None:
        families[family_key(plan.tracker)] = (plan.tracker, None)
    for job in plan.jobs or []:
        families.setdefault(family_key(job.tracker), (job.tracker, []))[1].append(job)
    _hold(plan.sweep_dir)
    continued = _continue(plan, {key: tracker for key, (tracker, _) in families.items()})
    if continued is not None:
        return continued
    common = {"rgexp_version": rgexp.__version__, **git_state(Path(__file__).parent), SWEEP_ID: plan.sweep_id}
    record: dict[str, Any] = {"sweep_id": plan.sweep_id, "swept": plan.swept, "families": {}}
    for key, (tracker, jobs) in families.items():
        exp_id = tracker._retrying("create the experiment", tracker.setup)
        tags = {**common, SWEEP_ROLE_TAG: PARENT, SWEEP_DIR: str(plan.sweep_dir), TITLE: plan.title,
                OVERRIDES: plan.override_line[:_TAG_MAX], REPORT: str(plan.report).lower()}
        if jobs is not None:
            tags[JOBS] = str(len(jobs))
        parent = _create(tracker, exp_id, f"{tracker.experiment}: {plan.title}", tags)
        _OPEN.append((tracker, parent, plan.quiet))
        groups = Counter(job.group for job in jobs or [])
        holders = {} if len(groups) < 2 else {
            group: _create(tracker, exp_id, group, {**common, SWEEP_ROLE_TAG: GROUP, JOBS: str(n), **nested_under(parent)})
            for group, n in groups.items()}
        record["families"][key] = {"parent": parent, "groups": holders}
    atomic_write(plan.sweep_dir / SWEEP_FILE, json.dumps(record, indent=1).encode())
    return record


def _hold(sweep_dir: Path) -> None:
    """Lock the sweep's directory for as long as this process runs the sweep (the lock goes with the
    process, however it ends): a second launch there while this one runs is refused, not merged."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    handle = open(sweep_dir / LOCK_FILE, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigError(f"hydra.sweep.dir={sweep_dir}: its sweep is running in another process; wait for it to "
                          "end (or stop it), then run the command again to continue it") from None
    _HELD.append(handle)


def _release() -> None:
    while _HELD:
        _HELD.pop().close()  # closing the file drops its lock


def _continue(plan: SweepPlan, trackers: dict[str, MLflowTracker]) -> dict[str, Any] | None:
    """The record of the sweep that ran before in ``plan``'s directory with the same overrides, its
    parents and group holders reopened (RUNNING) for its jobs to finish what it left; None where the
    directory holds no sweep whose parents are in the store. ConfigError where it holds another."""
    record = read_record(plan.sweep_dir)
    if record is None or set(record.get("families", {})) != set(trackers):
        return None
    parents = {key: trackers[key].find_run(family["parent"]) for key, family in record["families"].items()}
    if None in parents.values():
        return None
    for parent in parents.values():
        if parent.data.tags.get(OVERRIDES) != plan.override_line[:_TAG_MAX]:
            raise ConfigError(f"hydra.sweep.dir={plan.sweep_dir} holds another sweep ({parent.info.run_name!r}, "
                              f"run {parent.info.run_id}); a sweep continues there only with the same overrides: "
                              "give these another hydra.sweep.dir")
    for key, family in record["families"].items():
        for run_id in [family["parent"], *family.get("groups", {}).values()]:
            trackers[key].client.update_run(run_id, status="RUNNING")
        _OPEN.append((trackers[key], family["parent"], plan.quiet))
    return record


def job_run(tracker: MLflowTracker, sweep_id: str, job_num: str) -> tuple[str, str] | None:
    """(run id, status) of job ``job_num``'s run in sweep ``sweep_id`` (the latest, if it was
    started more than once), None where the store holds none: a sweep continued in its directory
    skips a job that FINISHED and resumes one that did not."""
    exp = tracker._retrying("read the experiment", lambda: tracker.client.get_experiment_by_name(tracker.experiment))
    if exp is None:
        return None
    query = f"tags.{SWEEP_ID} = '{sweep_id}' and tags.job_num = '{job_num}'"
    runs = tracker._retrying("find the job's earlier run", lambda: tracker.client.search_runs(
        [exp.experiment_id], query, order_by=["attributes.start_time DESC"], max_results=1))
    return (runs[0].info.run_id, runs[0].info.status) if runs else None


def _create(tracker: MLflowTracker, exp_id: str, name: str, tags: dict[str, str]) -> str:
    run = tracker._retrying("create the sweep's parent run",
                            lambda: tracker.client.create_run(exp_id, run_name=name[:_RUN_NAME_MAX], tags=tags))
    return run.info.run_id


def read_record(sweep_dir: str | Path) -> dict[str, Any] | None:
    """What :func:`open_sweep` wrote into the sweep directory (None: no parent was made)."""
    try:
        return json.loads((Path(sweep_dir) / SWEEP_FILE).read_text())
    except (OSError, ValueError):
        return None


def parent_for(record: dict[str, Any], tracker: MLflowTracker, group: str) -> str | None:
    """The run a job's run goes under: its group's holder, else the parent of its experiment."""
    family = record.get("families", {}).get(family_key(tracker))
    if family is None:
        return None
    return family.get("groups", {}).get(group) or family.get("parent")


# ----------------------------------------------------------------------------------- closing
def close_open_sweeps(failed: bool) -> None:
    """Close every sweep this process opened (``failed``: the launcher stopped on an error) and print
    each one's lines; a sweep that cannot be closed is one line on stderr, its parent FAILED."""
    while _OPEN:
        tracker, parent, quiet = _OPEN.pop(0)
        try:
            lines = close_family(tracker, parent, launch_failed=failed)
        except Exception as err:  # noqa: BLE001 — the jobs' own errors were printed already: one line
            print(f"rgexp: error: the sweep's parent run {parent} could not be closed: {reason_of(err)}",
                  file=sys.stderr)
            with contextlib.suppress(Exception):
                tracker.client.set_terminated(parent, "FAILED")
            continue
        print("rgexp: " + (lines[0] if quiet else "\n".join(lines)), flush=True)
    _release()


def close_after_resume(tracker: MLflowTracker, run_id: str) -> list[str] | None:
    """Close again the family of ``run_id`` after it was resumed and finished (None: the run is no
    sweep's, or its sweep is still running and will close it itself)."""
    client = tracker.client
    holder = client.get_run(run_id).data.tags.get(PARENT_TAG)
    if holder is None:
        return None
    holder_tags = client.get_run(holder).data.tags
    parent = holder_tags.get(PARENT_TAG) if holder_tags.get(SWEEP_ROLE_TAG) == GROUP else holder
    run = client.get_run(parent) if parent else None
    if run is None or run.data.tags.get(SWEEP_ROLE_TAG) != PARENT or run.info.status == "RUNNING":
        return None
    return close_family(tracker, parent)


def close_family(tracker: MLflowTracker, parent_id: str, launch_failed: bool = False) -> list[str]:
    """Read the sweep's runs back, log each complete group's aggregate, mark the holders FINISHED or
    FAILED, write the report of a finished sweep; the lines it ends with (:func:`rgexp.summary.sweep_summary`)."""
    from rgexp.summary import sweep_summary, ui_address

    parent = tracker.client.get_run(parent_id)
    tags = parent.data.tags
    holders = children_of(tracker, parent_id, history=lambda name: False, holders=True)
    members = [(h.run_id, h.run_name, _count(h.tags.get(JOBS))) for h in holders] or [
        (parent_id, "", _count(tags.get(JOBS)))]
    groups = [_close_group(tracker, holder_id, label, expected, is_parent=holder_id == parent_id)
              for holder_id, label, expected in members]
    problems = [p for g in groups for p in g.problems]
    total = sum(g.total for g in groups)
    if not problems and (launch_failed or not total):
        problems.append("the launcher stopped on an error" if launch_failed else "no run started")
    status = "FAILED" if problems else "FINISHED"
    _mark(tracker, parent_id, status, "; ".join(problems), UNFINISHED in tags)
    written = None
    if status == "FINISHED" and tags.get(REPORT) == "true":
        written = _write_report(tracker, parent_id, [r for g in groups for r in g.finished], tags)
    return sweep_summary(parent.info.run_name, status, parent_id, total, [g.view for g in groups], problems,
                         *ui_address(tracker.uri, parent.info.experiment_id, parent_id),
                         tracker.report_command(tags.get(SWEEP_ID)), written)


@dataclass
class _Closed:
    """One group of a sweep, closed: its view for the terminal, its finished runs, what did not finish."""

    view: Any
    finished: list[RunRecord]
    problems: list[str]
    total: int


def _close_group(tracker: MLflowTracker, holder_id: str, label: str, expected: int | None,
                 is_parent: bool) -> _Closed:
    """A group whose runs all finished (``expected`` of them, when known) gets its aggregate; a group
    holder (not the parent, closed by its caller) ends FINISHED, else FAILED."""
    from rgexp.report.names import is_diagnostic
    from rgexp.summary import SweepGroup

    runs = children_of(tracker, holder_id, history=lambda name: not is_diagnostic(name))
    finished = [r for r in runs if r.status == "FINISHED"]
    missing = max(0, (expected if expected is not None else len(runs)) - len(runs))
    problems = [f"{r.run_name} {r.status} (resume: {tracker.resume_command(r.run_id)})"
                for r in runs if r.status != "FINISHED"]
    problems += [f"{label + ': ' if label else ''}{missing} run(s) never started"] if missing else []
    complete = bool(finished) and not problems
    if complete:
        _log_aggregate(tracker, holder_id, finished)
    if not is_parent:
        tracker.client.set_terminated(holder_id, "FINISHED" if complete else "FAILED")
    view = SweepGroup(label, [(f"seed={r.params.get('seed', '?')}", r.final) for r in finished])
    return _Closed(view, finished, problems, len(runs) + missing)


def _count(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _log_aggregate(tracker: MLflowTracker, holder_id: str, runs: list[RunRecord]) -> None:
    """The mean over ``runs`` of every result metric, at every step, on the holder; steps it holds
    already are not logged again (a family closed twice)."""
    from rgexp.summary import LEVEL, aggregated, seed_aggregate

    names = aggregated(sorted({n for r in runs for n in r.final}))
    curves = [{n: r.history.get(n) or [(0, r.final[n])] for n in names if n in r.final} for r in runs]
    tracked = tracker._open(holder_id)
    tracked.skip_logged()
    tracked.log_params({"ci_level": str(LEVEL)})  # the level of every _ci_low/_ci_high it holds
    for step, metrics in seed_aggregate(curves).items():
        tracked.log_metrics(metrics, step)
    tracked.flush()


def _mark(tracker: MLflowTracker, run_id: str, status: str, unfinished: str, had_tag: bool) -> None:
    """End the parent with ``status``; name what did not finish in a tag (dropped once all has)."""
    if unfinished:
        tracker.client.set_tag(run_id, UNFINISHED, unfinished[:_TAG_MAX])
    elif had_tag:
        tracker.client.delete_tag(run_id, UNFINISHED)
    tracker.client.set_terminated(run_id, status)


def _write_report(tracker: MLflowTracker, parent_id: str, runs: list[RunRecord], tags: dict[str, str]) -> str | None:
    """The comparison report over the sweep's runs, in ``<sweep dir>/report`` (a temporary directory
    when that cannot be written) and as the parent's artifacts ``report/``; its path, or None."""
    from rgexp.report.build import build_report

    with tempfile.TemporaryDirectory(prefix="rgexp-report-") as tmp:
        out = Path(tags[SWEEP_DIR]) / "report" if tags.get(SWEEP_DIR) else Path(tmp)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError:  # (a family closed again from elsewhere): the parent's artifacts only
            out = Path(tmp)
        report = build_report(runs, out, title=f"Sweep report: {tags.get(TITLE, '')}".rstrip(": "),
                              selection=f"sweep={tags.get(SWEEP_ID)}")
        tracker.client.log_artifacts(parent_id, str(out), "report")
        return str(report.html) if out != Path(tmp) else None
