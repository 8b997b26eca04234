"""Δ_σ from the magnetization: ⟨|m|⟩(T) = B |t|^β near T_c, Δ_σ = β/ν.

The paper's Fig. 2 method. :func:`fit_magnetization_exponent` fits ⟨|m|⟩ = B |t|^β, t = (T − T_c)/T_c, on one side of T_c
in the window t_min < |t| <= t_max, and reports Δ_σ = β/ν (ν = 1 in 2D). Corrections to scaling
(relative O(|t|) on the Onsager curve) bound the window from above, finite-size rounding
(|t| ≲ 1/L for ν = 1) from below; default t_max = 0.1.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import optimize

from rgexp.analysis.scaling import ScalingFit, _check_level
from rgexp.constants import T_C

__all__ = ["fit_magnetization_exponent", "magnetization_exponent_per_flow"]


def fit_magnetization_exponent(
    temperatures: np.ndarray,
    m: np.ndarray,
    dm: np.ndarray | None = None,
    T_c: float = T_C,
    *,
    side: Literal["below", "above"] = "below",
    t_min: float = 0.0,
    t_max: float = 0.1,
    nu: float = 1.0,
    correction: bool = False,
    fit_tc: bool = False,
    ci_level: float = 0.9,
) -> ScalingFit:
    """The paper's Fig. 2 method: ⟨|m|⟩ = B |t|^β (1 + b|t| if ``correction``), t = (T − T_c)/T_c;
    returns Δ_σ = β/ν as ``value`` (B as ``amplitude``, b in ``corrections``).

    temperatures, m, dm: (n_T,). Uses the points on ``side`` of T_c with t_min < |t| <= t_max,
    more of them than parameters; ``fit_tc`` also fits T_c, starting from ``T_c``. Without ``dm``
    the fit is unweighted and the parameter covariance is scaled by the residual variance, with a
    Student-t quantile on n − p degrees of freedom (Mathematica's NonlinearModelFit, as in the
    paper). With ``dm`` the fit is weighted and the covariance from dm is scaled up by χ²/dof when
    that exceeds 1, Student-t again. The interval is statistical only: with exact Onsager data it
    excludes 1/8 (β_eff ≈ 0.119 for t_max = 0.1, 0.1241 for 0.01); ``correction=True`` removes
    most of that bias.
    """
    _check_level(ci_level)
    if side not in ("below", "above"):
        raise ValueError(f"side must be 'below' or 'above', got {side!r}")
    T = np.asarray(temperatures, dtype=np.float64)
    y = np.asarray(m, dtype=np.float64)
    sig = np.ones_like(y) if dm is None else np.asarray(dm, dtype=np.float64)
    if not (T.shape == y.shape == sig.shape and T.ndim == 1):
        raise ValueError(
            f"temperatures, m, dm must be 1D of equal length, got {T.shape}, {y.shape}, {sig.shape}"
        )
    sgn = -1.0 if side == "below" else 1.0
    keep = (sgn * (T - T_c) / T_c > t_min) & (sgn * (T - T_c) / T_c <= t_max) & np.isfinite(y)
    n_par = 2 + int(correction) + int(fit_tc)
    if keep.sum() <= n_par:
        raise ValueError(f"{int(keep.sum())} temperatures in the window for {n_par} parameters")
    if np.any(sig[keep] <= 0) or np.any(y[keep] <= 0):
        raise ValueError("m and dm must be > 0 in the fit window")
    T, y, sig = T[keep], y[keep], sig[keep]
    abs_t = sgn * (T - T_c) / T_c

    def resid(p: np.ndarray) -> np.ndarray:  # p = (B, β[, b][, T_c])
        tc = p[-1] if fit_tc else T_c
        x = np.maximum(sgn * (T - tc) / tc, 1e-300)
        return (p[0] * x ** p[1] * (1.0 + (p[2] * x if correction else 0.0)) - y) / sig

    slope, icept = np.polyfit(np.log(abs_t), np.log(y), 1, w=y / sig)  # log-linear start
    p0 = [math.exp(icept), slope] + [0.0] * int(correction) + [T_c] * int(fit_tc)
    lb, ub = [-np.inf] * len(p0), [np.inf] * len(p0)
    if fit_tc:  # T_c stays beyond the window's edge, so every |t| > 0 (the start T_c already is)
        lb[-1], ub[-1] = (T.max(), np.inf) if side == "below" else (0.0, T.min())
    res = optimize.least_squares(
        resid, p0, bounds=(lb, ub), method="trf", x_scale="jac", xtol=1e-15, ftol=1e-15, gtol=1e-15
    )
    dof = y.size - n_par
    chi2 = float(np.sum(res.fun**2))
    pcov = np.linalg.pinv(res.jac.T @ res.jac)
    pcov *= chi2 / dof if dm is None else max(1.0, chi2 / dof)
    err = np.sqrt(np.diag(pcov))
    beta, d_beta = float(res.x[1]), float(err[1])
    from scipy import stats  # here: importing scipy.stats costs every process ~0.5 s

    tq = stats.t.ppf(0.5 + ci_level / 2.0, dof)
    return ScalingFit(
        beta / nu, d_beta / nu, (beta - tq * d_beta) / nu, (beta + tq * d_beta) / nu, ci_level,
        amplitude=float(res.x[0]), amplitude_error=float(err[0]),
        corrections=(float(res.x[2]),) if correction else (), chi2=chi2, dof=int(dof),
        window=(float(abs_t.min()), float(abs_t.max())), n_points=int(y.size), operator="sigma",
        form="magnetization", method="covariance", tc=float(res.x[-1]) if fit_tc else None,
        tc_error=float(err[-1]) if fit_tc else None,
    )  # fmt: skip


def magnetization_exponent_per_flow(
    temperatures: np.ndarray,
    m: np.ndarray,
    dm: np.ndarray | None = None,
    T_c: float = T_C,
    **kwargs,
) -> list[ScalingFit]:
    """:func:`fit_magnetization_exponent` for each flow length: m, dm (n_lengths, n_T) -> list."""
    m = np.atleast_2d(m)
    dms = [None] * m.shape[0] if dm is None else list(np.atleast_2d(dm))
    return [fit_magnetization_exponent(temperatures, mi, di, T_c, **kwargs) for mi, di in zip(m, dms)]
