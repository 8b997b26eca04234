"""Temperatures of sets of configurations against the exact 4×4 torus: the network reading's
maximum-likelihood temperature with the exact Bayes posterior, and the energy thermometer with the
exact ⟨s s'⟩(T).

With the exact posterior p(T_k | x) ∝ e^{B(x)/T_k} / Z(T_k) (B = Σ s_i s_j, enumerated), the
ensemble's log-likelihood is exact, and its continuous maximum solves ⟨B⟩_T = mean B of the
sample: the grid-interpolated estimate must land on it, and its interval must cover the true T at
its nominal rate.
"""

import numpy as np
from scipy import optimize
from scipy.special import logsumexp

from rgexp.analysis.energy_thermometer import EnergyCurve
from rgexp.analysis.thermometer import likelihood_temperature
from rgexp.ising import enumerate_states
from rgexp.ising.exact import _bonds_and_mags

GRID = np.round(np.arange(1.5, 4.01, 0.1), 10)
BONDS, _ = _bonds_and_mags(enumerate_states(4))
LEVELS, DEGENERACY = np.unique(BONDS, return_counts=True)  # Z(T) = Σ_B g(B) e^{B/T}


def _log_posterior(bonds: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """(n, n_T) exact log p(T_k | x) for configurations with these bond sums."""
    log_z = logsumexp(LEVELS[None, :] / grid[:, None], b=DEGENERACY[None, :], axis=1)  # (n_T,)
    log_lik = bonds[:, None] / grid[None, :] - log_z[None, :]
    return log_lik - logsumexp(log_lik, axis=1, keepdims=True)


def _level_probabilities(T: float) -> np.ndarray:
    w = LEVELS / T
    p = DEGENERACY * np.exp(w - w.max())
    return p / p.sum()


def _sample_bonds(T: float, n: int, rng: np.random.Generator) -> np.ndarray:
    return LEVELS[rng.choice(LEVELS.size, size=n, p=_level_probabilities(T))]


def _mean_bonds(T: float) -> float:
    return float(np.sum(LEVELS * _level_probabilities(T)))


def test_grid_estimate_equals_the_exact_continuous_maximum():
    rng = np.random.default_rng(7)
    for T in (1.93, 2.63, 3.37):
        bonds = _sample_bonds(T, 4000, rng)
        est = likelihood_temperature(_log_posterior(bonds, GRID), GRID)
        exact_ml = optimize.brentq(lambda t: _mean_bonds(t) - bonds.mean(), 1.0, 6.0)
        # The parabola through three grid points 0.1 apart misses the cubic part of ℓ(T): a small
        # fraction of the grid step, and well inside the statistical error.
        assert abs(est.value - exact_ml) < min(0.05 * 0.1, 0.25 * est.error), (T, est, exact_ml)
        assert abs(est.value - T) < 4 * est.error


def test_interval_covers_the_true_temperature_at_its_level():
    rng = np.random.default_rng(11)
    T, trials = 2.47, 300
    hits = 0
    for _ in range(trials):
        est = likelihood_temperature(_log_posterior(_sample_bonds(T, 300, rng), GRID), GRID, ci_level=0.9)
        hits += est.ci_low <= T <= est.ci_high
    # Binomial(300, 0.9): sd 1.7 %; ± 4 sd.
    assert 0.83 <= hits / trials <= 0.97, hits / trials


def test_does_not_regress_to_the_middle_like_the_mean_argmax_reading():
    # The mean argmax reading's expectation, exactly (over the energy levels): single 4×4
    # configurations say little, so their argmax readings spread over the grid and the mean is biased.
    mean_argmax = float(np.sum(_level_probabilities(3.8) * GRID[_log_posterior(LEVELS, GRID).argmax(axis=1)]))
    est = likelihood_temperature(_log_posterior(_sample_bonds(3.8, 2000, np.random.default_rng(3)), GRID), GRID)
    assert abs(est.value - 3.8) < 4 * est.error
    assert 3.8 - mean_argmax > 5 * est.error, (mean_argmax, est)  # 0.29 against 0.039


def test_a_maximum_on_the_grid_edge_is_censored():
    rng = np.random.default_rng(5)
    est = likelihood_temperature(_log_posterior(_sample_bonds(6.0, 2000, rng), GRID), GRID)
    assert est.value == GRID[-1] and np.isnan(est.error)


# --------------------------------------------------------------------------- the energy thermometer
def _exact_curve(grid: np.ndarray) -> EnergyCurve:
    """⟨K⟩(T) = ⟨B⟩/N_b on the 4×4 torus (32 bonds), exactly, with zero error."""
    return EnergyCurve(grid, np.array([_mean_bonds(t) / 32 for t in grid]), np.zeros(grid.size))


def _configs_with_bonds(bonds: np.ndarray) -> np.ndarray:
    """4×4 configurations (n, 4, 4) with these bond sums (any state of the level: K is sufficient)."""
    states = enumerate_states(4)
    first = {b: int(np.flatnonzero(BONDS == b)[0]) for b in np.unique(bonds)}
    return states[[first[b] for b in bonds]]


def test_energy_reading_is_the_exact_continuous_maximum_likelihood():
    """For the nearest-neighbour model, matching ⟨K⟩ is the likelihood maximum: the same T as the
    root of ⟨B⟩_T = mean B, up to the linear interpolation between grid points."""
    rng = np.random.default_rng(17)
    curve = _exact_curve(GRID)
    for T in (1.93, 2.63, 3.37):
        bonds = _sample_bonds(T, 4000, rng)
        est = curve.read(_configs_with_bonds(bonds))
        exact_ml = optimize.brentq(lambda t: _mean_bonds(t) - bonds.mean(), 1.0, 6.0)
        assert abs(est.value - exact_ml) < min(0.01, 0.25 * est.error), (T, est, exact_ml)
        assert abs(est.value - T) < 4 * est.error


def test_energy_reading_covers_and_is_censored_outside_the_grid():
    rng = np.random.default_rng(19)
    curve = _exact_curve(GRID)
    reads = [curve.read(_configs_with_bonds(_sample_bonds(2.47, 300, rng))) for _ in range(300)]
    hits = np.mean([r.ci_low <= 2.47 <= r.ci_high for r in reads])
    assert 0.83 <= hits <= 0.97, hits  # Binomial(300, 0.9): ± 4 sd
    hot = curve.read(_configs_with_bonds(_sample_bonds(8.0, 2000, rng)))
    cold = curve.read(np.ones((10, 4, 4)))
    assert hot.value == GRID[-1] and np.isnan(hot.error)
    assert cold.value == GRID[0] and np.isnan(cold.error)


def test_energy_curve_from_monte_carlo_spins_matches_the_exact_curve():
    rng = np.random.default_rng(23)
    temps = np.array([2.0, 3.0])
    spins = np.stack([_configs_with_bonds(_sample_bonds(t, 3000, rng)) for t in temps])
    curve = EnergyCurve.from_spins(temps[::-1].copy(), spins[::-1].copy())  # any order in, sorted out
    assert list(curve.temperatures) == [2.0, 3.0]
    exact = np.array([_mean_bonds(t) / 32 for t in temps])
    assert np.all(np.abs(curve.mean - exact) < 4 * curve.error)


# --------------------------------------------------------------------------- the magnetization reading
def test_magnetization_reading_recovers_the_temperature_of_exact_samples():
    """4×4 torus, enumerated: the curve is the exact ⟨|m|⟩(T); exact Boltzmann samples at T read T
    within 4 errors, and MagnetizationCurve.from_spins reproduces the exact curve."""
    from rgexp.analysis.energy_thermometer import MagnetizationCurve

    states = enumerate_states(4)
    abs_m = np.abs(states.reshape(states.shape[0], -1).mean(axis=1))

    def weights(T: float) -> np.ndarray:
        w = BONDS / T
        p = np.exp(w - w.max())
        return p / p.sum()

    grid = np.round(np.arange(1.0, 4.01, 0.1), 10)
    curve = MagnetizationCurve(grid, np.array([weights(t) @ abs_m for t in grid]), np.zeros(grid.size))
    rng = np.random.default_rng(29)
    for T in (1.75, 2.35, 2.9):
        sample = states[rng.choice(states.shape[0], size=4000, p=weights(T))]
        est = curve.read(sample)
        assert abs(est.value - T) < 4 * est.error, (T, est)
    temps = np.array([2.0, 3.0])
    spins = np.stack([states[rng.choice(states.shape[0], size=3000, p=weights(t))] for t in temps])
    built = MagnetizationCurve.from_spins(temps, spins)
    exact = np.array([weights(t) @ abs_m for t in temps])
    assert np.all(np.abs(built.mean - exact) < 4 * built.error)
