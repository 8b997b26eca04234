"""One seed, split into independent streams, one per pipeline stage.

``stage_streams(seed)`` spawns a fixed, ordered list of child ``SeedSequence``s from
``np.random.SeedSequence(seed)``; new stages are only ever appended, so the stream of an existing
stage never changes. Nothing here touches a global RNG.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["STAGES", "stage_streams", "child_stream", "numpy_generator", "torch_generator", "as_seed_sequence"]

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
    ``seed``'s spawn counter: a pure function of (seed, key), e.g. one stream per lattice size."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, int(key)), pool_size=seed.pool_size)


def numpy_generator(ss: np.random.SeedSequence) -> np.random.Generator:
    """A PCG64 generator on one stream."""
    return np.random.Generator(np.random.PCG64(ss))


def torch_generator(ss: np.random.SeedSequence, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator on ``device`` seeded from one stream (63 bits of its entropy)."""
    seed = int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen
