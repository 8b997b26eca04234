"""Every run's cost on record: per-stage wall time, peak memory, and MLflow's system metrics (the
UI's System metrics tab); MLflow's INFO lines stay off the terminal."""

import logging

from rgexp.pipeline import run


def test_a_run_logs_its_stage_times_peak_memory_and_system_metrics(smoke_cfg, mlflow_client):
    result = run(smoke_cfg("tracking.system_interval=0.5"))
    m = mlflow_client.get_run(result["run_id"]).data.metrics
    stages = {k: v for k, v in m.items() if k.startswith("perf/") and k.endswith("_seconds")
              and not k.startswith("perf/train_") and k != "perf/total_seconds"}
    assert {"perf/monte_carlo_seconds", "perf/thermometers_seconds", "perf/training_seconds",
            "perf/rbm_flow_seconds", "perf/block_rg_seconds", "perf/scaling_fits_seconds"} <= set(stages)
    assert abs(sum(stages.values()) - m["perf/total_seconds"]) < 1e-6 and all(v >= 0 for v in stages.values())
    assert 0.05 < m["perf/peak_rss_gb"] < 24
    history = mlflow_client.get_metric_history(result["run_id"], "system/cpu_utilization_percentage")
    assert len(history) >= 2 and all(0 <= h.value <= 100 * 64 for h in history)
    assert "system/system_memory_usage_megabytes" in m
    assert logging.getLogger("mlflow").getEffectiveLevel() >= logging.WARNING


def test_each_stage_reports_its_own_peak_memory():
    import time

    import numpy as np

    from rgexp.perf import SAMPLE_SECONDS, StageClock, peak_rss_gb

    clock = StageClock(memory=True)
    with clock("big"):  # raises the process's peak: its own peak is that peak, exactly
        x = np.ones(50_000_000)  # 400 MB, touched
        del x
    with clock("after"):
        np.ones(1000)
    with clock("again"):  # below the process's peak: the largest of its samples
        y = np.ones(25_000_000)  # 200 MB
        time.sleep(5 * SAMPLE_SECONDS)
        del y
    p = clock.peaks
    assert p["big"] == peak_rss_gb() and p["big"] - p["after"] > 0.35  # the peak is the stage's own
    assert 0.15 < p["again"] - p["after"] < 0.25 and p["again"] < p["big"]
    assert clock.metrics()["perf/big_peak_rss_gb"] == p["big"]
