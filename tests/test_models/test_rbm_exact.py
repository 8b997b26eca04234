"""The RBM against brute-force enumeration of tiny models, and its samplers against exact means.

Tolerances: float64 comparisons are to ~1e-10 (round-off of sums over ≤ 2^9 terms); float32 to
~1e-4 relative (24-bit mantissa times the size of the sums). Sampling tests use 5 standard
errors (binomial for single units, χ² quantiles for histograms) with fixed seeds.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy import stats

from rgexp.models import RBM, enumerate_states

DTYPES = [torch.float32, torch.float64]
UNITS = ["spin", "binary"]
TOL = {torch.float32: dict(rtol=2e-5, atol=2e-4), torch.float64: dict(rtol=1e-10, atol=1e-10)}


def random_rbm(nv: int, nh: int, units: str, dtype, seed: int = 0, scale: float = 0.7) -> RBM:
    g = torch.Generator().manual_seed(seed)
    m = RBM(nv, nh, units=units, init_std=scale, generator=g, dtype=dtype)
    with torch.no_grad():
        m.visible_bias.copy_(scale * torch.randn(nv, generator=g, dtype=dtype))
        m.hidden_bias.copy_(scale * torch.randn(nh, generator=g, dtype=dtype))
    return m


def all_states(n: int, units: str) -> np.ndarray:
    x = np.array(list(itertools.product([0.0, 1.0], repeat=n)))
    return 2 * x - 1 if units == "spin" else x


def brute(m: RBM):
    """Joint log-weights -E(v,h) over all (v, h), in float64 NumPy: (2^nv, 2^nh), plus the state lists."""
    w, b, c = (p.detach().double().numpy() for p in (m.weight, m.visible_bias, m.hidden_bias))
    vs, hs = all_states(m.n_visible, m.units), all_states(m.n_hidden, m.units)
    neg_e = vs @ w @ hs.T + (vs @ b)[:, None] + (hs @ c)[None, :]
    return neg_e, vs, hs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("units", UNITS)
def test_free_energy_conditionals_and_log_z_match_enumeration(units, dtype):
    m = random_rbm(5, 4, units, dtype)
    neg_e, vs, hs = brute(m)
    log_z = np.logaddexp.reduce(neg_e.ravel())
    f_v = -np.logaddexp.reduce(neg_e, axis=1)
    f_h = -np.logaddexp.reduce(neg_e, axis=0)
    p_h_given_v = np.exp(neg_e + f_v[:, None])  # rows sum to 1
    p_v_given_h = np.exp(neg_e + f_h[None, :])
    v = torch.tensor(vs, dtype=dtype)
    h = torch.tensor(hs, dtype=dtype)
    with torch.no_grad():
        np.testing.assert_allclose(m.free_energy(v).double().numpy(), f_v, **TOL[dtype])
        np.testing.assert_allclose(m.free_energy_hidden(h).double().numpy(), f_h, **TOL[dtype])
        np.testing.assert_allclose(m.mean_hiddens(v).double().numpy(), p_h_given_v @ hs, **TOL[dtype])
        np.testing.assert_allclose(m.mean_visibles(h).double().numpy(), p_v_given_h.T @ vs, **TOL[dtype])
        np.testing.assert_allclose(float(m.log_partition_exact()), log_z, **TOL[dtype])
        np.testing.assert_allclose(float(m.log_likelihood_exact(v[:7])), np.mean(-f_v[:7] - log_z), **TOL[dtype])
        np.testing.assert_allclose(m.visible_distribution_exact().double().numpy(),
                                   np.exp(-f_v - log_z)[_enum_order(5, units, vs)], **TOL[dtype])
        e = m.energy(v[:, None, :].expand(-1, len(hs), -1).reshape(-1, 5), h.repeat(len(vs), 1))
        np.testing.assert_allclose(-e.double().numpy(), neg_e.ravel(), **TOL[dtype])


def _enum_order(n, units, vs):
    """Index into itertools order of each state in enumerate_states order."""
    lookup = {tuple(s): i for i, s in enumerate(vs)}
    return [lookup[tuple(s)] for s in enumerate_states(n, units).numpy()]


@pytest.mark.parametrize("units", UNITS)
def test_log_z_sums_over_the_smaller_layer_either_way(units):
    for nv, nh in [(3, 8), (8, 3)]:
        m = random_rbm(nv, nh, units, torch.float64, seed=3)
        neg_e, _, _ = brute(m)
        assert m.log_partition_exact().item() == pytest.approx(np.logaddexp.reduce(neg_e.ravel()), abs=1e-10)


def test_exact_enumeration_is_refused_beyond_25_units():
    m = RBM(30, 40)
    with pytest.raises(ValueError, match=r"2\^30 states .* refused beyond 25 units"):
        m.log_partition_exact()
    with pytest.raises(ValueError, match="refused"):
        m.log_likelihood_exact(torch.ones(2, 30))


@pytest.mark.parametrize("units", UNITS)
def test_free_energy_is_finite_for_huge_inputs(units):
    m = RBM(4, 3, units=units, dtype=torch.float32)
    with torch.no_grad():
        m.weight.fill_(1e4)
    v = torch.ones(2, 4)
    f = m.free_energy(v).detach()
    assert torch.isfinite(f).all()
    assert float(f[0]) == pytest.approx(-3 * 4e4, rel=1e-6)  # each hidden unit contributes |x| = 4e4


@pytest.mark.parametrize("units", UNITS)
def test_spin_conversion_round_trip(units):
    m = RBM(9, 2, units=units, dtype=torch.float64)
    spins = np.where(np.random.default_rng(0).random((5, 3, 3)) < 0.5, -1, 1).astype(np.int8)
    x = m.from_spins(spins)
    assert x.shape == (5, 9) and x.dtype == torch.float64
    assert set(x.unique().tolist()) <= ({-1.0, 1.0} if units == "spin" else {0.0, 1.0})
    np.testing.assert_array_equal(m.to_spins(x).numpy(), spins.reshape(5, 9))
    with pytest.raises(ValueError, match=r"shape \(n, 9\)"):
        m.from_spins(np.ones((5, 4)))


def test_spin_units_follow_the_papers_conditional():
    """p(h=+1|v) = (1 + tanh(Wᵀv + c))/2 = sigmoid(2x) for ±1 units."""
    m = random_rbm(6, 5, "spin", torch.float64)
    v = m.from_spins(np.ones((1, 6)))
    x = m.hidden_input(v)
    p_up = (1 + m.mean_hiddens(v)) / 2
    torch.testing.assert_close(p_up, torch.sigmoid(2 * x))
    torch.testing.assert_close(p_up, (1 + torch.tanh(x)) / 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("units", UNITS)
def test_mean_hiddens_is_the_mean_of_sample_hiddens(units, dtype):
    m = random_rbm(6, 5, units, dtype, seed=1)
    g = torch.Generator().manual_seed(2)
    v = m.from_spins(np.array([[1, -1, 1, 1, -1, -1], [-1, -1, -1, 1, 1, 1]])).repeat_interleave(20000, 0)
    with torch.no_grad():
        mean = m.mean_hiddens(v[[0, -1]]).double()
        h = m.sample_hiddens(v, g).view(2, 20000, 5)
        mv = m.mean_visibles(h[:, 0]).double()
        vs = m.sample_visibles(h[:, 0].repeat_interleave(20000, 0), g).double().view(2, 20000, 6)
        h = h.double()
    assert set(h.unique().tolist()) == ({-1.0, 1.0} if units == "spin" else {0.0, 1.0})
    for samples, exact in ((h, mean), (vs, mv)):
        var = (1 - exact**2) if units == "spin" else exact * (1 - exact)  # per-unit variance
        se = torch.sqrt(var / samples.shape[1])
        z = (samples.mean(1) - exact) / se
        assert z.abs().max() < 5, z


@pytest.mark.parametrize("units", UNITS)
def test_gibbs_chains_sample_the_exact_visible_distribution(units):
    """χ² of 20,000 independent chains after 30 steps against p(v) by enumeration (16 states)."""
    m = random_rbm(4, 3, units, torch.float64, seed=5, scale=0.6)
    g = torch.Generator().manual_seed(7)
    n = 20000
    v0 = m.from_spins(np.ones((n, 4)))  # all chains start in one state: mixing is tested too
    v = m.gibbs(v0, g, k=30)
    bits = ((v - m.low) / (1 - m.low)).long()
    idx = (bits * (2 ** torch.arange(4))).sum(1)
    counts = torch.bincount(idx, minlength=16).numpy()
    p = m.visible_distribution_exact().numpy()
    chi2 = ((counts - n * p) ** 2 / (n * p)).sum()
    assert chi2 < stats.chi2.ppf(1 - 1e-4, df=15), (chi2, counts, n * p)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("low", [0.0, -1.0])
def test_fill_uniform_is_uniform_on_the_float32_grid(low, dtype):
    from rgexp.models.rbm import fill_uniform_

    n = 200_001  # odd: the last 64-bit word is half used (and above the 64-bit path's threshold)
    u = fill_uniform_(torch.empty(n, dtype=dtype), low, torch.Generator().manual_seed(0)).double().numpy()
    assert u.min() >= low and u.max() < 1.0
    x = (u - low) / (1.0 - low)  # U[0, 1)
    if dtype == torch.float32:
        np.testing.assert_array_equal(x * 2**24, np.floor(x * 2**24))  # the 24-bit grid
    assert stats.kstest(x, "uniform").pvalue > 1e-4
    # neighbours come from the two halves of one 64-bit word: they must be independent
    assert abs(np.corrcoef(x[:-1:2], x[1::2])[0, 1]) < 5 / np.sqrt(n / 2)
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 5 / np.sqrt(n)
