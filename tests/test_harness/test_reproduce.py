"""``python -m rgexp.reproduce``: every preset in one command, one report; resumable."""

import subprocess
import sys

import pytest

from rgexp.reproduce import PRESETS, UsageError, parse_args


def test_arguments_and_their_one_line_errors():
    opts = parse_args(["scale=quick", "seeds=2", "presets=smoke", "tracking.root=/tmp/x"])
    assert opts["scale"] == "quick" and opts["seeds"] == 2 and opts["presets"] == ["smoke"]
    assert opts["tracking"] == ["tracking.root=/tmp/x"] and parse_args([])["presets"] == list(PRESETS)
    for bad in (["scale=huge"], ["seeds=0"], ["colour=red"], ["seeds"]):
        with pytest.raises(UsageError):
            parse_args(bad)


@pytest.mark.slow
def test_reproduce_runs_the_presets_writes_one_report_and_resumes(tmp_path):
    args = [sys.executable, "-m", "rgexp.reproduce", "scale=quick", "seeds=2", "presets=smoke",
            f"tracking.root={tmp_path / 'mlruns'}", f"out={tmp_path / 'out'}"]
    first = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "smoke: 2 runs in" in first.stdout and (tmp_path / "out" / "report.html").exists()
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Reproduction report: every source" in html and "Scorecard" in html
    again = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "smoke: done before (2 runs), skipped" in again.stdout
