"""Visible–hidden correlators and their patch-size probe G(d) (de Mello Koch et al. 2020, §IV).

The correlator between visible unit i and hidden unit a over n samples (their eq. for C_ia),

    C_ia = (1/n) Σ_s v_i^s h_a^s − [(1/n) Σ_s v_i^s] [(1/n) Σ_s h_a^s]        (connected, default)

with v and h both in the ±1 convention (binary RBM units are mapped by u → 2u − 1). Arranging
C_ia on the visible lattice gives hidden unit a's map C_a(x); an RG block spin lights up its own
block, so the maps of RG-like coarse graining are bright patches on a dark background.

G(d), "the two point correlator between values C_a(x) and C_a(y) summed over all hidden nodes"
with "the values of G where the distances are equal" averaged, is implemented as

    G(d) = (1/n_h) Σ_a  Σ_{|x−y| = d} C_a(x) C_a(y)  /  #{(x, y): |x − y| = d}

over ordered pairs of sites (x, y) — x = y included at d = 0. Distances are Euclidean, taken by
minimum image on the periodic lattice (``periodic=True``, default) or plainly on the open lattice;
``directions="axes"`` keeps only pairs displaced along one lattice axis. ``reduce="sum"`` gives
the paper's literal sum over hidden units, ``normalize=True`` divides by G(0). The error dG is a
delete-one-unit jackknife over hidden units (:func:`correlator_of_correlators`) or a
delete-one-block jackknife over samples (:func:`correlator_of_correlators_jackknife`).

Null patterns (§IV-A, Figs. 12–13): white noise maps and ±1 checkerboards of block×block squares.

Shapes: v (n, n_visible) or (n, *lattice); h (n, n_hidden) or (n, *hidden_lattice);
maps (n_hidden, *lattice). Nothing here does I/O; plots live in :mod:`receptive_plots`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import torch

from rgexp.rg.block import Rule, block_spin

__all__ = [
    "Correlator",
    "GCurve",
    "correlator_maps",
    "visible_hidden_correlator",
    "rbm_hiddens",
    "rg_hiddens",
    "stacked_hiddens",
    "rbm_correlator",
    "rg_correlator",
    "stacked_correlator",
    "correlator_of_correlators",
    "correlator_of_correlators_jackknife",
    "white_noise_pattern",
    "checkerboard_pattern",
]

Directions = Literal["radial", "axes"]
Reduce = Literal["mean", "sum"]
_CHUNK = 4096  # sample rows per matrix product (bounds memory for 40,000 × 4096 inputs)
_KEEP_BYTES = 1 << 28  # jackknife block sums kept in memory up to this size


@dataclass(frozen=True, eq=False)
class Correlator:
    """C_ia with its standard error: ``value``/``error`` (n_visible, n_hidden).

    ``visible_shape``/``hidden_shape`` are the lattices the units live on (None when unknown).
    """

    value: np.ndarray
    error: np.ndarray
    n_samples: int
    connected: bool = True
    visible_shape: tuple[int, ...] | None = None
    hidden_shape: tuple[int, ...] | None = None

    def maps(self, lattice_shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Hidden unit a's map C_a(x) on the visible lattice: (n_hidden, *lattice_shape)."""
        return correlator_maps(self.value, lattice_shape or self.visible_shape)


class GCurve(NamedTuple):
    """G(d) at the distinct distances d (ascending), with one standard error dG."""

    d: np.ndarray
    G: np.ndarray
    dG: np.ndarray


