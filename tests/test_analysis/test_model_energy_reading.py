"""The energy reading with the model's own energy (ModelEnergyCurve) against exact enumeration.

For H = −Σ_{i<j} J_ij s_i s_j the sufficient statistic of T is H, so the maximum-likelihood
temperature of a set of configurations solves ⟨ε⟩_T = mean ε of the set (ε = −H/N). On a 4×4
long-range torus and a 10-site long-range ring, both conventions, the curve is the exact ⟨ε⟩(T)
by summing all 2^N states: exact Boltzmann samples must read the exact ML temperature (up to the
linear interpolation between grid points) and the true T within 4 errors. For the nearest-neighbour
table ε = d·K, and the reading equals EnergyCurve's.
"""

import numpy as np
import pytest
from scipy import optimize

from rgexp.analysis.energy_thermometer import EnergyCurve, ModelEnergyCurve, model_energy_density
from rgexp.ising import sample_ising2d
from rgexp.ising.long_range import coupling_table, energy

CASES = [  # (L, d, sigma, couplings, grid, temperatures to read)
    (4, 2, 1.0, "images", np.round(np.arange(3.0, 14.01, 0.1), 10), (4.5, 7.0, 10.0)),
    (4, 2, 1.6, "minimum_image", np.round(np.arange(2.0, 10.01, 0.1), 10), (3.5, 5.3, 8.0)),
    (10, 1, 0.875, "minimum_image", np.round(np.arange(0.8, 5.01, 0.05), 10), (1.2, 2.1, 3.5)),
]


def _states(L: int, d: int) -> np.ndarray:
    n = L**d
    bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    return (1 - 2 * bits).astype(np.int8).reshape((-1,) + (L,) * d)


def _boltzmann(eps: np.ndarray, N: int, T: float) -> np.ndarray:
    w = N * eps / T  # −H/T
    p = np.exp(w - w.max())
    return p / p.sum()


@pytest.mark.parametrize(("L", "d", "sigma", "couplings", "grid", "temps"), CASES)
def test_model_energy_reading_is_the_exact_maximum_likelihood(L, d, sigma, couplings, grid, temps):
    table = coupling_table(L, d, sigma, couplings=couplings)
    states = _states(L, d)
    eps = model_energy_density(states, table)
    assert np.allclose(eps, -energy(states, table) / L**d)
    mean_eps = lambda t: float(_boltzmann(eps, L**d, t) @ eps)  # noqa: E731
    curve = ModelEnergyCurve(grid, np.array([mean_eps(t) for t in grid]), np.zeros(grid.size), table)
    rng = np.random.default_rng(31)
    for T in temps:
        sample = states[rng.choice(states.shape[0], size=4000, p=_boltzmann(eps, L**d, T))]
        est = curve.read(sample)
        exact_ml = optimize.brentq(lambda t: mean_eps(t) - model_energy_density(sample, table).mean(),
                                   grid[0], grid[-1])
        assert abs(est.value - exact_ml) < min(0.01 * T, 0.25 * est.error), (T, est, exact_ml)
        assert abs(est.value - T) < 4 * est.error, (T, est)
    # from_spins: sorted by T, means within 4 errors of the exact curve.
    t2 = np.array(temps[1:][::-1])
    spins = np.stack([states[rng.choice(states.shape[0], size=3000, p=_boltzmann(eps, L**d, t))] for t in t2])
    built = ModelEnergyCurve.from_spins(t2, spins, table)
    assert list(built.temperatures) == sorted(t2) and built.couplings is not None
    exact = np.array([mean_eps(t) for t in built.temperatures])
    assert np.all(np.abs(built.mean - exact) < 4 * built.error)


def test_nearest_neighbour_table_reads_what_the_nearest_neighbour_curve_reads():
    """With J = 1 on the four nearest displacements, ε = 2K on an L×L torus (L >= 3): both curves read
    the same temperature with the same error (an affine map of the statistic changes neither)."""
    L = 6
    table = np.zeros((L, L))
    table[[0, 0, 1, L - 1], [1, L - 1, 0, 0]] = 1.0
    temps = np.array([1.5, 2.0, 2.5, 3.0])
    spins = np.stack([sample_ising2d(L, t, 300, seed=k) for k, t in enumerate(temps)])
    nn, model = EnergyCurve.from_spins(temps, spins), ModelEnergyCurve.from_spins(temps, spins, table)
    assert np.allclose(model.mean, 2 * nn.mean) and np.allclose(model.error, 2 * nn.error)
    x = sample_ising2d(L, 2.2, 200, seed=9)
    a, b = nn.read(x), model.read(x)
    assert np.isfinite(a.error) and 2.0 < a.value < 2.5  # inside the grid, not censored
    assert a.value == pytest.approx(b.value, rel=1e-12) and a.error == pytest.approx(b.error, rel=1e-9)


def test_shape_must_match_the_couplings():
    table = coupling_table(4, 2, 1.0)
    with pytest.raises(ValueError, match=r"configs must have shape \(n, \(4, 4\)\)"):
        model_energy_density(np.ones((3, 8, 8)), table)
