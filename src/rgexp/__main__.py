"""``python -m rgexp [overrides] [-m sweep overrides]``: Hydra wraps :func:`rgexp.pipeline.run`.

The argv fix-up moves ``-m``/``--multirun`` in front of all overrides: hydra-core 1.3's argument
parser rejects overrides on both sides of the flag (upstream issue #3053). Before Hydra starts,
``preflight`` composes the config (Hydra's groups included) and turns composition errors into one
line; for a sweep, ``check_sweep`` validates every job the way ``pipeline.run`` would (both live in
:mod:`rgexp.cli`, which ``python -m rgexp.report`` shares). Errors are one line and exit 2 (bad
input), 1 (the artifact location cannot be written; the tracking store refused a write), 75 (the
tracking server stayed away past ``tracking.retry_seconds``: the line says what waits on local
disk and the command that completes the run) or 130 (stopped by a signal).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from rgexp.errors import ConfigError, Interrupted, StorageError

from rgexp.cli import CONFIG_DIR, check_sweep, explain, fix_argv, preflight  # noqa: F401  (re-exported)

EXIT_TRACKING_LOST = 75  # EX_TEMPFAIL (sysexits.h): try again later, here once the server is back


def hydra_tags() -> tuple[dict[str, str], list[str]]:
    """MLflow tags from Hydra's runtime (overrides, sweep id, job number) and the task overrides."""
    hc = HydraConfig.get()
    overrides = list(hc.overrides.task)
    tags = {"hydra_overrides": " ".join(overrides) or "(none)"}
    if hc.mode == RunMode.MULTIRUN:
        sweep_dir = str(Path(hc.sweep.dir).resolve())
        tags["sweep_id"] = hashlib.sha1(sweep_dir.encode()).hexdigest()[:12]
        tags["sweep_dir"] = sweep_dir
        tags["job_num"] = str(hc.job.num)
    return tags, overrides


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
        result = run(cfg, tags=tags, overrides=overrides)
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


if __name__ == "__main__":
    main()
