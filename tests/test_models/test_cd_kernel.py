"""The fast CD kernel and the optimizers: against a readable reference, the exact gradient and torch.optim.

- (c) fast kernel vs slow reference: with the same generator state the kernel draws exactly the
  samples of the readable CD-k built from ``RBM`` methods, and its gradient agrees to round-off.
- (a) exact enumeration: at large k the CD and PCD gradients agree with the exact log-likelihood
  gradient (autograd through ``log_likelihood_exact``) within 5 Monte Carlo standard errors, while
  CD-1 is visibly biased on the same model (so the comparison has power).
- the SGD / Adam steps equal torch.optim's on the same gradients (sign conventions, weight decay).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rgexp.models import RBM, CDKernel
from rgexp.models.optim import SGD, Adam

UNITS = ["spin", "binary"]


def random_rbm(nv, nh, units, dtype=torch.float64, seed=0, scale=0.5) -> RBM:
    g = torch.Generator().manual_seed(seed)
    m = RBM(nv, nh, units=units, init_std=scale, generator=g, dtype=dtype)
    with torch.no_grad():
        m.visible_bias.copy_(scale * torch.randn(nv, generator=g, dtype=dtype))
        m.hidden_bias.copy_(scale * torch.randn(nh, generator=g, dtype=dtype))
    return m


def data_batch(m: RBM, n: int, seed: int = 1) -> torch.Tensor:
    spins = np.where(np.random.default_rng(seed).random((n, m.n_visible)) < 0.3, -1, 1)
    return m.from_spins(spins)


def reference_cd(m: RBM, v0, gen, k, chains=None):
    """Readable CD-k / PCD-k: returns (dW, db, dc, v_model, new_chains)."""
    hp = m.mean_hiddens(v0)
    hs = chains if chains is not None else m.sample_from_mean(hp, gen)
    for step in range(k):
        v = m.sample_visibles(hs, gen)
        if step < k - 1:
            hs = m.sample_hiddens(v, gen)
    hn = m.mean_hiddens(v)
    new_chains = m.sample_from_mean(hn, gen) if chains is not None else None
    n = v0.shape[0]
    return (v0.T @ hp - v.T @ hn) / n, (v0 - v).mean(0), (hp - hn).mean(0), v, new_chains


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("units", UNITS)
@pytest.mark.parametrize("k,persistent", [(1, False), (3, False), (1, True), (2, True)])
def test_kernel_draws_the_reference_samples_and_gradient(units, k, persistent, dtype):
    m = random_rbm(7, 5, units, dtype=dtype)
    v0 = data_batch(m, 64)
    kernel = CDKernel(m, 64, k=k, persistent=persistent)
    g_fast, g_ref = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    with torch.no_grad():
        chains = None
        if persistent:
            kernel.init_chains(v0.flip(0), g_fast)
            chains = m.sample_hiddens(v0.flip(0), g_ref)
            assert torch.equal(kernel.chains, chains)
        for _ in range(3):  # several updates: chains carry over
            kernel.v_data.copy_(v0)
            kernel.run(g_fast)
            dw, db, dc, v_model, chains = reference_cd(m, v0, g_ref, k, chains)
            assert torch.equal(kernel.v_model, v_model)
            if persistent:
                assert torch.equal(kernel.chains, chains)
            tol = 1e-12 if dtype == torch.float64 else 1e-5  # one fused GEMM vs two products
            for fast, ref in zip(kernel.gradient(), (dw, db, dc)):
                torch.testing.assert_close(fast, ref, rtol=tol, atol=tol)
    assert torch.equal(g_fast.get_state(), g_ref.get_state())  # same number of draws


@pytest.mark.parametrize("persistent", [False, True])
def test_kernel_matches_the_reference_on_the_64_bit_uniform_path(persistent):
    """Buffers of ≥ 32768 float32 numbers take fill_uniform_'s 64-bit path: still draw for draw."""
    m = random_rbm(600, 520, "spin", dtype=torch.float32, scale=0.05)
    v0 = data_batch(m, 64)
    kernel = CDKernel(m, 64, k=1, persistent=persistent)
    g_fast, g_ref = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    with torch.no_grad():
        chains = None
        if persistent:
            kernel.init_chains(v0, g_fast)
            chains = m.sample_hiddens(v0, g_ref)
        for _ in range(2):
            kernel.v_data.copy_(v0)
            kernel.run(g_fast)
            *_, v_model, chains = reference_cd(m, v0, g_ref, 1, chains)
            assert torch.equal(kernel.v_model, v_model)
            if persistent:
                assert torch.equal(kernel.chains, chains)
    assert torch.equal(g_fast.get_state(), g_ref.get_state())


def exact_gradient(m: RBM, v: torch.Tensor):
    ll = m.log_likelihood_exact(v)
    return torch.autograd.grad(ll, [m.weight, m.visible_bias, m.hidden_bias])


