"""The energy thermometer: the temperature of a set of configurations by moment matching.

For the nearest-neighbour Ising model p_T(x) ∝ exp(K(x) N_b / T) (K = the mean nearest-neighbour
product, N_b the number of bonds) is an exponential family in 1/T with sufficient statistic K. The
maximum-likelihood temperature of any set of configurations x_1…x_n, Ising or not (e.g. an RG
step or an RBM layer), is therefore the T at which the model's mean matches the set's:

    ⟨K⟩_T̂ = (1/n) Σ_i K(x_i),

which is also the KL projection of the set's distribution onto the Ising family. ⟨K⟩(T) comes from
Monte Carlo data of the same lattice size at a grid of temperatures (the thermometers' data), and is
inverted by linear interpolation. The error combines the set's standard error and the curve's at
that point, divided by the slope d⟨K⟩/dT. Outside the curve's range the reading is censored: the
grid's end, with error NaN. For other models (long range) K is not sufficient and the reading is
the nearest-neighbour moment match, not the likelihood maximum.

:class:`ModelEnergyCurve` is the same reading with the model's own energy: for
H = −Σ_{i<j} J_ij s_i s_j (couplings given as a table J(r) over displacements, e.g. the long-range
``coupling_table`` of that lattice size) the sufficient statistic is −H, so the statistic is
ε = −H/N = (1/N) Σ_{i<j} J_ij s_i s_j per configuration, and the reading is again the exact
maximum-likelihood temperature within that model. For the nearest-neighbour table (J = 1 at
|r| = 1) ε = d·K, an affine image of K, so it reads the same temperature as :class:`EnergyCurve`.

:class:`MagnetizationCurve` reads the same way with ⟨|m|⟩(T) instead of ⟨K⟩(T): the T at which the
Monte Carlo ⟨|m|⟩ of that lattice equals the set's. |m| is not sufficient for T, so where the two
readings disagree the set is not an equilibrium Ising ensemble (e.g. an RBM flow's fixed point);
above T_c ⟨|m|⟩ ~ 1/√N flattens, and the reading there is poorly resolved (large error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rgexp.analysis.observables import abs_magnetization, nn_correlation, per_row
from rgexp.ising.long_range import energy as pair_energy
from rgexp.stats import Estimate, mean_estimate

__all__ = ["EnergyCurve", "MagnetizationCurve", "ModelEnergyCurve", "model_energy_density"]


@dataclass(frozen=True)
class EnergyCurve:
    """⟨K⟩(T) on one lattice: temperatures, mean, error, each (n_T,), temperatures increasing."""

    temperatures: np.ndarray
    mean: np.ndarray
    error: np.ndarray

    @staticmethod
    def statistic(configs: np.ndarray) -> np.ndarray:
        """The per-configuration statistic the curve is of: K, the mean nearest-neighbour product."""
        return nn_correlation(configs)

    @classmethod
    def from_spins(cls, temperatures: np.ndarray, spins: np.ndarray) -> "EnergyCurve":
        """From Monte Carlo samples spins (n_T, n, *lattice), or a sequence of n_T such (n, *lattice)
        blocks (``IsingData.blocks``), at ``temperatures`` (n_T,); the samples are
        thinned to near independence by the samplers, and the error uses their measured τ_int."""
        return cls(*_curve_points(cls.statistic, temperatures, spins))

    def read(self, configs: np.ndarray, ci_level: float = 0.9) -> Estimate:
        """The moment-matching temperature of configs (n, *lattice), values in [-1, 1]."""
        return self.read_statistic(self.statistic(configs), ci_level)

    def read_statistic(self, values: np.ndarray, ci_level: float = 0.9) -> Estimate:
        """The moment-matching temperature of a set whose per-configuration statistic is ``values``
        (n,): :meth:`read` for a set measured in chunks."""
        k = mean_estimate(values, tau_int=0.5)
        # ⟨K⟩ (and ⟨|m|⟩) fall with T; a running minimum irons out Monte Carlo noise on the plateaus.
        curve = np.minimum.accumulate(self.mean)
        if not curve[-1] < k.value < curve[0]:
            edge = self.temperatures[0] if k.value >= curve[0] else self.temperatures[-1]
            return Estimate(float(edge), math.nan, n_eff=k.n_eff)
        j = int(np.searchsorted(-curve, -k.value, side="right"))  # curve[j-1] >= k > curve[j]
        t0, t1 = self.temperatures[j - 1], self.temperatures[j]
        slope = (curve[j] - curve[j - 1]) / (t1 - t0)
        if not slope < 0:
            return Estimate(float(t0), math.nan, n_eff=k.n_eff)
        w = (k.value - curve[j - 1]) / (curve[j] - curve[j - 1])
        t_hat = float(t0 + w * (t1 - t0))
        curve_err = math.hypot((1 - w) * self.error[j - 1], w * self.error[j])
        err = math.hypot(k.error if math.isfinite(k.error) else 0.0, curve_err) / -slope
        from scipy.stats import norm

        z = float(norm.ppf(0.5 + ci_level / 2))
        return Estimate(t_hat, err, t_hat - z * err, t_hat + z * err, ci_level, n_eff=k.n_eff)


class MagnetizationCurve(EnergyCurve):
    """⟨|m|⟩(T) on one lattice; :meth:`read` gives the T at which it equals a set's ⟨|m|⟩."""

    @staticmethod
    def statistic(configs: np.ndarray) -> np.ndarray:
        return abs_magnetization(configs)


