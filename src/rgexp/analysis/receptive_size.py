"""Receptive-field size per layer: the radius of gyration of each unit's correlator map.

Mehta & Schwab's "receptive fields grow with depth", as a number with an error. For unit a with
map C_a(x) = C_ia on a lattice (L×L, a chain, any shape; periodic by default) the weight is the
noise-subtracted power

    w_a(x) = C_a(x)² − σ²_a(x),        σ²_a(x) = the sampling variance of the estimate C_a(x),

and the size is the second moment about the unit's centre,

    R²_a = Σ_x w_a(x) |d(x − c_a)|² / Σ_x w_a(x),

with c_a the circular mean of w_a along each axis (θ_k = arg Σ_x w_a(x) e^{2πi x_k / L_k}, so a
field straddling the seam of the torus is centred correctly; a flat marginal, which has no
circular mean, is centred on site 0) and d the minimum-image displacement
in [−L_k/2, L_k/2) (open lattices: the plain weighted mean and displacement).

Why C² and not |C|: sampling noise adds to the power, E[Ĉ²] = C² + σ², so it can be subtracted
exactly in expectation; the noise in |Ĉ| (a folded normal) cannot. Without the subtraction every
far site contributes σ² |d|², which pulls R² of a compact field towards that of a featureless map.
The price is that R² measures C², which is narrower than C: a Gaussian C = e^{−r²/(2s²)} in d
dimensions has R² = d s²/2 (up to lattice corrections of relative size e^{−π² s²}); a uniform b^d
patch has R² = d (b² − 1)/12 either way.

The floor. A unit is *resolved* when its excess power S_a = Σ_x w_a(x) exceeds z null standard
deviations, sqrt(2 Σ_x σ⁴_a(x)) (white Gaussian noise of known variance: Σ_x Ĉ²/σ² is χ² with one
degree of freedom per site, so the false-positive rate is exactly P(χ²_N > N + z √(2N)) for N
sites of equal σ). White noise therefore gives (almost) no resolved units — the documented floor.
Unresolved units get R² = nan and are left out of the summary. With ``noise_variance=0`` nothing
is subtracted and a map without structure has R² up to :func:`uniform_r2`, the value of a flat map
(white noise comes out somewhat below it: the circular-mean centre follows the noise).

The summary is ⟨R²⟩ over resolved units ± its standard error over units (R²_a is an unbiased
ratio-of-sums estimate, its square root is not), and the rms radius sqrt⟨R²⟩ with the error
propagated. Nothing here does I/O. Maps: (n_units, *lattice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rgexp.analysis.receptive import Correlator
from rgexp.stats import Estimate

__all__ = ["ReceptiveSize", "receptive_field_size", "uniform_r2", "arrange_on_grid"]


@dataclass(frozen=True, eq=False)
class ReceptiveSize:
    """Per unit: ``r2`` (n_units,) second moment (nan when unresolved), ``centre`` (n_units, ndim)
    in lattice coordinates, ``resolved`` (n_units,) bool, ``excess_z`` (n_units,) the excess power
    in null standard deviations (±inf when no noise was subtracted). Summary over resolved units:
    ``mean_r2`` ⟨R²⟩ ± standard error and ``rms_radius`` sqrt⟨R²⟩ ± propagated error."""

    r2: np.ndarray
    centre: np.ndarray
    resolved: np.ndarray
    excess_z: np.ndarray
    mean_r2: Estimate
    rms_radius: Estimate
    lattice_shape: tuple[int, ...]


def uniform_r2(lattice_shape: tuple[int, ...], *, periodic: bool = True) -> float:
    """R² of a flat map: Σ_k (L_k² + 2)/12 for even periodic L_k, (L_k² − 1)/12 otherwise (centre on a site,
    or the middle of an open axis)."""
    shape = _check_shape(lattice_shape)
    return float(sum((L * L + 2) / 12.0 if periodic and L % 2 == 0 else (L * L - 1) / 12.0 for L in shape))


def _check_shape(lattice_shape) -> tuple[int, ...]:
    try:
        shape = tuple(int(L) for L in lattice_shape)
    except TypeError:
        raise ValueError(f"lattice_shape must be a tuple of ints >= 1, got {lattice_shape!r}") from None
    if not shape or min(shape) < 1:
        raise ValueError(f"lattice_shape must be a tuple of ints >= 1, got {lattice_shape!r}")
    return shape


def _as_maps(x: np.ndarray, lattice_shape, what: str) -> np.ndarray:
    """(n_visible, n_units) matrix (2D input) or maps (n_units, *lattice) (3D+) → maps."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim >= 3:
        if lattice_shape is not None and tuple(lattice_shape) != x.shape[1:]:
            raise ValueError(f"{what}: maps of shape {x.shape} do not match lattice_shape {lattice_shape}")
        return x
    if x.ndim != 2:
        raise ValueError(f"{what} must be C (n_visible, n_units) or maps (n_units, *lattice), got shape {x.shape}")
    shape = _check_shape(lattice_shape) if lattice_shape is not None else (x.shape[0],)
    if math.prod(shape) != x.shape[0]:
        raise ValueError(f"lattice_shape {shape} does not hold n_visible = {x.shape[0]} sites")
    return x.T.reshape(x.shape[1], *shape)


