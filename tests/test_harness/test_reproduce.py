"""``python -m rgexp.reproduce``: every preset in one command, one report, and the results file it
writes itself (scorecard, checks of exact results, headline numbers, provenance); resumable."""

import importlib.metadata
import math
import os
import re
import subprocess

import pytest

from rgexp.report.build import build_report
from rgexp.report.provenance import code_state, command_line, machine
from rgexp.report.results import FIGURES, write_results
from rgexp.reproduce import PRESETS, UsageError, parse_args
from rgexp.tracking import RunRecord

T_C = 2 / math.log(1 + math.sqrt(2))
NN = {"sampler._target_": "rgexp.ising.Ising2DSampler", "sampler.J": "1.0", "name": "smoke"}


def test_arguments_and_their_one_line_errors():
    opts = parse_args(["scale=quick", "seeds=2", "presets=smoke", "tracking.root=/tmp/x", "results=/tmp/r.md"])
    assert opts["scale"] == "quick" and opts["seeds"] == 2 and opts["presets"] == ["smoke"]
    assert opts["tracking"] == ["tracking.root=/tmp/x"] and parse_args([])["presets"] == list(PRESETS)
    assert str(opts["results"]) == "/tmp/r.md" and parse_args([])["results"] is None
    assert command_line("rgexp.reproduce", opts["argv"]) == ("python -m rgexp.reproduce scale=quick seeds=2 "
                                                             "presets=smoke tracking.root=/tmp/x results=/tmp/r.md")
    assert parse_args(["level=0.9"])["level"] == 0.9
    for bad in (["scale=huge"], ["seeds=0"], ["colour=red"], ["seeds"], ["level=x"], ["level=1.5"]):
        with pytest.raises(UsageError):
            parse_args(bad)


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def test_code_state_names_the_commit_and_whether_the_tree_was_clean(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("a")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    sha = _git(tmp_path, "rev-parse", "HEAD")
    assert dict(code_state(tmp_path)) == {"commit": f"{sha} (first)", "working tree": "clean"}
    (tmp_path / "a.txt").write_text("b")
    assert dict(code_state(tmp_path))["working tree"] == "1 uncommitted or untracked path(s)"
    assert code_state(tmp_path / "nowhere")[0][1].startswith("not a git checkout")


def _records(peaks: list[float]) -> list[RunRecord]:
    """Seeds whose flows from T = 1.5 and 3.5 end near T_c, each with its peak memory."""
    out = []
    for seed, peak in enumerate(peaks):
        curves = {"flow/temperature/T1.5000": [1.6, 2.0, T_C + 0.01 * seed],
                  "flow/temperature/T3.5000": [3.4, 2.6, T_C - 0.01 * seed],
                  "flow/temperature_err/T1.5000": [0.02] * 3, "flow/temperature_err/T3.5000": [0.02] * 3,
                  "mc/delta_sigma": [0.13 + 0.002 * seed], "mc/delta_sigma_err": [0.004]}
        history = {n: list(enumerate(v)) for n, v in curves.items()}
        final = {n: h[-1][1] for n, h in history.items()} | {"perf/peak_rss_gb": peak, "perf/total_seconds": 40.0}
        out.append(RunRecord(f"{seed:032x}", f"r{seed}", "smoke", "FINISHED", {**NN, "seed": str(seed)}, {}, final,
                             history))
    return out


def test_the_results_file_is_written_from_the_runs(tmp_path):
    records = _records([1.25, 2.5, 1.75])
    for r, dirty in zip(records, ("False", "False", "True")):
        r.tags.update(git_commit="f" * 40, git_dirty=dirty)
    report = build_report(records, tmp_path / "out", title="t", selection="synthetic")
    stale = tmp_path / "docs" / FIGURES / "scorecard_gone.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    code = [("commit", "0123abcd (a subject)"), ("working tree", "clean")]
    path = write_results(tmp_path / "docs" / "results.md", report, records,
                         {"smoke": {"runs": [r.run_id for r in records], "seconds": 90.0}},
                         command="python -m rgexp.reproduce scale=quick seeds=3", code=code,
                         started="2026-01-01 10:00:00", finished="2026-01-01 10:02:00", level=0.95, min_runs=2)
    text = path.read_text()
    counts = report.counts()
    assert text.startswith("# Results\n") and "`python -m rgexp.reproduce scale=quick seeds=3`" in text
    assert (f"Scorecard of the sources' claims: {counts['reproduced']} reproduced, {counts['not reproduced']} "
            f"not reproduced, {counts['inconclusive']} inconclusive") in text
    fixed_point = [line for line in text.splitlines() if line.startswith("| the RBM flow approaches T_c")]
    assert len(fixed_point) == 1 and "| reproduced |" in fixed_point[0] and "at flow length 2" in fixed_point[0]
    checks = text[text.index("## Checks of exact results"):text.index("## Headline numbers")]
    assert "| Δ_σ at T_c equals the exact value (exact) | baseline |" in checks  # apart from the scorecard
    # headline: the flows' ends as the range of their seed means; one metric as mean ± std (n)
    ends = [sum(T_C + s * d for s in range(3)) / 3 for d in (0.01, -0.01)]
    assert f"| smoke | flows end at T (thermometer) | {min(ends):.4g} to {max(ends):.4g} over 2 curves |" in text
    assert "| smoke | Δ_σ (Monte Carlo, finite-size scaling) | 0.1320 ± 0.0020 (n=3) |" in text
    # provenance: what was passed in, and the machine as the system reports it
    assert "| commit | 0123abcd (a subject) |" in text and "| working tree | clean |" in text
    assert "| started | 2026-01-01 10:00:00 |" in text
    assert "| runs made with | ffffffffffff: 2 runs; ffffffffffff (tree not clean): 1 runs |" in text
    assert f"| cores | {os.cpu_count()} logical" in text
    for name in ("torch", "numpy", "mlflow"):
        assert f"| {name} | {importlib.metadata.version(name)} |" in text
    assert dict(machine())["CPU"] in text
    assert "| smoke | 3 | 1.5 min | 2.50 GB |" in text  # the largest perf/peak_rss_gb of the preset's runs
    # figures: the scorecard's, copied beside the file; last time's removed; every link resolves
    links = re.findall(r"\]\(([^)]+\.png)\)", text)
    assert links and all((path.parent / link).is_file() for link in links)
    assert not stale.exists()
    assert "references.md" in text


@pytest.mark.slow
def test_reproduce_runs_the_presets_writes_one_report_and_resumes(tmp_path, monkeypatch, capfd):
    """The command's ``main`` in this process (its sweeps run as the processes they always are): a process
    of its own would only add the imports."""
    from rgexp.reproduce import main

    results = tmp_path / "docs" / "results.md"
    args = ["scale=quick", "seeds=2", "presets=smoke", "jobs=1",
            f"tracking.root={tmp_path / 'mlruns'}", "tracking.figures=false",  # the runs' own figures: not read here
            f"out={tmp_path / 'out'}", f"results={results}"]
    monkeypatch.chdir(tmp_path)
    code = main(args)
    out, err = capfd.readouterr()
    assert code == 0, err[-2000:]
    assert "smoke: 2 runs in" in out and (tmp_path / "out" / "report.html").exists()
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Reproduction report: every source" in html and "Scorecard" in html
    assert not list(tmp_path.glob("multirun/**/report.html"))  # one report over the presets, none per sweep
    text = results.read_text()
    assert f"wrote {results}" in out and "## Provenance" in text and "| smoke | 2 |" in text
    assert re.search(r"\| smoke \| 2 \| [0-9.]+ min \| [0-9.]+ GB \|", text)  # peak memory logged by the runs
    assert "python -m rgexp.reproduce scale=quick seeds=2 presets=smoke" in text
    code = main(args)
    assert code == 0 and "smoke: done before (2 runs), skipped" in capfd.readouterr().out


def test_headlines_of_a_preset_with_several_configs_are_per_config():
    from rgexp.report.results import _preset_headlines

    records = _records([1.0, 1.0])
    records[1].params["sampler.L"] = "16"
    records[0].params["sampler.L"] = "8"
    rows = _preset_headlines("smoke", records)
    assert {r[0] for r in rows} == {"smoke (sampler.L=8)", "smoke (sampler.L=16)"}
    assert next(r[2] for r in rows if r[0] == "smoke (sampler.L=8)" and "Monte Carlo" in r[1]) == "0.13 (n=1)"


def test_the_plan_shares_cores_and_memory_between_sweeps():
    from dataclasses import astuple

    from rgexp.reproduce import JOB_GB, plan

    assert astuple(plan(None, 7, 3, 2, 20.0))[:3] == (2, 1, 1)  # two presets side by side, one thread each
    assert astuple(plan(None, 1, 3, 2, 20.0))[:3] == (1, 2, 1)  # one preset: its seeds side by side
    assert astuple(plan(1, 7, 3, 2, 20.0))[:3] == (1, 1, 2)  # one job: both cores' threads
    assert astuple(plan(None, 7, 3, 16, 20.0))[:3] == (7, 1, 2)  # 20 GB holds 8 jobs of 2.5
    assert astuple(plan(None, 2, 3, 16, 100.0))[:3] == (2, 3, 2)  # no more jobs than runs
    tight = plan(4, 7, 3, 4, 1.5 * JOB_GB)
    assert astuple(tight)[:3] == (1, 1, 4) and "1 jobs at a time, not 4" in tight.note
    assert plan(None, 7, 3, 2, 20.0).note == ""


def test_wall_time_counts_sweeps_that_ran_side_by_side_once():
    from rgexp.report.provenance import wall_seconds

    side_by_side = [{"seconds": 100, "started": 0, "ended": 100}, {"seconds": 30, "started": 10, "ended": 40},
                    {"seconds": 50, "started": 40, "ended": 90}, {"seconds": 10, "started": 500, "ended": 510}]
    assert wall_seconds(side_by_side) == 110  # 0–100 covered, a resumed one later: 10 more
    assert wall_seconds([{"seconds": 60}, {"seconds": 30}]) == 90  # older state files: one after another
