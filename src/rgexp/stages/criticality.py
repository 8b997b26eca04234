"""Stage ``criticality`` (long range): T_c from Binder crossings and Δ_σ, Δ_ε by finite-size
scaling of new Monte Carlo at ``analysis.criticality.sizes`` (``mc/T_c``, ``mc/delta_*``)."""

from __future__ import annotations

from rgexp.errors import ConfigError

NEEDS: tuple[str, ...] = ()
GIVES = ("criticality",)


def applies(ctx) -> bool:
    return ctx.parts.analysis.get("criticality") is not None


def check(ctx) -> None:
    if not hasattr(ctx.parts.sampler, "sigma"):
        raise ConfigError("analysis.criticality needs sampler=long_range (it scans σ's Binder crossings)")


def run(ctx) -> None:
    ctx.tracked.log_metrics(ctx.parts.analysis["criticality"].measure(ctx.parts.sampler,
                                                                      ctx.stream("analysis", "criticality")))
