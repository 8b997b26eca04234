"""Finite-size scaling of the long-range Ising model: T_c, Δ_σ and Δ_ε from Monte Carlo alone.

Model and samplers: :mod:`rgexp.ising.long_range` (Wolff + Fukui–Todo); ``couplings`` picks the
periodic convention (image sum or minimum image), which T_c at finite L depends on.

**T_c** (:func:`critical_point`), in two stages:

1. *Scan*: every size on the user's temperature grid, stored as (m, E) series. A pilot T* is
   where the two largest sizes cross (each scan chain reweighted from the grid point nearest
   in β; the local linear fit of :mod:`rgexp.ising.binder` picks the crossing if several).
2. *Reweighting*: one long chain per size at T*. Single-histogram reweighting,
   ⟨A⟩_T = Σ A e^{−(β−β*)E} / Σ e^{−(β−β*)E}, gives a smooth U_L(T) over the window
   |β − β*| <= 1/std(E) (good histogram overlap); the crossing of U_L1 and U_L2 is the root of
   their difference, with a blocked-jackknife error (20 blocks per chain, longer than τ_int:
   samples are thinned by 2 τ_int; the two chains are independent, so their variances add).
   A crossing outside the window re-centres the chains (at most twice).

   T_c is the crossing of the largest pair. Crossings drift with L (corrections to scaling);
   a geometric drift shrinking by < 1/2 per doubling of L (κ = 1/ν + ω > 1) is bounded by the
   step between the two largest pairs. Error of T_c: jackknife ⊕ that step's excess over the
   crossings' own noise. For κ < 1 (d = 1) use :mod:`rgexp.ising.long_range_drift`.

**Scaling dimensions** (:func:`scaling_dimensions`): the stage-2 chains reweighted to T_c, and
weighted least squares on log–log over all sizes of

- ⟨m²⟩_L ∝ L^(−2Δ_σ) (equivalently χ ∝ L^(d − 2Δ_σ)): Δ_σ = −slope/2;
- d ln⟨m²⟩/dβ = −cov(m², E)/⟨m²⟩ ∝ L^(1/ν): Δ_ε = d − 1/ν.

Per-size errors by blocked jackknife; a fit's error is scaled by √(χ²/dof) when that exceeds 1;
the T_c error is propagated by refitting at T_c ± δT_c and taking half the spread, added in
quadrature.

Exact expectations (:func:`exact_delta_sigma`): for d/2 <= σ < σ_* (σ_* = 7/4 in d = 2, 1 in
d = 1) η = 2 − σ exactly (the non-analytic k^σ term is not renormalised), so
Δ_σ = (d − 2 + η)/2 = (d − σ)/2. For σ < d/2 (mean field, above the upper critical dimension)
periodic FSS gives ⟨m²⟩ ∝ N^(−1/2), a fitted Δ_σ = d/4 (the regimes join at σ = d/2). 1/ν, hence
Δ_ε, has no exact value in the long-range regime (ε-expansion only). Not for d = 1, σ = 1: the
Thouless transition has a magnetisation jump, and U_L curves merge instead of crossing.

Measured values, both conventions, beside published T_c: docs/findings.md, "Long-range critical
points against published values". At σ = 1.5, 1.6 (d = 2) Δ_σ misses (d − σ)/2: corrections
∝ L^(−ω), ω → 0 at σ_* = 7/4 (not in the error).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from rgexp.constants import long_range
from rgexp.ising.binder import binder_crossings
from rgexp.ising.chain1d import _check_temperatures
from rgexp.ising.long_range import (
    Algorithm, Couplings, _check_model, _check_run, coupling_table, energy, sample_long_range_with_info,
)
from rgexp.ising.observables import magnetization
from rgexp.seeding import as_seed_sequence, numpy_generator
from rgexp.stats import Estimate, jackknife_estimate

__all__ = ["CriticalSeries", "CriticalPoint", "ScalingDimensions",
           "simulate_series", "critical_point", "scaling_dimensions", "exact_delta_sigma"]

_N_BLOCKS = 20  # jackknife blocks per chain
_MAX_RUNS = 3  # stage-2 attempts, each re-centred on the crossing that fell outside its window
_Z90 = 1.6448536269514722  # two-sided 90% normal quantile, for the CIs of the Estimates


@dataclass(frozen=True, eq=False)
class CriticalSeries:
    """One equilibrated chain at temperature ``T`` on L^d sites: magnetisation per spin ``m``
    and total energy ``energy``, both shape (n_samples,), in chain order; ``info`` is the
    sampler's diagnostics (τ_int, thinning, …)."""

    L: int
    T: float
    m: np.ndarray
    energy: np.ndarray
    info: dict = field(repr=False)

    @property
    def beta_window(self) -> float:
        """Half-width in β of the reweighting window, 1/std(E)."""
        return 1.0 / max(float(np.std(self.energy)), 1e-12)


