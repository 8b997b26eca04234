"""The 1D decimation recursion against exact enumeration and exact samples of decimated chains."""

import itertools

import numpy as np
import pytest

from rgexp.ising import sample_ising1d
from rgexp.ising.chain1d import correlation_exact
from rgexp.rg import block_spin, coupling_flow, decimation_step


def periodic_chain_law(N: int, K: float, h: float) -> dict[tuple, float]:
    states = list(itertools.product((-1, 1), repeat=N))
    w = np.array([np.exp(K * sum(s[i] * s[(i + 1) % N] for i in range(N)) + h * sum(s)) for s in states])
    return dict(zip(states, w / w.sum()))


@pytest.mark.parametrize("K,h", [(0.3, 0.0), (1.1, 0.0), (0.5, 0.4), (0.8, -0.7)])
def test_marginal_of_kept_spins_is_the_renormalised_chain(K, h):
    N = 8
    full = periodic_chain_law(N, K, h)
    marginal: dict[tuple, float] = {}
    for s, p in full.items():
        marginal[s[::2]] = marginal.get(s[::2], 0.0) + p
    Kp, hp = decimation_step(K, h)
    coarse = periodic_chain_law(N // 2, float(Kp), float(hp))
    for s, p in coarse.items():
        assert marginal[s] == pytest.approx(p, rel=1e-10)


def test_zero_field_recursion_is_tanh_squared_and_flows_to_the_stable_fixed_point():
    K = np.array([0.1, 0.5, 1.0, 3.0])
    Kp, hp = decimation_step(K)
    np.testing.assert_allclose(np.tanh(Kp), np.tanh(K) ** 2, rtol=1e-12)
    np.testing.assert_array_equal(hp, 0.0)
    Ks, _ = coupling_flow(2.0, 0.0, 40)
    positive = Ks[Ks > 0]
    assert np.all(np.diff(positive) < 0) and Ks[-1] < 1e-6  # K* = 0 attracts every finite K
    assert decimation_step(0.0)[0] == 0.0  # and is a fixed point


def test_large_couplings_do_not_overflow():
    Kp, hp = decimation_step(400.0, 300.0)
    assert np.isfinite(Kp) and np.isfinite(hp)


def test_decimated_samples_have_the_renormalised_correlations():
    N, T, n = 32, 1.2, 4000
    K = 1.0 / T
    spins = sample_ising1d(N, T, n, seed=11)
    coarse = block_spin(spins, 2, "decimation", ndim=1)
    assert coarse.shape == (n, N // 2)
    Kp, _ = decimation_step(K)
    r = np.arange(1, 5)
    measured = np.array([(coarse * np.roll(coarse, -k, axis=1)).mean() for k in r])
    # Samples are exact and independent: per-configuration averages over the ring have sd <= 1.
    per_conf = np.array([(coarse * np.roll(coarse, -k, axis=1)).mean(axis=1) for k in r])
    err = per_conf.std(axis=1, ddof=1) / np.sqrt(n)
    # The coarse chain is an Ising chain of N/2 spins at coupling K' (temperature 1/K').
    exact = correlation_exact(N // 2, 1.0 / float(Kp), r, periodic=True)
    assert np.all(np.abs(measured - exact) < 4 * err)


def test_block_spin_on_chains():
    s = np.array([[1, 1, -1, 1, -1, -1]], dtype=np.int8)
    np.testing.assert_array_equal(block_spin(s, 2, "average", ndim=1), [[1.0, 0.0, -1.0]])
    np.testing.assert_array_equal(block_spin(s, 3, "majority", np.random.default_rng(0), ndim=1), [[1, -1]])
