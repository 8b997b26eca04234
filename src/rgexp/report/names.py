"""How the report sorts metric names (the names themselves: :mod:`rgexp.metric_names`).

- Results: curves against step (``<stage>/<observable>/T<T:.4f>``, one per start temperature, or a
  single ``<stage>/<quantity>``) and single values, each with its companions folded in
  (``metric_names.companions_of``).
- Diagnostics (training curves, Monte Carlo bookkeeping ``mc/T<T>/…``, the thermometers' metrics
  but the data's thermometer's final ones ``thermometer/final/…``, ``perf/…`` run costs, MLflow's
  ``system/…``) are reported only as final values, in an appendix.
"""

from __future__ import annotations

import re

from rgexp.metric_names import START

__all__ = ["is_diagnostic", "slug"]

_DIAGNOSTIC = re.compile(rf"(train/|perf/|system/|mc/{START}/|thermometer/(?!final/))")


def is_diagnostic(metric: str) -> bool:
    """Training curves, Monte Carlo bookkeeping, thermometer curves and coarse thermometers, run costs."""
    return _DIAGNOSTIC.match(metric) is not None


def slug(text: str) -> str:
    """A file-name-safe form of ``text``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"