@dataclass(frozen=True)
class ModelEnergyCurve(EnergyCurve):
    """⟨ε⟩(T), ε = −H/N with the model's couplings (module docstring); ``couplings`` is the table
    J(r) over displacements, shape = the lattice (L,) or (L, L), J(0) = 0."""

    couplings: np.ndarray

    def statistic(self, configs: np.ndarray) -> np.ndarray:  # an instance method: it needs the couplings
        """ε = (1/N) Σ_{i<j} J_ij s_i s_j of each configuration, (n, *lattice) -> (n,)."""
        return model_energy_density(configs, self.couplings)

    @classmethod
    def from_spins(cls, temperatures: np.ndarray, spins: np.ndarray, couplings: np.ndarray) -> "ModelEnergyCurve":
        """From Monte Carlo samples spins (n_T, n, *lattice) (or n_T blocks) at ``temperatures`` (n_T,) of the model
        whose coupling table (shape = lattice) is ``couplings``."""
        table = np.asarray(couplings, dtype=np.float64)
        return cls(*_curve_points(lambda x: model_energy_density(x, table), temperatures, spins), table)


def model_energy_density(configs: np.ndarray, couplings: np.ndarray) -> np.ndarray:
    """ε = −H/N = (1/N) Σ_{i<j} J_ij s_i s_j per configuration: configs (n, *lattice) with values in
    [-1, 1] (real-valued sets such as block averages allowed), couplings (shape = lattice) -> (n,)."""
    configs = np.asarray(configs)
    if configs.shape[1:] != couplings.shape:
        raise ValueError(f"configs must have shape (n, {couplings.shape}) for these couplings, got {configs.shape}")
    return per_row(lambda x: -pair_energy(np.asarray(x, dtype=np.float64), couplings) / couplings.size, configs)


def _curve_points(statistic, temperatures: np.ndarray, spins: np.ndarray) -> tuple[np.ndarray, ...]:
    """(temperatures, mean, error), each (n_T,), sorted by T: the mean statistic of spins[i]
    (n, *lattice) at each temperature, errors from their measured τ_int (the samplers thin to near
    independence)."""
    order = np.argsort(temperatures)
    ests = [mean_estimate(statistic(spins[i])) for i in order]
    return (np.asarray(temperatures, dtype=np.float64)[order],
            np.array([e.value for e in ests]), np.array([e.error for e in ests]))
