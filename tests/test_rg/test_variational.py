"""Mehta & Schwab's variational RG on the 1D chain: exact enumeration, closed forms, the chain RBM."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rgexp.ising.chain1d import correlation_exact, log_partition_exact
from rgexp.models import enumerate_states
from rgexp.rg import coupling_flow, decimation_step
from rgexp.rg.variational import (
    chain_distribution,
    chain_hamiltonian,
    chain_rbm,
    chain_rbm_weight,
    decimation_operator,
    decimation_stack_flow,
    hidden_correlation_exact,
    hidden_marginal,
    kl_divergence,
    renormalized_coupling,
    walsh_coefficients,
)

ROUND = 1e-12  # double-precision sums over at most 2^16 terms


def states(n: int) -> np.ndarray:
    """All ±1 states (2^n, n), literally, in enumerate_states order (bit i of the index is spin i)."""
    return np.array([[1.0 if (k >> i) & 1 else -1.0 for i in range(n)] for k in range(2**n)])


def literal_chain_law(N: int, K: float, h: float, periodic: bool) -> np.ndarray:
    """exp(K Σ s_i s_{i+1} + h Σ s_i) / Z written out term by term."""
    n_bonds = N if periodic else N - 1
    w = np.array([math.exp(K * sum(s[i] * s[(i + 1) % N] for i in range(n_bonds)) + h * sum(s)) for s in states(N)])
    return w / w.sum()


def correlation(p: np.ndarray, n: int, i: int, j: int) -> float:
    s = states(n)
    return float(p @ (s[:, i] * s[:, j]))


# ---------------------------------------------------------------------------- laws and operator
def test_state_order_and_chain_law_match_the_package_and_the_transfer_matrix():
    np.testing.assert_array_equal(states(5), enumerate_states(5, "spin").numpy())
    for periodic in (True, False):
        p = chain_distribution(7, 0.6, 0.25, periodic=periodic)
        np.testing.assert_allclose(p, literal_chain_law(7, 0.6, 0.25, periodic), rtol=ROUND)
    # zero field: the correlations of the periodic chain, (t^r + t^(N−r)) / (1 + t^N)
    p = chain_distribution(8, 0.7)
    for r in range(1, 5):
        assert correlation(p, 8, 0, r) == pytest.approx(float(correlation_exact(8, 1 / 0.7, r)), rel=ROUND)


@pytest.mark.parametrize("lam", [0.0, 0.3, 1.7, 40.0, 1e4, np.inf])
def test_exact_rg_condition_trace_over_hiddens_is_one(lam):
    N = 7
    v, h = states(N), states((N + 1) // 2)
    vv = np.repeat(v, len(h), axis=0)
    hh = np.tile(h, (len(v), 1))
    T = decimation_operator(vv, hh, lam).reshape(len(v), len(h))
    assert np.all(np.isfinite(T) | (T == -np.inf))
    np.testing.assert_allclose(np.logaddexp.reduce(T, axis=1), 0.0, atol=ROUND)


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("K,lam", [(0.9, 0.8), (0.4, 2.5), (1.3, np.inf)])
def test_hidden_marginal_is_the_joint_e_to_the_T_minus_H_summed_over_v(K, lam, periodic):
    N = 6
    v, h = states(N), states(N // 2)
    H = -np.log(literal_chain_law(N, K, 0.0, periodic))  # H(v) + ln Z
    joint = np.exp(decimation_operator(np.repeat(v, len(h), 0), np.tile(h, (len(v), 1)), lam)
                   - np.repeat(H, len(h))).reshape(len(v), len(h))
    np.testing.assert_allclose(joint.sum(axis=1), np.exp(-H), rtol=ROUND)  # visible marginal kept
    np.testing.assert_allclose(hidden_marginal(chain_distribution(N, K, periodic=periodic), lam),
                               joint.sum(axis=0), rtol=1e-10, atol=1e-300)


# ---------------------------------------------------------------------------- λ = ∞: decimation
@pytest.mark.parametrize("N,K,h,periodic", [(8, 0.9, 0.0, True), (10, 0.5, 0.4, True), (12, 1.4, -0.3, True),
                                            (8, 0.7, 0.0, False), (9, 1.1, 0.0, False)])
def test_infinite_lambda_hidden_marginal_is_the_decimated_chain(N, K, h, periodic):
    ph = hidden_marginal(chain_distribution(N, K, h, periodic=periodic), np.inf)
    Kp, hp = decimation_step(K, h)
    coarse = chain_distribution((N + 1) // 2, float(Kp), float(hp), periodic=periodic)
    np.testing.assert_allclose(ph, coarse, rtol=1e-11)
    assert abs(kl_divergence(ph, coarse)) < ROUND
    np.testing.assert_allclose(renormalized_coupling(K, np.inf), decimation_step(K)[0], rtol=ROUND)


def test_renormalized_coupling_closed_form_and_limits():
    K = np.array([0.05, 0.4, 1.0, 2.5])
    for lam in (0.2, 1.0, 3.0):
        np.testing.assert_allclose(renormalized_coupling(K, lam), np.arctanh(np.tanh(lam) ** 2 * np.tanh(K) ** 2),
                                   rtol=1e-11)
    np.testing.assert_array_equal(renormalized_coupling(K, 0.0), 0.0)
    np.testing.assert_allclose(renormalized_coupling(K, 40.0), decimation_step(K)[0], rtol=1e-12)
    # K ≫ λ ≫ 1: 1 − tanh²λ tanh²K ≈ 4e^{−2λ}, so K' → λ − ½ ln 2 (the channel caps the coupling);
    # the naive atanh is inf there, the stable form is not
    assert float(renormalized_coupling(300.0, 30.0)) == pytest.approx(30.0 - 0.5 * math.log(2.0), rel=1e-12)


# ---------------------------------------------------------------------------- finite λ
@pytest.mark.parametrize("periodic", [True, False])
def test_finite_lambda_correlations_are_tanh2_lambda_times_the_decimated_ones(periodic):
    N, K, lam = 12, 0.8, 1.1
    ph = hidden_marginal(chain_distribution(N, K, periodic=periodic), lam)
    r = np.arange(1, 6 if periodic else 6)
    measured = np.array([correlation(ph, 6, 0, k) for k in r])
    np.testing.assert_allclose(measured, hidden_correlation_exact(N, K, lam, r, periodic=periodic), rtol=1e-11)
    if not periodic:  # open chain: the nearest-neighbour correlation is that of K'(λ) exactly
        assert math.atanh(measured[0]) == pytest.approx(float(renormalized_coupling(K, lam)), rel=1e-11)


def test_open_chain_with_two_hidden_spins_is_exactly_a_chain_at_K_lambda():
    for K, lam in [(0.5, 0.7), (1.2, 2.0)]:
        ph = hidden_marginal(chain_distribution(4, K, periodic=False), lam)
        exact = chain_distribution(2, float(renormalized_coupling(K, lam)), periodic=False)
        np.testing.assert_allclose(ph, exact, rtol=1e-12)


def test_finite_lambda_hidden_law_is_not_a_nearest_neighbour_chain():
    # ⟨h_0 h_2⟩ = tanh²λ tanh⁴K, but a chain at K'(λ) would give tanh²K' = tanh⁴λ tanh⁴K; the
    # Hamiltonian −ln p_λ(h) has beyond-nearest-neighbour couplings. They vanish at λ = 0 (h is
    # pure noise: uniform, the chain at K' = 0) and as λ → ∞ (decimation), and only there.
    N, K = 12, 0.8
    lams = (0.0, 1.0, 2.0, 4.0, np.inf)
    kls, residuals = [], []
    for lam in lams:
        ph = hidden_marginal(chain_distribution(N, K, periodic=False), lam)
        ising = chain_distribution(6, float(renormalized_coupling(K, lam)), periodic=False)
        kls.append(kl_divergence(ph, ising))
        residuals.append(chain_hamiltonian(ph, periodic=False).residual)
    kls, residuals = np.array(kls), np.array(residuals)
    assert np.all(np.abs(kls[[0, -1]]) < ROUND) and np.all(residuals[[0, -1]] < ROUND)
    assert kls[1] > 1e-3 and residuals[1] > 1e-2  # λ = 1: KL = 0.0053, residual 0.051
    assert np.all(np.diff(kls[1:]) < 0) and np.all(np.diff(residuals[1:]) < 0)


# ---------------------------------------------------------------------------- reading a Hamiltonian
def test_walsh_coefficients_reconstruct_log_p_against_the_slow_sum():
    n = 5
    log_p = np.random.default_rng(3).normal(size=2**n)
    a = walsh_coefficients(log_p)
    s = states(n)
    chars = np.array([[np.prod(s[k, [i for i in range(n) if (S >> i) & 1]]) for S in range(2**n)]
                      for k in range(2**n)])  # chars[k, S] = Π_{i∈S} s_i(k)
    np.testing.assert_allclose(chars @ a, log_p, atol=ROUND)
    np.testing.assert_allclose(a, chars.T @ log_p / 2**n, atol=ROUND)


@pytest.mark.parametrize("n,periodic", [(2, True), (3, True), (6, True), (2, False), (5, False)])
def test_chain_hamiltonian_reads_back_couplings_and_fields(n, periodic):
    n_bonds = n if periodic else n - 1
    K = np.linspace(0.3, 1.1, n_bonds) if not (periodic and n == 2) else np.array([0.6, 0.6])
    h = np.linspace(-0.4, 0.5, n)
    ham = chain_hamiltonian(chain_distribution(n, K, h, periodic=periodic), periodic=periodic)
    np.testing.assert_allclose(ham.couplings, K, rtol=1e-12)
    np.testing.assert_allclose(ham.fields, h, atol=1e-12)
    assert ham.residual < ROUND


# ---------------------------------------------------------------------------- the chain RBM
def test_chain_rbm_weight_is_half_arccosh_of_exp_2K():
    K = np.array([0.0, 0.1, 0.7, 3.0, 20.0])
    np.testing.assert_allclose(chain_rbm_weight(K), 0.5 * np.arccosh(np.exp(2 * K)), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(chain_rbm_weight(-K), chain_rbm_weight(K))
    assert chain_rbm_weight(500.0) == pytest.approx(500.0 + 0.5 * math.log(2.0), rel=1e-14)  # e^{1000} overflows


@pytest.mark.parametrize("N,K,h,periodic", [(2, 0.7, 0.0, True), (3, 0.9, 0.2, True), (8, 1.2, 0.0, True),
                                            (9, -0.6, 0.3, True), (2, 0.5, 0.0, False), (7, 0.8, -0.4, False)])
def test_chain_rbm_visible_marginal_is_exactly_the_chain(N, K, h, periodic):
    rbm = chain_rbm(N, K, h, periodic=periodic)
    n_bonds = N if periodic else N - 1
    assert (rbm.n_visible, rbm.n_hidden) == (N, n_bonds)
    p = rbm.visible_distribution_exact().detach().numpy()
    np.testing.assert_allclose(p, literal_chain_law(N, K, h, periodic), rtol=1e-11)
    # log Z_RBM = log Z_chain + n_bonds (ln 2 + |K|), Z_chain from the transfer matrix (T = 1/|K|)
    log_z = log_partition_exact(N, 1 / abs(K), periodic=periodic, J=math.copysign(1.0, K), h=h / abs(K))
    offset = n_bonds * (math.log(2) + abs(K))
    assert float(rbm.log_partition_exact().detach()) == pytest.approx(log_z + offset, rel=1e-12)
    # −F(v) = n_bonds (ln 2 + |K|) + K Σ v_i v_j + h Σ v_i, state by state
    v = torch.from_numpy(states(N))
    n = N if periodic else N - 1
    energy = K * sum(v[:, i] * v[:, (i + 1) % N] for i in range(n)) + h * v.sum(1)
    np.testing.assert_allclose(-rbm.free_energy(v).detach().numpy(), n_bonds * (math.log(2) + abs(K)) + energy.numpy(),
                               rtol=1e-12)


# ---------------------------------------------------------------------------- the deep version
@pytest.mark.parametrize("K,h,periodic", [(1.0, 0.0, True), (0.8, 0.3, True), (1.5, 0.0, False)])
def test_stacked_chain_rbm_and_decimation_give_the_coupling_flow(K, h, periodic):
    flow = decimation_stack_flow(16, K, 3, h=h, periodic=periodic)
    Ks, hs = coupling_flow(K, h, 3)
    np.testing.assert_array_equal(flow.sizes, [16, 8, 4, 2])
    np.testing.assert_allclose(flow.K, Ks, rtol=1e-11)
    np.testing.assert_allclose(flow.h, hs, rtol=1e-11, atol=1e-13)
    assert np.all(flow.residual < ROUND) and np.all(np.abs(flow.kl_rbm) < ROUND)
    if h == 0.0:
        assert np.all(np.diff(flow.K) < 0)  # towards the stable fixed point K* = 0


def test_finite_lambda_stack_leaves_the_chain_family():
    flow = decimation_stack_flow(16, 1.0, 2, lam=2.0)
    assert flow.residual[0] < ROUND and np.all(flow.residual[1:] > 1e-3) and np.all(flow.kl_rbm[1:] > 1e-4)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call,match", [
    (lambda: decimation_operator(np.ones((1, 4)), np.ones((1, 2)), -1.0), "lam must be >= 0"),
    (lambda: decimation_operator(np.ones((1, 4)), np.ones((1, 3)), 1.0), "h must have shape"),
    (lambda: chain_distribution(30, 1.0), "N must be an int in"),
    (lambda: chain_distribution(4, [1.0, 2.0]), "K must be a finite scalar"),
    (lambda: hidden_marginal(np.ones(6) / 6, 1.0), r"p must be a law over 2\^n"),
    (lambda: chain_hamiltonian(np.array([0.5, 0.5, 0.0, 0.0])), "strictly positive"),
    (lambda: decimation_stack_flow(12, 1.0, 3), "divisible by 2"),
    (lambda: decimation_stack_flow(8, 1.0, 3, periodic=False), "every layer needs >= 2"),
    (lambda: hidden_correlation_exact(7, 1.0, 1.0, 1), "N must be even"),
])
def test_bad_input_is_refused_with_a_clear_message(call, match):
    with pytest.raises(ValueError, match=match):
        call()
