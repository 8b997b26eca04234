"""Stage ``chain_couplings`` (1D chains): the effective coupling of every RG step, stack layer and
of the exact variational construction against the exact decimation recursion
(:mod:`rgexp.chain_stage`); RG tie-breaks on the (analysis, chain, T) streams."""

from __future__ import annotations

NEEDS = ("data", "trained")
GIVES = ("chain",)


def applies(ctx) -> bool:
    return ctx.ndim == 1


def run(ctx) -> None:
    from rgexp.chain_stage import chain_coupling_stage

    ctx.results["chain"] = chain_coupling_stage(ctx.model, ctx.data, ctx.parts.rg, ctx.parts.sampler,
                                                lambda t: ctx.stream("analysis", "chain", float(t)), ctx.tracked)
