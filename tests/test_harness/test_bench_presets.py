"""benchmarks/bench_presets.py's bookkeeping on made-up runs (no preset is run): the table's columns
and rows, the goal column, the choice among repeats, the preset list."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import bench_presets

    return bench_presets


def _run(preset, wall, rss, scale="paper", **stages):
    return {"preset": preset, "scale": scale, "wall_s": wall, "peak_rss_gb": rss, "returncode": 0,
            "total_s": sum(stages.values()), "stages_s": stages,
            "training_split_s": {"train_fit": 2.0, "train_checkpoints": 0.5}, "updates": 1000}


def test_table_has_a_column_per_stage_in_pipeline_order_and_the_goals(bench):
    results = [_run("rbm_flow", 100.0, 1.2, training=40.0, monte_carlo=10.0, zeta=1.0),
               _run("temperature_flow", 700.0, 9.1, monte_carlo=50.0, receptive=3.0),
               _run("iso_flow", 2000.0, 0.9, training=1900.0)]
    lines = bench.markdown(results).splitlines()
    assert lines[0] == ("| preset | scale | wall (s) | peak RSS (GB) | monte_carlo | training | receptive | zeta "
                        "| other | goal |")
    rbm, temp, iso = (line.split(" | ") for line in lines[2:])
    assert rbm[4:8] == ["10.0", "40.0", "—", "1.0"] and rbm[8] == "49.0" and rbm[9] == "met |"
    assert temp[9] == "time > 5 min; memory > 2.5 GB |"
    assert iso[9] == "met (memory; no time goal) |"  # iso_flow: no time goal
    training = bench.training_table(results).splitlines()
    assert training[2].endswith("| 1000 | 500 | 667 | — |")  # 1000 updates / 2 s; / (2 − 0.5) s


def test_goals_are_labelled_outside_paper_scale_and_a_failed_run_says_so(bench):
    assert bench.goal(_run("smoke", 10.0, 0.5, scale="quick")) == "met (goals are for paper)"
    failed = {"preset": "smoke", "scale": "paper", "wall_s": 3.0, "peak_rss_gb": 0.2, "returncode": 2, "error": "x"}
    assert bench.goal(failed) == "run failed"
    assert "| smoke | paper | 3.0 | 0.20 |" in bench.markdown([failed])


def test_repeats_show_the_fastest_run_and_the_largest_peak(bench):
    best = bench.best_of([_run("smoke", 12.0, 0.7), _run("smoke", 9.0, 0.6), _run("smoke", 11.0, 0.8)])
    assert best["wall_s"] == 9.0 and best["peak_rss_gb"] == 0.8 and best["walls_s"] == [12.0, 9.0, 11.0]


def test_presets_with_sizes_for_the_scale(bench):
    quick = bench.available_presets("quick")
    assert "iso_flow" in quick and "rbm_flow" in quick and "smoke" not in quick
