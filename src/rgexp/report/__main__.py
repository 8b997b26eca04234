"""``python -m rgexp.report experiment=NAME [sweep=ID] [tag.KEY=VALUE …] [runs=ID,ID] [out=DIR]
[level=0.95] [min_runs=2] [log=true|false] [name=…] [tracking=server] [tracking.uri=…] [tracking.root=…]``

The project's Hydra config (``rgexp/conf/``) is composed with the config overrides (``experiment``,
``name``, ``tracking…``), exactly as ``python -m rgexp`` composes it, so ``experiment=X`` finds the
MLflow experiment and store that X's runs were logged to (``name=X``: the experiment of a run that
used no preset, e.g. ``name=default``). ``sweep=ID`` without ``experiment``/``name`` reads that
sweep's runs in whichever experiments they are: the command a sweep prints. Every other argument
is a report key. Bad arguments: one line on stderr, exit status 2.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Options", "parse_args", "main"]

REPORT_KEYS = ("sweep", "runs", "out", "level", "min_runs", "log")
CONFIG_KEYS = ("experiment", "name", "tracking")
ALLOWED = "sweep, runs, tag.<key>, out, level, min_runs, log, experiment, name, tracking, tracking.<key>"


class UsageError(ValueError):
    """A bad command-line argument; the message is the one line printed."""


@dataclass
class Options:
    overrides: list[str] = field(default_factory=list)  # for Hydra's compose
    sweep: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    out: Path | None = None
    level: float = 0.95
    min_runs: int = 2
    log: bool = True


def _set(opts: Options, key: str, value: str) -> None:
    if key == "sweep":
        opts.sweep = value or None
    elif key == "runs":
        opts.runs = [r.strip() for r in value.split(",") if r.strip()]
        if not opts.runs:
            raise UsageError("runs must be a comma-separated list of MLflow run ids, got ''")
    elif key == "out":
        opts.out = Path(value).expanduser()
    elif key == "level":
        try:
            opts.level = float(value)
        except ValueError:
            opts.level = math.nan
        if not 0 < opts.level < 1:
            raise UsageError(f"level must be a number in (0, 1), got {value!r}")
    elif key == "min_runs":
        if not value.isdigit() or int(value) < 1:
            raise UsageError(f"min_runs must be an integer >= 1, got {value!r}")
        opts.min_runs = int(value)
    elif key == "log":
        if value.lower() not in ("true", "false"):
            raise UsageError(f"log must be one of true, false, got {value!r}")
        opts.log = value.lower() == "true"


def parse_args(args: list[str]) -> Options:
    """Split ``key=value`` arguments into report options and config overrides."""
    opts = Options()
    for arg in args:
        key, eq, value = arg.partition("=")
        if not eq or not key:
            raise UsageError(f"expected key=value, got {arg!r}; allowed keys: {ALLOWED}")
        if key in REPORT_KEYS:
            _set(opts, key, value)
        elif key.startswith("tag."):
            if not key[4:]:
                raise UsageError(f"tag.<key> needs a tag name, got {arg!r}")
            opts.tags[key[4:]] = value
        elif key in CONFIG_KEYS or key.startswith("tracking."):
            opts.overrides.append(arg)
        else:
            raise UsageError(f"unknown key '{key}'; allowed: {ALLOWED}")
    return opts


def compose_tracker(overrides: list[str]):
    """The ``tracking`` group of the project's config composed with ``overrides``, instantiated."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from rgexp.cli import CONFIG_DIR, preflight
    from rgexp.config import instantiate_group
    from rgexp.errors import ConfigError

    GlobalHydra.instance().clear()
    problem = preflight(["rgexp.report", *overrides])
    if problem is not None:
        raise UsageError(problem)
    try:  # what preflight lets through for a multirun (name=a,b) is still not one config
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            cfg = compose("config", overrides=overrides)
    except Exception as err:  # Hydra raises several types; its first line names the argument
        raise UsageError(str(err).splitlines()[0] + "; a report reads one experiment (no sweeps)") from None
    try:
        return instantiate_group(cfg.tracking, "tracking")
    except ConfigError as err:
        raise UsageError(str(err)) from None


def _selection(opts: Options, experiment: str | None) -> str:
    """What was read, for the report's intro (``experiment`` None: every experiment)."""
    parts = [f"runs={','.join(opts.runs)}"] if opts.runs else [f"experiment '{experiment}'"] if experiment else []
    parts += [f"sweep={opts.sweep}"] if opts.sweep else []
    parts += [f"tag.{k}={v}" for k, v in opts.tags.items()]
    return ", ".join(parts)


def _out_dir(opts: Options, experiment: str) -> Path:
    from rgexp.report.names import slug

    if opts.out is not None:
        return opts.out
    base = Path("reports") / slug(experiment) / time.strftime("%Y%m%d-%H%M%S")
    out, k = base, 1
    while out.exists():  # two reports in one second
        out, k = base.with_name(f"{base.name}-{k}"), k + 1
    return out


def run_report(opts: Options) -> int:
    """Read, build, write, log; returns the exit status."""
    from rgexp.report.build import build_report
    from rgexp.report.names import is_diagnostic
    from rgexp.tracking import log_report, read_runs

    tracker = compose_tracker(opts.overrides)
    where = {o.split("=", 1)[0].lstrip("+~") for o in opts.overrides}
    everywhere = bool(opts.sweep) and not where & {"experiment", "name", "tracking.experiment"}
    records = read_runs(tracker, sweep_id=opts.sweep, tags=opts.tags, run_ids=opts.runs or None,
                        history=lambda name: not is_diagnostic(name), every_experiment=everywhere)
    selection = _selection(opts, None if everywhere else tracker.experiment)
    finished = [r for r in records if r.status == "FINISHED"]
    if not finished:
        found = f"{len(records)} found, none FINISHED" if records else "none found"
        raise UsageError(f"no finished runs match {selection} in {tracker.uri} ({found})")
    experiment = finished[0].experiment
    out = _out_dir(opts, experiment)
    report = build_report(finished, out, title=f"Comparison report: {experiment}", selection=selection,
                          skipped=[r for r in records if r.status != "FINISHED"], level=opts.level,
                          min_runs=opts.min_runs)
    counts = report.counts_text()
    print(f"rgexp.report: wrote {report.markdown} and {report.html.name} ({len(finished)} runs; scorecard: {counts})")
    if opts.log:
        tags = {"report_runs": ",".join(r.run_id for r in finished), "report_selection": selection,
                "report_verdicts": counts}
        try:
            run_id = log_report(tracker, experiment, out, tags, report.files)
        except Exception as err:  # the files are written: say so, and why they could not be logged
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            print(f"rgexp.report: error: the report is in {out} but could not be logged: {first}", file=sys.stderr)
            return 1
        print(f"rgexp.report: logged as artifacts report/ of run {run_id} (experiment '{experiment}')")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status (2: bad arguments or nothing to report on)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        return run_report(parse_args(args))
    except (UsageError, LookupError) as err:
        message = err.args[0] if err.args else str(err)
        print(f"rgexp.report: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
