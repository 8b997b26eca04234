"""1D chain: exact sampler against closed forms and exact enumeration (samples are independent,
so plain binomial/normal error bars apply; no thinning)."""

from __future__ import annotations

import itertools
import math

import numpy as np

from rgexp.seeding import keyed_stream
import pytest
from scipy import stats

from rgexp.ising.chain1d import (
    Chain1DSampler,
    correlation_exact,
    energy_exact,
    log_partition_exact,
    sample_ising1d,
)
from rgexp.ising.data import IsingData


def _enumerate(N: int, T: float, J: float, h: float, periodic: bool) -> tuple[np.ndarray, np.ndarray]:
    """All 2^N states (rows, +1 before −1 in lexicographic order) and their exact probabilities."""
    states = np.array(list(itertools.product([1, -1], repeat=N)), dtype=np.int64)
    bonds = (states[:, :-1] * states[:, 1:]).sum(axis=1)
    if periodic:
        bonds = bonds + states[:, -1] * states[:, 0]
    e = -J * bonds - h * states.sum(axis=1)
    w = np.exp(-(e - e.min()) / T)
    return states, w / w.sum()


def _state_index(x: np.ndarray) -> np.ndarray:
    """Row index of each configuration in _enumerate's order."""
    n = x.shape[1]
    return ((x < 0).astype(np.int64) * (2 ** np.arange(n - 1, -1, -1))).sum(axis=1)


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("N", [1, 2, 3, 6])
def test_log_partition_matches_enumeration(N, periodic):
    T, J, h = 1.3, 0.7, 0.4
    states, _ = _enumerate(N, T, J, h, periodic)
    bonds = (states[:, :-1] * states[:, 1:]).sum(axis=1) + (states[:, -1] * states[:, 0] if periodic else 0)
    logz = np.log(np.exp((J * bonds + h * states.sum(axis=1)) / T).sum())
    assert log_partition_exact(N, T, periodic=periodic, J=J, h=h) == pytest.approx(logz, rel=1e-12)


def test_log_partition_periodic_matches_eigenvalues():
    N, T, J, h = 40, 0.9, 1.0, 0.3
    K, H = J / T, h / T
    root = math.sqrt(math.exp(2 * K) * math.sinh(H) ** 2 + math.exp(-2 * K))
    lp, lm = math.exp(K) * math.cosh(H) + root, math.exp(K) * math.cosh(H) - root
    assert log_partition_exact(N, T, J=J, h=h) == pytest.approx(math.log(lp**N + lm**N), rel=1e-12)


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("h", [0.0, 0.5])
def test_state_histogram_chi2(periodic, h):
    """χ² of the full 2^6-state histogram against exact enumeration (with and without field)."""
    N, T, J, n = 6, 1.2, 1.0, 100_000
    states, p = _enumerate(N, T, J, h, periodic)
    x = sample_ising1d(N, T, n, seed=11, periodic=periodic, J=J, h=h)
    counts = np.bincount(_state_index(x), minlength=2**N)
    expected = n * p
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, df=2**N - 1) > 1e-3


@pytest.mark.parametrize("T", [0.8, 1.3, 3.0])
def test_periodic_correlation_matches_closed_form(T):
    """⟨s_0 s_r⟩ = (t^r + t^(N−r)) / (1 + t^N), averaged over translations, every r."""
    N, n = 20, 20_000
    x = sample_ising1d(N, T, n, seed=3).astype(np.float64)
    r = np.arange(N + 1)
    per_sample = np.stack([(x * np.roll(x, -k, axis=1)).mean(axis=1) for k in r], axis=1)
    mean = per_sample.mean(axis=0)
    err = per_sample.std(axis=0, ddof=1) / math.sqrt(n)
    exact = correlation_exact(N, T, r, periodic=True)
    assert np.all(np.abs(mean - exact) <= 4 * err + 1e-12)


def test_periodic_nn_correlation_is_not_the_metropolis_trap_value():
    """TRAPS.md: N = 20, T = 1.3 must give tanh-form 0.647, not the non-ergodic 0.62."""
    x = sample_ising1d(20, 1.3, 40_000, seed=5).astype(np.float64)
    c = (x * np.roll(x, -1, axis=1)).mean(axis=1)
    assert abs(c.mean() - 0.6466) < 4 * c.std() / math.sqrt(c.size)
    assert correlation_exact(20, 1.3, 1) == pytest.approx(0.64663, abs=1e-5)


