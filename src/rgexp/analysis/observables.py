"""Per-configuration observables of (possibly real-valued) lattice configurations, with errors.

Works for ±1 spins and for block averages or mean-field flows alike: nothing assumes s² = 1.

Adding an observable takes two places: a row-wise function ``(n, ...) -> (n,)`` registered with
``@observable`` (here, or in any module imported before the run), and its name in
``analysis.measurements.observables``. Every stage then measures it on the data, each flow
length, RG step and stack layer, and logs ``<stage>/<name>/T<T>``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from rgexp.stats import Estimate, mean_estimate

__all__ = ["abs_magnetization", "nn_correlation", "Measurements", "per_row", "observable", "OBSERVABLES"]

OBSERVABLES: dict[str, Callable[[np.ndarray], np.ndarray]] = {}  # name -> row-wise function (n, ...) -> (n,)


def observable(function: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Register ``function`` (configs (n, ...) -> one value per row (n,)) under its name, for
    ``analysis.measurements.observables``."""
    OBSERVABLES[function.__name__] = function
    return function

CHUNK_VALUES = 1 << 21  # values per chunk of rows: 16 MB of float64, however many configurations


def per_row(statistic, configs: np.ndarray, values: int = CHUNK_VALUES) -> np.ndarray:
    """``statistic`` (a row-wise function (m, ...) -> (m,)) over configs (n, ...) in chunks of rows,
    each converted to float64 only while it is used: the result equals ``statistic(configs)`` bit
    for bit, and memory is O(chunk) instead of several float64 copies of a 40,000 × 64 × 64 set."""
    configs = np.asarray(configs)
    n, size = configs.shape[0], int(np.prod(configs.shape[1:]))
    if n * size <= values:
        return statistic(configs)
    rows = max(1, values // max(1, size))  # at least one row a chunk
    return np.concatenate([statistic(configs[s:s + rows]) for s in range(0, n, rows)])


def _abs_magnetization(configs: np.ndarray) -> np.ndarray:
    x = np.asarray(configs, dtype=np.float64)
    return np.abs(x.reshape(x.shape[0], -1).mean(axis=1))


@observable
def abs_magnetization(configs: np.ndarray) -> np.ndarray:
    """|mean of each configuration|; configs (n, L, L) or (n, N) -> (n,) (in chunks of rows)."""
    return per_row(_abs_magnetization, configs)


@observable
def nn_correlation(configs: np.ndarray) -> np.ndarray:
    """Mean nearest-neighbour product over all bonds of the periodic lattice, per configuration.

    configs (n, L, L) -> (n,), averaging s(x)s(x+x̂) and s(x)s(x+ŷ); for ±1 spins with J = 1 this
    is −E / (2 L²). For (n, N) chains it is the mean of s(i)s(i+1) around the ring. In chunks of rows.
    """
    return per_row(_nn_correlation, configs)


def _nn_correlation(configs: np.ndarray) -> np.ndarray:
    x = np.asarray(configs, dtype=np.float64)
    axes = range(1, x.ndim)
    prods = [(x * np.roll(x, -1, axis=a)).reshape(x.shape[0], -1).mean(axis=1) for a in axes]
    return np.mean(prods, axis=0)


class Measurements:
    """Config group ``analysis``: which observables to measure on every set of configurations."""

    def __init__(
        self, observables: list[str] = ("abs_magnetization", "nn_correlation")
    ) -> None:
        bad = [o for o in observables if o not in OBSERVABLES]
        if bad:
            raise ValueError(
                f"observables must be drawn from {', '.join(OBSERVABLES)}; got {bad}"
            )
        self.observables = list(observables)

    def __call__(self, configs: np.ndarray) -> dict[str, Estimate]:
        """``{observable: Estimate}`` over the rows of configs (n, ...); rows are a time series."""
        return {name: mean_estimate(OBSERVABLES[name](configs)) for name in self.observables}
