"""Visible–hidden correlators C_ia and G(d): exact cases, closed forms, fast vs slow references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from rgexp.analysis import receptive
from rgexp.analysis.receptive import (
    checkerboard_pattern,
    correlator_of_correlators,
    correlator_of_correlators_jackknife,
    rbm_correlator,
    rg_correlator,
    rg_hiddens,
    stacked_correlator,
    visible_hidden_correlator,
    white_noise_pattern,
)
from rgexp.analysis.receptive_plots import plot_correlator_maps, plot_G
from rgexp.models import RBM, StackedRBM, enumerate_states

# |z| bound for many (weakly dependent) z-scores: P(|N(0,1)| > 5.5) ≈ 4e-8 per entry, so even the
# 16,384 entries of a 256 × 64 correlator exceed it with probability < 1e-3 (seeds are fixed anyway).
Z_MAX = 5.5


def iid_spins(n: int, L: int, seed: int) -> np.ndarray:
    """T = ∞ Ising configurations: i.i.d. fair ±1, (n, L, L) int8."""
    return np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=(n, L, L))


def block_membership(L: int, b: int) -> np.ndarray:
    """(L², (L/b)²) boolean: site i (row-major) lies in block a (row-major on the coarse lattice)."""
    x, y = np.divmod(np.arange(L * L), L)
    block = (x // b) * (L // b) + y // b
    return block[:, None] == np.arange((L // b) ** 2)[None, :]


# ---------------------------------------------------------------------------- C_ia: block-spin RG
def test_block_average_correlator_on_iid_spins_is_one_over_b_squared_in_the_block():
    # h_a = (1/b²) Σ_{j∈a} s_j with s i.i.d. ±1: C_ia = Var(s_i)/b² = 1/b² for i ∈ a, else 0.
    # Standard error: i ∉ a: var(s_i h_a) = E[h_a²] = 1/b²; i ∈ a: s_i h_a = (1 + Σ_{j≠i} s_i s_j)/b²,
    # var = (b² − 1)/b⁴.
    L, b, n = 16, 2, 20_000
    c = rg_correlator(iid_spins(n, L, 0), b, "average")
    inside = block_membership(L, b)
    exact = np.where(inside, 1.0 / b**2, 0.0)
    assert c.value.shape == (L * L, (L // b) ** 2)
    assert c.visible_shape == (L, L) and c.hidden_shape == (L // b, L // b)
    assert np.abs((c.value - exact) / c.error).max() < Z_MAX
    se = np.sqrt(np.where(inside, (b**2 - 1) / b**4, 1.0 / b**2) / (n - 1))
    # the estimated variance of a mean of n = 20,000 products is good to ~1% (its own sd ≈ 0.5%)
    np.testing.assert_allclose(c.error, se, rtol=0.05)


def test_block_majority_2x2_correlator_on_iid_spins_is_three_eighths():
    # Σ of 4 fair ±1: |Σ| = 4 w.p. 2/16, 2 w.p. 8/16, 0 w.p. 6/16 (coin). By symmetry
    # E[s_i maj] = E[Σ · maj]/4 = E[|Σ|]/4 = (4·2/16 + 2·8/16)/4 = 3/8; the coin averages out.
    # (s_i maj)² = 1, so var = 1 − 9/64 in the block and 1 outside.
    L, b, n = 8, 2, 20_000
    c = rg_correlator(iid_spins(n, L, 1), b, "majority", gen=np.random.default_rng(2))
    inside = block_membership(L, b)
    exact = np.where(inside, 3.0 / 8.0, 0.0)
    assert np.abs((c.value - exact) / c.error).max() < Z_MAX
    se = np.sqrt(np.where(inside, 1.0 - 9.0 / 64.0, 1.0) / (n - 1))
    np.testing.assert_allclose(c.error, se, rtol=0.05)


# ---------------------------------------------------------------------------- C_ia: RBMs
def tiny_rbm(n_v: int, n_h: int, units: str, seed: int) -> RBM:
    gen = torch.Generator().manual_seed(seed)
    rbm = RBM(n_v, n_h, units=units, init_std=0.8, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        rbm.hidden_bias.copy_(0.3 * torch.randn(n_h, generator=gen, dtype=torch.float64))
    return rbm


def exact_covariance(p: np.ndarray, v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Σ_v p(v) v_i m_a(v) − (Σ p v_i)(Σ p m_a), written out state by state: (n_v, n_h)."""
    ev, em, evm = np.zeros(v.shape[1]), np.zeros(m.shape[1]), np.zeros((v.shape[1], m.shape[1]))
    for pk, vk, mk in zip(p, v, m):
        ev += pk * vk
        em += pk * mk
        evm += pk * np.outer(vk, mk)
    return evm - np.outer(ev, em)


