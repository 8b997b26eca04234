"""The RBM flow: v_0 -> h ~ p(h|v_0) -> v_1 ~ p(v|h) -> ..., every length kept.

The model must provide ``sample_hiddens``, ``sample_visibles``, ``mean_hiddens`` and
``mean_visibles`` (``rgexp.models.RBM`` does). In mean-field mode each half step takes the
conditional mean instead of a sample, so no randomness is used.
"""

from __future__ import annotations

from typing import Literal

import torch

__all__ = ["rbm_flow", "RBMFlow", "random_spins", "check_random_start"]

RandomStart = Literal["iid", "half"]


@torch.no_grad()
def rbm_flow(
    model,
    v0: torch.Tensor,
    n_steps: int,
    gen: torch.Generator | None = None,
    mean_field: bool = False,
) -> torch.Tensor:
    """Configurations along the flow.

    v0: (n, n_visible) in the model's unit convention. Returns (n_steps + 1, n, n_visible);
    element 0 is v0 itself. ``gen`` is required unless ``mean_field``.
    """
    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, got {n_steps}")
    if not mean_field and gen is None:
        raise ValueError("a sampled RBM flow needs a torch.Generator (or mean_field=True)")
    out = torch.empty((n_steps + 1, *v0.shape), dtype=v0.dtype, device=v0.device)
    out[0] = v0
    v = v0
    for step in range(1, n_steps + 1):
        if mean_field:
            v = model.mean_visibles(model.mean_hiddens(v))
        else:
            v = model.sample_visibles(model.sample_hiddens(v, gen), gen)
        out[step] = v
    return out


START_TEMPERATURES = {"random": float("inf"), "ordered": 0.0}  # what each extra start stands for


def check_random_start(kind: str) -> str:
    """``kind`` if it names a T = ∞ start (iid, half), else a ValueError naming the choices."""
    if kind not in ("iid", "half"):
        raise ValueError(f"random_start must be one of iid, half; got {kind!r}")
    return kind


def random_spins(n: int, n_visible: int, generator: torch.Generator, kind: RandomStart = "iid") -> torch.Tensor:
    """(n, n_visible) ±1 T = ∞ configurations on the generator's device: independent spins
    (``iid``), or each row a uniformly random arrangement of exactly ⌊n_visible/2⌋ up spins
    (``half``, Iso et al.'s public reproduction: m = 0 exactly)."""
    if check_random_start(kind) == "iid":
        bits = torch.randint(0, 2, (n, n_visible), generator=generator, device=generator.device)
        return 2.0 * bits.to(torch.float32) - 1.0
    keys = torch.rand(n, n_visible, generator=generator, device=generator.device)
    ranks = keys.argsort(dim=1).argsort(dim=1)  # a uniformly random permutation per row
    return torch.where(ranks < n_visible // 2, 1.0, -1.0)


class RBMFlow:
    """Config group ``flow``: flow ``n_samples`` configurations per temperature for ``n_steps``.

    extra_starts: also flow from ``random`` (T = ∞) and/or ``ordered`` (all +1, T = 0)
    configurations; they are logged as temperatures ``inf`` and ``0``.
    random_start: the random start's spins, ``iid`` (independent ±1) or ``half`` (exactly half up).
    """

    def __init__(self, n_steps: int = 10, mean_field: bool = False, n_samples: int = 200,
                 extra_starts: list[Literal["random", "ordered"]] = (), random_start: RandomStart = "iid") -> None:
        self.random_start = check_random_start(random_start)
        if n_steps < 0:
            raise ValueError(f"n_steps must be >= 0, got {n_steps}")
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        bad = [s for s in extra_starts if s not in START_TEMPERATURES]
        if bad:
            raise ValueError(f"extra_starts must be drawn from 'random', 'ordered'; got {list(extra_starts)}")
        self.n_steps, self.mean_field, self.n_samples = n_steps, mean_field, n_samples
        self.extra_starts = list(dict.fromkeys(extra_starts))

    def start(self, kind: str, n_visible: int, gen: torch.Generator) -> torch.Tensor:
        """(n_samples, n_visible) ±1 starting configurations of an extra start (on gen's device)."""
        if kind == "ordered":
            return torch.ones(self.n_samples, n_visible, device=gen.device)
        return random_spins(self.n_samples, n_visible, gen, self.random_start)

    def __call__(self, model, v0: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """(n_steps + 1, min(n, n_samples), n_visible) flowed configurations of the first rows."""
        return rbm_flow(model, v0[: self.n_samples], self.n_steps, gen, self.mean_field)
