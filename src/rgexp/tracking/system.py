"""MLflow's system metrics (CPU, memory, disk, network; GPU when present) for an rgexp run, so the
UI's "System metrics" tab shows what the machine did while it ran; and MLflow's INFO chatter kept
off the terminal.

MLflow samples every ``interval`` seconds in a daemon thread and logs ``system/…`` metrics to the
run; it needs ``psutil`` (a dependency of rgexp). Without it the run goes on without them.
"""

from __future__ import annotations

import logging

__all__ = ["start_system_metrics", "quiet_mlflow_logging"]


def quiet_mlflow_logging() -> None:
    """MLflow logs "Creating initial MLflow database tables…" and "Started monitoring system metrics"
    at INFO to the terminal; rgexp's own lines say what a user needs."""
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    sampler = logging.getLogger("mlflow.system_metrics.system_metrics_monitor")
    if not any(isinstance(f, _OutageNoise) for f in sampler.filters):
        sampler.addFilter(_OutageNoise())


class _OutageNoise(logging.Filter):
    """Drop the sampler's warnings about requests to a server that is away ("Failed to get mlflow
    run: API request to … failed with exception …"): the run says once, in one line, that the
    server is not answering and what it does about it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "API request to " not in record.getMessage()


def start_system_metrics(run_id: str, tracking_uri: str, interval: float, resume: bool):
    """A started ``SystemMetricsMonitor`` for ``run_id`` (continuing its steps on resume), or None
    where psutil is missing. Call ``.finish()`` before the run ends."""
    try:
        import psutil  # noqa: F401  (MLflow's monitors need it)
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
    except ImportError:
        return None
    monitor = SystemMetricsMonitor(run_id, sampling_interval=interval, resume_logging=resume,
                                   tracking_uri=tracking_uri)
    monitor.start()
    return monitor
