"""Config-instantiated analysis components (``analysis.receptive``, ``analysis.scaling``): what
the pipeline computes, validated at load, no work in ``__init__``."""

from __future__ import annotations

from typing import Literal

import numpy as np

from rgexp.metric_names import EXACT, companion, metric, with_companions


def _closest(temperatures: np.ndarray, target: float | None) -> int:
    """Index of the grid temperature closest to ``target`` (null: T_c = 2/ln(1+√2))."""
    from rgexp.constants import T_C

    return int(np.argmin(np.abs(np.asarray(temperatures) - (T_C if target is None else target))))


class ReceptiveFields:
    """C_ia maps and G(d) for the trained model (each layer of a stack) and for one block-spin step.

    n_units:     hidden units shown in the heat-map grid.
    n_samples:   configurations used (from the temperature closest to ``temperature``).
    temperature: which data set; null: the grid temperature closest to T_c = 2/ln(1+√2).
    sample:      hidden units as samples of p(h|v) instead of conditional means.
    nulls:       null patterns whose G(d) is drawn with the others: white_noise, checkerboard<b>
                 (b×b blocks, e.g. checkerboard4); blocks larger than half the lattice are skipped.
    arrange_layers: lay each square stack layer out on its √m×√m lattice by its units' receptive-
                 field centres (rgexp.analysis.receptive_size.arrange_on_grid) before the layer is
                 measured as a lattice (stack/* metrics); false: in unit-index order.
    """

    def __init__(self, n_units: int = 16, n_samples: int = 2000, temperature: float | None = None,
                 sample: bool = False, nulls: list[str] = (), arrange_layers: bool = False) -> None:
        if not isinstance(arrange_layers, bool):
            raise ValueError(f"arrange_layers must be true or false, got {arrange_layers!r}")
        self.arrange_layers = arrange_layers
        bad = [n for n in nulls if n != "white_noise" and not (n.startswith("checkerboard") and n[12:].isdigit()
                                                              and int(n[12:]) >= 1)]
        if bad:
            raise ValueError(f"nulls must be drawn from white_noise, checkerboard<b> (b >= 1); got {list(nulls)}")
        self.nulls = list(nulls)
        if n_units < 1:
            raise ValueError(f"n_units must be >= 1, got {n_units}")
        if n_samples < 2:
            raise ValueError(f"n_samples must be >= 2, got {n_samples}")
        if temperature is not None and not temperature > 0:
            raise ValueError(f"temperature must be > 0 or null, got {temperature}")
        self.n_units, self.n_samples, self.temperature, self.sample = n_units, n_samples, temperature, sample

    def pick(self, temperatures: np.ndarray) -> int:
        """Index of the data set to use."""
        return _closest(temperatures, self.temperature)


