"""Config-instantiated analysis components (``analysis.receptive``, ``analysis.scaling``): what
the pipeline computes, validated at load, no work in ``__init__``."""

from __future__ import annotations

from typing import Literal

import numpy as np


def _closest(temperatures: np.ndarray, target: float | None) -> int:
    """Index of the grid temperature closest to ``target`` (null: T_c = 2/ln(1+√2))."""
    from rgexp.ising import T_C

    return int(np.argmin(np.abs(np.asarray(temperatures) - (T_C if target is None else target))))


class ReceptiveFields:
    """C_ia maps and G(d) for the trained model (each layer of a stack) and for one block-spin step.

    n_units:     hidden units shown in the heat-map grid.
    n_samples:   configurations used (from the temperature closest to ``temperature``).
    temperature: which data set; null: the grid temperature closest to T_c = 2/ln(1+√2).
    sample:      hidden units as samples of p(h|v) instead of conditional means.
    """

    def __init__(self, n_units: int = 16, n_samples: int = 2000, temperature: float | None = None,
                 sample: bool = False) -> None:
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
    flow length / RG step (rgexp.analysis.fit_scaling_dimension: the exact critical torus form with
    Δ free, bootstrap ``ci_level`` interval over configurations).

    temperature: which data set; null: the grid temperature closest to T_c (where Δ is defined).
    """

    def __init__(self, operators: list[Literal["sigma", "epsilon"]] = ("sigma", "epsilon"),
                 temperature: float | None = None, ci_level: float = 0.9, n_boot: int = 200,
                 r_min: float | None = None) -> None:
        bad = [o for o in operators if o not in ("sigma", "epsilon")]
        if bad or not operators:
            raise ValueError(f"operators must be a non-empty list drawn from 'sigma', 'epsilon'; got {list(operators)}")
        if temperature is not None and not temperature > 0:
            raise ValueError(f"temperature must be > 0 or null, got {temperature}")
        if not 0 < ci_level < 1:
            raise ValueError(f"ci_level must be in (0, 1), got {ci_level}")
        if n_boot < 0:
            raise ValueError(f"n_boot must be >= 0 (0: covariance interval), got {n_boot}")
        self.operators, self.temperature = list(operators), temperature
        self.ci_level, self.n_boot, self.r_min = ci_level, n_boot, r_min

    def pick(self, temperatures: np.ndarray) -> int:
        return _closest(temperatures, self.temperature)

    def fit(self, configs: np.ndarray, operator: str, rng: np.random.Generator):
        """A ScalingFit, or None where the fit is undefined (constant or too-small configurations)."""
        from rgexp.analysis.scaling import fit_scaling_dimension

        if configs.ndim != 3 or configs.shape[-1] < 4:
            return None
        try:
            return fit_scaling_dimension(configs, operator, r_min=self.r_min, ci_level=self.ci_level,
                                         n_boot=self.n_boot, seed=rng)
        except (ValueError, np.linalg.LinAlgError, RuntimeError):
            return None