# ---------------------------------------------------------------------------- the correlator
def _rows(x) -> tuple[np.ndarray, tuple[int, ...]]:
    """Array-like (n, ...) → (n, features) array (dtype kept) and the per-sample shape."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"expected samples of shape (n, ...) with n ≥ 1 rows, got {x.shape}")
    return x.reshape(x.shape[0], -1), tuple(x.shape[1:])


def _column_mean(x: np.ndarray) -> np.ndarray:
    return np.asarray(x.mean(axis=0, dtype=np.float64))


def visible_hidden_correlator(
    v, h, *, connected: bool = True, tau_int: float = 0.5,
    visible_shape: tuple[int, ...] | None = None, hidden_shape: tuple[int, ...] | None = None,
) -> Correlator:
    """C_ia = ⟨v_i h_a⟩ − ⟨v_i⟩⟨h_a⟩ (or ⟨v_i h_a⟩ when ``connected=False``) over sample rows.

    v: (n, n_visible) or (n, *lattice); h: (n, n_hidden) or (n, *hidden_lattice), same n.
    The error is the delta-method standard error, sqrt(var_s[(v_i − v̄_i)(h_a − h̄_a)] / (n − 1)),
    times sqrt(2 tau_int) for autocorrelated rows (tau_int = 1/2: independent rows).
    """
    v2, vshape = _rows(v)
    h2, hshape = _rows(h)
    n = v2.shape[0]
    if h2.shape[0] != n:
        raise ValueError(f"v and h must have the same number of samples, got {n} and {h2.shape[0]}")
    if n < 2:
        raise ValueError("the correlator needs at least 2 samples")
    mv = _column_mean(v2) if connected else np.zeros(v2.shape[1])
    mh = _column_mean(h2) if connected else np.zeros(h2.shape[1])
    s1 = np.zeros((v2.shape[1], h2.shape[1]))
    s2 = np.zeros_like(s1)
    # float64 work arrays of a chunk (dv, dv², ...) stay under ~70 MB each: 1,024 rows of a 64×64 lattice
    rows = _CHUNK if v2.shape[1] * _CHUNK <= 2**23 else _CHUNK // 4
    for start in range(0, n, rows):
        dv = v2[start:start + rows].astype(np.float64) - mv
        dh = h2[start:start + rows].astype(np.float64) - mh
        s1 += dv.T @ dh
        s2 += (dv * dv).T @ (dh * dh)
    value = s1 / n
    var = np.maximum(s2 / n - value**2, 0.0)
    error = np.sqrt(var / (n - 1) * 2.0 * tau_int)
    return Correlator(value, error, n, connected,
                      visible_shape or (vshape if len(vshape) > 1 else None),
                      hidden_shape or (hshape if len(hshape) > 1 else None))


# ---------------------------------------------------------------------------- hidden layers
def _as_spins(model, x: torch.Tensor) -> np.ndarray:
    return model.to_spins(x).detach().cpu().numpy().astype(np.float64)


@torch.no_grad()
def rbm_hiddens(rbm, spins, *, sample: bool = False, generator: torch.Generator | None = None) -> np.ndarray:
    """An RBM's hidden layer for ±1 visible ``spins`` (n, n_visible) or (n, *lattice), as ±1-convention
    float64 (n, n_hidden): E[h | v] (default) or h ~ p(h | v) from ``generator``."""
    if sample and generator is None:
        raise ValueError("generator must be a torch.Generator when sample=True")
    out = []
    for start in range(0, len(spins), _CHUNK):  # convert per chunk: inputs may be 40,000 × 4096
        v = rbm.from_spins(spins[start:start + _CHUNK])
        out.append(_as_spins(rbm, rbm.sample_hiddens(v, generator) if sample else rbm.mean_hiddens(v)))
    return np.concatenate(out)


def rg_hiddens(
    spins: np.ndarray, b: int = 2, rule: Rule = "average", n_steps: int = 1,
    gen: np.random.Generator | None = None,
) -> np.ndarray:
    """Block spins after ``n_steps`` steps of :func:`~rgexp.rg.block_spin`: (n, L, L) → (n, L/b^k, L/b^k).

    Hidden unit a is block a in row-major order of the coarse lattice.
    """
    h = np.asarray(spins)
    for _ in range(n_steps):
        h = block_spin(h, b, rule, gen)
    return h


@torch.no_grad()
def stacked_hiddens(
    stack, spins, layer: int, *, sample: bool = False, generator: torch.Generator | None = None
) -> np.ndarray:
    """Layer ``layer`` (1 = first hidden layer) of a StackedRBM propagated up from ±1 ``spins`` with
    conditional means or samples, as ±1-convention float64 (n, layers[layer])."""
    out = []
    for start in range(0, len(spins), _CHUNK):
        v = stack.from_spins(spins[start:start + _CHUNK])
        out.append(_as_spins(stack, stack.propagate_up(v, sample=sample, generator=generator, depth=layer)[-1]))
    return np.concatenate(out)


def _lattice(spins) -> tuple[int, ...] | None:
    shape = tuple(np.shape(spins))[1:]
    return shape if len(shape) > 1 else None


def rbm_correlator(rbm, spins, *, sample: bool = False, generator: torch.Generator | None = None,
                   connected: bool = True) -> Correlator:
    """C_ia between ±1 visible ``spins`` (n, *lattice) and the RBM's hidden layer (see :func:`rbm_hiddens`)."""
    h = rbm_hiddens(rbm, spins, sample=sample, generator=generator)
    return visible_hidden_correlator(spins, h, connected=connected, visible_shape=_lattice(spins))