def z_scores(kernel: CDKernel, estimate, exact):
    """(estimate - exact) / SE, SE from the spread of the per-chain negative statistics."""
    vm, hm = kernel.v_model, -kernel.h_model_neg
    n = vm.shape[0]
    per_chain = ((vm[:, :, None] * hm[:, None, :]).reshape(n, -1), vm, hm)
    out = []
    for est, ex, stat in zip(estimate, exact, per_chain):
        se = stat.std(0) / np.sqrt(n)
        out.append(((est - ex).reshape(-1) / se.clamp_min(1e-12)).abs().max().item())
    return max(out)


@pytest.mark.parametrize("units", UNITS)
def test_cd_gradient_at_large_k_matches_the_exact_gradient(units):
    m = random_rbm(6, 4, units, seed=4, scale=0.6)
    distinct = data_batch(m, 8, seed=5)
    n = 8 * 3000
    exact = exact_gradient(m, distinct)
    kernel = CDKernel(m, n, k=30)
    kernel.v_data.copy_(distinct.repeat(n // 8, 1))
    kernel.run(torch.Generator().manual_seed(6))
    assert z_scores(kernel, kernel.gradient(), exact) < 5
    # CD-1 on the same model is biased far beyond its error bars: the comparison above has power.
    kernel1 = CDKernel(m, n, k=1)
    kernel1.v_data.copy_(kernel.v_data)
    kernel1.run(torch.Generator().manual_seed(6))
    assert z_scores(kernel1, kernel1.gradient(), exact) > 10


@pytest.mark.parametrize("units", UNITS)
def test_pcd_gradient_matches_the_exact_gradient(units):
    m = random_rbm(6, 4, units, seed=8, scale=0.6)
    distinct = data_batch(m, 8, seed=9)
    n = 8 * 3000
    exact = exact_gradient(m, distinct)
    gen = torch.Generator().manual_seed(10)
    kernel = CDKernel(m, n, k=1, persistent=True)
    kernel.v_data.copy_(distinct.repeat(n // 8, 1))
    kernel.init_chains(kernel.v_data, gen)  # chains start at the data, far from the model
    for _ in range(30):  # burn in: the parameters stay fixed, the chains relax to p_model
        kernel.run(gen)
    assert z_scores(kernel, kernel.gradient(), exact) < 5


def _step_pairs(units, opt_factory, torch_factory, n_steps=4):
    """Apply our optimizer and torch.optim to the same CD statistics; return both parameter sets."""
    m = random_rbm(7, 5, units, seed=11)
    twin = random_rbm(7, 5, units, seed=11)
    v0 = data_batch(m, 32, seed=12)
    kernel = CDKernel(m, 32, k=1)
    ours, theirs = opt_factory(m), torch_factory(twin)
    gen = torch.Generator().manual_seed(13)
    for _ in range(n_steps):
        kernel.v_data.copy_(v0)
        kernel.run(gen)
        for p, g in zip((twin.weight, twin.visible_bias, twin.hidden_bias), kernel.gradient()):
            p.grad = g.clone()
        ours.step(kernel, 0.05)
        theirs.step()
        # the twin's parameters drive nothing: the kernel samples from m, so copy m back to stay in sync
        for p, q in zip(twin.parameters(), m.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("units", UNITS)
def test_adam_matches_torch_optim_adam(units):
    def torch_adam(t):
        return torch.optim.Adam([{"params": [t.weight], "weight_decay": 0.01},
                                 {"params": [t.visible_bias, t.hidden_bias], "weight_decay": 0.0}],
                                lr=0.05, betas=(0.8, 0.99), eps=1e-3, maximize=True, foreach=False)

    _step_pairs(units, lambda m: Adam(m, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.01), torch_adam)


@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_sgd_matches_torch_optim_sgd(momentum):
    def torch_sgd(t):
        return torch.optim.SGD([{"params": [t.weight], "weight_decay": 0.02},
                                {"params": [t.visible_bias, t.hidden_bias], "weight_decay": 0.0}],
                               lr=0.05, momentum=momentum, maximize=True, foreach=False)

    _step_pairs("spin", lambda m: SGD(m, momentum=momentum, weight_decay=0.02), torch_sgd)


@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_l1_pulls_weights_by_sign(momentum):
    m = random_rbm(5, 3, "spin", seed=14)
    kernel = CDKernel(m, 16, k=1)
    kernel.v_data.copy_(data_batch(m, 16))
    kernel.run(torch.Generator().manual_seed(0))
    w0 = m.weight.detach().clone()
    dw = kernel.gradient()[0]
    SGD(m, momentum=momentum, l1=0.1).step(kernel, 0.5)
    torch.testing.assert_close(m.weight.detach(), w0 + 0.5 * (dw - 0.1 * w0.sign()))


def test_frozen_biases_are_never_updated():
    m = RBM(6, 4, units="binary", biases=False, dtype=torch.float64)
    assert not m.visible_bias.requires_grad and not m.hidden_bias.requires_grad
    kernel = CDKernel(m, 8, k=1)
    kernel.v_data.copy_(data_batch(m, 8))
    for opt in (SGD(m), SGD(m, momentum=0.5), Adam(m)):
        kernel.run(torch.Generator().manual_seed(0))
        opt.step(kernel, 0.1)
    assert m.visible_bias.abs().sum() == 0 and m.hidden_bias.abs().sum() == 0