class ScalingDimensions:
    """Δ of each operator from the two-point function at one temperature, for the data and for every
    flow length / RG step (rgexp.analysis.fit_scaling_dimension with Δ free, bootstrap ``ci_level``
    interval over configurations), and Δ_σ from the magnetization per flow length.

    temperature:  which data set for the correlator fits; null: the grid temperature closest to T_c.
    extra_temperatures: more data sets (the closest grid temperatures) for the correlator fits,
                  e.g. just below and above T_c; logged as ``stage/delta_op/T<T>``.
    baseline_sizes: null, or linear sizes L at which to fit Δ against T on the Monte Carlo data
                  itself (the data's L reuses the data; others get new MC): ``mc/delta_op/L<L>/T<T>``.
    T_c:          the critical temperature; null: 2D nearest-neighbour Ising, 2/ln(1+√2) (J = 1).
                  Set it for other models (long range: the Binder-crossing estimate).
    form:         the correlator's finite-size form (torus: exact critical 2D Ising on the torus;
                  chord, plane: pure power laws — for models outside the 2D Ising class).
    exact:        reference values drawn in the Δ figures ({operator: Δ}).
    magnetization: also fit ⟨|m|⟩ = B|t|^β below T_c at every flow length, Δ_σ = β (ν = 1, the
                  paper's Fig. 2), on t_min < |t| <= t_max (m_window) with m_correction's (1 + b|t|).
    """

    def __init__(self, operators: list[Literal["sigma", "epsilon"]] = ("sigma", "epsilon"),
                 temperature: float | None = None, ci_level: float = 0.9, n_boot: int = 200,
                 r_min: float | None = None, T_c: float | None = None,
                 form: Literal["torus", "chord", "plane"] = "torus",
                 exact: dict[str, float] | None = None, magnetization: bool = True,
                 m_window: list[float] = (0.0, 0.3), m_correction: bool = False,
                 extra_temperatures: list[float] = (), baseline_sizes: list[int] | None = None) -> None:
        bad = [o for o in operators if o not in ("sigma", "epsilon")]
        if bad or not operators:
            raise ValueError(f"operators must be a non-empty list drawn from 'sigma', 'epsilon'; got {list(operators)}")
        for key, value in (("temperature", temperature), ("T_c", T_c)):
            if value is not None and not value > 0:
                raise ValueError(f"{key} must be > 0 or null, got {value}")
        if not 0 < ci_level < 1:
            raise ValueError(f"ci_level must be in (0, 1), got {ci_level}")
        if n_boot < 0:
            raise ValueError(f"n_boot must be >= 0 (0: covariance interval), got {n_boot}")
        m_window = [float(x) for x in m_window]
        if len(m_window) != 2 or not 0 <= m_window[0] < m_window[1]:
            raise ValueError(f"m_window must be [t_min, t_max] with 0 <= t_min < t_max, got {m_window}")
        if any(not t > 0 for t in extra_temperatures):
            raise ValueError(f"extra_temperatures must all be > 0, got {list(extra_temperatures)}")
        if baseline_sizes is not None and any(int(L) < 4 for L in baseline_sizes):
            raise ValueError(f"baseline_sizes must all be >= 4, got {list(baseline_sizes)}")
        from rgexp.constants import ISING_2D

        self.operators, self.temperature = list(operators), temperature
        self.ci_level, self.n_boot, self.r_min, self.form = ci_level, n_boot, r_min, form
        self.T_c = float(T_c) if T_c is not None else ISING_2D.T_c
        self.exact = dict(exact) if exact is not None else {"sigma": ISING_2D.delta_sigma,
                                                            "epsilon": ISING_2D.delta_epsilon}
        self.magnetization, self.m_window, self.m_correction = magnetization, m_window, m_correction
        self.extra_temperatures = [float(t) for t in extra_temperatures]
        self.baseline_sizes = None if baseline_sizes is None else [int(L) for L in baseline_sizes]

    def pick(self, temperatures: np.ndarray) -> int:
        return _closest(temperatures, self.temperature if self.temperature is not None else self.T_c)

    def picks(self, temperatures: np.ndarray) -> list[float]:
        """The grid temperatures of the correlator fits: the main one first, then the extra ones."""
        grid = np.asarray(temperatures, dtype=np.float64)
        chosen = [float(grid[self.pick(grid)])] + [float(grid[_closest(grid, t)]) for t in self.extra_temperatures]
        return list(dict.fromkeys(chosen))

    def fit(self, configs: np.ndarray, operator: str, rng: np.random.Generator):
        """A ScalingFit, or None where the fit is undefined (constant or too-small configurations)."""
        from rgexp.analysis.scaling import DELTA_BOUNDS, fit_scaling_dimension

        if configs.ndim != 3 or configs.shape[-1] < 4:
            return None
        try:
            fit = fit_scaling_dimension(configs, operator, r_min=self.r_min, ci_level=self.ci_level,
                                        n_boot=self.n_boot, seed=rng, form=self.form)
        except (ValueError, np.linalg.LinAlgError, RuntimeError):
            return None
        # Δ at the search bound: no power law in the data (e.g. ε deep in a phase), nothing to log
        lo, hi = DELTA_BOUNDS
        return fit if lo + 0.05 < fit.value < hi - 0.05 else None

    def fit_magnetization(self, temperatures: np.ndarray, m: np.ndarray, dm: np.ndarray):
        """Δ_σ from ⟨|m|⟩(T) of one flow length, m, dm (n_T,); None with too few points below T_c."""
        from rgexp.analysis.magnetization_exponent import fit_magnetization_exponent

        try:
            return fit_magnetization_exponent(temperatures, m, dm, self.T_c, side="below",
                                              t_min=self.m_window[0], t_max=self.m_window[1],
                                              correction=self.m_correction, ci_level=self.ci_level)
        except (ValueError, np.linalg.LinAlgError):
            return None


class Criticality:
    """Long-range sampler only: T_c from Binder crossings over ``sizes`` (scanned on the sampler's
    temperature grid, which must bracket it) and Δ_σ, Δ_ε by finite-size scaling at that T_c
    (rgexp.ising.critical_point / scaling_dimensions): ``mc/T_c``, ``mc/delta_sigma``,
    ``mc/delta_epsilon`` with ``_err``, and ``mc/delta_sigma_exact`` = (d − σ)/2 where it holds.
    """

    def __init__(self, sizes: list[int] = (8, 16, 32), n_samples: int = 2000) -> None:
        sizes = [int(L) for L in sizes]
        if len(sizes) < 3 or min(sizes) < 4:
            raise ValueError(f"sizes must hold >= 3 linear sizes >= 4, got {sizes}")
        if n_samples < 200:  # what critical_point needs (20 jackknife blocks): refuse before any work
            raise ValueError(f"n_samples must be >= 200, got {n_samples}")
        self.sizes, self.n_samples = sorted(set(sizes)), int(n_samples)

    def measure(self, sampler, seed: np.random.SeedSequence) -> dict[str, float]:
        """The metrics above for the sampler's σ, d, J and temperature grid."""
        from rgexp.ising import critical_point, exact_delta_sigma, scaling_dimensions

        cp = critical_point(sampler.sigma, sampler.d, self.sizes, sorted(sampler.temperatures), self.n_samples,
                            seed=seed, J=sampler.J, couplings=getattr(sampler, "couplings", "images"))
        dims = scaling_dimensions(cp)
        out: dict[str, float] = {}
        for name, est in (("T_c", cp.tc), ("delta_sigma", dims.delta_sigma), ("delta_epsilon", dims.delta_epsilon)):
            out |= with_companions(metric("mc", name), est.value, err=est.error)
        try:
            out[companion(metric("mc", "delta_sigma"), EXACT)] = exact_delta_sigma(sampler.sigma, sampler.d)
        except ValueError:
            pass
        return out
