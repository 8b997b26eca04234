"""Spatial two-point functions of lattice configurations on periodic lattices, via FFT.

Contract
--------
Input ``spins`` is ``(n, L, L)`` (2D square torus) or ``(n, N)`` (periodic chain); values may be
±1 or real (block averages, mean-field flows): nothing assumes s² = 1. Rows are configurations,
treated as independent draws (pass ``tau_int`` in units of rows when they are a correlated series:
errors are then inflated by sqrt(2 tau_int)).

Operators (x̂ is the last array axis, ŷ the one before it):

* ``"sigma"``:    O(x) = s(x).
* ``"epsilon"``:  O(x) = s(x) s(x + x̂), the bond energy of de Mello Koch et al.'s scripts. In 2D the
  ŷ bonds s(x) s(x + ŷ) are used too: their correlation map is transposed (a 90° rotation takes
  ŷ bonds to x̂ bonds and the displacement (dx, dy) to (dy, dx)) and averaged with the x̂ map.
  On a square torus the two are equal in distribution, so this only halves the variance.
* ``"epsilon4"``: O(x) = s(x) Σ_nn s(x + δ), the 4-neighbour sum in 2D (2 neighbours on a chain),
  i.e. the local energy density: the sum of the 4 bonds at x, no normalisation. Invariant under
  the lattice rotations, so it has no cos 2θ anisotropy, but its bonds overlap at |d| <= 2.

For one configuration the correlation map is C(d) = (1/V) Σ_x O(x) O(x + d), computed with
Wiener–Khinchin, C = IFFT(|FFT O|²) / V, then averaged over rows. The connected function
subtracts the square of a one-point function estimated from the same rows:

* ``subtract="mean"`` (default): ⟨O⟩ = mean over all rows and sites. This is the estimator of the
  paper's "operator minus its average value". For σ sampled with both signs (h = 0, at or above
  T_c, or below T_c with the global flip the MC samplers apply) ⟨s⟩ ≈ 0 and G_σ(r) → ⟨s_0 s_r⟩,
  which is what the torus CFT forms of :mod:`rgexp.analysis.scaling` describe. Below T_c that
  G_σ tends to a plateau ≈ m², not to zero.
* ``subtract="abs"``: ⟨|Ō|⟩², Ō the per-row mean of O. Sign-blind, so it gives the same answer
  for symmetric and one-signed samples below T_c (a finite-volume "connected in the ordered phase"
  correlator). Do NOT use it at T_c: on a finite torus ⟨|m|⟩² is of the same size as G_σ itself.

Errors are the linearised (delta-method) standard error over rows: the influence of row i on
mean_i C_i(d) − μ̂² is C_i(d) − 2 μ̂ Ō_i, so the fluctuation of μ̂ — large for ε, where ⟨ε⟩² ≫ G_ε —
is included and mostly cancels against that of C_i.

Distances: :func:`correlation_function` returns G along the lattice axes, r = 0 … ⌊L/2⌋, the
average of the map at (r, 0), (0, r), (L − r, 0) and (0, L − r) (equal by symmetry; ε's average thus
mixes longitudinal and transverse bond pairs). :func:`correlation_by_displacement` averages the map
over the 8 symmetries of the square torus instead and returns one value per class of displacement
vectors (dx, dy), 0 <= dy <= dx <= ⌊L/2⌋ (minimal images; |d| up to L/√2) — all the information
the map holds, which is what the scaling fits use. :func:`correlation_map` returns the whole map.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import numpy as np
import scipy.fft
from scipy import sparse

__all__ = [
    "Operator",
    "correlation_function",
    "correlation_by_displacement",
    "correlation_map",
    "connected_from_rows",
    "displacement_classes",
    "operator_field",
    "row_correlations",
]

Operator = Literal["sigma", "epsilon", "epsilon4"]
Subtract = Literal["mean", "abs"]
Geometry = Literal["axis", "classes", "map"]
_OPERATORS: tuple[str, ...] = get_args(Operator)
_CHUNK_SITES = 1 << 21  # rows per FFT batch × sites: bounds the float64 work arrays to ~16 MB each


def _check_spins(spins: np.ndarray) -> np.ndarray:
    x = np.asarray(spins)
    if x.ndim not in (2, 3):
        raise ValueError(f"spins must be (n, N) chains or (n, L, L) lattices, got shape {x.shape}")
    if x.ndim == 3 and x.shape[1] != x.shape[2]:
        raise ValueError(f"2D lattices must be square (n, L, L), got shape {x.shape}")
    if x.shape[0] < 1 or x.shape[-1] < 2:
        raise ValueError(f"need at least one configuration of at least 2 sites, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"spins must be real numbers, got dtype {x.dtype}")
    return x


def _check_options(operator: str, subtract: str, tau_int: float) -> None:
    if operator not in _OPERATORS:
        raise ValueError(f"operator must be one of {', '.join(_OPERATORS)}; got {operator!r}")
    if subtract not in get_args(Subtract):
        raise ValueError(f"subtract must be 'mean' or 'abs', got {subtract!r}")
    if not (np.isfinite(tau_int) and tau_int >= 0.5):
        raise ValueError(f"tau_int must be >= 0.5 (0.5 = independent rows), got {tau_int!r}")


def operator_field(spins: np.ndarray, operator: Operator = "sigma") -> list[tuple[np.ndarray, bool]]:
    """The operator's field(s) on every site: a list of (field (n, *lattice) float64, transpose).

    ``transpose`` marks a 2D component whose correlation map must be transposed before averaging
    (the ŷ bonds of ``"epsilon"``). One component except for 2D ``"epsilon"`` (x̂ and ŷ bonds).
    """
    x = _check_spins(spins).astype(np.float64, copy=False)
    if operator not in _OPERATORS:
        raise ValueError(f"operator must be one of {', '.join(_OPERATORS)}; got {operator!r}")
    if operator == "sigma":
        return [(x, False)]
    axes = range(1, x.ndim)[::-1]  # x̂ (last axis) first
    bonds = [x * np.roll(x, -1, axis=a) for a in axes]
    if operator == "epsilon":
        return [(b, i == 1) for i, b in enumerate(bonds)]
    # epsilon4: s(x) Σ_nn s = Σ over the bonds leaving x forwards and backwards.
    return [(sum(b + np.roll(b, 1, axis=a) for b, a in zip(bonds, axes)), False)]


def _autocorrelation(field: np.ndarray) -> np.ndarray:
    """C_i(d) = (1/V) Σ_x O_i(x) O_i(x + d) for every row: (n, *lattice) -> (n, *lattice)."""
    axes = tuple(range(1, field.ndim))
    shape = field.shape[1:]
    # scipy's pocketfft gives NumPy's numbers bit for bit and spreads the rows over the CPUs
    f = scipy.fft.rfftn(field, axes=axes, workers=-1)
    power = f.real**2 + f.imag**2
    return scipy.fft.irfftn(power, s=shape, axes=axes, workers=-1) / np.prod(shape)


def _axis_profile(maps: np.ndarray) -> np.ndarray:
    """(n, *lattice) correlation maps -> (n, ⌊L/2⌋ + 1), averaged over the axes and over ±r."""
    L = maps.shape[-1]
    r = np.arange(L // 2 + 1)
    if maps.ndim == 2:
        return 0.5 * (maps[:, r] + maps[:, (L - r) % L])
    lines = [maps[:, r, 0], maps[:, (L - r) % L, 0], maps[:, 0, r], maps[:, 0, (L - r) % L]]
    return 0.25 * sum(lines)


def displacement_classes(L: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetry classes of displacements on the L×L torus.

    Returns ``(d, index)``: d (K, 2) int, the representatives (dx, dy) with 0 <= dy <= dx <= ⌊L/2⌋
    in lexicographic order, and index (L, L) int, the class of each displacement [dy, dx]
    (x ↔ L − x, y ↔ L − y and x ↔ y map a displacement into its class).
    """
    a = np.minimum(np.arange(L), L - np.arange(L))
    big, small = np.maximum.outer(a, a), np.minimum.outer(a, a)  # [dy, dx] -> (max, min)
    h = L // 2
    d = np.array([(dx, dy) for dx in range(h + 1) for dy in range(dx + 1)], dtype=np.intp)
    index = big * (big + 1) // 2 + small  # position of (big, small) in the order above
    return d, index


