"""The restricted Boltzmann machine: energies, conditionals, Gibbs sampling and exact enumeration.

Energy  E(v, h) = -vᵀWh - bᵀv - cᵀh  with  W = ``weight`` (n_visible, n_hidden),
b = ``visible_bias`` (n_visible,), c = ``hidden_bias`` (n_hidden,); p(v, h) = e^{-E}/Z.

Units (both layers share the convention):

- ``"spin"``:   values ±1.  p(h_j = +1 | v) = sigmoid(2 x_j),  E[h_j | v] = tanh(x_j),
  x = Wᵀv + c  (de Mello Koch et al.: p = (1 + tanh x)/2).
- ``"binary"``: values {0, 1}.  p(h_j = 1 | v) = E[h_j | v] = sigmoid(x_j).

Free energy  F(v) = -log Σ_h e^{-E(v,h)} = -bᵀv - Σ_j φ(x_j)  with  φ(x) = log(e^x + e^{-x})
(spin) or log(1 + e^x) (binary), both evaluated with ``logaddexp`` so nothing overflows.

Sampling: every stochastic method takes an explicit ``torch.Generator`` on the model's device; a
unit is "on" when u < E[unit] with u ~ U[-1, 1) (spin) or U[0, 1) (binary) from
:func:`fill_uniform_`. The fast training kernel (:mod:`rgexp.models.cd`) draws and compares
exactly the same way.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from rgexp.checks import is_int
from rgexp.devices import resolve_device
# Exact sums over 2^n states are refused beyond this many units in the smaller layer (its home is
# beside exact_max_units, the training hyperparameter it bounds).
from rgexp.hyperparameters import MAX_EXACT_UNITS

ROW_CHUNK = 4096  # rows of compact (int8) data converted to float at a time

__all__ = [
    "RBM",
    "ROW_CHUNK",
    "Units",
    "MAX_EXACT_UNITS",
    "enumerate_states",
    "fill_uniform_",
    "uniform_scratch",
    "resolve_dtype",
]

Units = Literal["spin", "binary"]

_CHUNK = 1 << 15  # states per enumeration chunk (bounds memory of the exact sums)


def resolve_dtype(dtype: torch.dtype | str) -> torch.dtype:
    """Accept torch.float32/float64 or their names ("float32", "float64")."""
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype.removeprefix("torch."), None)
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    return dtype


# Below this many numbers the two extra calls of the 64-bit path cost more than they save.
_FAST_UNIFORM_MIN = 32768
_MINUS_ONE = torch.tensor(-1.0)


def uniform_scratch(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Scratch for :func:`fill_uniform_` on ``out``: int64 words and their int32 view shaped like
    ``out`` (None where the plain ``uniform_`` is used). Precompute it for buffers refilled often."""
    n = out.numel()
    if out.device.type != "cpu" or out.dtype != torch.float32 or n < _FAST_UNIFORM_MIN:
        return None
    words = torch.empty((n + 1) // 2, dtype=torch.int64)
    return words, words.view(torch.int32)[:n].view(out.shape)


def fill_uniform_(out: torch.Tensor, low: float, generator: torch.Generator,
                  scratch: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """out ← i.i.d. U[low, 1), low ∈ {-1, 0}, from ``generator``; returns ``out``.

    On CPU float32 (≥ 32768 numbers) two uniforms are cut from each 64-bit word (the low 24 bits
    of each 32-bit half, times 2^-24): the same 24-bit grid as torch's float32 ``uniform_``, which
    spends one 32-bit draw per number — about 25% cheaper, torch's CPU generator being serial.
    Everywhere else it is ``out.uniform_(low, 1)``. Which path runs depends only on ``out``'s
    size, dtype and device, so every caller draws the same numbers from the same generator state.
    """
    if scratch is None:
        scratch = uniform_scratch(out)
    if scratch is None:
        return out.uniform_(low, 1.0, generator=generator)
    words, k = scratch
    words.random_(generator=generator)  # int64 random_ spans [0, 2^63): the low 24 bits of each half are uniform
    k.bitwise_and_(0xFFFFFF)
    if low == 0.0:
        return torch.mul(k, 2.0**-24, out=out)
    return torch.add(_MINUS_ONE, k, alpha=2.0**-23, out=out)


def enumerate_states(
    n: int, units: Units, start: int = 0, stop: int | None = None, *, dtype=torch.float64, device=None
) -> torch.Tensor:
    """States number ``start..stop-1`` of n units, shape (stop - start, n); bit i of the index is unit i."""
    stop = 2**n if stop is None else stop
    idx = torch.arange(start, stop, device=device, dtype=torch.int64)
    bits = (idx[:, None] >> torch.arange(n, device=device, dtype=torch.int64)) & 1
    x = bits.to(dtype)
    return 2.0 * x - 1.0 if units == "spin" else x


def is_stack(model: nn.Module) -> bool:
    """A stack of RBM layers (StackedRBM, of any depth), as opposed to one RBM: its layers
    (``model.rbms``) are not the model itself."""
    return model.rbms[0] is not model


class RBM(nn.Module):
    """A restricted Boltzmann machine with ±1 ("spin") or {0,1} ("binary") units.

    Shapes: visible batches are (n, n_visible), hidden batches (n, n_hidden). ``biases=False``
    keeps both biases at zero and frozen (``requires_grad=False``; trainers leave them alone).
    Weights start as N(0, init_std²) drawn from ``generator`` (a fresh generator seeded with 0
    when None, so construction never touches torch's global RNG).
    """

    def __init__(
        self,
        n_visible: int,
        n_hidden: int,
        units: Units = "spin",
        biases: bool = True,
        init_std: float = 0.05,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | str = torch.float32,
        device: str | torch.device | None = None,
    ) -> None:
        super().__init__()
        for name, val in (("n_visible", n_visible), ("n_hidden", n_hidden)):
            if not is_int(val) or val < 1:
                raise ValueError(f"{name} must be a positive int, got {val!r}")
        if units not in ("spin", "binary"):
            raise ValueError(f"units must be 'spin' or 'binary', got {units!r}")
        if not init_std >= 0.0:
            raise ValueError(f"init_std must be >= 0, got {init_std!r}")
        self.n_visible, self.n_hidden, self.units = int(n_visible), int(n_hidden), units
        self.biases = bool(biases)
        dtype, device = resolve_dtype(dtype), resolve_device(device)
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        w = torch.randn(self.n_visible, self.n_hidden, generator=gen, device=gen.device, dtype=dtype)
        self.weight = nn.Parameter(w.mul_(init_std).to(device))
        zeros = dict(dtype=dtype, device=device)
        self.visible_bias = nn.Parameter(torch.zeros(self.n_visible, **zeros), requires_grad=self.biases)
        self.hidden_bias = nn.Parameter(torch.zeros(self.n_hidden, **zeros), requires_grad=self.biases)

    # ---------------------------------------------------------------- conventions
    @property
    def dtype(self) -> torch.dtype:
        return self.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.weight.device

    @property
    def rbms(self) -> list["RBM"]:
        """The model's layers, bottom first: a single RBM is a one-layer stack (StackedRBM.rbms)."""
        return [self]

    @torch.no_grad()
    def propagate_up(self, v: torch.Tensor, *, sample: bool = False, generator: torch.Generator | None = None,
                     depth: int | None = None) -> list[torch.Tensor]:
        """[v, h] with h = E[h | v] (or a sample of it; depth 0: [v]): the one-layer StackedRBM.propagate_up."""
        if depth not in (None, 0, 1):
            raise ValueError(f"depth must be in [0, 1], got {depth}")
        if depth == 0:
            return [v]
        return [v, self.sample_hiddens(v, generator) if sample else self.mean_hiddens(v)]

    @property
    def low(self) -> float:
        """The 'off' value of a unit: -1 (spin) or 0 (binary)."""
        return -1.0 if self.units == "spin" else 0.0

    def extra_repr(self) -> str:
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}, units={self.units!r}, biases={self.biases}"

    def _as_tensor(self, x) -> torch.Tensor:
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        return torch.as_tensor(x).to(device=self.device, dtype=self.dtype)

    def from_spins(self, spins, compact: bool = False) -> torch.Tensor:
        """±1 configurations (n, n_visible) — or (n, *lattice) with prod(lattice) = n_visible —
        as a tensor in this model's unit convention, dtype and device. ``compact``: the same values
        as int8 (exact, a quarter of float32's memory; the trainers and :meth:`mean_hiddens`
        convert them a batch at a time)."""
        dtype = torch.int8 if compact else self.dtype
        x = torch.as_tensor(spins).to(device=self.device, dtype=dtype)
        if x.dim() > 2 or (x.dim() == 2 and x.shape[1] != self.n_visible):
            x = x.reshape(x.shape[0], -1)
        if x.dim() != 2 or x.shape[1] != self.n_visible:
            raise ValueError(f"spins must have shape (n, {self.n_visible}), got {tuple(x.shape)}")
        if self.units == "spin":
            return x
        return torch.div(x + 1, 2, rounding_mode="floor") if compact else (x + 1.0) * 0.5

    def to_spins(self, x) -> torch.Tensor:
        """Values (or means) in this model's convention mapped to the ±1 convention."""
        x = self._as_tensor(x)
        return x if self.units == "spin" else 2.0 * x - 1.0

    # ---------------------------------------------------------------- energies
    def _phi(self, x: torch.Tensor) -> torch.Tensor:
        """log Σ_{s} e^{s x} over one unit's two states, elementwise and overflow-free."""
        if self.units == "spin":
            return torch.logaddexp(x, -x)
        return torch.logaddexp(x, torch.zeros((), dtype=x.dtype, device=x.device))

    def _mean(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x) if self.units == "spin" else torch.sigmoid(x)

    def energy(self, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """E(v, h) per sample, shape (n,)."""
        return -((v @ self.weight) * h).sum(-1) - v @ self.visible_bias - h @ self.hidden_bias

    def hidden_input(self, v: torch.Tensor) -> torch.Tensor:
        """x = Wᵀv + c, shape (n, n_hidden)."""
        return torch.addmm(self.hidden_bias, v, self.weight)

    def visible_input(self, h: torch.Tensor) -> torch.Tensor:
        """y = W h + b, shape (n, n_visible)."""
        return torch.addmm(self.visible_bias, h, self.weight.t())

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) = -log Σ_h e^{-E(v,h)} per sample, shape (n,); p(v) = e^{-F(v)}/Z."""
        return -(v @ self.visible_bias) - self._phi(self.hidden_input(v)).sum(-1)

    def free_energy_hidden(self, h: torch.Tensor) -> torch.Tensor:
        """F(h) = -log Σ_v e^{-E(v,h)} per sample, shape (n,); p(h) = e^{-F(h)}/Z."""
        return -(h @ self.hidden_bias) - self._phi(self.visible_input(h)).sum(-1)

    # ---------------------------------------------------------------- conditionals and sampling
    def mean_hiddens(self, v: torch.Tensor) -> torch.Tensor:
        """E[h | v], shape (n, n_hidden). ``v`` may be compact (int8 values, see :meth:`from_spins`):
        it is then converted ``ROW_CHUNK`` rows at a time, so no float copy of the whole set exists."""
        if v.is_floating_point():
            return self._mean(self.hidden_input(v))
        out = torch.empty(v.shape[0], self.n_hidden, dtype=self.dtype, device=self.device)
        for start in range(0, v.shape[0], ROW_CHUNK):
            rows = v[start:start + ROW_CHUNK].to(device=self.device, dtype=self.dtype)
            out[start:start + ROW_CHUNK] = self._mean(self.hidden_input(rows))
        return out

    def mean_visibles(self, h: torch.Tensor) -> torch.Tensor:
        """E[v | h], shape (n, n_visible)."""
        return self._mean(self.visible_input(h))

    def sample_from_mean(self, mean: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Independent units with the given means: 'on' where u < mean (u uniform, see module doc)."""
        u = fill_uniform_(torch.empty_like(mean), self.low, generator)
        on = torch.lt(u, mean).to(mean.dtype)
        return 2.0 * on - 1.0 if self.units == "spin" else on

    def sample_hiddens(self, v: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """h ~ p(h | v), shape (n, n_hidden)."""
        return self.sample_from_mean(self.mean_hiddens(v), generator)

    def sample_visibles(self, h: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """v ~ p(v | h), shape (n, n_visible)."""
        return self.sample_from_mean(self.mean_visibles(h), generator)

    @torch.no_grad()
    def gibbs(self, v: torch.Tensor, generator: torch.Generator, k: int = 1) -> torch.Tensor:
        """k full block-Gibbs steps v → h → v; returns the final visible sample (n, n_visible)."""
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        for _ in range(k):
            v = self.sample_visibles(self.sample_hiddens(v, generator), generator)
        return v

    # ---------------------------------------------------------------- exact enumeration
    def _check_exact(self, what: str) -> None:
        n = min(self.n_visible, self.n_hidden)
        if n > MAX_EXACT_UNITS:
            raise ValueError(
                f"{what}: exact enumeration sums over 2^{n} states of the smaller layer "
                f"(n_visible={self.n_visible}, n_hidden={self.n_hidden}); refused beyond "
                f"{MAX_EXACT_UNITS} units"
            )

    def log_partition_exact(self) -> torch.Tensor:
        """log Z by summing e^{-F} over every state of the smaller layer (0-dim tensor, differentiable)."""
        self._check_exact("log_partition_exact")
        over_hidden = self.n_hidden <= self.n_visible
        n = self.n_hidden if over_hidden else self.n_visible
        f = self.free_energy_hidden if over_hidden else self.free_energy
        parts = [
            torch.logsumexp(-f(enumerate_states(n, self.units, s, min(s + _CHUNK, 2**n), dtype=self.dtype,
                                                device=self.device)), 0)
            for s in range(0, 2**n, _CHUNK)
        ]
        return torch.logsumexp(torch.stack(parts), 0)

    def log_likelihood_exact(self, v: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of log p(v) = -F(v) - log Z (0-dim tensor, differentiable)."""
        return -self.free_energy(v).mean() - self.log_partition_exact()

    def log_prob_exact(self, v: torch.Tensor) -> torch.Tensor:
        """log p(v) per sample, shape (n,)."""
        return -self.free_energy(v) - self.log_partition_exact()

    @torch.no_grad()
    def visible_distribution_exact(self) -> torch.Tensor:
        """p(v) for all 2^n_visible states in :func:`enumerate_states` order (n_visible ≤ 25)."""
        if self.n_visible > MAX_EXACT_UNITS:
            raise ValueError(f"visible_distribution_exact: 2^{self.n_visible} states refused beyond "
                             f"{MAX_EXACT_UNITS} visible units")
        states = enumerate_states(self.n_visible, self.units, dtype=self.dtype, device=self.device)
        return torch.exp(-self.free_energy(states) - self.log_partition_exact())

    def __repr__(self) -> str:  # short, without the parameter tensors
        return f"RBM({self.extra_repr()}, dtype={self.dtype}, device={self.device})"
