"""How far the largest pair's Binder crossing may still lie from T_c(L → ∞): a finite-size allowance.

:func:`rgexp.ising.long_range_fss.critical_point` reports T_c as c_k, the crossing of the two
largest sizes. Crossings drift with L: c(L) − T_c ≈ a L^−κ with κ = 1/ν + ω, where ω > 0 is the
leading correction-to-scaling exponent, so κ >= 1/ν. With sizes in a fixed ratio ρ (L_{j+1} = ρ L_j,
e.g. L = 2^n) each further step of the crossing sequence is q = ρ^−κ times the one before, and

    |T_c − c_k| <= Σ_{m >= 1} q^m |Δ| = r |Δ|,   r = q / (1 − q),   Δ = c_k − c_{k−1}.

q is largest for the smallest κ, so κ = 1/ν (ω unknown, set to 0) gives the conservative bound.
Δ is itself noisy, and a small measured step can hide a larger drift, so the allowance takes Δ's
upper bound:

    A = r (|Δ| + z δΔ).

δΔ comes from a blocked jackknife chain by chain (delete a block of one chain, recompute both
crossings; the variances of the independent chains add): the two crossings share the middle
size's chain, so their errors are correlated and a plain quadrature sum would misstate δΔ.
Assumed: one correction term dominates from the second-largest pair on (no sign change of the
drift beyond the sizes simulated).
"""

from __future__ import annotations

import math

import numpy as np

from rgexp.ising.long_range_fss import _N_BLOCKS, CriticalPoint, _crossing, _rows
from rgexp.stats import Estimate, jackknife_estimate

__all__ = ["crossing_step", "finite_size_allowance"]


def _last_three(cp: CriticalPoint) -> tuple[int, int, int]:
    sizes = sorted(cp.series)
    if len(sizes) < 3:
        raise ValueError(f"Ls must hold at least 3 sizes for a crossing step (two pairs), got {sizes}")
    a, b, c = sizes[-3:]
    if not math.isclose(c / b, b / a, rel_tol=1e-9):
        raise ValueError(f"Ls must grow by a fixed ratio for the drift bound (e.g. L = 2^n), got {a}, {b}, {c}")
    return a, b, c


def crossing_step(cp: CriticalPoint) -> Estimate:
    """Δ = c(L_b, L_c) − c(L_a, L_b) for the three largest sizes, with its blocked-jackknife error
    (each chain's blocks deleted in turn, the three chains' variances added)."""
    a, b, c = _last_three(cp)
    value = cp.crossings[(b, c)].value - cp.crossings[(a, b)].value
    series = {L: cp.series[L] for L in (a, b, c)}
    rows = {L: _rows(s) for L, s in series.items()}
    beta0 = 1.0 / series[a].T  # the stage-2 chains all run at the same temperature
    # Replicas may wander: twice each pair's reweighting window, as critical_point's own jackknife.
    w_ab = 2 * min(series[a].beta_window, series[b].beta_window)
    w_bc = 2 * min(series[b].beta_window, series[c].beta_window)

    def step(ra: np.ndarray, rb: np.ndarray, rc: np.ndarray) -> float:
        return 1.0 / _crossing(rb, rc, beta0, w_bc) - 1.0 / _crossing(ra, rb, beta0, w_ab)

    variances = [
        jackknife_estimate(rows[a], lambda x: step(x, rows[b], rows[c]), _N_BLOCKS).error ** 2,
        jackknife_estimate(rows[b], lambda x: step(rows[a], x, rows[c]), _N_BLOCKS).error ** 2,
        jackknife_estimate(rows[c], lambda x: step(rows[a], rows[b], x), _N_BLOCKS).error ** 2,
    ]
    error = math.sqrt(sum(variances))
    if not math.isfinite(error):
        raise ValueError(f"the crossing step of L={a}, {b}, {c} is unstable under jackknife; add n_samples")
    return Estimate(float(value), error)


def finite_size_allowance(cp: CriticalPoint, inv_nu: float, z: float = 3.0) -> float:
    """A = r (|Δ| + z δΔ), r = q/(1 − q), q = ρ^(−inv_nu): the bound on |T_c(∞) − cp.tc| (module
    docstring). ``inv_nu`` must be a lower bound on κ = 1/ν + ω (1/ν itself, or less); ``z`` sets
    how far the measured step may understate the true one."""
    if not (isinstance(inv_nu, (int, float)) and math.isfinite(inv_nu) and inv_nu > 0):
        raise ValueError(f"inv_nu must be a finite number > 0, got {inv_nu!r}")
    if not (isinstance(z, (int, float)) and math.isfinite(z) and z >= 0):
        raise ValueError(f"z must be a finite number >= 0, got {z!r}")
    a, b, _ = _last_three(cp)
    q = (b / a) ** (-inv_nu)
    delta = crossing_step(cp)
    return q / (1.0 - q) * (abs(delta.value) + z * delta.error)
