"""How the report sorts metric names (the names themselves: :mod:`rgexp.metric_names`).

- Results: curves against step (``<stage>/<observable>/T<T>``, one per start temperature, or a
  single ``<stage>/<quantity>``) and single values, each with its companions folded in
  (``metric_names.companions_of``).
- Diagnostics (training curves, Monte Carlo bookkeeping ``mc/T<T>/…``, the thermometers' metrics
  but the data's thermometer's final ones ``thermometer/final/…``, ``perf/…`` run costs, MLflow's
  ``system/…``) are reported only as final values, in an appendix.
"""

from __future__ import annotations

import re

from rgexp.metric_names import ANY, OPTIONAL, Select

__all__ = ["DIAGNOSTICS", "RESULTS", "is_diagnostic", "slug"]

_EVERY = dict(path=OPTIONAL, L=OPTIONAL, T=OPTIONAL, role=ANY)  # every name of a stage, companions too
DIAGNOSTICS = (Select(stage=("train", "perf", "system"), **_EVERY),
               Select(stage="mc", stage_qualified=True, **_EVERY | {"T": ANY}),  # a chain's bookkeeping
               Select(stage="thermometer", **_EVERY))
# ... but the data's thermometer's final metrics are results
RESULTS = (Select(stage="thermometer", path=("final",), role=ANY),)


def is_diagnostic(metric: str) -> bool:
    """Training curves, Monte Carlo bookkeeping, thermometer curves and coarse thermometers, run costs."""
    return any(s.matches(metric) for s in DIAGNOSTICS) and not any(s.matches(metric) for s in RESULTS)


def slug(text: str) -> str:
    """A file-name-safe form of ``text``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"
