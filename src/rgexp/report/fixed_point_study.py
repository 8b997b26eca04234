"""The fixed-point study's numbers: what picks the RBM flow's end, and how it moves with the lattice.

Pure functions of run records (:class:`rgexp.tracking.RunRecord`), no I/O. A run's end is read from
``analysis.fixed_point``'s metrics at the last training update (the T = ∞ start, logged without a
``/T`` qualifier): T* by each reader (``fixed_point/temperature_<reader>``), m* =
``fixed_point/abs_magnetization``, and from their histories how often the fixed point changed side
during training.

- **Side.** Ordered where m* > ``ORDERED_M`` = 0.5: the ends the study set out to explain sit near
  m* ≈ 0.1 (disordered) and m* ≈ 0.95 (ordered), far from the cut on either side.
- **Per setting** (:func:`summarize`): the fraction of seeds whose end is ordered with its Wilson
  score interval (scipy's ``binomtest``), T* by each reading and m* as the mean with the standard
  deviation over seeds, and the side switches per seed.
- **Finite size** (:func:`finite_size_fit`): T*(L) = T*_∞ + a·L^(−1/ν), weighted least squares in
  the seed means' errors, with ν fixed (1: linear in 1/L) or free (scipy's ``curve_fit``); T*_∞'s
  interval at ``level`` (Student t on the fit's degrees of freedom).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from rgexp.metric_names import metric
from rgexp.stats import Estimate
from rgexp.tracking import RunRecord

__all__ = ["ORDERED_M", "READINGS", "RunEnd", "Setting", "run_end", "switches", "summarize", "Effect", "effect",
           "FiniteSizeFit", "finite_size_fit"]

ORDERED_M = 0.5
READINGS = ("energy", "magnetization", "network")
M_STAR = metric("fixed_point", "abs_magnetization")


def _temperature(reading: str) -> str:
    return metric("fixed_point", f"temperature_{reading}")


@dataclass(frozen=True)
class RunEnd:
    """One run's fixed point at the end of training: T* per reading (NaN where not logged), m*, and
    the side changes of m* over the measured training updates."""

    T: dict[str, float]
    m: float
    switches: int

    @property
    def ordered(self) -> bool:
        return self.m > ORDERED_M


def switches(history: Sequence[tuple[int, float]], cut: float = ORDERED_M) -> int:
    """How many times the values of ``history`` [(step, value), …] cross ``cut`` (steps in order)."""
    sides = [v > cut for _, v in sorted(history) if math.isfinite(v)]
    return sum(a != b for a, b in zip(sides, sides[1:]))


def run_end(record: RunRecord) -> RunEnd | None:
    """The run's end, or None where it logged no fixed point (``analysis.fixed_point`` off)."""
    if M_STAR not in record.final:
        return None
    T = {r: float(record.final.get(_temperature(r), math.nan)) for r in READINGS}
    return RunEnd(T, float(record.final[M_STAR]), switches(record.history.get(M_STAR, [])))


@dataclass(frozen=True)
class Setting:
    """The ends of one setting's seeds, summarized (:func:`summarize`)."""

    label: str
    n: int
    ordered: int
    ordered_interval: tuple[float, float]
    T: dict[str, Estimate]  # reading -> mean over seeds, error = standard deviation over seeds
    m: Estimate
    switches: Estimate  # side changes per seed: mean, standard deviation
    ends: tuple[RunEnd, ...] = ()

    @property
    def ordered_fraction(self) -> float:
        return self.ordered / self.n


def _spread(values: Iterable[float]) -> Estimate:
    x = np.array([v for v in values if math.isfinite(v)], dtype=float)
    if x.size == 0:
        return Estimate(math.nan, math.nan)
    return Estimate(float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else math.nan)


def summarize(label: str, ends: Sequence[RunEnd], level: float = 0.95) -> Setting:
    """Summary of a setting's seeds; the ordered fraction's interval is Wilson's at ``level``."""
    if not ends:
        raise ValueError(f"setting {label!r} has no run with a fixed point")
    k, n = sum(e.ordered for e in ends), len(ends)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return Setting(label, n, k, (float(ci.low), float(ci.high)),
                   {r: _spread(e.T[r] for e in ends) for r in READINGS}, _spread(e.m for e in ends),
                   _spread(e.switches for e in ends), tuple(ends))