def _maps_and_noise(c, lattice_shape, noise_variance) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(c, Correlator):
        shape = lattice_shape or c.visible_shape
        maps = _as_maps(c.value, shape, "c")
        auto = _as_maps(c.error**2, shape, "c.error")
    else:
        maps = _as_maps(c, lattice_shape, "c")
        auto = np.zeros_like(maps)
    if isinstance(noise_variance, str):
        if noise_variance != "auto":
            raise ValueError(f"noise_variance must be 'auto', a number >= 0 or an array, got {noise_variance!r}")
        var = auto
    elif np.ndim(noise_variance) == 0:
        var = np.full_like(maps, float(noise_variance))
    else:
        var = _as_maps(noise_variance, maps.shape[1:], "noise_variance")
        if var.shape != maps.shape:
            raise ValueError(f"noise_variance must have the shape of c, got {np.shape(noise_variance)}")
    if not (np.all(np.isfinite(maps)) and np.all(np.isfinite(var)) and np.all(var >= 0)):
        raise ValueError("c must be finite and noise_variance finite and >= 0")
    return maps, var


def _axis_moments(wk: np.ndarray, periodic: bool) -> tuple[np.ndarray, np.ndarray]:
    """Centre (n_units,) and Σ_{x_k} w_k(x_k) d_k² (n_units,) from one axis's marginal w_k (n_units, L)."""
    L = wk.shape[1]
    x = np.arange(L, dtype=np.float64)
    if periodic:
        z = wk @ np.exp(2j * np.pi * x / L)
        # a flat marginal has no direction (|z| is rounding noise): put its centre on site 0
        z = np.where(np.abs(z) > 1e-12 * np.abs(wk).sum(axis=1), z, 1.0)
        centre = (np.angle(z) % (2 * np.pi)) * L / (2 * np.pi) % L
        d = (x[None, :] - centre[:, None] + L / 2.0) % L - L / 2.0
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = wk @ x / wk.sum(axis=1)
        d = x[None, :] - centre[:, None]
    return centre, (wk * d**2).sum(axis=1)


