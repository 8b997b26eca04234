"""Stage ``criticality`` (long range): T_c from Binder crossings and Δ_σ, Δ_ε by finite-size
scaling of new Monte Carlo at ``analysis.criticality.sizes`` (``mc/T_c``, ``mc/delta_*``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rgexp.errors import ConfigError
from rgexp.stages._types import LongRange

if TYPE_CHECKING:
    from rgexp.stages import Context

NEEDS: tuple[str, ...] = ()
GIVES = ("criticality",)


def applies(ctx: Context) -> bool:
    return ctx.parts.analysis.get("criticality") is not None


def check(ctx: Context) -> None:
    if not isinstance(ctx.parts.sampler, LongRange):
        raise ConfigError("analysis.criticality needs sampler=long_range (it scans σ's Binder crossings)")


def run(ctx: Context) -> dict[str, float]:
    """The metrics it logged (``mc/T_c``, ``mc/delta_*``, with their companions)."""
    measured = ctx.parts.analysis["criticality"].measure(ctx.parts.sampler, ctx.stream("analysis", "criticality"))
    ctx.tracked.log_metrics(measured)
    return measured
