"""xoshiro256** streams for numba kernels: one independent stream per Markov chain.

A ``np.random.Generator`` cannot be shared between ``prange`` threads, and calling it from numba
goes through a function pointer per draw (~3 ns), which alone would cap checkerboard Metropolis
far below the speed goal. So the parallel kernels carry one xoshiro256** state per chain, a
``(n_chains, 4) uint64`` array, drawn from a ``np.random.SeedSequence`` or ``np.random.Generator``
by :func:`chain_states` (never from a global RNG). xoshiro256** (Blackman & Vigna 2018) passes
BigCrush; only its top 53 bits are used, as ``u = (x >> 11) * 2**-53`` in [0, 1).

Kernels compare integers, ``(x >> 11) < threshold(p)`` with ``threshold(p) = ceil(p * 2**53)``,
which is exactly ``u < p``; the NumPy references in the tests use the float form and the pure
Python generator :class:`Xoshiro256` to replay the same stream.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit

__all__ = ["chain_states", "threshold", "Xoshiro256"]

_MASK = (1 << 64) - 1
_TWO53 = 2.0**53


@njit(inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(inline="always")
def next_u64(s0, s1, s2, s3):
    """One xoshiro256** step on a state held in four locals: ``(x, s0, s1, s2, s3)``."""
    x = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return x, s0, s1, s2, s3


@njit(inline="always")
def draw53(state):
    """Advance ``state`` (a uint64[4] view, updated in place) and return the top 53 bits."""
    x, s0, s1, s2, s3 = next_u64(state[0], state[1], state[2], state[3])
    state[0] = s0
    state[1] = s1
    state[2] = s2
    state[3] = s3
    return x >> np.uint64(11)


@njit(cache=True)
def _draw53_many(state, n):
    """n successive 53-bit draws from one state (advanced in place); for tests."""
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = draw53(state)
    return out


def threshold(p: float) -> np.uint64:
    """Integer threshold t with ``(x >> 11) < t`` exactly when ``u < p`` (p clipped to [0, 1])."""
    p = min(max(float(p), 0.0), 1.0)
    return np.uint64(math.ceil(p * _TWO53))


def chain_states(
    source: np.random.SeedSequence | np.random.Generator | Sequence[np.random.SeedSequence],
    n_chains: int | None = None,
) -> np.ndarray:
    """Per-chain xoshiro256** states, shape (n_chains, 4) uint64.

    ``source`` is one Generator (``n_chains`` rows drawn from it), one SeedSequence (``n_chains``
    rows from its entropy pool) or a sequence of SeedSequences (one row each, so a chain's stream
    depends only on its own SeedSequence).
    """
    if isinstance(source, np.random.Generator):
        n = 1 if n_chains is None else int(n_chains)
        states = source.integers(0, _MASK, size=(n, 4), dtype=np.uint64, endpoint=True)
    elif isinstance(source, np.random.SeedSequence):
        n = 1 if n_chains is None else int(n_chains)
        states = source.generate_state(4 * n, dtype=np.uint64).reshape(n, 4)
    else:
        states = np.array([ss.generate_state(4, dtype=np.uint64) for ss in source], dtype=np.uint64)
        states = states.reshape(-1, 4)
    # The all-zero state is the one fixed point of xoshiro; replace it (probability 2**-256).
    zero = ~states.any(axis=1)
    states[zero, 0] = np.uint64(0x9E3779B97F4A7C15)
    return np.ascontiguousarray(states)


class Xoshiro256:
    """Pure-Python xoshiro256** on one uint64[4] state: the readable twin of the numba kernels."""

    def __init__(self, state: np.ndarray) -> None:
        self.s = [int(v) for v in np.asarray(state, dtype=np.uint64)]

    @staticmethod
    def _rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & _MASK

    def next_u64(self) -> int:
        s = self.s
        x = (self._rotl((s[1] * 5) & _MASK, 7) * 9) & _MASK
        t = (s[1] << 17) & _MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return x

    def uniform(self) -> float:
        """u in [0, 1) from the top 53 bits."""
        return (self.next_u64() >> 11) * 2.0**-53

    def state(self) -> np.ndarray:
        return np.array(self.s, dtype=np.uint64)