def receptive_field_size(
    c, lattice_shape: tuple[int, ...] | None = None, *, noise_variance: float | np.ndarray | Literal["auto"] = "auto",
    z: float = 3.0, periodic: bool = True,
) -> ReceptiveSize:
    """R² of every unit's correlator map and their mean ± standard error (module docstring).

    c: a :class:`~rgexp.analysis.receptive.Correlator`, a (n_visible, n_units) matrix (2D arrays are
    always read as the matrix; lattice_shape defaults to the chain (n_visible,)), or maps
    (n_units, *lattice). noise_variance: the sampling variance of each entry of c, a scalar or an
    array shaped like c; "auto" = Correlator.error² for a Correlator and 0 for an array.
    z: resolution threshold in null standard deviations of the excess power (>= 0).
    """
    if not (isinstance(z, (int, float)) and z >= 0 and math.isfinite(z)):
        raise ValueError(f"z must be a finite number >= 0, got {z!r}")
    maps, var = _maps_and_noise(c, lattice_shape, noise_variance)
    n_units, shape = maps.shape[0], maps.shape[1:]
    w = maps**2 - var
    excess = w.reshape(n_units, -1).sum(axis=1)
    null_sd = np.sqrt(2.0 * (var**2).reshape(n_units, -1).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        excess_z = excess / null_sd  # ±inf (nan for an all-zero map) when nothing is subtracted
    resolved = (excess > z * null_sd) & (excess > 0)
    centres, second = [], np.zeros(n_units)
    for axis in range(len(shape)):
        wk = w.sum(axis=tuple(a + 1 for a in range(len(shape)) if a != axis))
        centre, moment = _axis_moments(wk, periodic)
        centres.append(centre)
        second += moment
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(resolved, second / excess, np.nan)
    return ReceptiveSize(r2, np.stack(centres, axis=1), resolved, excess_z, *_summary(r2[resolved]), tuple(shape))


def _summary(r2: np.ndarray) -> tuple[Estimate, Estimate]:
    n = r2.size
    if n == 0:
        nan = Estimate(float("nan"), float("nan"), n_eff=0.0)
        return nan, nan
    mean = float(r2.mean())
    err = float(r2.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    mean_r2 = Estimate(mean, err, n_eff=float(n))
    radius = math.sqrt(max(mean, 0.0))
    rerr = err / (2.0 * radius) if radius > 0 else float("nan")
    return mean_r2, Estimate(radius, rerr, n_eff=float(n))


def arrange_on_grid(centres: np.ndarray, lattice_shape: tuple[int, int]) -> np.ndarray:
    """Lay m hidden units out as a √m×√m lattice by where their receptive fields sit.

    centres: (m, 2) receptive-field centres on the L_0×L_1 torus ``lattice_shape`` (e.g.
    ``ReceptiveSize.centre``). Site (i, j) of the s×s grid (s = √m) covers the input block centred
    at ((i + ½) L_0/s − ½, (j + ½) L_1/s − ½); units go to sites one to one, minimising the total
    squared minimum-image distance (an assignment problem). Returns order (m,) with
    ``activations[:, order]`` row-major on the grid: order[site] = the unit placed there. Hidden
    units have no geometry of their own; this gives a layer the one its receptive fields imply,
    so that its nearest-neighbour correlations (and thermometer readings) mean what they do on a
    lattice. A block-spin layer comes back in its own row-major order.
    """
    from scipy.optimize import linear_sum_assignment

    c = np.asarray(centres, dtype=np.float64)
    m = c.shape[0]
    side = int(round(math.sqrt(m)))
    if c.ndim != 2 or c.shape[1] != 2 or side * side != m or len(lattice_shape) != 2:
        raise ValueError(f"centres must be (m, 2) with m a perfect square on a 2D lattice, got {c.shape} "
                         f"on {tuple(lattice_shape)}")
    L = np.asarray(lattice_shape, dtype=np.float64)
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="ij"), axis=-1).reshape(-1, 2)
    sites = (grid + 0.5) * (L / side) - 0.5  # (m, 2)
    d = (c[None, :, :] - sites[:, None, :] + L / 2.0) % L - L / 2.0  # (sites, units, 2)
    rows, cols = linear_sum_assignment((d**2).sum(axis=-1))
    order = np.empty(m, dtype=np.int64)
    order[rows] = cols
    return order

