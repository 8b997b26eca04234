"""``python -m rgexp.reproduce [scale=paper] [seeds=3] [presets=a,b,…] [jobs=auto|N] [out=DIR]
[results=FILE] [level=0.95] [tracking.root=…|tracking.uri=…|tracking=server]`` — every source in one command.

Runs each preset (``rgexp/conf/experiment``) at ``scale`` with seeds 0 … seeds−1 as one sweep per preset,
``jobs`` runs at a time (default: one per core, fewer where memory does not hold ``JOB_GB`` per job;
:func:`plan`): the presets' sweeps side by side, the longest first, and a sweep's seeds in parallel
(Hydra's joblib launcher) where there are more jobs than presets, each job with its share of the
cores' threads. Then it writes one reproduction report across
all of them: the scorecard of every claim of every source, with its figures, as report.md/.html in
``out`` (default ``reports/reproduce/<scale>-<time>``) and as artifacts of a run of the MLflow
experiment ``reproduce``; and the results file (``results``; default ``docs/results.md`` of the
source checkout the package runs from, else ``out/results.md``: :mod:`rgexp.report.results`) with
its provenance — commit and clean tree, dates, command, machine, wall time and peak memory per
preset. Resumable: ``out/reproduce.json`` records each preset's finished runs;
running the same command with the same ``out`` again skips the presets already done, and continues
a preset interrupted part-way: each preset's sweep runs in ``out/sweeps/<preset>``, where its runs
that finished are kept and those stopped are resumed from their checkpoints. Bad arguments: one line, exit status 2.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PRESETS", "JOB_GB", "Plan", "plan", "run_sweeps", "main", "parse_args"]

PRESETS = ("rbm_flow", "iso_flow", "coarse_graining", "temperature_flow", "long_range", "mehta_schwab",
           "ising1d_fixed_point")
# Longest first at paper scale (docs/benchmarks.md), so that the last sweep to start is a short one.
LONGEST_FIRST = ("iso_flow", "rbm_flow", "temperature_flow", "coarse_graining", "long_range", "mehta_schwab",
                 "ising1d_fixed_point")
JOB_GB = 2.5  # the most a paper-scale job peaks at (docs/benchmarks.md), with room
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
_RUN_LINE = re.compile(r"^rgexp: run ([0-9a-f]{32}) (FINISHED|FAILED|KILLED)", re.MULTILINE)


class UsageError(ValueError):
    """A bad argument; the message is the one line printed."""


def parse_args(args: list[str]) -> dict:
    """key=value arguments -> options; tracking overrides are passed on to every run and the report."""
    opts = {"scale": "paper", "seeds": 3, "presets": list(PRESETS), "jobs": None, "out": None, "results": None,
            "level": 0.95, "tracking": [], "argv": list(args)}
    for arg in args:
        if common_option(opts, arg):
            continue
        key, value = key_value(arg)
        if key == "presets":
            opts["presets"] = [p for p in value.split(",") if p]
        elif key == "results":
            opts[key] = Path(value)
        else:
            raise UsageError(f"bad argument {arg!r}; allowed: scale=quick|paper, seeds=N>=1, jobs=auto|N>=1, "
                             "presets=a,b, out=DIR, results=FILE, level=X in (0, 1), tracking.<key>=…")
    return opts


def key_value(arg: str) -> tuple[str, str]:
    """``key=value`` split; UsageError for anything else."""
    key, eq, value = arg.partition("=")
    if not eq or not value:
        raise UsageError(f"malformed argument {arg!r}; use key=value")
    return key, value


def common_option(opts: dict, arg: str) -> bool:
    """Set in ``opts`` an argument this command and ``rgexp.study`` share (``tracking…``, ``scale``,
    ``seeds``, ``jobs``, ``out``, ``level``); False for another key or a value not allowed."""
    key, value = key_value(arg)
    if key == "tracking" or key.startswith("tracking."):
        opts["tracking"].append(arg)
    elif key == "scale" and value in ("quick", "paper"):
        opts["scale"] = value
    elif key in ("seeds", "jobs") and value.isdigit() and int(value) >= 1:
        opts[key] = int(value)
    elif key == "jobs" and value == "auto":
        opts["jobs"] = None
    elif key == "out":
        opts["out"] = Path(value)
    elif key == "level" and _is_level(value):
        opts["level"] = float(value)
    else:
        return False
    return True


def _is_level(value: str) -> bool:
    try:
        return 0 < float(value) < 1
    except ValueError:
        return False


def command_main(prog: str, body, parse, argv: list[str] | None) -> int:
    """A command's exit status: ``body(parse(argv))``, or 2 with one line for a bad argument."""
    try:
        return body(parse(sys.argv[1:] if argv is None else argv))
    except UsageError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2


def sweep_dir(out: Path, preset: str) -> Path:
    """Where a preset's sweep runs (and, cut short, is continued): ``out/sweeps/<preset>``."""
    return out / "sweeps" / preset


@dataclass(frozen=True)
class Plan:
    """How the sweeps share the machine: ``lanes`` sweeps at once, each running ``per_sweep`` jobs at
    once, each job with ``threads`` threads (torch, BLAS, numba); ``note``: why fewer jobs than asked."""

    lanes: int
    per_sweep: int
    threads: int
    note: str = ""


def plan(jobs: int | None, presets: int, seeds: int, cores: int, available_gb: float) -> Plan:
    """Split ``jobs`` (None: one per core) over ``presets`` sweeps of ``seeds`` seeds, at most as many as
    ``available_gb`` holds at ``JOB_GB`` each; the cores' threads shared evenly between the jobs."""
    wanted = cores if jobs is None else jobs
    fits = max(1, int(available_gb // JOB_GB))
    total = max(1, min(wanted, fits, presets * seeds))
    note = (f"{total} jobs at a time, not {wanted}: {available_gb:.1f} GB available holds {fits} of "
            f"{JOB_GB} GB" if fits < wanted and total == fits else "")
    lanes = min(total, presets)
    per_sweep = max(1, min(seeds, total // lanes))
    return Plan(lanes, per_sweep, max(1, cores // (lanes * per_sweep)), note)


def _machine_plan(opts: dict) -> Plan:
    import psutil

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return plan(opts["jobs"], len(opts["presets"]), opts["seeds"], cores, psutil.virtual_memory().available / 2**30)


def _environment(threads: int) -> dict[str, str]:
    """This process's environment with each job's thread count, unless the user set one."""
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env.setdefault(name, str(threads))
    return env


def _run_preset(preset: str, opts: dict, how: Plan, sweep_dir: Path) -> dict:
    """One sweep of ``preset`` over the seeds in a fresh process, in ``sweep_dir`` (where the same
    sweep, interrupted, is continued: its finished runs kept, its stopped ones resumed): {"runs",
    "seconds", "started", "ended", "error"} (finished run ids, wall seconds, epoch times, stderr tail
    when it failed)."""
    seeds = ",".join(str(s) for s in range(opts["seeds"]))
    launcher = (["hydra/launcher=joblib", f"hydra.launcher.n_jobs={how.per_sweep}"] if how.per_sweep > 1 else [])
    cmd = [sys.executable, "-m", "rgexp", "-m", f"experiment={preset}", f"scale={opts['scale']}",
           f"seed={seeds}", "progress=false", "quiet=true", "report=false",  # one report over every preset, below
           *launcher, *opts["tracking"], f"hydra.sweep.dir={sweep_dir.resolve()}"]
    started, t0 = time.time(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_environment(how.threads))
    runs = [m[0] for m in _RUN_LINE.findall(proc.stdout) if m[1] == "FINISHED"]
    return {"runs": runs, "seconds": time.perf_counter() - t0, "started": started, "ended": time.time(),
            "error": "" if proc.returncode == 0 else proc.stderr.strip()[-400:]}


def _report(state: dict, out: Path, opts: dict, code: list[tuple[str, str]], started: str) -> int:
    from rgexp.report.__main__ import compose_tracker
    from rgexp.report.build import build_report
    from rgexp.report.names import is_diagnostic
    from rgexp.report.provenance import command_line, wall_seconds, written_file
    from rgexp.report.results import write_results
    from rgexp.tracking import log_report, read_runs

    presets = {p: state[p] for p in opts["presets"]}
    run_ids = [r for s in presets.values() for r in s["runs"]]
    seconds = wall_seconds(list(presets.values()))
    tracker = compose_tracker([*opts["tracking"], "name=reproduce"])  # the report's own experiment
    finished = [r for r in read_runs(tracker, run_ids=run_ids, history=lambda n: not is_diagnostic(n))
                if r.status == "FINISHED"]
    if not finished:
        raise UsageError("no finished runs to report on")
    seeds = "seed 0" if opts["seeds"] == 1 else f"seeds 0–{opts['seeds'] - 1}"
    selection = f"{len(opts['presets'])} presets at scale={opts['scale']}, {seeds}"
    min_runs = min(2, opts["seeds"])
    report = build_report(finished, out, title="Reproduction report: every source", selection=selection,
                          level=opts["level"], min_runs=min_runs)
    counts = report.counts_text()
    print(f"rgexp.reproduce: {len(finished)} runs in {seconds / 60:.1f} min; wrote {report.markdown} and "
          f"{report.html.name} (scorecard: {counts})")
    run_id = log_report(tracker, "reproduce", out, {"report_runs": ",".join(r.run_id for r in finished),
                                                    "report_selection": selection, "report_verdicts": counts},
                        report.files)
    print(f"rgexp.reproduce: logged as artifacts report/ of run {run_id} (experiment 'reproduce')")
    results = write_results(written_file(opts["results"], "results.md", out), report, finished, presets,
                            command=command_line("rgexp.reproduce", opts["argv"]), code=code, started=started,
                            finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"), level=opts["level"],
                            min_runs=min_runs)
    print(f"rgexp.reproduce: wrote {results}")
    return 0


def reproduce(opts: dict) -> int:
    """Run what ``out/reproduce.json`` does not hold yet, then the report; returns the exit status."""
    from rgexp.report.provenance import code_state

    code, started = code_state(), time.strftime("%Y-%m-%d %H:%M:%S %Z")  # before anything is written
    out = opts["out"] or Path("reports") / "reproduce" / f"{opts['scale']}-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    state_file = out / "reproduce.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    for preset in (p for p in opts["presets"] if p in state):
        print(f"rgexp.reproduce: {preset}: done before ({len(state[preset]['runs'])} runs), skipped")
    todo = sorted((p for p in opts["presets"] if p not in state),
                  key=lambda p: LONGEST_FIRST.index(p) if p in LONGEST_FIRST else len(LONGEST_FIRST))
    failed = run_sweeps(todo, opts, state, state_file) if todo else 0
    return 1 if failed else _report(state, out, opts, code, started)


def run_sweeps(todo: list[str], opts: dict, state: dict, state_file: Path) -> int:
    """Run the presets ``todo``, recording each finished one in ``state_file`` as it ends; the number failed."""
    how = _machine_plan(opts | {"presets": todo})
    print(f"rgexp.reproduce: {how.lanes} sweep(s) at a time, {how.per_sweep} job(s) each, {how.threads} "
          f"thread(s) per job{'; ' + how.note if how.note else ''}")
    failed = 0
    with ThreadPoolExecutor(how.lanes) as pool:
        futures = {pool.submit(_run_preset, p, opts, how, sweep_dir(state_file.parent, p)): p for p in todo}
        for future in as_completed(futures):  # each recorded as it ends: an interruption loses only the running
            preset, result = futures[future], future.result()
            error = result.pop("error")
            if error:
                failed += 1
                print(f"rgexp.reproduce: {preset} failed after {result['seconds']:.0f} s: {error.splitlines()[-1]}",
                      file=sys.stderr)
                continue
            state[preset] = result
            state_file.write_text(json.dumps(state, indent=1))
            print(f"rgexp.reproduce: {preset}: {len(result['runs'])} runs in {result['seconds'] / 60:.1f} min")
    return failed


def main(argv: list[str] | None = None) -> int:
    return command_main("rgexp.reproduce", reproduce, parse_args, argv)


if __name__ == "__main__":
    sys.exit(main())
