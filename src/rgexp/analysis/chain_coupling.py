"""Effective coupling of units arranged on a chain (Gong & Xia's observable), with its error.

For configurations x (n, m) of m units on a chain — ±1 spins, or real values in [−1, 1] such as
mean-field activations — the nearest-neighbour correlation averaged over the bonds,

    c = (1/n) Σ_s q_s,   q_s = (1/n_bonds) Σ_j x^s_j x^s_{j+1}     (periodic: j + 1 taken mod m),

is inverted to the coupling of the nearest-neighbour Ising chain with that correlation: K_eff =
atanh(c) (open chain, where ⟨s_j s_{j+1}⟩ = tanh K exactly), or, periodic with ``finite_size=True``
(default), the root of (t + t^{m−1}) / (1 + t^m) = c, t = tanh K_eff — the exact periodic-chain
correlation, which removes the O(t^{m−2}) wrap-around bias of atanh(c). Averaging c over bonds
before inverting (rather than averaging atanh per bond) keeps the estimator finite when one bond
is nearly saturated. Rows are taken as independent samples, so the error of c is std(q)/√n (bonds
of one sample are correlated; averaging within the sample first accounts for that), propagated to
K_eff by the derivative of the inversion, and the 90% interval maps c's interval through it. Real
values give the coupling of a ±1 chain with the same correlation — an effective, not a physical,
coupling (conditional means have |x| < 1, which lowers c).

Hidden units of a trained network have no intrinsic order. :func:`chain_order` puts them on the
chain by the circular-mean position of |W_ia| (or of |C_ia|) over the visible ring of n_visible
sites: θ_a = arg Σ_i |W_ia| e^{2πi·i/n_visible}, centre θ_a n_visible / 2π ∈ [0, n_visible),
units sorted by centre (direction of increasing site index, so the order is fixed up to a cyclic
shift, which no ring observable sees). :func:`chain_gauge` fixes each unit's sign (a hidden unit
and its negation are equivalent for symmetric data) by the sign of Σ_i C_ia.

Nothing here does I/O. Shapes: x (n, m); weight (n_visible, n_units).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch

from rgexp.analysis.receptive import stacked_hiddens, visible_hidden_correlator
from rgexp.stats import Estimate

__all__ = ["effective_coupling", "chain_centres", "chain_order", "chain_gauge", "LayerCoupling",
           "layer_effective_couplings"]

# ---------------------------------------------------------------------------- inversion
def _periodic_corr(t: float, m: int) -> float:
    """⟨s_0 s_1⟩ of the periodic chain of m spins, t = tanh K, 0 <= t < 1."""
    return (t + t ** (m - 1)) / (1.0 + t**m)


def _invert(c: float, m: int, periodic: bool, finite_size: bool) -> float:
    """K with ⟨s_0 s_1⟩_K = c, c in (−1, 1). The periodic correction is applied for c > 0, and for
    c < 0 when m is even (the correlation is odd in t then); otherwise atanh(c)."""
    if not (periodic and finite_size) or c == 0.0 or (c < 0 and m % 2):
        return math.atanh(c)
    # (t + t^{m−1}) / (1 + t^m) >= t and increases with K: the root lies in [0, atanh|c|]; bisect in K
    lo, hi = 0.0, math.atanh(abs(c))
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if _periodic_corr(math.tanh(mid), m) < abs(c) else (lo, mid)
    return math.copysign(0.5 * (lo + hi), c)


def _check_values(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"x must have shape (n, m) with n >= 2 samples and m >= 2 units, got {x.shape}")
    if not np.all(np.isfinite(x)) or np.abs(x).max() > 1.0:
        raise ValueError("x must hold finite values in [-1, 1] (±1 spins or conditional means)")
    return x


def _check_order(order, m: int) -> np.ndarray:
    order = np.asarray(order)
    if order.shape != (m,) or not np.array_equal(np.sort(order), np.arange(m)):
        raise ValueError(f"order must be a permutation of range({m}), got {order!r}")
    return order


def effective_coupling(
    x, order=None, *, periodic: bool = True, finite_size: bool = True, ci_level: float = 0.9,
) -> Estimate:
    """K_eff of configurations x (n, m) on a chain (module docstring), with its error and interval.

    order: (m,) permutation listing the columns in chain order (None: as given). ``n_eff`` is n.
    """
    x = _check_values(x)
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}")
    z = NormalDist().inv_cdf(0.5 + ci_level / 2.0)
    n, m = x.shape
    if order is not None:
        x = x[:, _check_order(order, m)]
    pairs = x * np.roll(x, -1, axis=1) if periodic else x[:, :-1] * x[:, 1:]
    q = pairs.mean(axis=1)
    c, dc = float(q.mean()), float(q.std(ddof=1) / math.sqrt(n))
    if not abs(c) < 1.0:
        raise ValueError(f"the nearest-neighbour correlation is {c}: K_eff is infinite (perfectly ordered x)")
    K = _invert(c, m, periodic, finite_size)
    # dK/dc by a central difference of the (smooth, monotone) inversion
    step = 1e-6 * (1.0 - abs(c))
    slope = (_invert(c + step, m, periodic, finite_size) - _invert(c - step, m, periodic, finite_size)) / (2 * step)
    bound = 1.0 - 1e-15
    lo, hi = (_invert(float(np.clip(c + s * z * dc, -bound, bound)), m, periodic, finite_size) for s in (-1, 1))
    return Estimate(K, abs(slope) * dc, lo, hi, ci_level, n_eff=float(n))


# ---------------------------------------------------------------------------- ordering hidden units
def _check_weight(weight) -> np.ndarray:
    if isinstance(weight, torch.Tensor):
        weight = weight.detach().cpu().numpy()
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] < 2 or not np.all(np.isfinite(w)):
        raise ValueError(f"weight must be a finite (n_visible, n_units) matrix with n_visible >= 2, "
                         f"got shape {w.shape}")
    return w


def chain_centres(weight, *, periodic: bool = True) -> np.ndarray:
    """Each unit's centre on the visible chain, (n_units,): circular mean of |W_ia| over the ring of
    n_visible sites in [0, n_visible) (periodic), or the |W|-weighted mean site index (open).
    A unit with all-zero weights has centre nan."""
    a = np.abs(_check_weight(weight))
    n_v = a.shape[0]
    total = a.sum(axis=0)
    if not periodic:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, np.arange(n_v) @ a / total, np.nan)
    z = np.exp(2j * np.pi * np.arange(n_v) / n_v) @ a
    centre = (np.angle(z) % (2 * np.pi)) * n_v / (2 * np.pi)
    return np.where(total > 0, centre % n_v, np.nan)


def chain_order(weight, *, periodic: bool = True) -> np.ndarray:
    """Permutation (n_units,) listing the units by increasing :func:`chain_centres` (stable sort)."""
    centres = chain_centres(weight, periodic=periodic)
    if np.any(np.isnan(centres)):
        empty = np.flatnonzero(np.isnan(centres)).tolist()
        raise ValueError(f"weight has all-zero columns (units {empty}): they have no position on the chain")
    return np.argsort(centres, kind="stable")


def chain_gauge(c) -> np.ndarray:
    """Signs (n_units,) making each unit's summed correlator Σ_i C_ia non-negative (0 counts as +1).

    c: (n_visible, n_units) correlators or weights. Multiply the unit's values by its sign."""
    c = _check_weight(c)
    return np.where(c.sum(axis=0) < 0, -1.0, 1.0)


