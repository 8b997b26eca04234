"""Config group ``analysis.receptive``: which visible–hidden correlators the pipeline computes."""

from __future__ import annotations

import numpy as np


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
        from rgexp.ising import T_C

        target = T_C if self.temperature is None else self.temperature
        return int(np.argmin(np.abs(np.asarray(temperatures) - target)))
