"""``python -m rgexp.study [questions=side,size] [scale=paper] [seeds=N] [jobs=auto|N] [out=DIR]
[page=FILE] [level=0.95] [tracking.root=…|tracking.uri=…]`` — the fixed-point study in one command.

Question ``side`` (what picks the side of rbm_flow's fixed point): the preset ``fixed_point_side``, a
sweep over its settings (n_hidden 16, 36, 64, 81, 100; at 81, plain SGD, CD-1, a decaying learning
rate), 5 seeds each by default (40 runs). Question ``size`` (T* against L in Iso et al.'s setup):
``fixed_point_size`` (L = 6, 8, 10, 12), 3 seeds each (12 runs). One preset a question, so each
question's runs sit under one sweep parent. Each preset runs as one sweep, as
``rgexp.reproduce`` runs them (side by side where the cores and memory allow; resumable: the same
command with the same ``out`` skips the presets recorded in ``out/study.json`` and continues one
interrupted part-way, from its finished and checkpointed runs in ``out/sweeps/<preset>``); then the page
(default ``docs/fixed_point_study.md`` of the source checkout, else ``out/fixed_point_study.md``) is
written from every finished run of those presets in the store: one table and one figure per question
(:mod:`rgexp.report.study_page`; a question none of whose runs the store holds keeps its section from
the page already there). Bad arguments: one line, exit status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rgexp.reproduce import UsageError, command_main, common_option, key_value, sweep_dir

__all__ = ["QUESTIONS", "main", "parse_args"]

QUESTIONS = {  # question -> (its presets, default seeds)
    "side": (("fixed_point_side",), 5),
    "size": (("fixed_point_size",), 3),
}


def parse_args(args: list[str]) -> dict:
    opts = {"questions": list(QUESTIONS), "scale": "paper", "seeds": None, "jobs": None, "out": None, "page": None,
            "level": 0.95, "tracking": [], "argv": list(args)}
    for arg in args:
        if common_option(opts, arg):
            continue
        key, value = key_value(arg)
        if key == "questions" and set(value.split(",")) <= set(QUESTIONS):
            opts["questions"] = value.split(",")
        elif key == "page":
            opts[key] = Path(value)
        else:
            raise UsageError(f"bad argument {arg!r}; allowed: questions=side,size, scale=quick|paper, seeds=N>=1, "
                             "jobs=auto|N>=1, out=DIR, page=FILE, level=X in (0, 1), tracking.<key>=…")
    return opts


def study(opts: dict) -> int:
    """Run the questions' sweeps that ``out/study.json`` does not hold, then write the page."""
    from rgexp.reproduce import run_sweeps

    out = opts["out"] or Path("reports") / "study" / opts["scale"]
    out.mkdir(parents=True, exist_ok=True)
    state_file = out / "study.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    failed = 0
    for question in opts["questions"]:
        presets, seeds = QUESTIONS[question]
        todo = [p for p in presets if p not in state]
        for p in presets:
            if p in state:
                print(f"rgexp.study: {p}: done before ({len(state[p]['runs'])} runs), skipped")
        sweep = opts | {"presets": todo, "seeds": opts["seeds"] or seeds}
        failed += run_sweeps(todo, sweep, state, state_file) if todo else 0
    if failed:
        return 1
    return _write(opts, state, out)


def _write(opts: dict, state: dict, out: Path) -> int:
    from rgexp.report.__main__ import compose_tracker
    from rgexp.report.provenance import command_line, written_file
    from rgexp.report.study_page import write_page
    from rgexp.tracking import read_runs
    from rgexp.tracking.sweep import read_record

    runs, unfinished = {}, {}
    for question in QUESTIONS:  # every question the study has run so far, not only this command's
        for preset in QUESTIONS[question][0]:
            tracker = compose_tracker([*opts["tracking"], f"name={preset}"])
            ids = state.get(preset, {}).get("runs", [])
            record = None if ids else read_record(sweep_dir(out, preset))  # a sweep cut short: what it finished
            if not ids and record is None:
                runs[preset] = []
                continue
            chosen = {"run_ids": ids} if ids else {"sweep_id": record["sweep_id"]}
            runs[preset] = [r for r in read_runs(tracker, **chosen, history=lambda n: n.startswith("fixed_point/"))
                            if r.status == "FINISHED"]
            if record is not None:
                unfinished[preset] = (len(runs[preset]), _planned(tracker, record))
    page = write_page(written_file(opts["page"], "fixed_point_study.md", out), runs,
                      command_line("rgexp.study", opts["argv"]), opts["level"], unfinished)
    print(f"rgexp.study: wrote {page}")
    return 0


def _planned(tracker, record: dict) -> int | None:
    """How many runs the sweep of ``record`` is to hold (its parent's tag), None where unknown."""
    from rgexp.tracking.sweep import JOBS

    parents = [family["parent"] for family in record.get("families", {}).values()]
    counts = [run.data.tags.get(JOBS, "") for run in map(tracker.find_run, parents) if run is not None]
    return sum(int(c) for c in counts) if counts and all(c.isdigit() for c in counts) else None


def main(argv: list[str] | None = None) -> int:
    return command_main("rgexp.study", study, parse_args, argv)


if __name__ == "__main__":
    sys.exit(main())
