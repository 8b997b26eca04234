"""The container every sampler returns: configurations on a temperature grid plus MC diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class IsingData:
    """Equilibrated configurations at several temperatures.

    spins:        int8 ±1, shape (n_T, n_samples, *lattice) — lattice is (L, L) in 2D, (N,) in 1D.
    temperatures: float64, shape (n_T,).
    info:         one dict per temperature of plain floats/ints: MC diagnostics such as
                  ``tau_int_absm``, ``tau_int_energy`` (in stored-sample units after thinning, and
                  in sweeps before), ``n_eff``, ``thin``, ``n_thermalize``.
    """

    spins: np.ndarray
    temperatures: np.ndarray
    info: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.temperatures = np.asarray(self.temperatures, dtype=np.float64)
        if self.spins.dtype != np.int8:
            raise TypeError(f"IsingData.spins must be int8, got {self.spins.dtype}")
        if self.spins.shape[0] != self.temperatures.shape[0]:
            raise ValueError(
                f"IsingData: {self.spins.shape[0]} spin blocks for {self.temperatures.shape[0]} temperatures"
            )

    @property
    def lattice_shape(self) -> tuple[int, ...]:
        return tuple(self.spins.shape[2:])

    @property
    def n_visible(self) -> int:
        return int(np.prod(self.lattice_shape))

    def flat(self) -> tuple[np.ndarray, np.ndarray]:
        """All configurations flattened, shape (n_T * n_samples, n_visible), and their temperatures."""
        n_t, n_s = self.spins.shape[:2]
        x = self.spins.reshape(n_t * n_s, -1)
        t = np.repeat(self.temperatures, n_s)
        return x, t
