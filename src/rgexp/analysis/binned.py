"""Observables of flowed configurations binned by the temperature each one reads: the main paper's §III.

De Mello Koch, de Mello Koch & Cheng (and their published correlator script) measure along the RBM
flow like this: at every flow length the flowed configurations of all starts are pooled, each
configuration is given a temperature class on the thermometer's grid, and ⟨|m|⟩, ⟨σσ⟩ and ⟨εε⟩ are
computed per class (bin). Δ_σ^m (their Fig. 2, fit in Fig. 4) is the exponent of ⟨|m|⟩ against
the *bin* temperature for bins just below T_c; Δ_σ and Δ_ε (Figs. 5a, 6a) come from the correlators
of the bins just below and above T_c. Grouping by *start* temperature instead (``flow/…``) answers
another question: once every flow reaches one fixed point, ⟨|m|⟩ no longer depends on the start
and Δ_σ^m reads ≈ 0.

How a configuration gets its bin (``by``):

* ``"network"``: the neural thermometer's argmax class (the paper's way);
* ``"energy"``: the temperature at which the Monte Carlo ⟨K⟩(T) (K = mean nearest-neighbour
  product) equals the configuration's own K — for the nearest-neighbour model K is the exact
  sufficient statistic of T — interpolated on the grid, clipped at its ends, then the nearest class.

Fits per bin and flow length: the exact critical torus form (``torus``, connected correlators, as
:class:`~rgexp.analysis.ScalingDimensions`) and the paper's form (``plane``: C(r) ∝ r^(−2Δ) along
the axes for 1 <= r < L/2; σσ raw as the authors computed it, or connected; ε = s(x)s(x+x̂) minus
its mean). Everything here is pure: :class:`BinPool` accumulates, :meth:`BinnedFlow.results`
computes; :mod:`rgexp.measure` logs. A Δ fit at the search bound (−2 or 8) is logged as it is: no
power law over the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from rgexp.analysis.energy_thermometer import EnergyCurve
from rgexp.analysis.observables import abs_magnetization
from rgexp.analysis.scaling import censored_side
from rgexp.metric_names import metric, with_companions
from rgexp.seeding import child_stream, numpy_generator
from rgexp.stats import Estimate

__all__ = ["BinnedFlow", "BinPool", "BinnedStep", "energy_temperatures", "nearest_class", "PREFIXES"]

By = Literal["network", "energy"]
Form = Literal["torus", "plane"]
PREFIXES: dict[str, str] = {"network": "flow_binned", "energy": "flow_binned_energy"}
_FIT_SUFFIX = {"torus": "", "plane": "_plane"}  # metric: <prefix>/delta_<op><suffix>/T<T>


def energy_temperatures(configs: np.ndarray, curve: EnergyCurve) -> np.ndarray:
    """Each configuration's moment-matching temperature: configs (n, *lattice) -> (n,).

    The T at which the curve's ⟨K⟩(T) equals the configuration's K (the curve's own statistic: the
    model's energy per site for a ModelEnergyCurve), by linear interpolation,
    clipped at the grid's ends. ⟨K⟩ falls with T; a running minimum irons out Monte Carlo noise on
    the ordered plateau, and of equal values the lowest temperature is kept.
    """
    k = curve.statistic(configs)  # K for EnergyCurve; the model's own energy for ModelEnergyCurve
    falling = np.minimum.accumulate(curve.mean)
    values, first = np.unique(-falling, return_index=True)  # increasing in −⟨K⟩ = increasing T
    return np.interp(-k, values, curve.temperatures[first])


def nearest_class(temperatures: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Index of the grid temperature (grid increasing, (n_T,)) nearest to each of (n,) temperatures."""
    grid = np.asarray(grid, dtype=np.float64)
    j = np.clip(np.searchsorted(grid, temperatures), 1, grid.size - 1)
    below = np.abs(temperatures - grid[j - 1]) <= np.abs(grid[j] - temperatures)
    return np.where(below, j - 1, j).astype(np.int64)


def _packed(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """±1 configurations as bits (a pooled flow can hold ~10^5 of them), others as float32."""
    flat = x.reshape(x.shape[0], -1)
    if np.all(np.abs(flat) == 1):
        return np.packbits(flat > 0, axis=1), True
    return flat.astype(np.float32), False


def _canonical(rows: np.ndarray) -> np.ndarray:
    """rows (n, k) in lexicographic order: the bootstrap (and a subset) then depend only on which
    configurations a bin holds, not on the order the starts were added in."""
    return rows[np.lexsort(rows.T[::-1])] if rows.shape[0] > 1 else rows


@dataclass
class BinPool:
    """Pooled configurations of every start at each flow length, reduced per bin as they arrive.

    grid: (n_T,) bin temperatures; fit_bins: the bins whose configurations are kept for correlator
    fits. Per step: counts (n_T,), Σ|m| and Σ|m|² (n_T,), and (n, Σ T_bin, Σ T_bin²) over all
    configurations.
    """

    grid: np.ndarray
    fit_bins: tuple[int, ...]
    lattice_shape: tuple[int, ...] | None = None
    counts: dict[int, np.ndarray] = field(default_factory=dict)
    m_sum: dict[int, np.ndarray] = field(default_factory=dict)
    m2_sum: dict[int, np.ndarray] = field(default_factory=dict)
    t_sum: dict[int, np.ndarray] = field(default_factory=dict)  # (3,): n, Σ T, Σ T²
    kept: dict[tuple[int, int], list] = field(default_factory=dict)

    def add(self, step: int, configs: np.ndarray, classes: np.ndarray) -> None:
        """Pool configs (n, *lattice) at flow length ``step`` with their bin indices (n,)."""
        n_T = self.grid.size
        if self.lattice_shape is None:
            self.lattice_shape = tuple(configs.shape[1:])
        m = abs_magnetization(configs)
        for store, values in ((self.counts, np.ones_like(m)), (self.m_sum, m), (self.m2_sum, m * m)):
            store[step] = store.get(step, np.zeros(n_T)) + np.bincount(classes, values, minlength=n_T)
        t = self.grid[classes]
        self.t_sum[step] = self.t_sum.get(step, np.zeros(3)) + [t.size, t.sum(), (t * t).sum()]
        for b in self.fit_bins:
            rows = configs[classes == b]
            if rows.shape[0]:
                self.kept.setdefault((step, b), []).append(_packed(rows))

    def configs(self, step: int, b: int) -> np.ndarray:
        """The kept configurations of bin b at ``step``: (n, *lattice) float64 (n may be 0)."""
        parts = self.kept.get((step, b), [])
        n_sites = int(np.prod(self.lattice_shape))
        if parts and all(bits for _, bits in parts):
            # all ±1: order the packed rows (a byte per 8 spins, big-endian bits, so the same
            # lexicographic order as the spins themselves, ~50× cheaper), then unpack
            packed = _canonical(np.concatenate([p for p, _ in parts]))
            flat = np.unpackbits(packed, axis=1, count=n_sites).astype(np.float64) * 2.0 - 1.0
        else:
            rows = [np.unpackbits(p, axis=1, count=n_sites).astype(np.float64) * 2.0 - 1.0 if bits else
                    p.astype(np.float64) for p, bits in parts]
            flat = _canonical(np.concatenate(rows) if rows else np.zeros((0, n_sites)))
        return flat.reshape(-1, *self.lattice_shape)

    @property
    def steps(self) -> list[int]:
        return sorted(self.counts)


@dataclass
class BinnedStep:
    """What one flow length gives: counts (n_T,), the pooled bin temperature, ⟨|m|⟩ per bin with at
    least min_count configurations, the correlator fits of the fit bins and the Δ_σ^m fit."""

    counts: np.ndarray
    temperature: Estimate
    magnetization: dict[int, Estimate]
    deltas: dict[tuple[str, str, int], object]  # (operator, form, bin) -> ScalingFit
    delta_m: object | None  # ScalingFit of ⟨|m|⟩ = B|t|^β, or None


class BinnedFlow:
    """Config component ``analysis.binned``: the paper's binned measurements along the RBM flow.

    by:          which temperatures define the bins — ``network`` (thermometer argmax, the paper's),
                 ``energy`` (moment matching), or both as a list (logged under flow_binned/ and
                 flow_binned_energy/).
    min_count:   bins with fewer configurations get no ⟨|m|⟩ and no fit.
    forms:       correlator fit forms, torus (exact critical torus) and/or plane (the paper's).
    plane_sigma: raw (⟨σσ⟩ not connected, as the authors) or connected, for the plane form.
    operators:   sigma and/or epsilon.
    n_boot, ci_level: bootstrap refits and interval level of every fit (n_boot 0: sandwich).
    m_window:    [t_min, t_max] of |t| = (T_c − T)/T_c for the Δ_σ^m fit of bins below T_c.
    max_fit_configs: configurations per bin and flow length used in a correlator fit (a random
                 subset beyond that: a pooled bin can hold every flowed configuration).
    T_c:         null: 2/ln(1+√2).
    """

    def __init__(self, by: By | list[By] = "network", min_count: int = 100,
                 forms: list[Form] = ("torus", "plane"), plane_sigma: Literal["raw", "connected"] = "raw",
                 operators: list[str] = ("sigma", "epsilon"), n_boot: int = 200, ci_level: float = 0.9,
                 m_window: list[float] = (0.0, 0.3), max_fit_configs: int = 20000,
                 T_c: float | None = None) -> None:
        from rgexp.constants import T_C

        by = [by] if isinstance(by, str) else list(by)
        _check_choices("by", by, PREFIXES)
        _check_choices("forms", list(forms), _FIT_SUFFIX)
        _check_choices("operators", list(operators), ("sigma", "epsilon"))
        if plane_sigma not in ("raw", "connected"):
            raise ValueError(f"plane_sigma must be one of raw, connected; got {plane_sigma!r}")
        for key, value, low in (("min_count", min_count, 2), ("max_fit_configs", max_fit_configs, 10)):
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{key} must be an int >= {low}, got {value!r}")
        if not isinstance(n_boot, int) or n_boot < 0:
            raise ValueError(f"n_boot must be an int >= 0 (0: sandwich interval), got {n_boot!r}")
        if not 0 < ci_level < 1:
            raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}")
        m_window = [float(x) for x in m_window]
        if len(m_window) != 2 or not 0 <= m_window[0] < m_window[1]:
            raise ValueError(f"m_window must be [t_min, t_max] with 0 <= t_min < t_max, got {m_window}")
        if T_c is not None and not T_c > 0:
            raise ValueError(f"T_c must be > 0 or null, got {T_c!r}")
        self.by, self.min_count, self.forms, self.plane_sigma = by, min_count, list(forms), plane_sigma
        self.operators, self.n_boot, self.ci_level, self.m_window = list(operators), n_boot, ci_level, m_window
        self.max_fit_configs, self.T_c = max_fit_configs, float(T_c) if T_c is not None else T_C

    def fit_bins(self, grid: np.ndarray) -> tuple[int, ...]:
        """The bins nearest below and nearest above T_c (those the grid has)."""
        grid = np.asarray(grid)
        below, above = np.flatnonzero(grid < self.T_c), np.flatnonzero(grid > self.T_c)
        return tuple(int(i) for i in ([below[-1]] if below.size else []) + ([above[0]] if above.size else []))

    def new_pool(self, grid: np.ndarray) -> BinPool:
        grid = np.asarray(grid, dtype=np.float64)
        return BinPool(grid, self.fit_bins(grid))

    def results(self, pool: BinPool, seed: np.random.SeedSequence) -> dict[int, BinnedStep]:
        """Every flow length's :class:`BinnedStep`; fit k of bin b at step s draws from the child
        (s, b, k) of ``seed``, so a fit's interval depends on nothing else measured."""
        return {step: self._step(pool, step, child_stream(seed, step)) for step in pool.steps}

    def _step(self, pool: BinPool, step: int, seed: np.random.SeedSequence) -> BinnedStep:
        counts = pool.counts[step]
        n, s1, s2 = pool.t_sum[step]
        sd = math.sqrt(max(s2 / n - (s1 / n) ** 2, 0.0) * n / (n - 1)) if n > 1 else math.nan
        temperature = Estimate(float(s1 / n), sd / math.sqrt(n), n_eff=float(n))
        magnetization = {}
        for b in np.flatnonzero(counts >= self.min_count):
            c, m = counts[b], pool.m_sum[step][b] / counts[b]
            var = max(pool.m2_sum[step][b] / c - m * m, 0.0) * c / (c - 1)
            magnetization[int(b)] = Estimate(float(m), math.sqrt(var / c), n_eff=float(c))
        deltas = {}
        for b in pool.fit_bins:
            if counts[b] >= self.min_count:
                deltas |= self._fit_bin(pool.configs(step, b), b, child_stream(seed, b))
        return BinnedStep(counts, temperature, magnetization, deltas, self._fit_m(pool.grid, magnetization))

    def _fit_bin(self, x: np.ndarray, b: int, seed: np.random.SeedSequence) -> dict:
        if x.shape[0] > self.max_fit_configs:
            pick = numpy_generator(child_stream(seed, 0)).choice(x.shape[0], self.max_fit_configs, replace=False)
            x = x[np.sort(pick)]
        out, k = {}, 1
        for op in self.operators:
            for form in self.forms:
                fit = self.fit(x, op, form, numpy_generator(child_stream(seed, k)))
                k += 1
                if fit is not None:
                    out[(op, form, b)] = fit
        return out

    def fit(self, x: np.ndarray, operator: str, form: Form, rng: np.random.Generator):
        """Δ of one bin's configurations x (n, L, L) in ``form``; None where undefined."""
        from rgexp.analysis.scaling import fit_scaling_dimension

        if x.ndim != 3 or x.shape[-1] < 4:
            return None
        L = x.shape[-1]
        kw = dict(form="plane", geometry="axis", r_min=1, r_max=(L - 1) // 2, corrections=False,
                  connected=operator == "epsilon" or self.plane_sigma == "connected") if form == "plane" else {}
        try:
            fit = fit_scaling_dimension(x, operator, ci_level=self.ci_level, n_boot=self.n_boot, seed=rng, **kw)
        except (ValueError, np.linalg.LinAlgError, RuntimeError):
            return None
        # Kept even at the search bound (DELTA_BOUNDS): Δ = 8 says "no power law, steeper than
        # r^(−16) over the window" (ε at an ordered fixed point), which is the answer to "does Δ_ε
        # reach 1?", not a missing value.
        return fit if np.isfinite(fit.value) else None

    def _fit_m(self, grid: np.ndarray, magnetization: dict[int, Estimate]):
        """Δ_σ^m: ⟨|m|⟩ = B|t|^β over the populated bins below T_c in m_window (None: too few)."""
        from rgexp.analysis.magnetization_exponent import fit_magnetization_exponent

        bins = sorted(b for b, e in magnetization.items() if e.error > 0)  # a constant bin: no weight
        if len(bins) < 3:
            return None
        m = np.array([magnetization[b].value for b in bins])
        dm = np.array([magnetization[b].error for b in bins])
        try:
            return fit_magnetization_exponent(grid[bins], m, dm, self.T_c,
                                              side="below", t_min=self.m_window[0], t_max=self.m_window[1],
                                              ci_level=self.ci_level)
        except (ValueError, np.linalg.LinAlgError):
            return None

    def metrics(self, by: str, grid: np.ndarray, step: BinnedStep) -> dict[str, float]:
        """The metric names and values of one flow length (``flow_binned[_energy]/…``)."""
        p, out = PREFIXES[by], {}
        for b in np.flatnonzero(step.counts > 0):
            out[metric(p, "count", T=grid[b])] = float(step.counts[b])
        out |= with_companions(metric(p, "temperature"), step.temperature.value, err=step.temperature.error)
        for b, est in step.magnetization.items():
            out |= with_companions(metric(p, "abs_magnetization", T=grid[b]), est.value, err=est.error)
        for (op, form, b), fit in step.deltas.items():
            out |= with_companions(metric(p, f"delta_{op}{_FIT_SUFFIX[form]}", T=grid[b]), fit.value,
                                   ci_low=fit.ci_low, ci_high=fit.ci_high, censored=censored_side(fit.ci_low, fit.ci_high))
        if step.delta_m is not None:
            f = step.delta_m
            out |= with_companions(metric(p, "delta_sigma_from_m"), f.value, err=f.error, ci_low=f.ci_low,
                                   ci_high=f.ci_high, censored=censored_side(f.ci_low, f.ci_high))
        return {k: float(v) for k, v in out.items() if math.isfinite(v)}


def _check_choices(key: str, values: list, allowed) -> None:
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ValueError(f"{key} must be a non-empty list drawn from {', '.join(allowed)}; got {values}")
