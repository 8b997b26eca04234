"""Axis labels of the step along which a family of metrics is measured: the one registry.

A metric family's first name part (``flow/…``, ``rg/…``, ``stack/…``; see rgexp.metric_names)
says what its step counts: the length of the RBM flow, the number of block-spin RG steps, the
layer of a stacked RBM. Every figure — the run's own and the report's — labels that axis from
:func:`step_label`.
"""

from __future__ import annotations

__all__ = ["STEP_LABELS", "FLOW_LENGTH", "RG_STEP", "STACK_LAYER", "step_label"]

FLOW_LENGTH = "flow length"
RG_STEP = "RG step"
STACK_LAYER = "stacked-RBM layer"

STEP_LABELS: dict[str, str] = {
    "flow": FLOW_LENGTH,
    "flow_binned": FLOW_LENGTH,  # the flow pooled and binned by the thermometer's class
    "flow_binned_energy": FLOW_LENGTH,  # … by each configuration's energy temperature
    "rg": RG_STEP,
    "variational": RG_STEP,  # Mehta & Schwab's exact variational-RG stack: one RG step per layer
    "stack": STACK_LAYER,
}


def step_label(family: str) -> str:
    """The step axis of a metric family (``"flow"`` -> ``"flow length"``); ``"step"`` if unknown."""
    return STEP_LABELS.get(family, "step")
