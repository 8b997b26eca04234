"""The 1D chain's coupling flows (Gong & Xia; Mehta & Schwab's exact mapping), logged per temperature.

For chain data (lattice (N,)) at K₀ = J/T: the effective coupling K_eff of every RG step
(``rg/coupling``) next to the exact decimation recursion (``rg/coupling_exact``, b = 2
decimation only), of every stacked-RBM layer (``stack/coupling``; hidden units ordered along the
chain by their receptive fields), and the exact variational-RG ↔ RBM construction
(``variational/coupling`` read off the exact laws of "chain RBM + decimation operator" stacked k
times, ``variational/kl_rbm`` its distance from the chain RBM rebuilt there). Called only by
:mod:`rgexp.pipeline`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from rgexp.analysis import effective_coupling, layer_effective_couplings
from rgexp.ising.data import IsingData
from rgexp.models import is_stack
from rgexp.metric_names import EXACT, companion, metric, with_companions
from rgexp.rg import coupling_flow, decimation_stack_flow
from rgexp.seeding import numpy_generator
from rgexp.tracking import TrackedRun

__all__ = ["chain_coupling_stage", "VARIATIONAL_MAX_N"]

VARIATIONAL_MAX_N = 16  # exact enumeration of the variational construction: 2^16 states


def _log(tracked: TrackedRun, name: str, values: list[tuple[float, float | None]]) -> None:
    """``name`` (and its ``_err`` where given) against step."""
    for step, (v, e) in enumerate(values):
        tracked.log_metrics(with_companions(name, v, err=e), step=step)


def _safe_coupling(x: np.ndarray, periodic: bool) -> tuple[float, float] | None:
    try:
        est = effective_coupling(x, periodic=periodic)
    except ValueError:  # a perfectly ordered layer: K_eff = ∞
        return None
    return est.value, est.error


def chain_coupling_stage(model, data: IsingData, rg, sampler, seed_at: Callable[[float], np.random.SeedSequence],
                         tracked: TrackedRun) -> dict[float, dict[str, Any]]:
    """Coupling flows of the RG steps, the stack's layers and the exact variational construction;
    ``seed_at(T)``: the stream of the RG steps' tie-breaks at T."""
    periodic = bool(getattr(sampler, "periodic", True))
    J, h = float(getattr(sampler, "J", 1.0)), float(getattr(sampler, "h", 0.0))
    exact_rg = rg.rule == "decimation" and rg.b == 2
    out: dict[float, dict[str, Any]] = {}
    for t, spins in zip(data.temperatures, data.blocks):
        K0, h0, res = J / t, h / t, {}
        steps = [_safe_coupling(x, periodic) for x in rg(spins, numpy_generator(seed_at(t)), ndim=1)]
        res["rg"] = [s for s in steps if s is not None]
        _log(tracked, metric("rg", "coupling", T=t), res["rg"])
        if exact_rg:
            res["rg_exact"] = coupling_flow(K0, h0, rg.n_steps)[0].tolist()
            _log(tracked, companion(metric("rg", "coupling", T=t), EXACT), [(k, None) for k in res["rg_exact"]])
        if is_stack(model):
            layers = layer_effective_couplings(model, spins.astype(np.float64), periodic=periodic)
            res["stack"] = [(lc.coupling.value, lc.coupling.error) for lc in layers]
            _log(tracked, metric("stack", "coupling", T=t), res["stack"])
        n_var = min(VARIATIONAL_MAX_N, data.lattice_shape[0])
        if rg.n_steps > 0 and n_var % 2**rg.n_steps == 0 and n_var // 2**rg.n_steps >= 2:
            flow = decimation_stack_flow(n_var, K0, rg.n_steps, h=h0, periodic=periodic)
            res["variational"] = flow.K.tolist()
            _log(tracked, metric("variational", "coupling", T=t), [(k, None) for k in flow.K])
            _log(tracked, metric("variational", "kl_rbm", T=t), [(k, None) for k in flow.kl_rbm])
        out[float(t)] = res
    return out
