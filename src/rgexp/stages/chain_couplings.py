"""Stage ``chain_couplings``: the effective coupling of every RG step, stack layer and of the exact
variational construction of nearest-neighbour chains, against the exact decimation recursion (Gong &
Xia; Mehta & Schwab's exact mapping). For chain data (lattice (N,)) at K₀ = J/T: the effective coupling K_eff of every RG step
(``rg/coupling``) next to the exact decimation recursion (``rg/coupling_exact``, b = 2 decimation
only), of every stacked-RBM layer (``stack/coupling``; hidden units ordered along the chain by their
receptive fields), and the exact variational-RG ↔ RBM construction (``variational/coupling`` read
off the exact laws of "chain RBM + decimation operator" stacked k times, ``variational/kl_rbm`` its
distance from the chain RBM rebuilt there). RG tie-breaks on the (analysis, chain, T) streams.
"""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

import numpy as np

from rgexp.analysis import effective_coupling, layer_effective_couplings
from rgexp.metric_names import EXACT, companion, metric, with_companions
from rgexp.models import is_stack
from rgexp.rg import coupling_flow, decimation_stack_flow
from rgexp.seeding import numpy_generator
from rgexp.stages._types import NearestNeighbourChain
from rgexp.stages import block_rg

if TYPE_CHECKING:
    from rgexp.stages import Context

NEEDS = ("data", "trained")
GIVES = ("chain",)

VARIATIONAL_MAX_N = 16  # exact enumeration of the variational construction: 2^16 states


def applies(ctx: Context) -> bool:
    return ctx.ndim == 1 and isinstance(ctx.parts.sampler, NearestNeighbourChain)


def check(ctx: Context) -> None:
    block_rg.check(ctx)  # its RG steps must divide N, as the block_rg stage's must


def run(ctx: Context) -> dict[float, dict[str, Any]]:
    """T -> the coupling flows of the RG steps, the stack's layers and the exact construction."""
    model, data, rg, sampler, tracked = ctx.trained, ctx.data, ctx.parts.rg, ctx.parts.sampler, ctx.tracked
    exact_rg = rg.rule == "decimation" and rg.b == 2
    out: dict[float, dict[str, Any]] = {}
    for t, spins in zip(data.temperatures, data.blocks):
        K0, h0, res = sampler.J / t, sampler.h / t, {}
        steps = [_safe_coupling(x, sampler.periodic)
                 for x in rg(spins, numpy_generator(ctx.stream("analysis", "chain", float(t))), ndim=1)]
        res["rg"] = [s for s in steps if s is not None]
        _log(tracked, metric("rg", "coupling", T=t), res["rg"])
        if exact_rg:
            res["rg_exact"] = coupling_flow(K0, h0, rg.n_steps)[0].tolist()
            _log(tracked, companion(metric("rg", "coupling", T=t), EXACT), [(k, None) for k in res["rg_exact"]])
        if is_stack(model):
            layers = layer_effective_couplings(model, spins.astype(np.float64), periodic=sampler.periodic)
            res["stack"] = [(lc.coupling.value, lc.coupling.error) for lc in layers]
            _log(tracked, metric("stack", "coupling", T=t), res["stack"])
        res |= _variational(tracked, data.lattice_shape[0], rg.n_steps, K0, h0, sampler.periodic, t)
        out[float(t)] = res
    ctx.results["chain"] = out
    return out


def _variational(tracked, N: int, n_steps: int, K0: float, h0: float, periodic: bool, t: float) -> dict:
    """The exact variational construction on min(N, VARIATIONAL_MAX_N) sites, when its steps fit."""
    n_var = min(VARIATIONAL_MAX_N, N)
    if n_steps == 0 or n_var % 2**n_steps or n_var // 2**n_steps < 2:
        return {}
    flow = decimation_stack_flow(n_var, K0, n_steps, h=h0, periodic=periodic)
    _log(tracked, metric("variational", "coupling", T=t), [(k, None) for k in flow.K])
    _log(tracked, metric("variational", "kl_rbm", T=t), [(k, None) for k in flow.kl_rbm])
    return {"variational": flow.K.tolist()}


def _log(tracked, name: str, values: list[tuple[float, float | None]]) -> None:
    """``name`` (and its ``_err`` where given) against step."""
    for step, (v, e) in enumerate(values):
        tracked.log_metrics(with_companions(name, v, err=e), step=step)


def _safe_coupling(x: np.ndarray, periodic: bool) -> tuple[float, float] | None:
    try:
        est = effective_coupling(x, periodic=periodic)
    except ValueError:  # a perfectly ordered layer: K_eff = ∞
        return None
    return est.value, est.error
