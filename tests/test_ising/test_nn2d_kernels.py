"""Each numba kernel against its slow NumPy/Python reference, replaying the same random stream."""

from __future__ import annotations

import numpy as np
import pytest
from ising_reference import metropolis_sweep_ref, swendsen_wang_ref, wolff_ref

from rgexp.ising._rng import Xoshiro256, _draw53_many, chain_states, threshold
from rgexp.ising.chains import run_chains
from rgexp.ising.nn2d import (
    _bond_sum,
    _spin_sum,
    metropolis_sweep,
    swendsen_wang_update,
    wolff_cluster,
)


def _random_spins(L: int, seed: int) -> np.ndarray:
    return (2 * np.random.default_rng(seed).integers(0, 2, size=(L, L)) - 1).astype(np.int8)


def _state(seed: int) -> np.ndarray:
    return chain_states(np.random.SeedSequence(seed), 1)[0].copy()


# ---- the generator --------------------------------------------------------------------------


def test_xoshiro_known_vector_and_python_twin():
    # Reference outputs of xoshiro256** from state {1, 2, 3, 4} (Blackman & Vigna's C code).
    ref = Xoshiro256(np.array([1, 2, 3, 4], dtype=np.uint64))
    assert [ref.next_u64() for _ in range(4)] == [11520, 0, 1509978240, 1215971899390074240]
    state = _state(3)
    twin = Xoshiro256(state)
    got = _draw53_many(state, 1000)
    assert got.tolist() == [twin.next_u64() >> 11 for _ in range(1000)]
    assert state.tolist() == twin.state().tolist()


def test_threshold_is_exactly_u_below_p():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2**53, size=20000, dtype=np.uint64)
    u = x.astype(np.float64) * 2.0**-53
    for p in [0.0, 1e-9, 0.3, np.exp(-8 / 2.269), 0.5, 1 - 1e-12, 1.0]:
        assert np.array_equal(x < threshold(p), u < p)
    # Exact edges: u = p itself is rejected, the largest u below p accepted.
    k = np.uint64(3 << 50)
    p = float(k) * 2.0**-53
    assert not (k < threshold(p)) and (k - np.uint64(1)) < threshold(p)


def test_chain_states_shapes_and_independence():
    a = chain_states(np.random.SeedSequence(1), 3)
    b = chain_states([np.random.SeedSequence(11), np.random.SeedSequence(12)])
    c = chain_states(np.random.default_rng(5), 2)
    assert a.shape == (3, 4) and b.shape == (2, 4) and c.shape == (2, 4)
    assert a.dtype == b.dtype == c.dtype == np.uint64
    assert len({tuple(r) for r in np.concatenate([a, b, c])}) == 7


# ---- single updates --------------------------------------------------------------------------


@pytest.mark.parametrize("L", [2, 5, 6])
@pytest.mark.parametrize("T, J, h", [(1.0, 1.0, 0.0), (2.5, 1.0, 0.3), (1.7, -0.7, -0.2)])
def test_metropolis_sweep_matches_reference(L, T, J, h):
    s = _random_spins(L, seed=L)
    state = _state(L + 10)
    ref_rng = Xoshiro256(state)
    ref = s.copy()
    for _ in range(3):
        ref, acc_ref = metropolis_sweep_ref(ref, T, ref_rng, J, h)
        acc = metropolis_sweep(s, T, state, J=J, h=h)
        assert acc == acc_ref
        assert np.array_equal(s, ref)
    assert state.tolist() == ref_rng.state().tolist()


@pytest.mark.parametrize("L", [2, 5, 6])
@pytest.mark.parametrize("T, J", [(1.5, 1.0), (3.0, 1.0), (2.0, -1.0), (2.0, 0.0)])
def test_wolff_cluster_matches_reference(L, T, J):
    s = _random_spins(L, seed=2 * L)
    state = _state(L + 20)
    ref_rng = Xoshiro256(state)
    ref = s.copy()
    for _ in range(15):
        ref, size_ref = wolff_ref(ref, T, ref_rng, J)
        size = wolff_cluster(s, T, state, J=J)
        assert size == size_ref
        assert np.array_equal(s, ref)
    assert state.tolist() == ref_rng.state().tolist()


@pytest.mark.parametrize("L", [2, 5, 6])
@pytest.mark.parametrize("T, J", [(1.5, 1.0), (3.0, 1.0), (2.0, -1.0)])
def test_swendsen_wang_matches_reference(L, T, J):
    s = _random_spins(L, seed=3 * L)
    state = _state(L + 30)
    ref_rng = Xoshiro256(state)
    ref = s.copy()
    for _ in range(5):
        ref, k_ref = swendsen_wang_ref(ref, T, ref_rng, J)
        k = swendsen_wang_update(s, T, state, J=J)
        assert k == k_ref
        assert np.array_equal(s, ref)
    assert state.tolist() == ref_rng.state().tolist()


@pytest.mark.parametrize("L", [2, 3, 7, 8])
def test_bond_and_spin_sums(L):
    s = _random_spins(L, seed=L)
    t = s.astype(int)
    assert _bond_sum(s) == (t * (np.roll(t, -1, 0) + np.roll(t, -1, 1))).sum()
    assert _spin_sum(s) == t.sum()


