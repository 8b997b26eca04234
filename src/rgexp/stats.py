"""Estimates with errors: the one place that turns a series of measurements into a number.

Every physics package returns :class:`Estimate` objects, never bare floats. Monte Carlo series are
summarised with the integrated autocorrelation time (Sokal's automatic window), so the error of a
mean is ``std * sqrt(2 tau_int / n)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "Estimate",
    "autocorrelation",
    "integrated_autocorr_time",
    "mean_estimate",
    "bootstrap_estimate",
    "jackknife_estimate",
]


@dataclass(frozen=True)
class Estimate:
    """A measured value with its uncertainty.

    ``error`` is one standard error. ``ci_low``/``ci_high`` bound a confidence interval when one
    was computed (``ci_level`` says which). ``tau_int`` and ``n_eff`` are set for Monte Carlo means.
    """

    value: float
    error: float
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    tau_int: float | None = None
    n_eff: float | None = None

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        """Flat ``{prefix+field: value}`` of the fields that are set: a record of the estimate. Not
        for metric names: log an estimate as ``X`` with its companions ``X_err``, ``X_ci_low``, …
        (:func:`rgexp.metric_names.estimate_metrics`)."""
        return {f"{prefix}{k}": float(v) for k, v in asdict(self).items() if v is not None}

    def __str__(self) -> str:
        return f"{self.value:.6g} ± {self.error:.2g}"


def autocorrelation(x: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation function rho(t), t = 0..n-1, of a 1D series, via FFT."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 2:
        raise ValueError(f"autocorrelation needs at least 2 points, got {n}")
    d = x - x.mean()
    f = np.fft.rfft(d, n=2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n]
    if acf[0] <= 0.0:
        # A constant series is perfectly "decorrelated": rho = delta(t).
        out = np.zeros(n)
        out[0] = 1.0
        return out
    return acf / acf[0]


def integrated_autocorr_time(x: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time tau_int = 1/2 + sum_{t>=1}^{W} rho(t), in units of steps.

    The window W is Sokal's self-consistent choice, the smallest W with W >= c * tau_int(W).
    tau_int = 1/2 means uncorrelated samples (so that var(mean) = 2 tau_int var(x) / n).
    """
    rho = autocorrelation(x)
    tau = 0.5 + np.cumsum(rho[1:])
    windows = np.arange(1, rho.size)
    ok = windows >= c * tau
    w = int(np.argmax(ok)) if ok.any() else tau.size - 1
    return float(max(tau[w], 0.5))


def mean_estimate(x: np.ndarray, tau_int: float | None = None) -> Estimate:
    """Mean of a (possibly autocorrelated) series with error std * sqrt(2 tau_int / n)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        raise ValueError("mean_estimate needs at least one value")
    if n == 1:
        return Estimate(float(x[0]), float("nan"), tau_int=tau_int, n_eff=1.0)
    tau = integrated_autocorr_time(x) if tau_int is None else float(tau_int)
    n_eff = n / (2.0 * tau)
    err = float(x.std(ddof=1) / np.sqrt(n_eff))
    return Estimate(float(x.mean()), err, tau_int=tau, n_eff=float(n_eff))


def bootstrap_estimate(
    x: np.ndarray,
    statistic,
    rng: np.random.Generator,
    n_boot: int = 1000,
    ci_level: float = 0.9,
) -> Estimate:
    """Bootstrap a statistic of independent rows of ``x`` (shape (n, ...)).

    ``statistic(x_resampled) -> float``. Returns the full-sample value, the bootstrap standard
    error and the percentile interval at ``ci_level``.
    """
    x = np.asarray(x)
    n = x.shape[0]
    value = float(statistic(x))
    reps = np.array([statistic(x[rng.integers(0, n, n)]) for _ in range(n_boot)], dtype=float)
    alpha = (1.0 - ci_level) / 2.0
    lo, hi = np.quantile(reps, [alpha, 1.0 - alpha])
    return Estimate(value, float(reps.std(ddof=1)), float(lo), float(hi), ci_level)


def jackknife_estimate(x: np.ndarray, statistic, n_blocks: int = 20) -> Estimate:
    """Blocked jackknife of a (possibly nonlinear) statistic of the rows of ``x`` (shape (n, ...)).

    Blocking makes it valid for correlated series as long as blocks are longer than tau_int.
    """
    x = np.asarray(x)
    n = x.shape[0]
    n_blocks = min(n_blocks, n)
    if n_blocks < 2:
        raise ValueError(f"jackknife needs at least 2 samples, got {n}")
    edges = np.linspace(0, n, n_blocks + 1).astype(int)
    value = float(statistic(x))
    reps = np.array(
        [statistic(np.concatenate([x[: edges[i]], x[edges[i + 1] :]])) for i in range(n_blocks)]
    )
    err = np.sqrt((n_blocks - 1) / n_blocks * np.sum((reps - reps.mean()) ** 2))
    return Estimate(value, float(err))