@pytest.mark.parametrize("units", ["spin", "binary"])
def test_rbm_correlator_over_all_states_equals_the_exact_uniform_covariance(units):
    # Under the uniform distribution on {±1}^8 the 256 enumerated states ARE the distribution, so
    # the (1/n) sample correlator must equal the exact covariance to rounding. Hidden units are
    # reported in the ±1 convention: E[h|v] = tanh(x) (spin) or 2 sigmoid(x) − 1 (binary).
    rbm = tiny_rbm(8, 3, units, seed=0)
    spins = enumerate_states(8, "spin").numpy()
    x = rbm.from_spins(spins).numpy() @ rbm.weight.detach().numpy() + rbm.hidden_bias.detach().numpy()
    mean_h = np.tanh(x) if units == "spin" else 2.0 / (1.0 + np.exp(-x)) - 1.0
    exact = exact_covariance(np.full(256, 1 / 256), spins, mean_h)
    c = rbm_correlator(rbm, spins)
    np.testing.assert_allclose(c.value, exact, rtol=0, atol=1e-13)


@pytest.mark.parametrize("sample", [False, True])
def test_rbm_correlator_on_a_product_distribution_matches_enumeration(sample):
    # v_i independent with E[v_i] = m_i ≠ 0; exact C_ia = Σ_v p(v) v_i tanh(x_a) − m_i Σ_v p(v) tanh(x_a)
    # over all 2^6 states. Sampled hiddens have the same C since E[h_a | v] = tanh(x_a).
    rbm = tiny_rbm(6, 3, "spin", seed=1)
    m = np.array([0.6, -0.3, 0.0, 0.2, -0.7, 0.4])
    states = enumerate_states(6, "spin").numpy()
    p = np.prod((1 + states * m) / 2, axis=1)
    w, cb = rbm.weight.detach().numpy(), rbm.hidden_bias.detach().numpy()
    exact = exact_covariance(p, states, np.tanh(states @ w + cb))
    rng = np.random.default_rng(3)
    spins = np.where(rng.random((20_000, 6)) < (1 + m) / 2, 1.0, -1.0)
    gen = torch.Generator().manual_seed(4)
    c = rbm_correlator(rbm, spins, sample=sample, generator=gen)
    assert np.abs((c.value - exact) / c.error).max() < Z_MAX