def test_wrappers_reject_bad_input():
    good = np.ones((4, 4), dtype=np.int8)
    with pytest.raises(TypeError, match="int8"):
        metropolis_sweep(good.astype(np.int64), 2.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape"):
        metropolis_sweep(np.ones((4, 3), dtype=np.int8), 2.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="-1 and \\+1"):
        metropolis_sweep(np.zeros((4, 4), dtype=np.int8), 2.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="^T must"):
        wolff_cluster(good, -1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="^h must be 0"):
        wolff_cluster(good, 2.0, np.random.default_rng(0), h=0.1)
    with pytest.raises(ValueError, match="^h must be 0"):
        swendsen_wang_update(good, 2.0, np.random.default_rng(0), h=0.1)
    with pytest.raises(TypeError, match="rng"):
        wolff_cluster(good, 2.0, 42)


# ---- the parallel chain driver ----------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["metropolis", "wolff", "swendsen_wang"])
def test_run_chains_matches_single_updates(algorithm):
    """Driver = the documented loop of single updates, per chain, with stores and global flips."""
    L, temps, n_sweeps, every = 6, np.array([1.8, 2.4, 3.5]), 7, 2
    spins = np.stack([_random_spins(L, seed=40 + c) for c in range(3)])
    states = chain_states(np.random.SeedSequence(9), 3)
    fps = np.array([2, 0, 3])  # Wolff: fixed counts, and the adaptive rule for chain 1
    expected_spins, expected_states, expected_store, expected_mags = [], [], [], []
    for c in range(3):
        s, st = spins[c].copy(), states[c].copy()
        stored, mags, carry = [], [], 0
        for t in range(n_sweeps):
            if algorithm == "metropolis":
                metropolis_sweep(s, temps[c], st)
            elif algorithm == "swendsen_wang":
                swendsen_wang_update(s, temps[c], st)
            else:
                flips = 0
                while (fps[c] > 0 and flips < fps[c]) or (fps[c] == 0 and carry < L * L):
                    carry += wolff_cluster(s, temps[c], st)
                    flips += 1
                carry = carry - L * L if fps[c] == 0 else 0
            if (t + 1) % every == 0:
                coin = Xoshiro256(st)
                if coin.next_u64() >> 11 < 2**52:
                    s *= -1
                st[:] = coin.state()
                stored.append(s.copy())
            mags.append(int(s.sum()))
        expected_spins.append(s)
        expected_states.append(st)
        expected_store.append(np.array(stored))
        expected_mags.append(mags)
    run = run_chains(
        spins, temps, states, n_sweeps, algorithm=algorithm, store_every=every, series_every=1,
        flips_per_sweep=fps, global_flip=True,
    )  # fmt: skip
    assert np.array_equal(spins, np.array(expected_spins))
    assert np.array_equal(states, np.array(expected_states))
    assert np.array_equal(run.stored, np.array(expected_store))
    assert run.mags.tolist() == expected_mags
    assert np.array_equal(run.bonds[:, -1], [_bond_sum(s) for s in spins])


def test_run_chains_rejects_bad_input():
    spins = np.ones((2, 4, 4), dtype=np.int8)
    states = chain_states(np.random.SeedSequence(0), 2)
    with pytest.raises(ValueError, match="^algorithm"):
        run_chains(spins, [2.0, 2.0], states, 1, algorithm="heatbath")
    with pytest.raises(ValueError, match="^temperatures"):
        run_chains(spins, [2.0, 0.0], states, 1, algorithm="wolff")
    with pytest.raises(ValueError, match="^h must be 0"):
        run_chains(spins, [2.0, 2.0], states, 1, algorithm="swendsen_wang", h=0.5)
    with pytest.raises(ValueError, match="^global_flip"):
        run_chains(spins, [2.0, 2.0], states, 1, algorithm="metropolis", h=0.5, global_flip=True)
    with pytest.raises(ValueError, match="^states"):
        run_chains(spins, [2.0, 2.0], states[:1], 1, algorithm="wolff")


# ---- ergodicity of the Metropolis sweep (exact, by iterating the distribution) ----------------


def _sweep_distribution(L: int, accept, sweeps: int) -> tuple[np.ndarray, np.ndarray]:
    """Iterate the exact distribution of one checkerboard sweep from the uniform distribution."""
    from rgexp.ising.exact import enumerate_states

    s = enumerate_states(L).astype(np.int64)
    order = [(i, j) for color in (0, 1) for i in range(L) for j in range(L) if (i + j) % 2 == color]
    v = np.full(len(s), 1.0 / len(s))
    steps = []
    for i, j in order:
        nb = s[:, (i - 1) % L, j] + s[:, (i + 1) % L, j] + s[:, i, (j - 1) % L] + s[:, i, (j + 1) % L]
        k = (nb + 4) // 2 + 5 * (s[:, i, j] > 0)
        steps.append((accept[k], np.arange(len(s)) ^ (1 << (i * L + j))))  # state index bit = site
    for _ in range(sweeps):
        for p, partner in steps:
            v = v * (1 - p) + (v * p)[partner]
    return v, s


@pytest.mark.parametrize("L, T, sweeps", [(3, 3.0, 300), (3, 1.5, 300), (4, 2.5, 100)])
def test_metropolis_sweep_is_ergodic_but_textbook_rule_is_not(L, T, sweeps):
    from rgexp.ising.exact import exact_distribution
    from rgexp.ising.nn2d import metropolis_tables

    _, _, pi = exact_distribution(L, T)
    ours = metropolis_tables(T).astype(np.float64) * 2.0**-53
    v, _ = _sweep_distribution(L, ours, sweeps)
    assert np.abs(v - pi).sum() < 1e-9
    textbook = np.minimum(1.0, np.exp(-2.0 * np.array([-1] * 5 + [1] * 5) * np.tile(np.arange(-4, 5, 2), 2) / T))
    v, _ = _sweep_distribution(L, textbook, sweeps)
    assert np.abs(v - pi).sum() > 1e-4  # stuck mass in the deterministic zero-energy cycles
