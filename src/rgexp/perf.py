"""Where a run's time and memory go: wall seconds per pipeline stage and the process's peak RSS.

Logged by :mod:`rgexp.pipeline` as ``perf/<stage>_seconds`` and ``perf/peak_rss_gb`` on every run.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import time
from collections.abc import Iterator

__all__ = ["StageClock", "peak_rss_gb"]


def peak_rss_gb() -> float:
    """The peak resident memory of this process so far, in GB (10⁹ bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e9 if sys.platform == "darwin" else peak * 1024 / 1e9  # bytes on macOS, KiB on Linux


class StageClock:
    """Accumulates wall time per stage: ``with clock("train"): …``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0

    def metrics(self) -> dict[str, float]:
        """``perf/<stage>_seconds`` for every stage timed, ``perf/total_seconds`` and ``perf/peak_rss_gb``."""
        out = {f"perf/{stage}_seconds": s for stage, s in self.seconds.items()}
        return out | {"perf/total_seconds": sum(self.seconds.values()), "perf/peak_rss_gb": peak_rss_gb()}