def test_stacked_correlator_means_and_samples_match_enumeration():
    # layers 6 → 3 → 2. Means: h² = tanh(W2ᵀ tanh(W1ᵀv + c1) + c2). Samples: E[h² | v] =
    # Σ_{h¹} Π_j (1 + h¹_j tanh(x¹_j))/2 · tanh(W2ᵀh¹ + c2), summed over the 8 states h¹.
    gen = torch.Generator().manual_seed(5)
    stack = StackedRBM([6, 3, 2], init_std=0.9, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        for rbm in stack.rbms:
            rbm.hidden_bias.copy_(0.3 * torch.randn(rbm.n_hidden, generator=gen, dtype=torch.float64))
    (w1, c1), (w2, c2) = [(r.weight.detach().numpy(), r.hidden_bias.detach().numpy()) for r in stack.rbms]
    v = enumerate_states(6, "spin").numpy()
    uniform = np.full(64, 1 / 64)
    mean_field = np.tanh(np.tanh(v @ w1 + c1) @ w2 + c2)
    c = stacked_correlator(stack, v, layer=2)
    np.testing.assert_allclose(c.value, exact_covariance(uniform, v, mean_field), rtol=0, atol=1e-13)

    h1 = enumerate_states(3, "spin").numpy()                                   # (8, 3)
    t1 = np.tanh(v @ w1 + c1)                                                  # (64, 3)
    p_h1 = np.prod((1 + h1[None] * t1[:, None]) / 2, axis=2)                   # (64, 8)
    sampled_mean = p_h1 @ np.tanh(h1 @ w2 + c2)                                # (64, 2)
    reps = np.tile(v, (300, 1))
    cs = stacked_correlator(stack, reps, layer=2, sample=True, generator=torch.Generator().manual_seed(6))
    exact = exact_covariance(uniform, v, sampled_mean)
    assert np.abs((cs.value - exact) / cs.error).max() < Z_MAX


# ---------------------------------------------------------------------------- C_ia: fast vs slow
@pytest.mark.parametrize("connected", [True, False])
def test_correlator_matches_a_slow_reference_across_chunks(monkeypatch, connected):
    monkeypatch.setattr(receptive, "_CHUNK", 7)  # several chunks, the last one short
    rng = np.random.default_rng(7)
    v, h = rng.normal(0.3, 1.0, (50, 5)), rng.normal(-0.2, 1.0, (50, 3))
    c = visible_hidden_correlator(v, h, connected=connected)
    for i, a in itertools.product(range(5), range(3)):
        dv = v[:, i] - (v[:, i].mean() if connected else 0.0)
        dh = h[:, a] - (h[:, a].mean() if connected else 0.0)
        prod = dv * dh
        assert c.value[i, a] == pytest.approx(prod.mean(), abs=1e-12)
        assert c.error[i, a] == pytest.approx(np.sqrt(prod.var() / 49), abs=1e-12)


# ---------------------------------------------------------------------------- G(d)
def slow_G(maps: np.ndarray, periodic: bool, directions: str, reduce: str = "mean"):
    """Σ_a C_a(x) C_a(y) averaged over ordered site pairs at equal distance, by explicit loops."""
    shape = maps.shape[1:]
    sums, counts = {}, {}
    for x in itertools.product(*map(range, shape)):
        for y in itertools.product(*map(range, shape)):
            r = [yk - xk for xk, yk in zip(x, y)]
            if periodic:
                r = [min(rk % n, n - rk % n) for rk, n in zip(r, shape)]
            if directions == "axes" and sum(rk != 0 for rk in r) > 1:
                continue
            key = sum(rk * rk for rk in r)
            prod = maps[(slice(None), *x)] * maps[(slice(None), *y)]
            sums[key] = sums.get(key, 0.0) + (prod.mean() if reduce == "mean" else prod.sum())
            counts[key] = counts.get(key, 0) + 1
    keys = sorted(sums)
    return np.sqrt(keys), np.array([sums[k] / counts[k] for k in keys])


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("directions", ["radial", "axes"])
@pytest.mark.parametrize("reduce", ["mean", "sum"])
def test_G_fft_path_matches_explicit_pair_sums(periodic, directions, reduce):
    maps = np.random.default_rng(8).normal(size=(3, 6, 5))  # non-square catches axis mix-ups
    d, G, _ = correlator_of_correlators(maps, periodic=periodic, directions=directions, reduce=reduce)
    d_ref, G_ref = slow_G(maps, periodic, directions, reduce)
    np.testing.assert_allclose(d, d_ref, atol=1e-12)
    np.testing.assert_allclose(G, G_ref, atol=1e-12)


def test_G_error_is_the_standard_error_over_hidden_units():
    maps = np.random.default_rng(9).normal(size=(4, 6, 6))
    per_unit = np.array([slow_G(m[None], True, "radial")[1] for m in maps])
    _, G, dG = correlator_of_correlators(maps)
    np.testing.assert_allclose(G, per_unit.mean(0), atol=1e-12)
    np.testing.assert_allclose(dG, per_unit.std(0, ddof=1) / 2.0, atol=1e-12)


def square_wave_autocorrelation(r: np.ndarray, B: int) -> np.ndarray:
    """(1/L) Σ_x s(x) s(x + r) for the ±1 square wave of half-period B on a ring with 2B | L.

    Within one period (2B sites) s(x) ≠ s(x + ρ), ρ = r mod 2B ≤ B, exactly when one of the two sign
    changes lies in (x, x + ρ]: 2ρ of 2B sites. So f = 1 − 2ρ/B, a triangle wave of period 2B
    (ρ > B mirrors to 2B − ρ).
    """
    rho = np.mod(r, 2 * B)
    return 1.0 - 2.0 * np.minimum(rho, 2 * B - rho) / B


@pytest.mark.parametrize("L, B", [(32, 4), (32, 8), (32, 16), (64, 16)])
def test_checkerboard_G_matches_the_square_wave_closed_form(L, B):
    # A checkerboard factorises, C(x, y) = s(x) s(y), so its periodic autocorrelation is f(rx) f(ry);
    # along an axis G(d) = f(d) (amplitude² = 1). Random phases per unit leave periodic G unchanged.
    maps = checkerboard_pattern(8, (L, L), B, gen=np.random.default_rng(10))
    d, G, dG = correlator_of_correlators(maps, directions="axes")
    np.testing.assert_allclose(d, np.arange(L // 2 + 1))
    np.testing.assert_allclose(G, square_wave_autocorrelation(d, B), atol=1e-12)
    np.testing.assert_allclose(dG, 0.0, atol=1e-12)  # every unit has the same G
    # radial: average f(rx) f(ry) over the minimum-image displacements of each shell
    d, G, _ = correlator_of_correlators(maps)
    r = np.minimum(np.arange(L), L - np.arange(L))
    rx, ry = np.meshgrid(r, r, indexing="ij")
    prod = square_wave_autocorrelation(rx, B) * square_wave_autocorrelation(ry, B)
    key = (rx**2 + ry**2).ravel()
    expected = [prod.ravel()[key == k].mean() for k in np.unique(key)]
    np.testing.assert_allclose(G, expected, atol=1e-12)


def test_white_noise_G_is_a_delta_within_its_error():
    maps = white_noise_pattern(64, (32, 32), np.random.default_rng(11), scale=2.0)
    d, G, dG = correlator_of_correlators(maps)
    z = G / dG
    assert d[0] == 0 and abs(G[0] - 4.0) < Z_MAX * dG[0]          # G(0) = scale²
    assert np.abs(z[1:]).max() < Z_MAX
    # ~450 shells: mean z² is 1 with sd ≈ sqrt(2/450) ≈ 0.07 for independent shells
    assert abs(np.mean(z[1:] ** 2) - 1.0) < 0.3
    _, Gn, dGn = correlator_of_correlators(maps, normalize=True)
    assert Gn[0] == 1.0 and dGn[0] == 0.0


def test_G_of_block_average_rg_falls_linearly_over_one_block():
    # Exact maps at T = ∞: C_a(x) = 1/b² on block a, so per unit Σ_x C_a(x) C_a(x + r) =
    # (b − |rx|)(b − |ry|)/b⁴ and along an axis G(d) = (b − d)/(b³ L²) for d < b, 0 beyond.
    # Sampled maps carry noise: E[Ĉ²] = C² + var(Ĉ) lifts G(0) by mean var(Ĉ_ia) ≈
    # [(b²/L²)(b² − 1)/b⁴ + (1 − b²/L²)/b²]/n; the jackknife bias correction removes it.
    L, b, n = 16, 2, 5_000
    spins = iid_spins(n, L, 12)
    h = rg_hiddens(spins, b)
    raw = correlator_of_correlators_jackknife(spins, h, directions="axes")
    fixed = correlator_of_correlators_jackknife(spins, h, directions="axes", bias_correct=True)
    exact = np.clip(b - raw.d, 0, None) / (b**3 * L * L)
    lift = ((b * b / L**2) * (b * b - 1) / b**4 + (1 - b * b / L**2) / b**2) / n
    assert np.abs((fixed.G - exact) / fixed.dG).max() < Z_MAX
    assert abs(raw.G[0] - exact[0] - lift) < Z_MAX * raw.dG[0]
    assert raw.G[0] - exact[0] > 3 * raw.dG[0]  # the lift is visible at this n


@pytest.mark.parametrize("connected, normalize, keep_bytes", [(True, False, 1 << 28), (False, True, 0)])
def test_sample_jackknife_matches_deleting_blocks_by_hand(monkeypatch, connected, normalize, keep_bytes):
    monkeypatch.setattr(receptive, "_KEEP_BYTES", keep_bytes)  # 0: block sums recomputed, not kept
    rng = np.random.default_rng(13)
    v, h = rng.normal(0.2, 1.0, (40, 4, 4)), rng.normal(size=(40, 3))
    opts = dict(periodic=False, normalize=normalize)
    res = correlator_of_correlators_jackknife(v, h, n_blocks=5, connected=connected, **opts)
    full = correlator_of_correlators(visible_hidden_correlator(v, h, connected=connected), **opts)
    reps = np.array([
        correlator_of_correlators(visible_hidden_correlator(np.delete(v, blk, 0), np.delete(h, blk, 0),
                                                            connected=connected), **opts).G
        for blk in np.split(np.arange(40), 5)
    ])
    np.testing.assert_allclose(res.d, full.d)
    np.testing.assert_allclose(res.G, full.G, atol=1e-12)
    np.testing.assert_allclose(res.dG, np.sqrt(4 / 5 * ((reps - reps.mean(0)) ** 2).sum(0)), atol=1e-12)


def test_maps_refuse_a_lattice_that_does_not_hold_the_visible_units():
    with pytest.raises(ValueError, match="does not hold"):
        correlator_of_correlators(np.zeros((10, 3)), (3, 3))
    with pytest.raises(ValueError, match="lattice_shape"):
        correlator_of_correlators(np.zeros((9, 3)))


# ---------------------------------------------------------------------------- figures
def test_figures_have_one_panel_per_unit_and_one_line_per_curve():
    c = rg_correlator(iid_spins(200, 8, 14), 2, "average")
    fig = plot_correlator_maps(c, n_units=6)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 6                                    # evenly spread over the 16 blocks
    assert [ax.get_title() for ax in panels] == [f"a = {a}" for a in (0, 3, 6, 9, 12, 15)]
    curves = {"RG": correlator_of_correlators(c), "noise": correlator_of_correlators(
        white_noise_pattern(4, (8, 8), np.random.default_rng(15)))}
    fig = plot_G(curves)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["RG", "noise"]