@dataclass(frozen=True)
class CriticalPoint:
    """T_c from Binder crossings: ``tc`` (error: jackknife ⊕ drift of the largest two pairs),
    the reweighted crossings of consecutive sizes, the scan's pilot T*, and the stage-2 chains
    (one per size, at T*) that :func:`scaling_dimensions` reuses."""

    tc: Estimate
    crossings: dict[tuple[int, int], Estimate]
    pilot_tc: float
    series: dict[int, CriticalSeries]
    sigma: float
    d: int
    couplings: str = "images"


@dataclass(frozen=True)
class ScalingDimensions:
    """Δ_σ, Δ_ε = d − 1/ν and 1/ν at T_c, with the per-size inputs (at T_c) and each fit's χ²/dof."""

    delta_sigma: Estimate
    delta_epsilon: Estimate
    inv_nu: Estimate
    m2: dict[int, Estimate]
    dlog_m2_dbeta: dict[int, Estimate]
    chi2_dof: dict[str, float]


# --------------------------------------------------------------------------- reweighting


def _rows(s: CriticalSeries) -> np.ndarray:
    return np.column_stack([s.m, s.energy])  # (n, 2): jackknife blocks drop whole rows


def _weights(e: np.ndarray, dbeta: float) -> np.ndarray:
    x = -dbeta * (e - e.mean())  # centred: exp never overflows inside the window
    w = np.exp(x - x.max())
    return w / w.sum()


def _moments(rows: np.ndarray, dbeta: float) -> tuple[float, float, float]:
    """(⟨m²⟩, ⟨m⁴⟩, d ln⟨m²⟩/dβ) reweighted by Δβ = ``dbeta``; rows (n, 2) = (m, E)."""
    m2, e = rows[:, 0] ** 2, rows[:, 1]
    w = _weights(e, dbeta)
    wm2 = w * m2  # elementwise sums, not BLAS dot products: threaded ddot stalls on busy cores (ms per call)
    a2, a4, ae, e1 = wm2.sum(), (wm2 * m2).sum(), (wm2 * e).sum(), (w * e).sum()
    return float(a2), float(a4), float((a2 * e1 - ae) / a2)


def _binder(rows: np.ndarray, dbeta: float) -> float:
    a2, a4, _ = _moments(rows, dbeta)
    return 1.0 - a4 / (3.0 * a2**2)


# --------------------------------------------------------------------------- simulation


def simulate_series(
    L: int,
    T: float,
    sigma: float,
    n_samples: int,
    *,
    d: int = 2,
    seed: int | np.random.SeedSequence = 0,
    J: float = 1.0,
    algorithm: Algorithm = "cluster",
    couplings: Couplings = "images",
) -> CriticalSeries:
    """One chain of ``sample_long_range_with_info`` reduced to m and E, each (n_samples,)."""
    spins, info = sample_long_range_with_info(L, T, sigma, n_samples, d=d, seed=seed, J=J, algorithm=algorithm,
                                              couplings=couplings)
    e = energy(spins, coupling_table(L, d, float(sigma), float(J), couplings=couplings))
    return CriticalSeries(int(L), float(T), magnetization(spins), e, info)


# --------------------------------------------------------------------------- T_c


def _crossing(a: np.ndarray, b: np.ndarray, beta0: float, window: float) -> float:
    """β of U_b − U_a = 0 inside |β − β0| <= window, both reweighted from β0; NaN if none."""
    grid = beta0 + np.linspace(-window, window, 41)
    diff = np.array([_binder(b, x - beta0) - _binder(a, x - beta0) for x in grid])
    # Larger L orders more below T_c: U_b − U_a goes from < 0 (high T, small β) to > 0.
    idx = np.flatnonzero((diff[:-1] <= 0) & (diff[1:] > 0))
    if idx.size == 0:
        return float("nan")
    k = int(idx[np.argmin(np.abs(grid[idx] - beta0))])  # the rising crossing nearest β0
    return float(brentq(lambda x: _binder(b, x - beta0) - _binder(a, x - beta0), grid[k], grid[k + 1]))


class _OutsideWindow(ValueError):
    """A pair's crossing lies outside the reweighting window; ``beta_shift`` points towards it."""

    def __init__(self, message: str, beta_shift: float) -> None:
        super().__init__(message)
        self.beta_shift = beta_shift


def _pair_crossing(sa: CriticalSeries, sb: CriticalSeries) -> Estimate:
    """T where U_La = U_Lb, with the jackknife error of each chain added in quadrature."""
    beta0 = 1.0 / sa.T
    window = min(sa.beta_window, sb.beta_window)
    ra, rb = _rows(sa), _rows(sb)
    beta = _crossing(ra, rb, beta0, window)
    if not math.isfinite(beta):
        # U_Lb > U_La at β0 (ordered side): the crossing lies at higher T, i.e. smaller β.
        shift = -window if _binder(rb, 0.0) > _binder(ra, 0.0) else window
        raise _OutsideWindow(
            f"no Binder crossing of L={sa.L} and L={sb.L} within the reweighting window "
            f"T = {1 / (beta0 + window):.4g}…{1 / (beta0 - window):.4g}; widen the scan or add n_samples",
            shift,
        )
    # Jackknife replicas may wander outside the window: allow twice its width for them.
    va = jackknife_estimate(ra, lambda x: _crossing(x, rb, beta0, 2 * window), _N_BLOCKS).error
    vb = jackknife_estimate(rb, lambda x: _crossing(ra, x, beta0, 2 * window), _N_BLOCKS).error
    err_beta = math.hypot(va, vb)
    if not math.isfinite(err_beta):
        raise ValueError(f"Binder crossing of L={sa.L} and L={sb.L} is unstable under jackknife; add n_samples")
    return _normal(1.0 / beta, err_beta / beta**2)


def _normal(value: float, error: float) -> Estimate:
    return Estimate(value, error, value - _Z90 * error, value + _Z90 * error, 0.9)


def _check_sizes(Ls: Sequence[int], minimum: int) -> list[int]:
    sizes = sorted({int(L) for L in Ls})
    if len(sizes) < minimum or any(L < 2 for L in sizes) or len(sizes) != len(list(Ls)):
        raise ValueError(f"Ls must hold at least {minimum} distinct sizes >= 2, got {list(Ls)!r}")
    return sizes


