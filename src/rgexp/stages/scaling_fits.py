"""Stage ``scaling_fits``: Δ_σ from ⟨|m|⟩(T) below T_c at every flow length
(``flow/delta_sigma_from_m``) and the Δ-against-step figures of the correlator fits the transforms
made at the scaling temperatures."""

from __future__ import annotations

NEEDS = ("data",)
GIVES = ("scaling",)


def applies(ctx) -> bool:
    return ctx.parts.analysis.get("scaling") is not None


def run(ctx) -> None:
    ctx.measurer.fit_magnetization("flow", ctx.results.get("flow", {}))
    ctx.results["delta"] = ctx.measurer.log_deltas()
