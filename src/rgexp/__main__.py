"""``python -m rgexp [overrides] [-m sweep overrides]``: Hydra wraps :func:`rgexp.pipeline.run`.

The argv fix-up moves ``-m``/``--multirun`` in front of all overrides: hydra-core 1.3's argument
parser rejects overrides on both sides of the flag (upstream issue #3053). Before Hydra starts,
``preflight`` composes the config (Hydra's groups included) and turns composition errors into one
line; for a sweep, ``check_sweep`` validates every job the way ``pipeline.run`` would (both live in
:mod:`rgexp.cli`, which ``python -m rgexp.report`` shares). Errors are one line and exit 2 (bad
input), 1 (the artifact location cannot be written; the tracking store refused a write), 75 (the
tracking server stayed away past ``tracking.retry_seconds``: the line says what waits on local
disk and the command that completes the run) or 130 (stopped by a signal).

A sweep (``-m``) is one MLflow family (:mod:`rgexp.tracking.sweep`): the callback ``SweepSetup``
makes its parent run before any job, each job nests its run under it (:func:`join_sweep`), and
after the last job, or when the launcher stopped on a job's error (``main``'s ``finally``), the
parent is closed: FINISHED with the mean over seeds, or FAILED naming the runs that did not
finish. A resumed run of a sweep closes its family again when it finishes. The same sweep launched
again in its directory (``hydra.sweep.dir``) continues it: finished jobs are skipped, stopped ones
resumed (:func:`earlier_run`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict

from rgexp.errors import ConfigError, Interrupted, StorageError

from rgexp.cli import CONFIG_DIR, check_sweep, explain, fix_argv, preflight  # noqa: F401  (re-exported)

EXIT_TRACKING_LOST = 75  # EX_TEMPFAIL (sysexits.h): try again later, here once the server is back


def hydra_tags() -> tuple[dict[str, str], list[str]]:
    """MLflow tags from Hydra's runtime (overrides, each config group's choice, sweep id, job number)
    and the task overrides."""
    from rgexp.cli import choice_tags
    from rgexp.tracking.sweep import sweep_id_of

    hc = HydraConfig.get()
    overrides = list(hc.overrides.task)
    tags = {"hydra_overrides": " ".join(overrides) or "(none)", **choice_tags(hc.runtime.choices)}
    if hc.mode == RunMode.MULTIRUN:
        sweep_dir = str(sweep_directory())
        tags["sweep_id"] = sweep_id_of(sweep_dir)
        tags["sweep_dir"] = sweep_dir
        tags["job_num"] = str(hc.job.num)
    return tags, overrides


def sweep_directory() -> Path:
    """The sweep's directory as the launching process resolved it (a job may have changed into its
    own directory: ``hydra.job.chdir=true``)."""
    hc = HydraConfig.get()
    return (Path(hc.runtime.cwd) / hc.sweep.dir).resolve()


def join_sweep(cfg: DictConfig, tags: dict[str, str], overrides: list[str]) -> str | None:
    """In a sweep: nest the job's run under its parent (``tags``) and return its name, what varies
    (``model=stacked_rbm seed=1``); None for a single run, a resume, or a sweep without a parent."""
    from rgexp.cli import job_group, job_name
    from rgexp.config import instantiate_group
    from rgexp.tracking.sweep import nested_under, parent_for, read_record

    hc = HydraConfig.get()
    record = read_record(sweep_directory()) if hc.mode == RunMode.MULTIRUN and not cfg.get("resume") else None
    if record is None:
        return None
    swept = record.get("swept", [])
    parent = parent_for(record, instantiate_group(cfg.tracking, "tracking"), job_group(overrides, swept))
    if parent is not None:
        tags.update(nested_under(parent))
    return job_name(overrides, swept, hc.runtime.choices)


def earlier_run(cfg: DictConfig, tags: dict[str, str]) -> tuple[str, str] | None:
    """In a sweep launched again in its own directory: (run id, status) of this job's run from
    before, None for a job that never started, a single run or a resume."""
    from rgexp.config import instantiate_group
    from rgexp.tracking.sweep import job_run

    if "job_num" not in tags or cfg.get("resume"):
        return None
    return job_run(instantiate_group(cfg.tracking, "tracking"), tags["sweep_id"], tags["job_num"])


def close_family_of(cfg: DictConfig, run_id: str) -> list[str]:
    """After a resumed run finished: its sweep's parent closed again (the aggregate of groups now
    complete, its status); the lines to print, none for a run of no sweep."""
    from rgexp.config import instantiate_group
    from rgexp.tracking.sweep import close_after_resume

    try:
        return close_after_resume(instantiate_group(cfg.tracking, "tracking"), run_id) or []
    except Exception as err:  # noqa: BLE001 — the run itself finished: say why its family was not updated
        return [f"warning: the sweep of run {run_id} could not be closed again: {str(err).splitlines()[0]}"]


def resume_hint(err: BaseException, cfg: DictConfig) -> str:
    """The command that continues the run ``err`` is about: the one the tracking layer wrote
    (it knows the store and the pending record), else one from the run id and this config's
    tracking keys."""
    command = getattr(err, "resume_command", None)
    run_id = getattr(err, "run_id", None)
    if command is None and run_id is not None:
        from rgexp.tracking.outage import resume_command

        tracking = cfg.get("tracking") or {}
        command = resume_command(run_id, tracking.get("uri"), tracking.get("root"))
    return command or "python -m rgexp resume=<run_id>"


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def _task(cfg: DictConfig) -> None:
    from rgexp.pipeline import run
    from rgexp.tracking import TrackingError, TrackingLost

    tags, overrides = hydra_tags()
    try:
        name = join_sweep(cfg, tags, overrides)
        before = earlier_run(cfg, tags)
        if before is not None and before[1] == "FINISHED":
            print(f"rgexp: run {before[0]} FINISHED (before, in this sweep's directory: not run again)")
            return
        if before is not None:  # stopped or lost with its machine: it goes on from its checkpoint
            with open_dict(cfg):
                cfg.resume = before[0]
        result = run(cfg, tags=tags, overrides=overrides, run_name=name)
    except ConfigError as err:
        print(f"rgexp: error: {explain(err, overrides)}", file=sys.stderr)
        sys.exit(2)
    except Interrupted as err:
        print(f"rgexp: interrupted ({err}); resume with: {resume_hint(err, cfg)}", file=sys.stderr)
        sys.exit(130)
    except StorageError as err:  # the run (if one was started) has been marked FAILED
        hint = f"; once it is writable, resume with: {resume_hint(err, cfg)}" if getattr(err, "run_id", None) else ""
        print(f"rgexp: error: {err}{hint}", file=sys.stderr)
        sys.exit(1)
    except TrackingLost as err:  # the message says what waits where, and the resume command
        print(f"rgexp: error: {err}", file=sys.stderr)
        sys.exit(EXIT_TRACKING_LOST)
    except TrackingError as err:  # the server refused a write: the run (if any) is marked FAILED
        hint = f"; resume with: {resume_hint(err, cfg)}" if getattr(err, "run_id", None) else ""
        print(f"rgexp: error: {err}{hint}", file=sys.stderr)
        sys.exit(1)
    if cfg.get("quiet"):
        print(f"rgexp: run {result['run_id']} {result['status']}")
    else:
        print("rgexp: " + "\n".join(result["summary"]))
    family = close_family_of(cfg, result["run_id"]) if cfg.get("resume") else []
    if family:
        print("rgexp: " + (family[0] if cfg.get("quiet") else "\n".join(family)))


def main() -> None:
    sys.argv = fix_argv(sys.argv)
    try:
        problem = preflight(sys.argv) or check_sweep(sys.argv)
        if problem is not None:
            print(f"rgexp: error: {problem}", file=sys.stderr)
            sys.exit(2)
        _task()
    except KeyboardInterrupt:  # Ctrl-C before a run installed its handler (imports, checks)
        print("rgexp: interrupted before any run started; nothing was written", file=sys.stderr)
        sys.exit(130)
    finally:  # a sweep whose launcher stopped on a job's error: its parent ends FAILED, naming the runs
        sweep = sys.modules.get("rgexp.tracking.sweep")  # (not imported: no sweep was opened)
        if sweep is not None:
            sweep.close_open_sweeps(failed=True)


if __name__ == "__main__":
    main()
