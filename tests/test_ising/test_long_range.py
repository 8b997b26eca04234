"""Long-range Ising: couplings against exact lattice sums, kernels against slow NumPy references,
samplers against brute-force enumeration of tiny lattices (χ² on samples thinned by τ_int)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import zeta

from rgexp.ising.data import IsingData
from rgexp.seeding import keyed_stream
from rgexp.ising.long_range import (
    LongRangeSampler,
    binder_scan,
    coupling_table,
    energy,
    sample_long_range,
    sample_long_range_with_info,
)
from rgexp.ising.long_range_kernels import (
    alias_draw,
    build_alias,
    local_fields,
    metropolis_sweeps,
    wolff_updates,
)
from rgexp.ising.observables import magnetization

# --------------------------------------------------------------------------- references


def dense_couplings(table: np.ndarray) -> np.ndarray:
    """J_ij as an explicit N × N matrix, by looping over site pairs (the readable reference)."""
    shape = table.shape
    sites = list(itertools.product(*[range(n) for n in shape]))
    jmat = np.zeros((len(sites), len(sites)))
    for a, ra in enumerate(sites):
        for b, rb in enumerate(sites):
            disp = tuple((rb[k] - ra[k]) % shape[k] for k in range(len(shape)))
            jmat[a, b] = table[disp]
    return jmat


def dense_energy(configs: np.ndarray, table: np.ndarray) -> np.ndarray:
    s = configs.reshape(configs.shape[0], -1).astype(np.float64)
    jmat = dense_couplings(table)
    return -np.einsum("ni,ij,nj->n", s, np.triu(jmat, 1), s)


def enumerate_states(L: int, d: int) -> np.ndarray:
    n = L**d
    return np.array(list(itertools.product([1, -1], repeat=n)), dtype=np.int8).reshape((-1,) + (L,) * d)


def dirichlet_beta(s: float) -> float:
    return 4.0**-s * (zeta(s, 0.25) - zeta(s, 0.75))


# --------------------------------------------------------------------------- couplings


@pytest.mark.parametrize("sigma", [0.3, 1.0, 1.9])
def test_coupling_sum_rule(sigma):
    """Σ_r K(r) over the torus = Σ over Z^d minus the multiples of L: exact lattice sums.

    d = 1: 2 ζ(1+σ)(1 − L^−(1+σ)). d = 2: 4 ζ(p/2) β(p/2)(1 − L^−p), p = 2 + σ (square-lattice
    Epstein zeta), which checks the 2D tail integration to high accuracy.
    """
    s = 1.0 + sigma
    for L in (2, 7, 64):
        assert coupling_table(L, 1, sigma).sum() == pytest.approx(2 * zeta(s) * (1 - L**-s), rel=1e-12)
    p = 2.0 + sigma
    for L in (3, 4, 16):
        exact = 4 * zeta(p / 2) * dirichlet_beta(p / 2) * (1 - L**-p)
        assert coupling_table(L, 2, sigma).sum() == pytest.approx(exact, rel=1e-7)


def test_coupling_table_1d_matches_direct_image_sum():
    L, sigma, M = 10, 0.5, 20_000
    s = 1 + sigma
    x = np.arange(1, L)[:, None]
    n = np.arange(-M, M + 1)[None, :]
    direct = (np.abs(x + n * L) ** -s).sum(axis=1)
    # Remaining images |n| > M, midpoint-rule tail (error O(M^(−s−2))).
    a = (M + 0.5) * L
    direct += ((a + x[:, 0]) ** (1 - s) + (a - x[:, 0]) ** (1 - s)) / ((s - 1) * L)
    assert np.allclose(coupling_table(L, 1, sigma)[1:], direct, rtol=1e-9)
    assert coupling_table(L, 1, sigma)[0] == 0.0


def test_coupling_table_2d_matches_richardson_extrapolated_box_sums():
    """Direct sums S(M) over boxes of images |n|_∞ <= M centred on the minimum image of r (the sum
    is periodic in r, so any representative gives the same infinite sum). The missing tail is
    c1 x^σ + c2 x^(σ+2) + O(x^(σ+4)), x = 1/(M + ½): three box sizes fix S(∞)."""
    L, sigma = 4, 1.0
    p = 2 + sigma
    r = np.arange(L) - L * np.round(np.arange(L) / L)
    sizes = (20, 40, 80)
    sums = []
    for M in sizes:
        n = np.arange(-M, M + 1)
        ux = r[:, None, None, None] + n[None, None, :, None] * L
        uy = r[None, :, None, None] + n[None, None, None, :] * L
        r2 = (ux**2 + uy**2).astype(np.float64)
        with np.errstate(divide="ignore"):
            sums.append(np.where(r2 > 0, r2 ** (-p / 2), 0.0).sum(axis=(2, 3)).ravel())
    x = 1.0 / (np.array(sizes) + 0.5)
    design = np.stack([np.ones(3), -(x**sigma), -(x ** (sigma + 2))], axis=1)
    extrapolated = np.linalg.solve(design, np.stack(sums))[0].reshape(L, L)
    extrapolated[0, 0] = 0.0
    assert np.allclose(coupling_table(L, 2, sigma), extrapolated, rtol=1e-8, atol=0)


def test_coupling_table_symmetries_and_scale():
    t = coupling_table(8, 2, 0.7, J=2.5)
    assert np.allclose(t, t.T) and np.allclose(t[1:, :], t[:0:-1, :]) and t[0, 0] == 0.0
    assert np.allclose(t, 2.5 * coupling_table(8, 2, 0.7))
    assert not t.flags.writeable
    # Large L: the nearest-neighbour coupling tends to J (images are far away).
    assert coupling_table(64, 2, 1.5)[0, 1] == pytest.approx(1.0, abs=1e-4)


def minimum_image_couplings(L: int, d: int, sigma: float) -> np.ndarray:
    """J_ij = r̃_ij^−(d+σ) as an N × N matrix from the site coordinates, r̃ the per-axis minimum image
    min(|Δ|, L − |Δ|): the readable reference for couplings="minimum_image" (no table involved)."""
    sites = list(itertools.product(range(L), repeat=d))
    jmat = np.zeros((len(sites), len(sites)))
    for a, ra in enumerate(sites):
        for b, rb in enumerate(sites):
            if a != b:
                r2 = sum(min(abs(x - y), L - abs(x - y)) ** 2 for x, y in zip(ra, rb))
                jmat[a, b] = r2 ** (-(d + sigma) / 2)
    return jmat


@pytest.mark.parametrize(("L", "d", "sigma"), [(10, 1, 0.875), (9, 1, 0.5), (4, 2, 1.6), (5, 2, 0.8)])
def test_minimum_image_table_matches_pairs_from_coordinates(L, d, sigma):
    """Table entry = coupling of each pair at its minimum-image distance; a pair at Δ = L/2 (L even)
    has one coupling (L/2)^−(d+σ), not two; energies of random states equal Σ_{i<j} J_ij s_i s_j."""
    table = coupling_table(L, d, sigma, J=1.7, couplings="minimum_image")
    jmat = 1.7 * minimum_image_couplings(L, d, sigma)
    assert np.allclose(dense_couplings(table), jmat, rtol=1e-13, atol=0) and not table.flags.writeable
    if d == 1 and L % 2 == 0:
        assert table[L // 2] == pytest.approx(1.7 * (L / 2) ** -(1 + sigma), rel=1e-14)
    x = np.where(np.random.default_rng(6).random((20, *table.shape)) < 0.5, 1, -1).astype(np.int8)
    s = x.reshape(20, -1).astype(np.float64)
    assert np.allclose(energy(x, table), -np.einsum("ni,ij,nj->n", s, np.triu(jmat, 1), s), rtol=1e-12)


def test_conventions_differ_at_finite_size_and_agree_as_L_grows():
    """The image sum exceeds the minimum image entry by entry (it adds the farther images); the
    difference of the total couplings is exact in d = 1, 2ζ(s)(1 − L^−s) − Σ_r min-image, and
    vanishes like L^−σ (the dropped share of Σ_r r^−(1+σ) beyond L/2)."""
    sigma, s = 0.875, 1.875
    for L in (8, 64, 1024):
        images, minimum = coupling_table(L, 1, sigma), coupling_table(L, 1, sigma, couplings="minimum_image")
        assert np.all(images[1:] > minimum[1:])
        gap = images.sum() - minimum.sum()
        assert gap == pytest.approx(2 * zeta(s) * (1 - L**-s) - minimum.sum(), rel=1e-10)
        assert 0 < gap < 4 * (L / 2) ** -sigma / sigma


# --------------------------------------------------------------------------- kernels vs references


@pytest.mark.parametrize(("L", "d"), [(9, 1), (4, 2), (5, 2)])
def test_energy_fft_and_local_fields_match_dense(L, d):
    rng = np.random.default_rng(0)
    table = coupling_table(L, d, 0.8, J=1.3)
    x = np.where(rng.random((20, *table.shape)) < 0.5, 1, -1).astype(np.int8)
    assert np.allclose(energy(x, table), dense_energy(x, table), rtol=1e-12, atol=1e-10)
    lx, ly = (1, L) if d == 1 else (L, L)
    jmat = dense_couplings(table)
    for s in x[:3]:
        flat = s.ravel()
        assert np.allclose(local_fields(flat, table.ravel(), lx, ly), jmat @ flat, rtol=1e-12)


def test_metropolis_kernel_keeps_fields_exact():
    L = 5
    table = coupling_table(L, 2, 1.2)
    rng = np.random.default_rng(1)
    s = np.where(rng.random(L * L) < 0.5, 1, -1).astype(np.int8)
    h = local_fields(s, table.ravel(), L, L)
    acc = metropolis_sweeps(s, h, table.ravel(), L, L, 1 / 3.0, 20, rng)
    assert 0 < acc < 20 * L * L
    assert np.allclose(h, dense_couplings(table) @ s.astype(np.float64), rtol=1e-10, atol=1e-10)


def test_alias_table_is_exact():
    w = np.random.default_rng(2).random(37) ** 3
    w[[0, 5]] = 0.0
    prob, alias = build_alias(w)
    implied = prob.copy()
    np.add.at(implied, alias, 1.0 - prob)
    assert np.allclose(implied / w.size, w / w.sum(), atol=1e-13)
    rng = np.random.default_rng(3)
    n = 20_000
    draws = np.array([alias_draw(prob, alias, rng) for _ in range(n)])
    assert not np.isin(draws, [0, 5]).any()
    assert _chi2_pvalue(np.bincount(draws, minlength=w.size), w / w.sum(), 1.0) > 1e-3


def test_wolff_kernel_two_spin_cluster_law():
    """L = 2 chain: from an aligned pair the cluster holds both spins with p = 1 − exp(−2βK(1))."""
    T = 2.0
    table = coupling_table(2, 1, 1.0)
    lam = 2.0 / T * table
    prob, alias = build_alias(lam)
    rng = np.random.default_rng(4)
    stack = np.empty(2, dtype=np.int64)
    n, sizes = 20_000, []
    for _ in range(n):
        s = np.ones(2, dtype=np.int8)
        sizes.append(wolff_updates(s, 1, 2, prob, alias, float(lam.sum()), 1, rng, stack))
    p = 1 - math.exp(-lam[1])
    both = np.mean(np.array(sizes) == 2)
    assert abs(both - p) < 4 * math.sqrt(p * (1 - p) / n)


# --------------------------------------------------------------------------- samplers vs enumeration


def _chi2_pvalue(observed: np.ndarray, expected_p: np.ndarray, inflation: float) -> float:
    """χ² over bins with expected count >= 5 plus one pooled bin; divided by ``inflation`` (2 τ_int)."""
    n = observed.sum()
    exp = n * expected_p
    big = exp >= 5
    obs_b = np.append(observed[big], observed[~big].sum())
    exp_b = np.append(exp[big], exp[~big].sum())
    keep = exp_b > 0
    chi2 = ((obs_b[keep] - exp_b[keep]) ** 2 / exp_b[keep]).sum() / inflation
    return float(stats.chi2.sf(chi2, df=keep.sum() - 1))


CASES = [  # (L, d, sigma, T): ordered-ish and disordered-ish points on each lattice
    (10, 1, 0.5, 3.0),
    (10, 1, 1.0, 4.0),
    (3, 2, 1.0, 6.0),
    (4, 2, 1.5, 4.0),
    (4, 2, 0.6, 14.0),
]


@pytest.mark.parametrize("algorithm", ["cluster", "metropolis"])
@pytest.mark.parametrize(("L", "d", "sigma", "T"), CASES)
def test_energy_and_magnetization_histograms_match_enumeration(L, d, sigma, T, algorithm):
    table = coupling_table(L, d, sigma)
    states = enumerate_states(L, d)
    e_exact = energy(states, table)
    w = np.exp(-(e_exact - e_exact.min()) / T)
    p = w / w.sum()
    x, info = sample_long_range_with_info(L, T, sigma, 20_000, d=d, seed=17, algorithm=algorithm)
    assert x.shape == (20_000, *table.shape) and x.dtype == np.int8
    _assert_histograms_match(states, e_exact, p, x, energy(x, table), info)


def _assert_histograms_match(states, e_exact, p, x, e_x, info) -> None:
    """Samples x with energies e_x against the enumerated states with energies e_exact and
    Boltzmann weights p: every sampled E is a level, and the energy and magnetisation histograms
    (the latter checks the global-flip symmetry and the spin-flip moves) pass χ² at p > 1e-3 with
    the counts deflated by 2 τ_int."""
    levels, inv = np.unique(np.round(e_exact, 8), return_inverse=True)
    idx = np.searchsorted(levels, np.round(e_x, 8))
    assert np.allclose(levels[np.minimum(idx, levels.size - 1)], e_x, atol=1e-7)  # every sampled E is a level
    p_e = np.bincount(inv, weights=p, minlength=levels.size)
    assert _chi2_pvalue(np.bincount(idx, minlength=levels.size), p_e, 2 * info["tau_int_energy"]) > 1e-3
    n_sites = states[0].size
    p_m = np.bincount((states.reshape(len(states), -1) > 0).sum(axis=1), weights=p, minlength=n_sites + 1)
    n_up = (x.reshape(len(x), -1) > 0).sum(axis=1)
    assert _chi2_pvalue(np.bincount(n_up, minlength=n_sites + 1), p_m, 2 * info["tau_int_absm"]) > 1e-3


MINIMUM_IMAGE_CASES = [  # (L, d, sigma, T): even L (a single coupling at Δ = L/2), odd L, d = 1 and 2
    (10, 1, 0.875, 2.2),
    (9, 1, 0.875, 1.6),
    (4, 2, 1.6, 5.3),
    (3, 2, 1.0, 5.0),
]


@pytest.mark.parametrize("algorithm", ["cluster", "metropolis"])
@pytest.mark.parametrize(("L", "d", "sigma", "T"), MINIMUM_IMAGE_CASES)
def test_minimum_image_histograms_match_enumeration(L, d, sigma, T, algorithm):
    """As the image-sum enumeration test, for couplings="minimum_image": the exact Boltzmann weights
    come from the coordinate-built couplings (not the sampler's table)."""
    jmat = minimum_image_couplings(L, d, sigma)
    states = enumerate_states(L, d)
    flat = states.reshape(len(states), -1).astype(np.float64)
    e_exact = -np.einsum("ni,ij,nj->n", flat, np.triu(jmat, 1), flat)
    p = np.exp(-(e_exact - e_exact.min()) / T)
    p /= p.sum()
    x, info = sample_long_range_with_info(L, T, sigma, 20_000, d=d, seed=23, algorithm=algorithm,
                                          couplings="minimum_image")
    _assert_histograms_match(states, e_exact, p, x, energy(x, coupling_table(L, d, sigma, couplings="minimum_image")),
                             info)


def test_info_reports_thinning_and_effective_samples():
    _, info = sample_long_range_with_info(8, 5.0, 1.0, 500, d=2, seed=0, algorithm="metropolis")
    assert info["thin"] >= math.ceil(2 * max(info["tau_int_absm_sweeps"], info["tau_int_energy_sweeps"]))
    assert info["n_thermalize"] >= 200 and 0 < info["acceptance"] < 1
    assert 0 < info["n_eff"] <= 500 / (2 * 0.5) + 1e-9
    _, info = sample_long_range_with_info(8, 5.0, 1.0, 500, d=2, seed=0, thin=3, n_thermalize=10)
    assert info["thin"] == 3 and info["updates_per_sweep"] >= 1 and info["mean_cluster_size"] >= 1


def test_global_flips_give_both_signs_below_tc():
    x = sample_long_range(8, 3.0, 1.0, 2000, d=2, seed=5, algorithm="metropolis", thin=1)
    m = magnetization(x)
    assert np.all(np.abs(m) > 0.5)  # deep in the ordered phase
    assert abs((m > 0).mean() - 0.5) < 4 * math.sqrt(0.25 / 2000)


def test_reproducible_and_seed_types():
    a = sample_long_range(6, 4.0, 1.0, 50, seed=3)
    b = sample_long_range(6, 4.0, 1.0, 50, seed=np.random.SeedSequence(3))
    assert np.array_equal(a, b) and not np.array_equal(a, sample_long_range(6, 4.0, 1.0, 50, seed=4))


# --------------------------------------------------------------------------- config class


def test_sampler_class_shapes_and_streams():
    s = LongRangeSampler(L=5, temperatures=[3.0, 6.0], n_samples=40, sigma=1.0, d=2)
    assert s.lattice_shape == (5, 5)
    data = s.sample(np.random.SeedSequence(1))
    assert isinstance(data, IsingData) and data.spins.shape == (2, 40, 5, 5) and data.spins.dtype == np.int8
    assert {"tau_int_absm", "tau_int_energy", "n_eff", "thin", "n_thermalize"} <= set(data.info[0])
    child = keyed_stream(np.random.SeedSequence(1), 6.0)  # one stream per T, keyed by its value
    assert np.array_equal(data.spins[1], sample_long_range(5, 6.0, 1.0, 40, d=2, seed=child))
    s1 = LongRangeSampler(L=7, temperatures=[2.0], n_samples=10, sigma=0.5, d=1, algorithm="metropolis")
    assert s1.lattice_shape == (7,) and s1.sample(np.random.SeedSequence(0)).spins.shape == (1, 10, 7)
    # The model's couplings on any lattice size, in the sampler's convention (coarse lattices use them).
    s2 = LongRangeSampler(L=8, temperatures=[5.0], n_samples=10, sigma=1.6, couplings="minimum_image")
    assert np.array_equal(s2.coupling_table(), coupling_table(8, 2, 1.6, couplings="minimum_image"))
    assert np.array_equal(s2.coupling_table(4), coupling_table(4, 2, 1.6, couplings="minimum_image"))
    assert np.array_equal(s.coupling_table(4), coupling_table(4, 2, 1.0))
    child = keyed_stream(np.random.SeedSequence(2), 5.0)
    assert np.array_equal(s2.sample(np.random.SeedSequence(2)).spins[0],
                          sample_long_range(8, 5.0, 1.6, 10, seed=child, couplings="minimum_image"))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"sigma": 3.0}, "sigma"),
        ({"sigma": 0.0}, "sigma"),
        ({"L": 1}, "L"),
        ({"d": 3}, "d"),
        ({"J": -1.0}, "J"),
        ({"temperatures": [1.0, -2.0]}, "temperatures"),
        ({"n_samples": 0}, "n_samples"),
        ({"algorithm": "wolff"}, "algorithm"),
        ({"n_thermalize": -1}, "n_thermalize"),
        ({"thin": 0}, "thin"),
        ({"couplings": "nearest"}, "couplings"),
    ],
)
def test_sampler_validation_messages(kwargs, name):
    base = {"L": 4, "temperatures": [1.0], "n_samples": 10, "sigma": 1.0}
    with pytest.raises(ValueError, match=f"^{name} "):
        LongRangeSampler(**{**base, **kwargs})