@dataclass(frozen=True)
class Effect:
    """An arm against its baseline: each difference (arm − baseline) with its interval at ``level``."""

    ordered: tuple[float, float, float]  # difference of the ordered fractions, Newcombe's interval
    T: tuple[float, float, float]  # difference of mean T* (energy reading), Welch's interval
    switches: tuple[float, float, float]  # difference of mean switches per seed, Welch's interval


def _newcombe(k1: int, n1: int, k2: int, n2: int, level: float) -> tuple[float, float, float]:
    """p1 − p2 with Newcombe's hybrid score interval (his method 10: from the two Wilson intervals)."""
    (l1, u1), (l2, u2) = (stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
                          for k, n in ((k1, n1), (k2, n2)))
    p1, p2 = k1 / n1, k2 / n2
    return (p1 - p2, p1 - p2 - math.hypot(p1 - l1, u2 - p2), p1 - p2 + math.hypot(u1 - p1, p2 - l2))


def _welch(a: Sequence[float], b: Sequence[float], level: float) -> tuple[float, float, float]:
    a, b = (np.array([x for x in v if math.isfinite(x)], dtype=float) for v in (a, b))
    if a.size < 2 or b.size < 2:
        return (math.nan, math.nan, math.nan)
    diff = float(a.mean() - b.mean())
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # no scatter in either: the difference is exact
        return (diff, diff, diff)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)
    return (diff, float(ci.low), float(ci.high))


def effect(arm: Setting, baseline: Setting, level: float = 0.95) -> Effect:
    """What ``arm`` changes against ``baseline``: side, T* (energy), switching, each with its interval."""
    return Effect(_newcombe(arm.ordered, arm.n, baseline.ordered, baseline.n, level),
                  _welch([e.T["energy"] for e in arm.ends], [e.T["energy"] for e in baseline.ends], level),
                  _welch([e.switches for e in arm.ends], [e.switches for e in baseline.ends], level))


@dataclass(frozen=True)
class FiniteSizeFit:
    """T*(L) = T_inf + a·L^(−1/ν): T_inf with its interval at ``level``, a, ν (fixed or fitted)."""

    T_inf: Estimate
    interval: tuple[float, float]
    a: float
    nu: Estimate
    dof: int


def finite_size_fit(L: Sequence[float], T: Sequence[float], err: Sequence[float], nu: float | None = 1.0,
                    level: float = 0.95) -> FiniteSizeFit:
    """Fit T*(L) (seed means with their errors) with ν fixed (``nu``) or free (``nu=None``).

    Errors scale with √(χ²/dof) where that exceeds 1 (the spread between sizes, not only within);
    needs more sizes than free parameters."""
    L, T, err = (np.asarray(a, dtype=float) for a in (L, T, err))
    free = 2 if nu is not None else 3
    if L.size <= free or not np.all(err > 0):
        raise ValueError(f"finite_size_fit needs more than {free} sizes with errors > 0, got {L.size}")
    if nu is not None:
        A = np.stack([np.ones_like(L), L ** (-1.0 / nu)], axis=1) / err[:, None]
        coef, *_ = np.linalg.lstsq(A, T / err, rcond=None)
        cov = np.linalg.inv(A.T @ A)
        residual = T - (coef[0] + coef[1] * L ** (-1.0 / nu))
        params, nu_est = coef, Estimate(nu, 0.0)
    else:
        model = lambda x, t, a, inv_nu: t + a * x ** (-inv_nu)  # noqa: E731
        params, cov = optimize.curve_fit(model, L, T, p0=(T[-1], 1.0, 1.0), sigma=err, absolute_sigma=True,
                                         maxfev=20_000)
        residual = T - model(L, *params)
        inv_nu, d_inv = params[2], math.sqrt(cov[2, 2])
        nu_est = Estimate(1.0 / inv_nu, d_inv / inv_nu**2)
    dof = L.size - free
    scale = max(1.0, math.sqrt(float(np.sum((residual / err) ** 2)) / dof))
    error = math.sqrt(cov[0, 0]) * scale
    t = stats.t.ppf(0.5 + level / 2, dof)
    return FiniteSizeFit(Estimate(float(params[0]), error), (params[0] - t * error, params[0] + t * error),
                         float(params[1]), nu_est, dof)
