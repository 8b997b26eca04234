"""Where a run's time and memory go: wall seconds and peak resident memory per pipeline stage.

Logged by :mod:`rgexp.pipeline` on every run: ``perf/<stage>_seconds``, ``perf/<stage>_peak_rss_gb``
(the most memory the process held during that stage), ``perf/total_seconds`` and
``perf/peak_rss_gb`` (the whole run's peak).
"""

from __future__ import annotations

import contextlib
import resource
import sys
import threading
import time
from collections.abc import Iterator

from rgexp.metric_names import PEAK_RSS_GB, SECONDS, cost_metric

__all__ = ["StageClock", "peak_rss_gb", "SAMPLE_SECONDS"]

SAMPLE_SECONDS = 0.02  # how often a stage's resident memory is sampled (when the process peak did not rise)


def peak_rss_gb() -> float:
    """The peak resident memory of this process so far, in GB (10⁹ bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e9 if sys.platform == "darwin" else peak * 1024 / 1e9  # bytes on macOS, KiB on Linux


def release_free_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc ``malloc_trim``; nothing elsewhere).

    A sweep runs its jobs one after another in one process: memory a job freed stays in the
    allocator's arenas (numba's and torch's threads allocate in their own), so the next job's
    Monte Carlo stage would start from a larger resident set."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, …): nothing to trim
        pass


class _RssSampler(threading.Thread):
    """The largest resident memory seen while it runs, sampled every SAMPLE_SECONDS (psutil)."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="rgexp-rss")
        import psutil

        self.process, self.halt, self.max_gb = psutil.Process(), threading.Event(), 0.0

    def sample(self) -> None:
        self.max_gb = max(self.max_gb, self.process.memory_info().rss / 1e9)

    def run(self) -> None:
        while not self.halt.wait(SAMPLE_SECONDS):
            self.sample()


class StageClock:
    """Accumulates wall time per stage: ``with clock("train"): …``; with ``memory=True`` also each
    stage's own peak resident memory: the process's peak (ru_maxrss, exact) when the stage raised it,
    else the largest of its samples (every SAMPLE_SECONDS). Nothing is reset, so ``/usr/bin/time``
    and ``wait4`` still see the true peak."""

    def __init__(self, memory: bool = False) -> None:
        self.seconds: dict[str, float] = {}
        self.peaks: dict[str, float] = {}
        self.memory = memory

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        sampler, before = (_RssSampler(), peak_rss_gb()) if self.memory else (None, 0.0)
        if sampler is not None:
            sampler.sample()
            sampler.start()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0
            if sampler is not None:
                sampler.halt.set()
                sampler.join()
                sampler.sample()
                after = peak_rss_gb()
                self.peaks[stage] = max(self.peaks.get(stage, 0.0), after if after > before else sampler.max_gb)

    def metrics(self, totals: bool = True) -> dict[str, float]:
        """``perf/<stage>_seconds`` (and ``perf/<stage>_peak_rss_gb`` with ``memory``) for every stage
        timed; with ``totals``, ``perf/total_seconds`` and ``perf/peak_rss_gb``."""
        out = {cost_metric(stage, SECONDS): s for stage, s in self.seconds.items()}
        out |= {cost_metric(stage, PEAK_RSS_GB): p for stage, p in self.peaks.items()}
        if not totals:
            return out
        return out | {cost_metric(None, SECONDS): sum(self.seconds.values()),
                      cost_metric(None, PEAK_RSS_GB): peak_rss_gb()}
