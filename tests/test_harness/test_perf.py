"""Every run's cost on record: per-stage wall time, peak memory, and MLflow's system metrics (the
UI's System metrics tab); MLflow's INFO lines stay off the terminal.

Nothing here depends on how fast the machine is or on what ran before on the same pytest worker:
the system-metrics sampler is held open until it has published twice, the stage-memory logic runs
on a fake process whose resident memory the test sets (and waits until the sampler thread has seen
it), and the real-memory check runs in a fresh interpreter, whose peak no earlier test has raised.
How long things take and how much memory they need is measured in ``benchmarks/``, not here.
"""

import json
import logging
import subprocess
import sys
import textwrap
import threading
from types import SimpleNamespace

import pytest

import rgexp.perf
import rgexp.tracking.tracker
from rgexp.perf import StageClock
from rgexp.pipeline import run

FIXED_POINT = ("analysis.fixed_point={_target_:rgexp.analysis.FixedPoint,n_points:2,n_steps:2,n_samples:20,"
               "drift_steps:1,from_data:false}")  # so that training times its fixed-point part too
WAIT = 120  # seconds: only how long a broken sampler may hang the test, never a bound on the code


def _held_until_published(monkeypatch, times: int) -> list[threading.Event]:
    """Make every system-metrics sampler of a run finish only after it has published ``times``
    samples, however short the run; the events say whether each one did."""
    real, done = rgexp.tracking.tracker.start_system_metrics, []

    def start(*args, **kwargs):
        monitor = real(*args, **kwargs)
        published, count = threading.Event(), [0]
        publish, finish = monitor.publish_metrics, monitor.finish

        def counted(metrics):
            publish(metrics)
            count[0] += 1
            if count[0] >= times:
                published.set()

        def finish_after_samples():
            published.wait(WAIT)
            finish()

        monitor.publish_metrics, monitor.finish = counted, finish_after_samples
        done.append(published)
        return monitor

    monkeypatch.setattr(rgexp.tracking.tracker, "start_system_metrics", start)
    return done


def test_a_run_logs_its_stage_times_peak_memory_and_system_metrics(smoke_cfg, mlflow_client, monkeypatch):
    samplers = _held_until_published(monkeypatch, times=2)
    result = run(smoke_cfg("tracking.system_interval=0.1", FIXED_POINT))
    assert len(samplers) == 1 and samplers[0].is_set()
    m = mlflow_client.get_run(result["run_id"]).data.metrics
    stages = {k: v for k, v in m.items() if k.startswith("perf/") and k.endswith("_seconds")
              and not k.startswith("perf/train_") and k != "perf/total_seconds"}
    assert {"perf/monte_carlo_seconds", "perf/thermometers_seconds", "perf/training_seconds",
            "perf/rbm_flow_seconds", "perf/block_rg_seconds", "perf/scaling_fits_seconds"} <= set(stages)
    assert abs(sum(stages.values()) - m["perf/total_seconds"]) < 1e-6 and all(v >= 0 for v in stages.values())
    assert 0.05 < m["perf/peak_rss_gb"] < 24
    # where training's time went: the timers nest (checkpoints, fixed point and metrics inside the
    # fit, the fit inside the stage), an order that holds on any machine
    parts = [m["perf/train_checkpoints_seconds"], m["perf/train_fixed_point_seconds"], m["perf/train_metrics_seconds"]]
    assert all(p >= 0 for p in parts) and sum(parts) <= m["perf/train_fit_seconds"] <= m["perf/training_seconds"]
    history = mlflow_client.get_metric_history(result["run_id"], "system/cpu_utilization_percentage")
    assert sorted(h.step for h in history)[:2] == [0, 1] and all(0 <= h.value <= 100 * 64 for h in history)
    assert "system/system_memory_usage_megabytes" in m
    assert logging.getLogger("mlflow").getEffectiveLevel() >= logging.WARNING


class FakeProcess:
    """A process whose resident memory (bytes) the test sets; ``peak`` is what ru_maxrss would say.
    ``seen`` is set once the sampler has read the value ``watch``."""

    def __init__(self, rss: float) -> None:
        self.rss, self.peak, self.watch, self.seen = rss, rss, None, threading.Event()

    def set(self, rss: float) -> None:
        self.rss, self.peak = rss, max(self.peak, rss)

    def memory_info(self) -> SimpleNamespace:
        rss = self.rss
        if rss == self.watch:
            self.seen.set()
        return SimpleNamespace(rss=rss)


@pytest.fixture
def process(monkeypatch) -> FakeProcess:
    import psutil

    fake = FakeProcess(1e9)
    monkeypatch.setattr(psutil, "Process", lambda *a: fake)
    monkeypatch.setattr(rgexp.perf, "peak_rss_gb", lambda: fake.peak / 1e9)
    return fake


def _spike(process: FakeProcess, rss: float) -> None:
    """Hold ``rss`` until the sampler thread has read it, then drop back: a spike inside a stage."""
    before, process.watch = process.rss, rss
    process.seen.clear()
    process.set(rss)
    assert process.seen.wait(WAIT), "the sampler thread never sampled during the stage"
    process.set(before)


def test_each_stage_reports_its_own_peak_memory(process):
    clock = StageClock(memory=True)
    with clock("big"):  # raises the process's peak: its own peak is that peak, exactly
        process.set(3e9)
        process.set(1e9)
    with clock("after"):  # flat: its samples
        pass
    with clock("again"):  # a spike below the process's peak, gone before the stage ends: the sampler's
        _spike(process, 2e9)
    with clock("held"):  # still held when the stage ends: its closing sample sees it
        process.set(1.5e9)
    p = clock.peaks
    assert p == {"big": 3.0, "after": 1.0, "again": 2.0, "held": 1.5}
    assert clock.metrics()["perf/big_peak_rss_gb"] == 3.0 and clock.metrics()["perf/peak_rss_gb"] == 3.0
    with clock("again"):  # a stage timed twice keeps its larger peak
        pass
    assert clock.peaks["again"] == 2.0 and set(clock.seconds) == set(p)


REAL_MEMORY = textwrap.dedent("""
    import json
    import numpy as np
    from rgexp.perf import StageClock, peak_rss_gb

    clock = StageClock(memory=True)
    with clock("big"):
        x = np.ones(50_000_000)  # 400 MB, touched: above anything this fresh interpreter held
        del x
    with clock("after"):
        np.ones(1000)
    with clock("again"):
        y = np.ones(25_000_000)  # 200 MB, below the peak, still held at the stage's closing sample
    del y
    print(json.dumps({"peaks": clock.peaks, "process": peak_rss_gb(),
                      "logged": clock.metrics()["perf/big_peak_rss_gb"]}))
""")


def test_stage_peaks_of_real_allocations_in_a_fresh_process():
    """The resident memory psutil and ru_maxrss report, in an interpreter of its own (an earlier
    test on this worker may have peaked higher than anything allocated here).

    Started from a shell's forked child: Linux keeps ru_maxrss across exec, so an interpreter
    exec'd straight from this (large) pytest worker would start with the worker's peak; a fork
    starts from zero, and the shell's own peak is a few MB."""
    argv = ["sh", "-c", '"$@" & wait $!', "sh", sys.executable, "-c", REAL_MEMORY]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    p = out["peaks"]
    assert p["big"] == out["process"] == out["logged"] and p["big"] - p["after"] > 0.35
    assert 0.15 < p["again"] - p["after"] < 0.25 and p["again"] < p["big"]