@pytest.mark.parametrize("J", [1.0, -0.7])
def test_open_correlation_is_t_to_the_r(J):
    N, T, n = 16, 1.0, 20_000
    x = sample_ising1d(N, T, n, seed=7, periodic=False, J=J).astype(np.float64)
    t = math.tanh(J / T)
    for i in (0, 5):
        for r in range(0, N - i):
            c = x[:, i] * x[:, i + r]
            err = max(c.std(ddof=1), 1e-12) / math.sqrt(n)
            assert abs(c.mean() - t**r) <= 4 * err + 1e-12
    assert np.array_equal(correlation_exact(N, T, np.arange(5), periodic=False, J=J), t ** np.arange(5.0))


@pytest.mark.parametrize("periodic", [True, False])
def test_energy_matches_exact(periodic):
    N, T, n = 12, 1.5, 20_000
    x = sample_ising1d(N, T, n, seed=9, periodic=periodic).astype(np.float64)
    bonds = (x[:, :-1] * x[:, 1:]).sum(axis=1) + ((x[:, -1] * x[:, 0]) if periodic else 0)
    e = -bonds / N
    assert abs(e.mean() - energy_exact(N, T, periodic=periodic)) < 4 * e.std(ddof=1) / math.sqrt(n)


def test_extreme_parameters_are_finite_and_exact():
    # Very low T without field: every chain is uniform, both signs occur.
    x = sample_ising1d(30, 0.002, 2000, seed=1)
    assert np.all(np.abs(x.sum(axis=1)) == 30)
    assert 0.4 < (x[:, 0] > 0).mean() < 0.6
    # Huge field: all up.
    assert np.all(sample_ising1d(10, 1.0, 100, seed=1, periodic=False, h=800.0) == 1)
    # Infinite temperature limit: independent fair coins.
    y = sample_ising1d(10, 1e9, 20_000, seed=2)
    assert abs(y.mean()) < 4 / math.sqrt(y.size)


def test_seed_types_and_reproducibility():
    a = sample_ising1d(8, 1.0, 50, seed=4)
    b = sample_ising1d(8, 1.0, 50, seed=np.random.SeedSequence(4))
    c = sample_ising1d(8, 1.0, 50, seed=5)
    assert a.dtype == np.int8 and a.shape == (50, 8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError, match="^seed"):
        sample_ising1d(8, 1.0, 5, seed=-1)


def test_sampler_class():
    s = Chain1DSampler(N=12, temperatures=[0.5, 1.0, 2.0], n_samples=64, periodic=False, h=0.1)
    assert s.lattice_shape == (12,)
    data = s.sample(np.random.SeedSequence(0))
    assert isinstance(data, IsingData)
    assert data.spins.shape == (3, 64, 12) and data.spins.dtype == np.int8
    assert set(np.unique(data.spins)) <= {-1, 1}
    assert np.array_equal(data.temperatures, [0.5, 1.0, 2.0])
    assert len(data.info) == 3 and data.info[0]["n_eff"] == 64.0
    again = s.sample(np.random.SeedSequence(0))
    assert np.array_equal(again.spins, data.spins)
    # One stream per temperature, keyed by T: the data at T = 1 depend on nothing else in the grid.
    child = keyed_stream(np.random.SeedSequence(0), 1.0)
    assert np.array_equal(data.spins[1], sample_ising1d(12, 1.0, 64, seed=child, periodic=False, h=0.1))
    other = Chain1DSampler(N=12, temperatures=[3.0, 1.0], n_samples=64, periodic=False, h=0.1)
    assert np.array_equal(other.sample(np.random.SeedSequence(0)).spins[1], data.spins[1])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"N": 0}, "N"),
        ({"N": 2.5}, "N"),
        ({"temperatures": [1.0, 0.0]}, "temperatures"),
        ({"temperatures": []}, "temperatures"),
        ({"temperatures": [float("inf")]}, "temperatures"),
        ({"n_samples": 0}, "n_samples"),
        ({"J": float("nan")}, "J"),
        ({"h": float("inf")}, "h"),
    ],
)
def test_sampler_validation_messages(kwargs, name):
    base = {"N": 8, "temperatures": [1.0], "n_samples": 10}
    with pytest.raises(ValueError, match=f"^{name} "):
        Chain1DSampler(**{**base, **kwargs})