# ---------------------------------------------------------------------------- a trained stack
@dataclass(frozen=True)
class LayerCoupling:
    """Layer ``layer`` (0 = the data) of a stack: K_eff of its units in chain order, gauge fixed."""

    layer: int
    n_units: int
    coupling: Estimate
    order: tuple[int, ...]


def layer_effective_couplings(
    stack, spins, *, sample: bool = False, generator: torch.Generator | None = None, periodic: bool = True,
) -> list[LayerCoupling]:
    """K_eff of every layer of a StackedRBM on ±1 chain ``spins`` (n, n_visible).

    Layer k's units (conditional means, or samples with ``sample=True``) are ordered by
    :func:`chain_order` of |C_ia| against the input spins — their receptive fields on the input
    ring — and gauge-fixed by :func:`chain_gauge` of C_ia; layer 0 is the input in its own order.
    """
    spins = np.asarray(spins)
    out = [LayerCoupling(0, spins.shape[1], effective_coupling(spins, periodic=periodic),
                         tuple(range(spins.shape[1])))]
    for k in range(1, len(stack) + 1):
        h = stacked_hiddens(stack, spins, k, sample=sample, generator=generator)
        c = visible_hidden_correlator(spins, h).value
        order = chain_order(c, periodic=periodic)
        x = (h * chain_gauge(c))[:, order]
        out.append(LayerCoupling(k, h.shape[1], effective_coupling(x, periodic=periodic), tuple(order.tolist())))
    return out
