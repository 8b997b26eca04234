"""A stack of RBMs (a deep belief network's layers): layer k's hidden units are layer k+1's visibles.

``StackedRBM([1024, 256, 64])`` holds ``rbms[0]`` (1024→256) and ``rbms[1]`` (256→64), all with the
same unit convention. Configurations travel up the stack as conditional means (mean-field) or as
samples, and back down the same way. Training is greedy, layer by layer
(:class:`~rgexp.models.StackedRBMTrainer`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .rbm import RBM, Units

__all__ = ["StackedRBM"]


class StackedRBM(nn.Module):
    """RBMs of sizes ``layers[0]→layers[1]→…``; ``n_visible`` (if given) must equal ``layers[0]``."""

    def __init__(
        self,
        layers: Sequence[int],
        units: Units = "spin",
        biases: bool = True,
        init_std: float = 0.05,
        n_visible: int | None = None,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | str = torch.float32,
        device: str | torch.device | None = None,
    ) -> None:
        super().__init__()
        sizes = list(layers)
        if len(sizes) < 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes):
            raise ValueError(f"layers must list at least two positive layer sizes, got {sizes!r}")
        if n_visible is not None and sizes[0] != n_visible:
            root = math.isqrt(n_visible)
            what = f"L² = {n_visible}" if root * root == n_visible else f"n_visible = {n_visible}"
            raise ValueError(f"layers[0] must equal the number of visible units ({what}), got {sizes[0]}")
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        self.layers = sizes
        self.rbms = nn.ModuleList(
            RBM(a, b, units=units, biases=biases, init_std=init_std, generator=gen, dtype=dtype, device=device)
            for a, b in zip(sizes[:-1], sizes[1:])
        )

    @property
    def units(self) -> Units:
        return self.rbms[0].units

    @property
    def n_visible(self) -> int:
        return self.layers[0]

    @property
    def device(self) -> torch.device:
        return self.rbms[0].device

    @property
    def dtype(self) -> torch.dtype:
        return self.rbms[0].dtype

    def __len__(self) -> int:
        return len(self.rbms)

    def from_spins(self, spins, compact: bool = False) -> torch.Tensor:
        """±1 configurations (n, n_visible) in the stack's unit convention (see :meth:`RBM.from_spins`)."""
        return self.rbms[0].from_spins(spins, compact)

    def to_spins(self, x) -> torch.Tensor:
        return self.rbms[0].to_spins(x)

    def _check_sampling(self, sample: bool, generator: torch.Generator | None) -> None:
        if sample and generator is None:
            raise ValueError("generator must be a torch.Generator when sample=True")

    @torch.no_grad()
    def propagate_up(
        self, v: torch.Tensor, *, sample: bool = False, generator: torch.Generator | None = None,
        depth: int | None = None,
    ) -> list[torch.Tensor]:
        """[v, h¹, …, h^depth] with h^{k+1} = E[h | h^k] (or a sample of it); depth defaults to the top."""
        self._check_sampling(sample, generator)
        depth = len(self.rbms) if depth is None else depth
        if not 0 <= depth <= len(self.rbms):
            raise ValueError(f"depth must be in [0, {len(self.rbms)}], got {depth}")
        out = [v]
        for rbm in self.rbms[:depth]:
            x = out[-1]
            out.append(rbm.sample_hiddens(x, generator) if sample else rbm.mean_hiddens(x))
        return out

    @torch.no_grad()
    def propagate_down(
        self, h: torch.Tensor, *, sample: bool = False, generator: torch.Generator | None = None,
        start: int | None = None,
    ) -> list[torch.Tensor]:
        """[h^start, …, h¹, v] going down with E[v | h] (or samples); ``h`` has layers[start] units
        (start defaults to the top layer)."""
        self._check_sampling(sample, generator)
        start = len(self.rbms) if start is None else start
        if not 0 <= start <= len(self.rbms):
            raise ValueError(f"start must be in [0, {len(self.rbms)}], got {start}")
        if h.shape[-1] != self.layers[start]:
            raise ValueError(f"h must have {self.layers[start]} units for start={start}, got {h.shape[-1]}")
        out = [h]
        for rbm in reversed(self.rbms[:start]):
            x = out[-1]
            out.append(rbm.sample_visibles(x, generator) if sample else rbm.mean_visibles(x))
        return out

    def extra_repr(self) -> str:
        return f"layers={self.layers}, units={self.units!r}"
