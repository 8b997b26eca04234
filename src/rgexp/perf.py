"""Where a run's time and memory go: wall seconds and peak resident memory per pipeline stage.

Logged by :mod:`rgexp.pipeline` on every run: ``perf/<stage>_seconds``, ``perf/<stage>_peak_rss_gb``
(the most memory the process held during that stage), ``perf/total_seconds`` and
``perf/peak_rss_gb`` (the whole run's peak).
"""

from __future__ import annotations

import contextlib
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from rgexp.metric_names import metric

__all__ = ["StageClock", "peak_rss_gb", "stage_peak_supported"]

_STATUS, _CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def peak_rss_gb() -> float:
    """The peak resident memory of this process so far, in GB (10⁹ bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e9 if sys.platform == "darwin" else peak * 1024 / 1e9  # bytes on macOS, KiB on Linux


def _high_water_gb() -> float | None:
    """Linux's VmHWM: the peak resident memory since it was last reset, in GB (None elsewhere)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return None


def _reset_high_water() -> bool:
    """Reset VmHWM to the current resident memory (Linux ≥ 4.0: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def stage_peak_supported() -> bool:
    """Whether per-stage peaks can be measured here (Linux with /proc/self/clear_refs)."""
    return _high_water_gb() is not None and _CLEAR_REFS.exists()


class StageClock:
    """Accumulates wall time per stage: ``with clock("train"): …``; with ``memory=True`` also each
    stage's own peak resident memory (the kernel's high-water mark, reset when the stage starts:
    so only the outermost clock may track memory)."""

    def __init__(self, memory: bool = False) -> None:
        self.seconds: dict[str, float] = {}
        self.peaks: dict[str, float] = {}
        self.memory = memory and stage_peak_supported()
        self._before = peak_rss_gb()  # resetting the high-water mark also lowers ru_maxrss: keep the max

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        if self.memory:
            self._before = max(self._before, _high_water_gb() or 0.0)
            _reset_high_water()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0
            if self.memory:
                self.peaks[stage] = max(self.peaks.get(stage, 0.0), _high_water_gb() or 0.0)

    def peak_gb(self) -> float:
        """The process's peak resident memory so far (across the resets of the per-stage peaks)."""
        return max([peak_rss_gb(), self._before, _high_water_gb() or 0.0, *self.peaks.values()])

    def metrics(self, totals: bool = True) -> dict[str, float]:
        """``perf/<stage>_seconds`` (and ``perf/<stage>_peak_rss_gb`` with ``memory``) for every stage
        timed; with ``totals``, ``perf/total_seconds`` and ``perf/peak_rss_gb``."""
        out = {metric("perf", f"{stage}_seconds"): s for stage, s in self.seconds.items()}
        out |= {metric("perf", f"{stage}_peak_rss_gb"): p for stage, p in self.peaks.items()}
        if not totals:
            return out
        return out | {metric("perf", "total_seconds"): sum(self.seconds.values()),
                      metric("perf", "peak_rss_gb"): self.peak_gb()}
