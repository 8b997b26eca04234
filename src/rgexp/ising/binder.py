"""T_c from crossings of the Binder cumulant U_L(T) for several lattice sizes L.

At T_c, U_L tends to a universal value independent of L; below it U grows with L towards 2/3,
above it U falls with L towards 0. For each pair of consecutive sizes (L1 < L2) the difference
D(T) = U_L2(T) - U_L1(T) is fitted, weighted by the errors, with a polynomial of degree ``deg``
(default 2) over the ``half_window`` (default 2) grid points on each side of its sign change (a local fit:
U_L(T) curves strongly for large L), and the fit's root is the pair's crossing. The T_c
estimate is the mean crossing over pairs. Its error comes from a parametric bootstrap: every U
is redrawn from N(value, error) (the (L, T) points are independent runs) and all crossings are
recomputed, so correlations between pairs sharing a size are included.

Not included: the systematic drift of crossings with L (corrections to scaling); compare the
per-pair crossings of :func:`binder_crossings` to judge it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from rgexp.stats import Estimate

__all__ = ["binder_crossings", "find_tc_binder"]


def _root(t: np.ndarray, d: np.ndarray, w: np.ndarray, deg: int, half_window: int) -> float:
    """Crossing of d(t) = 0: a weighted polynomial fit over the points around a sign change.

    The sign change used is the first from D > 0 (low T) to D < 0, else the one nearest the grid
    centre; the fit uses ``half_window`` points on each side of it. NaN when D never changes sign.
    """
    changes = np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) <= 0)
    if changes.size == 0:
        return float("nan")
    falling = changes[d[changes] > d[changes + 1]]
    pool = falling if falling.size else changes
    k = int(pool[np.argmin(np.abs(pool - (t.size - 2) / 2))])
    lo, hi = max(0, k + 1 - half_window), min(t.size, k + 1 + half_window)
    tt, dd, ww = t[lo:hi], d[lo:hi], w[lo:hi]
    centre, scale = 0.5 * (tt[0] + tt[-1]), 0.5 * (tt[-1] - tt[0])
    coef = np.polynomial.polynomial.polyfit((tt - centre) / scale, dd, min(deg, tt.size - 1), w=ww)
    roots = np.polynomial.polynomial.polyroots(coef)
    roots = roots[np.isclose(roots.imag, 0.0) & (np.abs(roots.real) <= 1.0)].real
    if roots.size == 0:
        return float("nan")
    bracket = 0.5 * (t[k] + t[k + 1])  # of several roots, the one nearest the sign change
    best = roots[np.argmin(np.abs(centre + scale * roots - bracket))]
    return float(centre + scale * best)


def _pair_roots(temps, sizes, u, du, deg, half_window):
    return np.array(
        [
            _root(temps, u[k + 1] - u[k], 1.0 / np.hypot(du[k + 1], du[k]), deg, half_window)
            for k in range(len(sizes) - 1)
        ]
    )


def _as_arrays(temperatures, binder):
    temps = np.asarray(temperatures, dtype=np.float64)
    sizes = sorted(int(L) for L in binder)
    if len(sizes) < 2:
        raise ValueError(f"binder needs estimates for at least 2 lattice sizes, got {sizes}")
    u = np.array([[e.value for e in binder[L]] for L in sizes], dtype=np.float64)
    du = np.array([[e.error for e in binder[L]] for L in sizes], dtype=np.float64)
    if u.shape != (len(sizes), temps.size):
        raise ValueError(f"binder must hold one Estimate per temperature ({temps.size}) for every size")
    if not np.all(np.isfinite(u)) or not np.all(np.isfinite(du) & (du > 0)):
        raise ValueError("binder values must be finite with finite errors > 0")
    return temps, sizes, u, du


def _bootstrap(temps, sizes, u, du, deg, half_window, rng, n_boot):
    reps = np.array([_pair_roots(temps, sizes, rng.normal(u, du), du, deg, half_window) for _ in range(n_boot)])
    return reps  # (n_boot, n_pairs), NaN where a replicate had no crossing


def binder_crossings(
    temperatures: Sequence[float],
    binder: Mapping[int, Sequence[Estimate]],
    *,
    rng: np.random.Generator,
    deg: int = 2,
    half_window: int = 2,
    n_boot: int = 1000,
) -> dict[tuple[int, int], Estimate]:
    """Crossing temperature of U_L1 and U_L2 for consecutive sizes, each with a bootstrap error.

    ``binder[L][i]`` is the Binder cumulant of size L at ``temperatures[i]`` (temperatures
    ascending). ``deg`` and ``half_window`` set the local fit (module docstring).
    """
    temps, sizes, u, du = _as_arrays(temperatures, binder)
    values = _pair_roots(temps, sizes, u, du, deg, half_window)
    reps = _bootstrap(temps, sizes, u, du, deg, half_window, rng, n_boot)
    out = {}
    for k in range(len(sizes) - 1):
        if not np.isfinite(values[k]):
            raise ValueError(f"no Binder crossing of L={sizes[k]} and L={sizes[k + 1]} in the temperature range")
        r = reps[:, k][np.isfinite(reps[:, k])]
        lo, hi = np.quantile(r, [0.05, 0.95])
        out[(sizes[k], sizes[k + 1])] = Estimate(float(values[k]), float(r.std(ddof=1)), float(lo), float(hi), 0.9)
    return out


def find_tc_binder(
    temperatures: Sequence[float],
    binder: Mapping[int, Sequence[Estimate]],
    *,
    rng: np.random.Generator,
    deg: int = 2,
    half_window: int = 2,
    n_boot: int = 1000,
) -> Estimate:
    """T_c as the mean of the consecutive-size Binder crossings, with a bootstrap error and 90% CI."""
    temps, sizes, u, du = _as_arrays(temperatures, binder)
    values = _pair_roots(temps, sizes, u, du, deg, half_window)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"no Binder crossing in the temperature range for some of the sizes {sizes}")
    reps = np.nanmean(_bootstrap(temps, sizes, u, du, deg, half_window, rng, n_boot), axis=1)
    reps = reps[np.isfinite(reps)]
    lo, hi = np.quantile(reps, [0.05, 0.95])
    return Estimate(float(values.mean()), float(reps.std(ddof=1)), float(lo), float(hi), 0.9)
