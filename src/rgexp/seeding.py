"""One seed, split into independent streams, one per pipeline stage.

``stage_streams(seed)`` spawns a fixed, ordered list of child ``SeedSequence``s from
``np.random.SeedSequence(seed)``; new stages are only ever appended, so the stream of an existing
stage never changes. Nothing here touches a global RNG.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch

__all__ = ["STAGES", "stage_streams", "child_stream", "keyed_stream", "stream_key", "temperature_streams", "numpy_generator",
           "torch_generator", "as_seed_sequence"]

# Order matters: append only.
# mc_coarse: Monte Carlo on the coarse lattices the RG steps and stack layers reach (thermometers).
# fixed_point: the flows of analysis.fixed_point during training (one child per training update).
STAGES: tuple[str, ...] = ("mc", "init", "train", "flow", "rg", "analysis", "bootstrap", "mc_coarse", "fixed_point")


def as_seed_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    """Accept an int seed or a SeedSequence; reject anything else with a clear message."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.SeedSequence(int(seed))
    raise ValueError(f"seed must be a non-negative int or np.random.SeedSequence, got {seed!r}")


def stage_streams(seed: int | np.random.SeedSequence) -> dict[str, np.random.SeedSequence]:
    """``{stage: SeedSequence}`` for every stage in :data:`STAGES`."""
    children = as_seed_sequence(seed).spawn(len(STAGES))
    return dict(zip(STAGES, children))


def child_stream(seed: np.random.SeedSequence, key: int) -> np.random.SeedSequence:
    """The child ``key`` of ``seed`` (what ``seed.spawn`` gives as child ``key``), without advancing
    ``seed``'s spawn counter: a pure function of (seed, key), e.g. one stream per lattice size; the
    one-int case of :func:`keyed_stream`."""
    return keyed_stream(seed, int(key))


# Disjoint ranges of spawn-key words, so an int, a temperature and a name never share a stream.
_FLOAT_BASE = 1 << 33     # temperatures: 2^33 + round(T · 10^9)
_NAME_BASE = 1 << 64      # names (and non-finite floats): 2^64 + the first 8 bytes of SHA-256


def stream_key(key: int | float | str) -> int:
    """The spawn-key word of ``key``: a non-negative int (< 2^33) as it is, a temperature (float ≥ 0)
    by its value to 10⁻⁹, a name (or ±∞) by its hash. So a stream keyed by T = 2.5 is the same
    whatever else the grid holds and wherever 2.5 sits in it."""
    if isinstance(key, bool):
        raise TypeError(f"stream key must be an int, float or str, got {key!r}")
    if isinstance(key, (int, np.integer)):
        if not 0 <= int(key) < _FLOAT_BASE:
            raise ValueError(f"int stream key must be in [0, 2^33), got {key}")
        return int(key)
    if isinstance(key, (float, np.floating)):
        if math.isfinite(key) and key >= 0:
            return _FLOAT_BASE + int(round(float(key) * 1e9))
        key = repr(float(key))
    if isinstance(key, str):
        return _NAME_BASE + int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    raise TypeError(f"stream key must be an int, float or str, got {key!r}")


def keyed_stream(seed: np.random.SeedSequence, *keys: int | float | str) -> np.random.SeedSequence:
    """The descendant of ``seed`` at ``keys`` (e.g. ``("flow", 2.2692, 3)``): a pure function of the
    seed and the keys, never of what else was drawn or in which order: one stream per stage,
    temperature or start, and step."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *map(stream_key, keys)),
                                  pool_size=seed.pool_size)


def temperature_streams(seed: np.random.SeedSequence, temperatures) -> list[np.random.SeedSequence]:
    """One stream per temperature, keyed by its value: a sampler's data at T are the same whatever
    else its grid holds and wherever T sits in it; ``seed`` itself is not advanced."""
    return [keyed_stream(seed, float(t)) for t in temperatures]


def numpy_generator(ss: np.random.SeedSequence) -> np.random.Generator:
    """A PCG64 generator on one stream."""
    return np.random.Generator(np.random.PCG64(ss))


def torch_generator(ss: np.random.SeedSequence, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator on ``device`` seeded from one stream (63 bits of its entropy)."""
    seed = int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen
