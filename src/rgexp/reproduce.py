"""``python -m rgexp.reproduce [scale=paper] [seeds=3] [presets=a,b,…] [jobs=1] [out=DIR]
[results=FILE] [level=0.95] [tracking.root=…|tracking.uri=…|tracking=server]`` — every source in one command.

Runs each preset (``rgexp/conf/experiment``) at ``scale`` with seeds 0 … seeds−1 as one sweep per preset
(``jobs`` > 1: in parallel with Hydra's joblib launcher), then writes one reproduction report across
all of them: the scorecard of every claim of every source, with its figures, as report.md/.html in
``out`` (default ``reports/reproduce/<scale>-<time>``) and as artifacts of a run of the MLflow
experiment ``reproduce``; and the results file (``results``; default ``docs/results.md`` of the
source checkout the package runs from, else ``out/results.md``: :mod:`rgexp.report.results`) with
its provenance — commit and clean tree, dates, command, machine, wall time and peak memory per
preset. Resumable: ``out/reproduce.json`` records each preset's finished runs;
running the same command with the same ``out`` again skips the presets already done (a preset
interrupted part-way runs again as a whole). Bad arguments: one line, exit status 2.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["PRESETS", "main", "parse_args"]

PRESETS = ("rbm_flow", "iso_flow", "coarse_graining", "temperature_flow", "long_range", "mehta_schwab",
           "ising1d_fixed_point")
_RUN_LINE = re.compile(r"^rgexp: run ([0-9a-f]{32}) (FINISHED|FAILED|KILLED)", re.MULTILINE)


class UsageError(ValueError):
    """A bad argument; the message is the one line printed."""


def parse_args(args: list[str]) -> dict:
    """key=value arguments -> options; tracking overrides are passed on to every run and the report."""
    opts = {"scale": "paper", "seeds": 3, "presets": list(PRESETS), "jobs": 1, "out": None, "results": None,
            "level": 0.95, "tracking": [], "argv": list(args)}
    for arg in args:
        key, eq, value = arg.partition("=")
        if not eq or not value:
            raise UsageError(f"malformed argument {arg!r}; use key=value")
        if key == "tracking" or key.startswith("tracking."):
            opts["tracking"].append(arg)
        elif key == "scale" and value in ("quick", "paper"):
            opts["scale"] = value
        elif key in ("seeds", "jobs") and value.isdigit() and int(value) >= 1:
            opts[key] = int(value)
        elif key == "presets":
            opts["presets"] = [p for p in value.split(",") if p]
        elif key in ("out", "results"):
            opts[key] = Path(value)
        elif key == "level":
            opts["level"] = float(value)
        else:
            raise UsageError(f"bad argument {arg!r}; allowed: scale=quick|paper, seeds=N>=1, jobs=N>=1, "
                             "presets=a,b, out=DIR, results=FILE, level=X, tracking.<key>=…")
    return opts


def _run_preset(preset: str, opts: dict) -> tuple[list[str], float, str]:
    """One sweep of ``preset`` over the seeds in a fresh process: (finished run ids, seconds, stderr tail)."""
    seeds = ",".join(str(s) for s in range(opts["seeds"]))
    launcher = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={opts['jobs']}"] if opts["jobs"] > 1 else []
    cmd = [sys.executable, "-m", "rgexp", "-m", f"experiment={preset}", f"scale={opts['scale']}",
           f"seed={seeds}", "progress=false", "quiet=true", "report=false",  # one report over every preset, below
           *launcher, *opts["tracking"]]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    runs = [m[0] for m in _RUN_LINE.findall(proc.stdout) if m[1] == "FINISHED"]
    return runs, time.perf_counter() - t0, "" if proc.returncode == 0 else proc.stderr.strip()[-400:]


def _report(state: dict, out: Path, opts: dict, code: list[tuple[str, str]], started: str) -> int:
    from rgexp.report.__main__ import compose_tracker
    from rgexp.report.build import build_report
    from rgexp.report.names import is_diagnostic
    from rgexp.report.provenance import command_line
    from rgexp.report.results import write_results
    from rgexp.tracking import log_report, read_runs

    presets = {p: state[p] for p in opts["presets"]}
    run_ids = [r for s in presets.values() for r in s["runs"]]
    seconds = sum(s["seconds"] for s in presets.values())
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
    results = write_results(_results_path(opts, out), report, finished, presets,
                            command=command_line("rgexp.reproduce", opts["argv"]), code=code, started=started,
                            finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"), level=opts["level"],
                            min_runs=min_runs)
    print(f"rgexp.reproduce: wrote {results}")
    return 0


def _results_path(opts: dict, out: Path) -> Path:
    """``results=``, else the checkout's docs/results.md, else (an installed package) out/results.md."""
    from rgexp.report.provenance import checkout_root

    if opts["results"] is not None:
        return opts["results"]
    root = checkout_root()
    return root / "docs" / "results.md" if root is not None else out / "results.md"


def reproduce(opts: dict) -> int:
    """Run what ``out/reproduce.json`` does not hold yet, then the report; returns the exit status."""
    from rgexp.report.provenance import code_state

    code, started = code_state(), time.strftime("%Y-%m-%d %H:%M:%S %Z")  # before anything is written
    out = opts["out"] or Path("reports") / "reproduce" / f"{opts['scale']}-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    state_file = out / "reproduce.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    for preset in opts["presets"]:
        if preset in state:
            print(f"rgexp.reproduce: {preset}: done before ({len(state[preset]['runs'])} runs), skipped")
            continue
        runs, seconds, error = _run_preset(preset, opts)
        if error:
            print(f"rgexp.reproduce: {preset} failed after {seconds:.0f} s: {error.splitlines()[-1]}", file=sys.stderr)
            return 1
        state[preset] = {"runs": runs, "seconds": seconds}
        state_file.write_text(json.dumps(state, indent=1))
        print(f"rgexp.reproduce: {preset}: {len(runs)} runs in {seconds / 60:.1f} min")
    return _report(state, out, opts, code, started)


def main(argv: list[str] | None = None) -> int:
    try:
        return reproduce(parse_args(sys.argv[1:] if argv is None else argv))
    except UsageError as err:
        print(f"rgexp.reproduce: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