def critical_point(
    sigma: float,
    d: int,
    Ls: Sequence[int],
    temperatures: Sequence[float],
    n_samples: int,
    *,
    n_scan: int | None = None,
    seed: int | np.random.SeedSequence = 0,
    J: float = 1.0,
    algorithm: Algorithm = "cluster",
    couplings: Couplings = "images",
) -> CriticalPoint:
    """T_c(σ, d) from Binder crossings (module docstring: scan, then reweighted crossings).

    ``temperatures`` (ascending, >= 4, bracketing every crossing) is the scan grid, run with
    ``n_scan`` samples per point (default n_samples // 4); ``n_samples`` is the length of each
    stage-2 chain (rerun up to twice, one window closer, if a crossing falls outside its
    reweighting window). ``couplings`` ("images" or "minimum_image") is the periodic convention:
    T_c at finite L depends on it. Raises ValueError if the two largest sizes do not cross in the
    scan, or a pair's crossing stays outside the window.
    """
    _check_model(2, d, sigma, J, couplings)
    sizes = _check_sizes(Ls, 2)
    _check_temperatures(temperatures)
    temps = [float(t) for t in temperatures]
    if len(temps) < 4 or np.any(np.diff(temps) <= 0):
        raise ValueError(f"temperatures must be ascending with at least 4 points, got {temps!r}")
    _check_run(1.0, n_samples, algorithm, None, None)
    if n_samples < 200:
        raise ValueError(f"n_samples must be >= 200 for critical_point (20 jackknife blocks), got {n_samples!r}")
    n_scan = max(n_samples // 4, 50) if n_scan is None else n_scan
    if not isinstance(n_scan, (int, np.integer)) or isinstance(n_scan, bool) or n_scan < 20:
        raise ValueError(f"n_scan must be None or an int >= 20 (jackknife blocks), got {n_scan!r}")
    scan_seed, run_seed, boot_seed = as_seed_sequence(seed).spawn(3)
    streams = iter(scan_seed.spawn(len(sizes) * len(temps)))
    model = dict(d=d, J=J, algorithm=algorithm, couplings=couplings)  # every chain: same model, same sampler
    scan = {L: [simulate_series(L, T, sigma, n_scan, seed=next(streams), **model) for T in temps] for L in sizes}
    pilot = t_star = _scan_pilot(temps, scan, numpy_generator(boot_seed))
    # Stage 2; if a crossing falls outside the window (pilot off by more than the narrowest
    # window), the chains are rerun one window closer to it, at most _MAX_RUNS times.
    for attempt, stream in enumerate(run_seed.spawn(_MAX_RUNS)):
        series = {
            L: simulate_series(L, t_star, sigma, n_samples, seed=s, **model)
            for L, s in zip(sizes, stream.spawn(len(sizes)))
        }
        try:
            crossings = {(a, b): _pair_crossing(series[a], series[b]) for a, b in zip(sizes[:-1], sizes[1:])}
            break
        except _OutsideWindow as exc:
            if attempt == _MAX_RUNS - 1:
                raise ValueError(f"{exc} (after {_MAX_RUNS} re-centred runs)") from None
            t_star = 1.0 / (1.0 / t_star + exc.beta_shift)
    return CriticalPoint(_combine_crossings(crossings), crossings, float(pilot), series, float(sigma), int(d),
                         couplings)


def _scan_pilot(temps: list[float], scan: dict[int, list[CriticalSeries]], rng: np.random.Generator) -> float:
    """Pilot T* for stage 2: where the two largest sizes cross on the scan grid.

    The scan chains, each reweighted from the grid point nearest in β, give a piecewise-smooth
    U_L(T); of its crossings, the one nearest the local linear fit of :func:`binder_crossings`
    (the grid median if that finds none) is kept.
    """
    binder = {L: [jackknife_estimate(_rows(s), lambda x: _binder(x, 0.0), _N_BLOCKS) for s in row]
              for L, row in scan.items()}
    a, b = sorted(scan)[-2:]
    try:
        rough = binder_crossings(temps, {a: binder[a], b: binder[b]}, rng=rng, deg=1, n_boot=50)[(a, b)].value
    except ValueError:  # no clean sign change in the raw grid values: rely on the reweighted curves
        rough = float(np.median(temps))
    betas = 1.0 / np.array(temps)

    def diff(beta: float) -> float:
        k = int(np.argmin(np.abs(betas - beta)))
        return _binder(_rows(scan[b][k]), beta - betas[k]) - _binder(_rows(scan[a][k]), beta - betas[k])

    grid = np.linspace(betas.min(), betas.max(), 8 * len(temps) + 1)
    d = np.array([diff(x) for x in grid])
    idx = np.flatnonzero((d[:-1] <= 0) & (d[1:] > 0))
    if idx.size == 0:
        raise ValueError(f"no Binder crossing of L={a} and L={b} in temperatures {temps!r}; widen the scan")
    k = int(idx[np.argmin(np.abs(grid[idx] - 1.0 / rough))])
    return float(1.0 / brentq(diff, grid[k], grid[k + 1])) if d[k] < 0 else float(1.0 / grid[k])


def _combine_crossings(crossings: dict[tuple[int, int], Estimate]) -> Estimate:
    """Largest pair's crossing; error = its statistical error ⊕ the drift from the previous pair.

    The drift counted is the part of the step not explained by the two crossings' own noise,
    √max(0, step² − err_last² − err_prev²): a step within the noise adds nothing twice.
    """
    pairs = sorted(crossings)
    last = crossings[pairs[-1]]
    if len(pairs) == 1:
        return _normal(last.value, last.error)
    prev = crossings[pairs[-2]]
    excess = (last.value - prev.value) ** 2 - last.error**2 - prev.error**2
    return _normal(last.value, math.hypot(last.error, math.sqrt(max(0.0, excess))))


# --------------------------------------------------------------------------- scaling dimensions


def _at(s: CriticalSeries, T: float) -> tuple[Estimate, Estimate]:
    """⟨m²⟩ and d ln⟨m²⟩/dβ of one chain reweighted to T, jackknife errors."""
    dbeta = 1.0 / T - 1.0 / s.T
    if abs(dbeta) > 2 * s.beta_window:
        raise ValueError(f"T={T:.5g} is outside the reweighting window of the L={s.L} chain at T={s.T:.5g}")
    jk = [jackknife_estimate(_rows(s), lambda x, k=k: _moments(x, dbeta)[k], _N_BLOCKS) for k in (0, 2)]
    tau, n_eff = s.info.get("tau_int_absm"), s.info.get("n_eff")
    return tuple(Estimate(e.value, e.error, tau_int=tau, n_eff=n_eff) for e in jk)  # type: ignore[return-value]


def _loglog_fit(sizes: list[int], values: list[Estimate]) -> tuple[float, float, float]:
    """Weighted least squares of ln(value) = a + b ln L; returns (b, error of b, χ²/dof).

    The error is scaled by √(χ²/dof) when that exceeds 1; with two sizes dof = 0 and χ² = NaN.
    """
    v = np.array([e.value for e in values])
    if np.any(v <= 0):
        raise ValueError(f"power-law fit needs positive values, got {v.tolist()}")
    x, y = np.log(sizes), np.log(v)
    w = (v / np.array([e.error for e in values])) ** 2  # 1 / var(ln v)
    design = np.column_stack([np.ones_like(x), x])
    cov = np.linalg.inv(design.T @ (w[:, None] * design))
    coef = cov @ design.T @ (w * y)
    dof = len(sizes) - 2
    chi2 = float(w @ (y - design @ coef) ** 2 / dof) if dof > 0 else float("nan")
    scale = math.sqrt(chi2) if dof > 0 and chi2 > 1 else 1.0
    return float(coef[1]), float(math.sqrt(cov[1, 1]) * scale), chi2


def _slopes(cp: CriticalPoint, T: float) -> tuple[tuple, tuple, dict, dict]:
    """Both log–log fits at T, and the per-size ⟨m²⟩ and d ln⟨m²⟩/dβ behind them."""
    sizes = sorted(cp.series)
    m2, dm2 = zip(*(_at(cp.series[L], T) for L in sizes))
    return _loglog_fit(sizes, list(m2)), _loglog_fit(sizes, list(dm2)), dict(zip(sizes, m2)), dict(zip(sizes, dm2))


def scaling_dimensions(cp: CriticalPoint) -> ScalingDimensions:
    """Δ_σ and Δ_ε at ``cp.tc`` from the stage-2 chains of ``cp`` (module docstring).

    Needs >= 3 sizes. Errors: fit (scaled by √(χ²/dof) if > 1) ⊕ T_c propagation (refits at
    T_c ± δT_c). No new Monte Carlo is run.
    """
    sizes = sorted(cp.series)
    if len(sizes) < 3:
        raise ValueError(f"Ls must hold at least 3 sizes for scaling_dimensions (a slope and a χ² test), got {sizes}")
    tc, dtc = cp.tc.value, cp.tc.error
    (b_m, e_m, chi_m), (b_t, e_t, chi_t), m2, dm2 = _slopes(cp, tc)
    (bm_hi, _, _), (bt_hi, _, _), _, _ = _slopes(cp, tc + dtc)
    (bm_lo, _, _), (bt_lo, _, _), _, _ = _slopes(cp, tc - dtc)
    e_m = math.hypot(e_m, 0.5 * abs(bm_hi - bm_lo))
    e_t = math.hypot(e_t, 0.5 * abs(bt_hi - bt_lo))
    return ScalingDimensions(
        delta_sigma=_normal(-0.5 * b_m, 0.5 * e_m),
        delta_epsilon=_normal(cp.d - b_t, e_t),
        inv_nu=_normal(b_t, e_t),
        m2=m2,
        dlog_m2_dbeta=dm2,
        chi2_dof={"m2": chi_m, "dlog_m2_dbeta": chi_t},
    )


def exact_delta_sigma(sigma: float, d: int) -> float:
    """The Δ_σ that ⟨m²⟩_L ∝ L^(−2Δ_σ) at T_c must give (module docstring): the registry's
    :func:`rgexp.constants.long_range` (d/4, (d − σ)/2 or 1/8 by regime; raises for the marginal
    σ_* and for d = 1, σ >= 1), after this module's own check of the model's parameters.
    """
    _check_model(2, d, sigma, 1.0)
    return long_range(sigma, d).delta_sigma
