"""Metric names as the pipeline writes them, and how the report reads them.

- A curve against step is ``<stage>/<observable>/T<T:.4f>`` (one per start temperature) or a single
  ``<stage>/<quantity>`` (``flow/delta_sigma``, ``rg/coupling``); the step is flow length, RG step
  or layer.
- Uncertainties are companions: ``X_err`` (a standard error), ``X_ci_low``/``X_ci_high`` (an
  interval, at level ``X_ci_level`` when logged), ``X_exact`` (an exact value). The suffix goes on
  the last segment (``receptive/RBM/radius_err``) or, for names qualified by ``/L<L>`` or
  ``/T<T>``, on the observable (``flow/temperature_err/T1.5000``): whichever was logged.
  Summary metrics written as ``X_value`` have ``X_error``, ``X_ci_low``, ``X_ci_high``,
  ``X_ci_level``, ``X_n_eff``, ``X_tau_int``.
- Diagnostics (training curves, Monte Carlo bookkeeping, per-epoch thermometer metrics, ``perf/…`` run costs, MLflow's ``system/…``) are
  reported only as final values, in an appendix.
"""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = ["companion_candidates", "find_companion", "companions_of", "hidden_companions", "is_diagnostic",
           "split_start", "slug"]

_START = re.compile(r"(?P<family>.+)/T(?P<start>-?[0-9]+(\.[0-9]*)?|inf)")  # Tinf: a random start
_DIAGNOSTIC = re.compile(r"(train/|perf/|system/|mc/T-?[0-9.]+/|thermometer/(?!final/))")
_SUFFIXES = {"err": "_err", "ci_low": "_ci_low", "ci_high": "_ci_high", "ci_level": "_ci_level", "exact": "_exact"}
_VALUE_SUFFIXES = {"err": "_error", "ci_low": "_ci_low", "ci_high": "_ci_high", "ci_level": "_ci_level",
                   "n_eff": "_n_eff", "tau_int": "_tau_int"}


def split_start(metric: str) -> tuple[str, str | None]:
    """``flow/temperature/T1.5000`` -> ``("flow/temperature", "1.5000")``; others -> ``(metric, None)``."""
    m = _START.fullmatch(metric)
    return (m["family"], m["start"]) if m else (metric, None)


def companion_candidates(metric: str, suffix: str) -> list[str]:
    """Where ``suffix`` may go: on the last segment (``flow/delta_sigma_err``,
    ``receptive/RBM/radius_err``), else on an earlier one after the stage
    (``flow/temperature_err/T1.5000``, ``mc/delta_sigma_ci_low/L10/T2.2692``)."""
    parts = metric.split("/")
    return ["/".join(parts[:i] + [parts[i] + suffix] + parts[i + 1:]) for i in range(len(parts) - 1, 0, -1)] or [
        metric + suffix]


def find_companion(metric: str, suffix: str, names: Collection[str]) -> str | None:
    """The companion of ``metric`` with ``suffix`` that ``names`` holds (None: not logged)."""
    return next((c for c in companion_candidates(metric, suffix) if c in names), None)


def companions_of(metric: str, names: Collection[str]) -> dict[str, str]:
    """Role (err, ci_low, ci_high, ci_level, exact, …) -> the companion's name, for those logged."""
    if metric.endswith("_value"):
        stem = metric[: -len("_value")]
        return {role: stem + suffix for role, suffix in _VALUE_SUFFIXES.items() if stem + suffix in names}
    found = {role: find_companion(metric, suffix, names) for role, suffix in _SUFFIXES.items()}
    return {role: name for role, name in found.items() if name is not None}


def hidden_companions(names: set[str]) -> set[str]:
    """The names in ``names`` that are a companion of another name in ``names``."""
    return {c for name in names for c in companions_of(name, names).values() if c != name}


def is_diagnostic(metric: str) -> bool:
    """Training curves, Monte Carlo bookkeeping and per-epoch thermometer metrics."""
    return _DIAGNOSTIC.match(metric) is not None


def slug(text: str) -> str:
    """A file-name-safe form of ``text``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"
