"""Stage ``binned`` (the main paper's own estimators, ``analysis.binned``): the flowed
configurations of every start, pooled by the rbm_flow stage per flow length and bin, fitted and
logged (``flow_binned/…``, ``flow_binned_energy/…``); bootstraps on the (bootstrap, binned) stream."""

from __future__ import annotations

NEEDS = ("flow", "thermometers")  # its bins are the thermometer's classes
GIVES = ("binned",)


def applies(ctx) -> bool:
    return ctx.parts.analysis.get("binned") is not None


def run(ctx) -> None:
    ctx.results["flow_binned"] = ctx.measurer.log_binned(ctx.stream("bootstrap", "binned"))