def rg_correlator(spins: np.ndarray, b: int = 2, rule: Rule = "average", n_steps: int = 1,
                  gen: np.random.Generator | None = None, *, connected: bool = True) -> Correlator:
    """C_ia between spins (n, L, L) and their block spins after ``n_steps`` steps (see :func:`rg_hiddens`)."""
    h = rg_hiddens(spins, b, rule, n_steps, gen)
    return visible_hidden_correlator(spins, h, connected=connected)


def stacked_correlator(stack, spins, layer: int, *, sample: bool = False,
                       generator: torch.Generator | None = None, connected: bool = True) -> Correlator:
    """C_ia between the stack's input ``spins`` (n, *lattice) and its hidden layer ``layer``."""
    h = stacked_hiddens(stack, spins, layer, sample=sample, generator=generator)
    return visible_hidden_correlator(spins, h, connected=connected, visible_shape=_lattice(spins))


# ---------------------------------------------------------------------------- G(d)
def correlator_maps(c, lattice_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Hidden units' maps C_a(x), (n_hidden, *lattice), from a :class:`Correlator`, a
    (n_visible, n_hidden) matrix with ``lattice_shape``, or maps (n_hidden, *lattice) (returned as is)."""
    if isinstance(c, Correlator):
        return c.maps(lattice_shape)
    c = np.asarray(c, dtype=np.float64)
    if c.ndim >= 3 and (lattice_shape is None or tuple(lattice_shape) == c.shape[1:]):
        return c
    if c.ndim != 2 or lattice_shape is None:
        raise ValueError(f"need maps (n_hidden, *lattice) or C (n_visible, n_hidden) with lattice_shape; "
                         f"got shape {c.shape}, lattice_shape={lattice_shape}")
    if int(np.prod(lattice_shape)) != c.shape[0]:
        raise ValueError(f"lattice_shape {lattice_shape} does not hold n_visible = {c.shape[0]} sites")
    return c.T.reshape(c.shape[1], *lattice_shape)


def _shells(shape: tuple[int, ...], periodic: bool, directions: Directions):
    """Displacement grid of the (padded) FFT, pair counts per displacement and its shell keys d².

    Returns (fft_shape, flat indices of kept displacements, their counts, their d² keys).
    """
    if directions not in ("radial", "axes"):
        raise ValueError(f"directions must be 'radial' or 'axes', got {directions!r}")
    fft_shape = shape if periodic else tuple(2 * n for n in shape)
    comps, counts = [], np.ones(fft_shape)
    for axis, (n, m) in enumerate(zip(shape, fft_shape)):
        j = np.arange(m)
        r = np.minimum(j, n - j) if periodic else np.where(j < n, j, j - m)
        c = np.full(m, float(n)) if periodic else np.maximum(n - np.abs(r), 0).astype(float)
        view = [1] * len(shape)
        view[axis] = m
        comps.append(r.reshape(view))
        counts = counts * c.reshape(view)
    key = sum(r.astype(np.int64) ** 2 for r in comps) + np.zeros(fft_shape, dtype=np.int64)
    keep = counts > 0
    if directions == "axes":
        keep &= sum((r != 0).astype(int) for r in comps) <= 1
    idx = np.flatnonzero(keep)
    return fft_shape, idx, counts.ravel()[idx], key.ravel()[idx]


def _per_unit_G(maps: np.ndarray, periodic: bool, directions: Directions) -> tuple[np.ndarray, np.ndarray]:
    """FFT path: (d (n_d,), g (n_hidden, n_d)) with g_a(d) the pair average of C_a(x) C_a(y)."""
    shape = maps.shape[1:]
    axes = tuple(range(1, maps.ndim))
    fft_shape, idx, counts, key = _shells(shape, periodic, directions)
    f = np.fft.rfftn(maps, s=fft_shape, axes=axes)
    # S_a(r) = Σ_x C_a(x) C_a(x + r) (circular on the torus, zero-padded = linear on open lattices)
    s = np.fft.irfftn(f * np.conj(f), s=fft_shape, axes=axes).reshape(maps.shape[0], -1)[:, idx]
    order = np.argsort(key, kind="stable")
    key, s, counts = key[order], s[:, order], counts[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    g = np.add.reduceat(s, starts, axis=1) / np.add.reduceat(counts, starts)
    return np.sqrt(key[starts].astype(np.float64)), g


def _reduce(g: np.ndarray, reduce: Reduce, normalize: bool) -> np.ndarray:
    """(…, n_hidden, n_d) per-unit curves → (…, n_d) G."""
    if reduce not in ("mean", "sum"):
        raise ValueError(f"reduce must be 'mean' or 'sum', got {reduce!r}")
    G = g.mean(axis=-2) if reduce == "mean" else g.sum(axis=-2)
    return G / G[..., :1] if normalize else G


def _jackknife_error(reps: np.ndarray) -> np.ndarray:
    k = reps.shape[0]
    if k < 2:
        return np.full(reps.shape[1:], np.nan)
    return np.sqrt((k - 1) / k * ((reps - reps.mean(axis=0)) ** 2).sum(axis=0))


def correlator_of_correlators(
    c, lattice_shape: tuple[int, ...] | None = None, *, periodic: bool = True,
    directions: Directions = "radial", reduce: Reduce = "mean", normalize: bool = False,
) -> GCurve:
    """G(d) of the maps C_a(x) (see the module docstring) with a jackknife error over hidden units.

    c: a :class:`Correlator`, a (n_visible, n_hidden) matrix with ``lattice_shape``, or maps
    (n_hidden, *lattice) of a lattice with ≥ 2 axes (a 2D array is always read as the matrix).
    Returns (d, G, dG); d runs over the distinct distances present.
    """
    maps = correlator_maps(c, lattice_shape)
    d, g = _per_unit_G(maps, periodic, directions)
    G = _reduce(g, reduce, normalize)
    n_h = g.shape[0]
    if n_h < 2:
        return GCurve(d, G, np.full_like(G, np.nan))
    # delete-one-unit replicas: mean over the other n_h − 1 units (sum rescaled to n_h units)
    reps = (g.sum(axis=0) - g) / (n_h - 1)
    reps = reps * n_h if reduce == "sum" else reps
    if normalize:
        reps = reps / reps[:, :1]
    return GCurve(d, G, _jackknife_error(reps))


def correlator_of_correlators_jackknife(
    v, h, lattice_shape: tuple[int, ...] | None = None, *, n_blocks: int = 20, connected: bool = True,
    periodic: bool = True, directions: Directions = "radial", reduce: Reduce = "mean",
    normalize: bool = False, bias_correct: bool = False,
) -> GCurve:
    """G(d) of C_ia(v, h) with a delete-one-block jackknife error over contiguous blocks of samples.

    v: (n, n_visible) or (n, *lattice); h: (n, n_hidden). This error includes the sampling noise of
    C (and, with blocks longer than tau_int, autocorrelation). G is the full-sample value, which
    the noise of C biases upwards by O(1/n) (E[Ĉ_a(x) Ĉ_a(y)] = C_a(x) C_a(y) + cov(Ĉ_a(x), Ĉ_a(y)));
    ``bias_correct`` returns the jackknife estimate K·G − (K − 1)·mean_k G_{−k}, which removes it.
    Costs one pass of matrix products over the samples (two when the n_blocks block sums of
    n_visible × n_hidden would pass 256 MiB) plus n_blocks + 1 evaluations of G.
    """
    v2, vshape = _rows(v)
    h2, _ = _rows(h)
    n = v2.shape[0]
    shape = lattice_shape or (vshape if len(vshape) > 1 else None)
    if h2.shape[0] != n or not 2 <= n_blocks <= n:
        raise ValueError(f"need equal sample counts and 2 ≤ n_blocks ≤ n (n_v={n}, n_h={h2.shape[0]}, "
                         f"n_blocks={n_blocks})")
    # Centre on the full-sample means so block sums never cancel catastrophically.
    mv = _column_mean(v2) if connected else np.zeros(v2.shape[1])
    mh = _column_mean(h2) if connected else np.zeros(h2.shape[1])
    edges = np.linspace(0, n, n_blocks + 1).astype(int)

    def block_sums(k: int):
        dv = v2[edges[k]:edges[k + 1]].astype(np.float64) - mv
        dh = h2[edges[k]:edges[k + 1]].astype(np.float64) - mh
        return dv.T @ dh, dv.sum(axis=0), dh.sum(axis=0)

    # Keep the block sums when they fit in _KEEP_BYTES, else recompute them (a second pass).
    keep = n_blocks * v2.shape[1] * h2.shape[1] * 8 <= _KEEP_BYTES
    sums = [block_sums(k) for k in range(n_blocks)] if keep else None
    total = tuple(sum(parts) for parts in zip(*(sums or map(block_sums, range(n_blocks)))))

    def G_of(cross, sv, sh, m):
        c = cross / m - (np.outer(sv / m, sh / m) if connected else 0.0)
        return _per_unit_G(correlator_maps(c, shape), periodic, directions)

    d, g = G_of(*total, n)
    G = _reduce(g, reduce, normalize)
    reps = np.stack([
        _reduce(G_of(*(t - s for t, s in zip(total, sums[k] if keep else block_sums(k))),
                     n - (edges[k + 1] - edges[k]))[1],
                reduce, normalize)
        for k in range(n_blocks)
    ])
    if bias_correct:
        G = n_blocks * G - (n_blocks - 1) * reps.mean(axis=0)
    return GCurve(d, G, _jackknife_error(reps))


# ---------------------------------------------------------------------------- null patterns
def white_noise_pattern(
    n_hidden: int, lattice_shape: tuple[int, ...], gen: np.random.Generator, scale: float = 1.0
) -> np.ndarray:
    """Maps of i.i.d. N(0, scale²) values: (n_hidden, *lattice_shape). G(d) = scale² δ_{d,0} on average."""
    return scale * gen.standard_normal((n_hidden, *lattice_shape))


def checkerboard_pattern(
    n_hidden: int, lattice_shape: tuple[int, ...], block: int, *,
    gen: np.random.Generator | None = None, amplitude: float = 1.0,
) -> np.ndarray:
    """±amplitude checkerboards of block×block squares: (n_hidden, *lattice_shape).

    C_a(x) = amplitude · (−1)^{Σ_k ⌊(x_k + s_ak) / block⌋}. The shifts s_ak are 0 without ``gen``
    and uniform in [0, 2 block) per unit and axis with it (the phase does not change periodic G).
    """
    if block < 1:
        raise ValueError(f"block must be a positive int, got {block}")
    shifts = (np.zeros((n_hidden, len(lattice_shape)), dtype=np.int64) if gen is None
              else gen.integers(0, 2 * block, size=(n_hidden, len(lattice_shape))))
    parity = np.zeros((n_hidden, *lattice_shape), dtype=np.int64)
    for axis, n in enumerate(lattice_shape):
        view = [n_hidden] + [1] * len(lattice_shape)
        x = np.arange(n).reshape([1] + [n if k == axis else 1 for k in range(len(lattice_shape))])
        parity = parity + (x + shifts[:, axis].reshape(view)) // block
    return amplitude * (1.0 - 2.0 * (parity % 2))
