"""Two-point functions: FFT kernel vs direct loops, exact chains, exact 4×4 enumeration, error bars.

Samples are exact and independent (1D transfer-matrix sampler; 4×4 states drawn from the
enumerated Boltzmann distribution), so plain standard errors apply.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rgexp.analysis.correlators import (
    correlation_by_displacement,
    correlation_function,
    correlation_map,
    displacement_classes,
)
from rgexp.ising import T_C, enumerate_states, exact_distribution, sample_ising1d

# --------------------------------------------------------------------------- slow references


def _fields_direct(s: np.ndarray, operator: str) -> list[tuple[np.ndarray, bool]]:
    """Operator fields by explicit site loops (the readable reference), one config (L, L) or (N,)."""
    if s.ndim == 1:
        N = s.size
        bond = np.array([s[i] * s[(i + 1) % N] for i in range(N)])
        if operator == "sigma":
            return [(s.copy(), False)]
        if operator == "epsilon":
            return [(bond, False)]
        return [(np.array([s[i] * (s[(i - 1) % N] + s[(i + 1) % N]) for i in range(N)]), False)]
    L = s.shape[0]
    ex, ey, e4 = np.empty((L, L)), np.empty((L, L)), np.empty((L, L))
    for y in range(L):
        for x in range(L):
            ex[y, x] = s[y, x] * s[y, (x + 1) % L]
            ey[y, x] = s[y, x] * s[(y + 1) % L, x]
            nn = s[y, (x + 1) % L] + s[y, (x - 1) % L] + s[(y + 1) % L, x] + s[(y - 1) % L, x]
            e4[y, x] = s[y, x] * nn
    fields = {"sigma": [(s.copy(), False)], "epsilon": [(ex, False), (ey, True)], "epsilon4": [(e4, False)]}
    return fields[operator]


def _map_direct(spins: np.ndarray, operator: str, connected: bool) -> np.ndarray:
    """G[d] = mean over rows and sites of O(x) O(x + d) (− ⟨O⟩²) by a double loop over x and d."""
    n, shape = spins.shape[0], spins.shape[1:]
    per_row = [_fields_direct(spins[i].astype(float), operator) for i in range(n)]
    n_comp = len(per_row[0])
    out = np.zeros(shape)
    for d in np.ndindex(*shape):
        total = 0.0
        for comps in per_row:
            for field, transpose in comps:
                dd = d[::-1] if transpose else d  # the ŷ-bond map is read transposed
                acc = 0.0
                for x in np.ndindex(*shape):
                    xd = tuple((xi + di) % li for xi, di, li in zip(x, dd, shape))
                    acc += field[x] * field[xd]
                total += acc / field.size
        out[d] = total / (n * n_comp)
    if connected:
        means = [np.mean([comps[k][0].mean() for comps in per_row]) for k in range(n_comp)]
        out -= np.mean(np.square(means))
    return out


# --------------------------------------------------------------------------- kernel vs direct


@pytest.mark.parametrize("operator", ["sigma", "epsilon", "epsilon4"])
@pytest.mark.parametrize("shape", [(3, 7), (3, 5, 5), (2, 4, 4)])
@pytest.mark.parametrize("connected", [True, False])
def test_fft_map_matches_direct_double_loop(operator, shape, connected):
    x = np.random.default_rng(1).normal(0.3, 1.0, size=shape)  # real-valued, nonzero mean
    G, _ = correlation_map(x, operator, connected=connected)
    np.testing.assert_allclose(G, _map_direct(x, operator, connected), rtol=1e-12, atol=1e-12)


def test_profiles_are_averages_of_the_map():
    x = np.random.default_rng(2).normal(size=(6, 6, 6))
    G_map, _ = correlation_map(x, "epsilon")
    r, G_axis, _ = correlation_function(x, "epsilon")
    L = 6
    expect = [np.mean([G_map[0, k % L], G_map[k % L, 0], G_map[0, -k % L], G_map[-k % L, 0]]) for k in r]
    np.testing.assert_allclose(G_axis, expect, rtol=1e-12)
    d, G_cls, _ = correlation_by_displacement(x, "epsilon")
    _, index = displacement_classes(L)
    for k, (dx, dy) in enumerate(d):
        assert index[dy, dx] == k
        np.testing.assert_allclose(G_cls[k], G_map[index == k].mean(), rtol=1e-12)


def test_map_of_int8_and_float_inputs_agree():
    s = np.random.default_rng(3).choice(np.array([-1, 1], dtype=np.int8), size=(5, 6, 6))
    for op in ("sigma", "epsilon", "epsilon4"):
        np.testing.assert_allclose(correlation_map(s, op)[0], correlation_map(s.astype(float), op)[0])


# --------------------------------------------------------------------------- exact 1D chains


def _z(G, dG, exact):
    return np.abs(G - exact) / dG


@pytest.mark.parametrize("T", [1.0, 2.5])
def test_sigma_on_periodic_chain_matches_closed_form(T):
    N, n = 12, 20_000
    s = sample_ising1d(N, T, n, seed=11)
    r, G, dG = correlation_function(s, "sigma")
    t = math.tanh(1.0 / T)
    exact = (t**r + t ** (N - r)) / (1.0 + t**N)
    assert r.tolist() == list(range(N // 2 + 1))
    assert np.max(_z(G, dG, exact)) < 4.0


def _bond_moments(N: int, T: float) -> tuple[float, float]:
    """⟨b⟩ and ⟨b_i b_j⟩ (i ≠ j) of the bonds b_i = s_i s_{i+1} of the periodic chain, h = 0.

    The bonds are independent with weight e^{K b} except for the constraint Π b_i = +1, so
    ⟨Π_{i∈S} b_i⟩ = (t^|S| + t^(N−|S|)) / (1 + t^N), t = tanh K.
    """
    t = math.tanh(1.0 / T)
    return (t + t ** (N - 1)) / (1 + t**N), (t**2 + t ** (N - 2)) / (1 + t**N)


@pytest.mark.parametrize("N, T", [(6, 1.0), (8, 1.5)])
def test_epsilon_on_periodic_chain_matches_closed_form(N, T):
    s = sample_ising1d(N, T, 40_000, seed=12)
    b1, b2 = _bond_moments(N, T)
    r, G, dG = correlation_function(s, "epsilon")
    exact = np.where(r == 0, 1.0, b2) - b1**2  # constant for r >= 1, and nonzero for finite N
    assert exact[1] > 8 * dG[1]  # the finite-N signal is resolved
    assert np.max(_z(G, dG, exact)) < 4.0
    # ε4 = b_{i-1} + b_i: 4 bond pairs, of which r = 0 has two and r = 1 one coincident pair.
    r, G4, dG4 = correlation_function(s, "epsilon4")
    same = np.select([r == 0, r == 1], [2, 1], 0)
    exact4 = same * 1.0 + (4 - same) * b2 - (2 * b1) ** 2
    assert np.max(_z(G4, dG4, exact4)) < 4.0


def test_error_bars_match_the_spread_of_independent_replicates():
    """dG (delta method, with the ⟨O⟩² subtraction) against the scatter of 300 replicates."""
    N, T, n, reps = 8, 1.2, 200, 300
    s = sample_ising1d(N, T, n * reps, seed=13).reshape(reps, n, N)
    for op in ("sigma", "epsilon"):
        out = [correlation_function(x, op) for x in s]
        G = np.array([o[1] for o in out])
        dG = np.array([o[2] for o in out]).mean(axis=0)
        ratio = G.std(axis=0, ddof=1)[1:] / dG[1:]
        # sd of a sample sd from 300 replicates is ~4 %: allow 15 %.
        np.testing.assert_allclose(ratio, 1.0, atol=0.15)


def test_tau_int_inflates_errors():
    s = sample_ising1d(8, 1.0, 500, seed=14)
    _, _, d1 = correlation_function(s)
    _, _, d2 = correlation_function(s, tau_int=2.0)
    np.testing.assert_allclose(d2, 2.0 * d1)


# --------------------------------------------------------------------------- exact 4×4 torus


def _exact_maps_4x4(T: float) -> dict[str, np.ndarray]:
    """Exact connected σ and ε maps of the 4×4 torus by enumeration (np.roll, no FFT)."""
    states = enumerate_states(4).astype(np.float64)
    _, _, p = exact_distribution(4, T)
    ex = states * np.roll(states, -1, axis=2)
    ey = states * np.roll(states, -1, axis=1)
    out = {"sigma": np.zeros((4, 4)), "epsilon": np.zeros((4, 4))}
    for dy in range(4):
        for dx in range(4):
            shift = lambda f, a, b: np.roll(f, (-a, -b), axis=(1, 2))  # noqa: E731
            ss = (states * shift(states, dy, dx)).mean(axis=(1, 2))
            ee = 0.5 * (ex * shift(ex, dy, dx) + ey * shift(ey, dx, dy)).mean(axis=(1, 2))
            out["sigma"][dy, dx] = p @ ss
            out["epsilon"][dy, dx] = p @ ee
    out["epsilon"] -= (p @ ex.mean(axis=(1, 2))) ** 2  # ⟨s⟩ = 0 exactly, ⟨ε_x⟩ = ⟨ε_y⟩
    return out


@pytest.mark.parametrize("T", [1.8, T_C, 3.5])
def test_4x4_correlators_match_exact_enumeration(T):
    exact = _exact_maps_4x4(T)
    _, _, p = exact_distribution(4, T)
    rng = np.random.default_rng(15)
    s = enumerate_states(4)[rng.choice(p.size, size=30_000, p=p)]
    for op in ("sigma", "epsilon"):
        G, dG = correlation_map(s, op)
        assert np.max(np.abs(G - exact[op]) / dG) < 4.5, op
        r, Gr, dGr = correlation_function(s, op)
        ex_r = np.array([0.5 * (exact[op][0, k] + exact[op][k, 0]) for k in r])
        assert np.max(np.abs(Gr - ex_r) / dGr) < 4.5, op


# --------------------------------------------------------------------------- conventions


def test_subtract_abs_is_sign_blind_and_mean_is_not():
    rng = np.random.default_rng(16)
    s = np.where(rng.random((400, 6, 6)) < 0.9, 1, -1).astype(np.int8)  # ordered, one sign
    flipped = s * np.where(rng.random(400) < 0.5, 1, -1).astype(np.int8)[:, None, None]
    a = correlation_function(s, subtract="abs")[1]
    b = correlation_function(flipped, subtract="abs")[1]
    np.testing.assert_allclose(a, b)
    # "mean" on the sign-symmetrised sample keeps the m² plateau: G(L/2) ≈ 0.64, not ≈ 0.
    assert correlation_function(flipped)[1][-1] > 0.5
    assert abs(correlation_function(s)[1][-1]) < 0.05


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((3, 4, 5)), "square"),
        (np.zeros((3,)), "chains"),
        (np.zeros((2, 1)), "at least"),
    ],
)
def test_bad_shapes_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        correlation_function(bad)


def test_bad_options_are_refused():
    x = np.ones((2, 4, 4))
    with pytest.raises(ValueError, match="operator"):
        correlation_function(x, "tau")
    with pytest.raises(ValueError, match="subtract"):
        correlation_function(x, subtract="median")
    with pytest.raises(ValueError, match="tau_int"):
        correlation_function(x, tau_int=0.1)
    with pytest.raises(ValueError, match="lattices"):
        correlation_by_displacement(np.ones((2, 6)))
