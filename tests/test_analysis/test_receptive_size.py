"""Receptive-field size R² against analytic patterns, exact noise statistics and block-spin correlators."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rgexp.analysis.receptive import rg_correlator, white_noise_pattern
from rgexp.analysis.receptive_size import receptive_field_size, uniform_r2

Z = 4.0  # |z| bound for one stochastic comparison (seeds are fixed)


def min_image(x: np.ndarray, c: float, L: int) -> np.ndarray:
    return (x - c + L / 2) % L - L / 2


def gaussian_map(shape: tuple[int, ...], centre: tuple[float, ...], s: float, periodic: bool = True) -> np.ndarray:
    """C(x) = exp(−|x − centre|² / (2 s²)), distances by minimum image when periodic."""
    grids = np.meshgrid(*(np.arange(L, dtype=float) for L in shape), indexing="ij")
    r2 = sum((min_image(g, c, L) if periodic else g - c) ** 2 for g, c, L in zip(grids, centre, shape))
    return np.exp(-r2 / (2 * s * s))


def lattice_second_moment(s: float, offset: float) -> float:
    """Σ_n (n − a)² e^{−(n−a)²/s²} / Σ_n e^{−(n−a)²/s²} over all integers n, a = offset (one axis of C²)."""
    n = np.arange(-200, 201) - offset
    w = np.exp(-n * n / (s * s))
    return float(w @ (n * n) / w.sum())


# ---------------------------------------------------------------------------- analytic patterns
@pytest.mark.parametrize("centre", [(10.0, 20.0), (10.5, 3.5), (31.0, 0.5), (0.0, 31.5)])
def test_gaussian_blob_has_its_continuum_second_moment_even_across_the_seam(centre):
    # C² is a Gaussian of variance s²/2 per axis; on the lattice the correction is ~e^{−π² s²} = 7e-18 at s = 2
    s, shape = 2.0, (32, 32)
    res = receptive_field_size(gaussian_map(shape, centre, s)[None], noise_variance=0.0)
    assert res.r2[0] == pytest.approx(s * s, rel=1e-12)
    np.testing.assert_allclose(res.centre[0], centre, atol=1e-12)
    assert res.resolved.all() and res.rms_radius.value == pytest.approx(s, rel=1e-12)


@pytest.mark.parametrize("offset", [0.0, 0.5])
def test_narrow_gaussian_blob_has_its_discrete_second_moment(offset):
    s, L = 0.6, 24  # far from the continuum value s²/2 = 0.18 (integer centre: 0.0598)
    c = (7.0 + offset, 12.0)
    res = receptive_field_size(gaussian_map((L, L), c, s)[None], noise_variance=0.0)
    # symmetric about its centre, so the circular mean sits exactly on it
    exact = lattice_second_moment(s, offset) + lattice_second_moment(s, 0.0)
    assert res.r2[0] == pytest.approx(exact, rel=1e-12)


def test_arbitrary_maps_against_the_literal_double_sum():
    # reference: circular-mean centre per axis, then Σ_x w(x) |d(x)|² / Σ_x w(x) site by site
    gen = np.random.default_rng(4)
    shape = (6, 9)
    maps = gen.normal(size=(3, *shape)) * gaussian_map(shape, (1.0, 7.0), 2.0)
    res = receptive_field_size(maps, noise_variance=0.0)
    for a in range(3):
        w = maps[a] ** 2
        num = 0.0
        centre = []
        for k, L in enumerate(shape):
            z = sum(w[x] * np.exp(2j * np.pi * x[k] / L) for x in np.ndindex(*shape))
            centre.append((np.angle(z) % (2 * np.pi)) * L / (2 * np.pi))
        for x in np.ndindex(*shape):
            num += w[x] * sum(min_image(x[k], centre[k], L) ** 2 for k, L in enumerate(shape))
        assert res.r2[a] == pytest.approx(num / w.sum(), rel=1e-12)
        np.testing.assert_allclose(res.centre[a], centre, atol=1e-12)


def test_single_site_has_zero_size_and_sits_on_its_site():
    maps = np.zeros((2, 8, 6))
    maps[0, 3, 5] = 0.7
    maps[1, 0, 0] = -2.0
    res = receptive_field_size(maps, noise_variance=0.0)
    np.testing.assert_allclose(res.r2, 0.0, atol=1e-12)
    np.testing.assert_allclose(res.centre, [[3, 5], [0, 0]], atol=1e-12)


@pytest.mark.parametrize("b", [2, 3, 4])
def test_uniform_square_patch_has_second_moment_b2_minus_1_over_6(b):
    L = 16
    maps = np.zeros((2, L, L))
    maps[0, 5:5 + b, 9:9 + b] = 0.25
    maps[1, np.arange(-1, b - 1)[:, None] % L, np.arange(-1, b - 1)[None, :] % L] = -0.25  # across both seams
    res = receptive_field_size(maps, noise_variance=0.0)
    np.testing.assert_allclose(res.r2, 2 * (b * b - 1) / 12, rtol=1e-12)
    np.testing.assert_allclose(res.centre[0], [5 + (b - 1) / 2, 9 + (b - 1) / 2], atol=1e-12)


def test_chain_matrix_and_open_lattices():
    L, s = 40, 2.5
    blob = gaussian_map((L,), (38.0,), s)  # a chain unit straddling the seam
    res = receptive_field_size(np.stack([blob, np.roll(blob, 7)], axis=1), noise_variance=0.0)  # C (n_visible, 2)
    np.testing.assert_allclose(res.r2, s * s / 2, rtol=1e-12)
    np.testing.assert_allclose(res.centre[:, 0], [38.0, 5.0], atol=1e-12)
    open_blob = gaussian_map((L, L), (20.0, 19.0), s, periodic=False)
    r = receptive_field_size(open_blob[None], noise_variance=0.0, periodic=False)
    assert r.r2[0] == pytest.approx(s * s, rel=1e-12)


@pytest.mark.parametrize("shape,periodic", [((8, 8), True), ((7, 10), True), ((9,), True), ((6, 5), False)])
def test_flat_map_gives_the_uniform_value(shape, periodic):
    flat = np.ones((math.prod(shape), 1))  # C as the (n_visible, n_units) matrix
    res = receptive_field_size(flat, shape, noise_variance=0.0, periodic=periodic)
    assert res.r2[0] == pytest.approx(uniform_r2(shape, periodic=periodic), rel=1e-12)
    # the same by brute force about a site (periodic) or the middle (open)
    axes = [min_image(np.arange(L), 0.0, L) if periodic else np.arange(L) - (L - 1) / 2 for L in shape]
    assert uniform_r2(shape, periodic=periodic) == pytest.approx(sum(float(np.mean(a * a)) for a in axes), rel=1e-12)


# ---------------------------------------------------------------------------- the noise floor
def test_white_noise_is_unresolved_at_the_exact_chi2_false_positive_rate():
    # Σ_x Ĉ²/σ² ~ χ²_N for N sites of white Gaussian noise; resolved iff it exceeds N + z sqrt(2N)
    n_units, shape, sigma, z = 4000, (16, 16), 0.03, 3.0
    maps = white_noise_pattern(n_units, shape, np.random.default_rng(1), scale=sigma)
    res = receptive_field_size(maps, noise_variance=sigma**2, z=z)
    N = math.prod(shape)
    p = stats.chi2.sf(N + z * math.sqrt(2 * N), N)  # 0.0040, above the normal tail 0.00135
    count = int(res.resolved.sum())
    assert abs(count - n_units * p) < Z * math.sqrt(n_units * p * (1 - p))
    assert np.all(np.isnan(res.r2[~res.resolved]))


def test_noise_subtraction_recovers_a_blob_and_its_absence_biases_it():
    n_units, shape, s, sigma = 400, (16, 16), 1.5, 0.05
    gen = np.random.default_rng(2)
    centres = gen.uniform(0, 16, size=(n_units, 2))
    clean = np.stack([gaussian_map(shape, tuple(c), s) for c in centres])
    noisy = clean + white_noise_pattern(n_units, shape, gen, scale=sigma)
    exact = receptive_field_size(clean, noise_variance=0.0).r2  # s², to lattice terms ~e^{−π² s²} (measured 2e-8)
    np.testing.assert_allclose(exact, s * s, rtol=1e-6)
    res = receptive_field_size(noisy, noise_variance=sigma**2)
    assert res.resolved.all()
    assert abs(res.mean_r2.value - s * s) < Z * res.mean_r2.error
    biased = receptive_field_size(noisy, noise_variance=0.0).mean_r2
    assert biased.value - s * s > 10 * biased.error  # far sites add σ² |d|² each


def test_block_spin_correlators_have_exact_patch_sizes_that_grow_with_depth():
    # i.i.d. spins, block average: C_ia = 1/b^{2k} on unit a's (2^k)² block after k steps, 0 elsewhere;
    # R² = 2 (b² − 1)/12 with b = 2, 4; noise floor subtracted from the correlator's own error²
    L, n = 16, 20_000
    spins = np.random.default_rng(3).choice(np.array([-1, 1], dtype=np.int8), size=(n, L, L))
    sizes = []
    for k, b in ((1, 2), (2, 4)):
        res = receptive_field_size(rg_correlator(spins, 2, "average", n_steps=k))
        assert res.resolved.all() and res.r2.size == (L // b) ** 2
        assert abs(res.mean_r2.value - 2 * (b * b - 1) / 12) < Z * res.mean_r2.error
        sizes.append(res.rms_radius)
    assert sizes[1].value - sizes[0].value > Z * math.hypot(sizes[0].error, sizes[1].error)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call,match", [
    (lambda: receptive_field_size(np.ones(5)), "c must be C"),
    (lambda: receptive_field_size(np.ones((12, 3)), lattice_shape=(4, 4)), "does not hold n_visible"),
    (lambda: receptive_field_size(np.ones((2, 4, 4)), noise_variance=-1.0), "noise_variance finite and >= 0"),
    (lambda: receptive_field_size(np.ones((2, 4, 4)), noise_variance="white"), "noise_variance must be 'auto'"),
    (lambda: receptive_field_size(np.ones((2, 4, 4)), z=-1.0), "z must be a finite number"),
    (lambda: uniform_r2((0, 4)), "lattice_shape must be"),
])
def test_bad_input_is_refused_with_a_clear_message(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- units on a grid
def test_arrange_on_grid_puts_shuffled_block_spins_back_in_place():
    """Block spins of a b = 2 step have exactly local fields: shuffled, they are laid back out in the
    coarse lattice's own row-major order — the RG step's geometry, recovered from C_ia alone."""
    from rgexp.analysis.receptive import rg_correlator
    from rgexp.analysis.receptive_size import arrange_on_grid

    rng = np.random.default_rng(5)
    spins = rng.choice([-1.0, 1.0], size=(3000, 16, 16))
    c = rg_correlator(spins, 2, "average", 1, rng)
    shuffle = rng.permutation(64)
    size = receptive_field_size(c.value[:, shuffle], (16, 16))
    order = arrange_on_grid(size.centre, (16, 16))
    assert np.array_equal(shuffle[order], np.arange(64))


def test_arrange_on_grid_is_a_permutation_and_refuses_non_squares():
    from rgexp.analysis.receptive_size import arrange_on_grid

    rng = np.random.default_rng(1)
    order = arrange_on_grid(rng.uniform(0, 8, size=(16, 2)), (8, 8))
    assert sorted(order) == list(range(16))
    with pytest.raises(ValueError, match="perfect square"):
        arrange_on_grid(np.zeros((12, 2)), (8, 8))