# --------------------------------------------------------------------------- beyond enumeration


@pytest.mark.parametrize(("L", "d", "sigma", "T"), [(16, 2, 1.5, 5.6), (64, 1, 0.5, 4.3)])
def test_cluster_and_metropolis_agree_beyond_enumeration(L, d, sigma, T):
    """Two independent algorithms on lattices far beyond enumeration, near this code's Binder
    crossings (d = 2, σ = 1.5: T ≈ 5.6; d = 1, σ = 0.5: T ≈ 4.3)."""
    res = {}
    for alg in ("cluster", "metropolis"):
        x, info = sample_long_range_with_info(L, T, sigma, 3000, d=d, seed=21, algorithm=alg)
        e = energy(x, coupling_table(L, d, sigma)) / L**d
        m = np.abs(magnetization(x))
        res[alg] = [(v.mean(), v.std(ddof=1) * math.sqrt(2 * tau / v.size))
                    for v, tau in ((e, info["tau_int_energy"]), (m, info["tau_int_absm"]))]
    for (a, ea), (b, eb) in zip(res["cluster"], res["metropolis"]):
        assert abs(a - b) < 4 * math.hypot(ea, eb)


def test_binder_crossing_within_rigorous_bounds_2d():
    """T_c(d = 2, σ = 1.5) from U_8 × U_16 crossing lies strictly between rigorous bounds:
    Griffiths (drop all but the nearest-neighbour bonds, K(1) -> 1): T_c > 2.269, and mean field
    (an upper bound for ferromagnets): T_c < J Σ_r r^−(2+σ) = 4 ζ(1.75) β(1.75) ≈ 7.01.
    A quick look with the Binder scan (the reweighted crossings of rgexp.ising.long_range_fss give
    5.603 ± 0.005, L <= 64); published values are tested in test_long_range_published.py."""
    temps = [5.3, 5.45, 5.6, 5.75, 5.9]  # narrow: the crossing finder fits a straight line
    out = binder_scan([8, 16], temps, 1.5, 3000, d=2, seed=2)
    assert set(out["binder"]) == {8, 16} and len(out["binder"][8]) == len(temps)
    tc = out["crossings"][(8, 16)]
    t_mf = 4 * zeta(1.75) * dirichlet_beta(1.75)
    assert 2.269 < tc.value - 4 * tc.error and tc.value + 4 * tc.error < t_mf