def _class_profile(L: int) -> Callable[[np.ndarray], np.ndarray]:
    """(n, L, L) maps -> (n, K) class averages, K = len(displacement_classes(L)[0])."""
    d, index = displacement_classes(L)
    counts = np.bincount(index.ravel(), minlength=len(d))
    avg = sparse.csr_matrix(
        (1.0 / counts[index.ravel()], (np.arange(L * L), index.ravel())), shape=(L * L, len(d))
    )
    return lambda maps: np.asarray(maps.reshape(maps.shape[0], -1) @ avg)


def row_correlations(
    spins: np.ndarray,
    operator: Operator = "sigma",
    *,
    subtract: Subtract = "mean",
    geometry: Geometry = "axis",
    columns: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ingredients of the connected correlator, for fits and bootstraps over rows.

    Returns ``(c, o)``: ``c`` (n, K), each row's correlation map reduced by ``geometry`` —
    "axis": the axis profile, K = ⌊L/2⌋ + 1; "classes": the displacement-class averages of
    :func:`displacement_classes` (2D only); "map": the whole map flattened, K = L² (or N) — and
    ``o`` (n, n_components) the per-row means Ō_i of each operator component (``|Ō_i|`` when
    ``subtract="abs"``). ``columns`` (a mask or indices of the K): only those columns are kept. For any subset of rows G = mean(c) − mean_k(mean(o_k)²)
    (:func:`connected_from_rows`).
    """
    x = _check_spins(spins)
    _check_options(operator, subtract, 0.5)
    if geometry not in get_args(Geometry):
        raise ValueError(f"geometry must be one of {', '.join(get_args(Geometry))}; got {geometry!r}")
    if geometry == "classes" and x.ndim != 3:
        raise ValueError("geometry='classes' needs (n, L, L) lattices")
    project = {"axis": _axis_profile, "map": lambda m: m}.get(geometry) or _class_profile(x.shape[-1])
    chunk = max(1, _CHUNK_SITES // int(np.prod(x.shape[1:])))
    c, o = None, []
    for start in range(0, x.shape[0], chunk):  # fields per chunk: memory stays O(chunk · V)
        comps = operator_field(x[start : start + chunk], operator)
        maps = 0.0
        for field, transpose in comps:
            m = _autocorrelation(field)
            maps = maps + (np.swapaxes(m, -1, -2) if transpose else m)
        block = project(maps / len(comps))
        block = block.reshape(block.shape[0], -1)
        block = block if columns is None else block[:, columns]
        if c is None:  # filled in place: the (n, K) result exists once, never as chunks plus their copy
            c = np.empty((x.shape[0], block.shape[1]))
        c[start : start + chunk] = block
        o.append(np.stack([f.reshape(f.shape[0], -1).mean(axis=1) for f, _ in comps], axis=1))
    means = np.concatenate(o)
    return c, (np.abs(means) if subtract == "abs" else means)


def connected_from_rows(
    c: np.ndarray, o: np.ndarray, connected: bool = True, tau_int: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """(G, dG) from :func:`row_correlations` output: c (n, K), o (n, n_comp) -> two (K,) arrays.

    dG is the delta-method standard error over rows (influence c_i − 2 Σ_k μ̂_k o_ik / n_comp),
    times sqrt(2 tau_int); NaN for a single row.
    """
    n = c.shape[0]
    if not connected:
        infl, G = c, c.mean(axis=0)
    else:
        mu = o.mean(axis=0)
        G = c.mean(axis=0) - np.mean(mu**2)
        infl = c - (2.0 / o.shape[1]) * (o @ mu)[:, None]
    if n < 2:
        return G, np.full_like(G, np.nan)
    dG = infl.std(axis=0, ddof=1) / np.sqrt(n) * np.sqrt(2.0 * tau_int)
    return G, dG


def correlation_function(
    spins: np.ndarray,
    operator: Operator = "sigma",
    *,
    connected: bool = True,
    subtract: Subtract = "mean",
    tau_int: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-point function of ``operator`` along the lattice axes of periodic configurations.

    spins (n, L, L) or (n, N) -> ``(r, G, dG)``, each of shape (⌊L/2⌋ + 1,): r = 0 … ⌊L/2⌋ is the
    axis distance (x̂ and ŷ averaged, r and L − r folded), G(r) = ⟨O(0) O(r)⟩ − ⟨O⟩² when
    ``connected`` (see the module docstring for ``subtract``), dG its standard error over rows,
    inflated by sqrt(2 tau_int).
    """
    _check_options(operator, subtract, tau_int)
    c, o = row_correlations(spins, operator, subtract=subtract)
    G, dG = connected_from_rows(c, o, connected, tau_int)
    return np.arange(G.size), G, dG


def correlation_map(
    spins: np.ndarray,
    operator: Operator = "sigma",
    *,
    connected: bool = True,
    subtract: Subtract = "mean",
    tau_int: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """The full map over displacements: ``(G, dG)``, each (L, L) indexed [dy, dx] (or (N,) on chains).

    G[d] = ⟨O(x) O(x + d)⟩ − ⟨O⟩² averaged over x and rows, with the conventions of
    :func:`correlation_function` (whose G is this map's axis profile). Holds the per-row maps in
    memory (8 n L² bytes) to get dG.
    """
    _check_options(operator, subtract, tau_int)
    x = _check_spins(spins)
    shape = x.shape[1:]
    c, o = row_correlations(x, operator, subtract=subtract, geometry="map")
    G, dG = connected_from_rows(c, o, connected, tau_int)
    return G.reshape(shape), dG.reshape(shape)


def correlation_by_displacement(
    spins: np.ndarray,
    operator: Operator = "sigma",
    *,
    connected: bool = True,
    subtract: Subtract = "mean",
    tau_int: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """G per symmetry class of displacement vectors: spins (n, L, L) -> ``(d, G, dG)``.

    d (K, 2) int holds (dx, dy), 0 <= dy <= dx <= ⌊L/2⌋ (see :func:`displacement_classes`);
    |d| = hypot(dx, dy) is the minimal-image distance. G, dG (K,): the map averaged over each
    class, with the conventions of :func:`correlation_function`.
    """
    _check_options(operator, subtract, tau_int)
    x = _check_spins(spins)
    if x.ndim != 3:
        raise ValueError(f"correlation_by_displacement needs (n, L, L) lattices, got shape {x.shape}")
    L = x.shape[-1]
    c, o = row_correlations(x, operator, subtract=subtract, geometry="classes")
    G, dG = connected_from_rows(c, o, connected, tau_int)
    return displacement_classes(L)[0], G, dG
