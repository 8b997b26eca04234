"""What the stages hand each other, typed: the protocols of the objects a stage uses (the run it
logs into, the stop flag, the trainer, the samplers with extra structure) and the products a stage
GIVES (:class:`Thermometers`, :class:`Transformed`).

A stage never sniffs an object with ``hasattr``/``getattr``: what it needs is a protocol here,
which the object implements (``isinstance`` on a ``runtime_checkable`` one where a stage applies
only to some samplers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np
import torch

__all__ = ["Sampler", "Tracked", "Stop", "Trainer", "CouplingTable", "LongRange", "NearestNeighbourChain",
           "Thermometers", "Transformed", "Shape"]

Shape = tuple[int, ...]


class Sampler(Protocol):
    """A ``sampler`` group object (rgexp.ising): Monte Carlo or exact data on a temperature grid."""

    temperatures: list[float]
    n_samples: int

    @property
    def lattice_shape(self) -> Shape: ...

    def sample(self, seed: np.random.SeedSequence, progress: bool = False) -> Any: ...  # -> IsingData


class Tracked(Protocol):
    """Where a stage logs: :class:`rgexp.tracking.TrackedRun` (MLflow) or :class:`rgexp.tracking.MemoryRun`."""

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None: ...

    # fig: a Figure, or a function drawing one, called before log_figure returns (or, figures off, never)
    def log_figure(self, fig: Any, path: str) -> None: ...

    def log_arrays(self, path: str, **arrays: np.ndarray) -> None: ...

    def set_tags(self, tags: dict[str, str]) -> None: ...

    def flush(self) -> None: ...

    def save_checkpoint(self, state: dict, path: str = ...) -> None: ...


class Stop(Protocol):
    """The run's stop flag: true once a stop was asked for; ``check`` raises Interrupted at a safe point."""

    def __call__(self) -> bool: ...

    def check(self, after: str, where: str = "") -> None: ...


class Trainer(Protocol):
    """What the training stage drives: :class:`rgexp.models.RBMTrainer` or :class:`rgexp.models.StackedRBMTrainer`."""

    model: torch.nn.Module

    @property
    def update(self) -> int: ...  # completed updates (of every layer, for a stack)

    @property
    def total_updates(self) -> int: ...

    @property
    def metrics_seconds(self) -> float: ...  # time spent measuring diagnostics

    def fit(self, log: Callable | None = None, on_checkpoint: Callable | None = None, checkpoint_every: int = 0,
            should_stop: Callable[[], bool] | None = None) -> dict[str, float]: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


@runtime_checkable
class CouplingTable(Protocol):
    """A sampler whose energy has a coupling table (long range): its energy reading uses it."""

    def coupling_table(self, L: int | None = None) -> np.ndarray: ...


@runtime_checkable
class LongRange(Protocol):
    """A long-range sampler (couplings ~ 1/r^(d+σ)): the criticality stage scans its Binder crossings."""

    sigma: float
    d: int
    J: float
    couplings: str  # images | minimum_image
    temperatures: list[float]

    def coupling_table(self, L: int | None = None) -> np.ndarray: ...


@runtime_checkable
class NearestNeighbourChain(Protocol):
    """A nearest-neighbour chain (coupling J, field h): its decimation recursion is exact."""

    J: float
    h: float
    periodic: bool


@dataclass
class Thermometers:
    """What the ``thermometers`` stage gives.

    ``by_shape``: lattice shape -> the thermometer trained on Monte Carlo data of that lattice
    (empty when the grid has a single temperature); ``curves``: kind (energy, nn_energy,
    magnetization) -> lattice shape -> its Monte Carlo curve against T; ``reader``: the
    ``analysis.thermometer`` component that trained them and reads with them.
    """

    by_shape: dict[Shape, Any]
    curves: dict[str, dict[Shape, Any]]
    reader: Any

    def curve(self, kind: str, shape: Shape) -> Any | None:
        """The ``kind`` curve of ``shape`` lattices, or None."""
        return self.curves.get(kind, {}).get(tuple(shape))


@dataclass
class Transformed:
    """What a transform stage (rbm_flow, block_rg, stack_layers) gives: the measurements of every
    step of every start. Configurations are not kept (GBs at paper scale): each step is measured,
    pooled and fitted as it is made.

    ``curves``: start T -> observable -> [(value, error) per step]; ``deltas``: scaling
    temperature (None: the main one; else an extra one's T) -> operator -> [(step, Δ, ci_low,
    ci_high)]; ``readings``: start T -> the thermometer readings per step; ``pools``: binning
    (network | energy) -> the flowed configurations pooled per step and bin (rbm_flow with
    ``analysis.binned``); ``n_configurations``: configurations per temperature measured.
    """

    stage: str  # the metric family: flow | rg | stack
    curves: dict[float, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)
    deltas: dict[float | None, dict[str, list[tuple[int, float, float, float]]]] = field(default_factory=dict)
    readings: dict[float, list[Any]] = field(default_factory=dict)
    pools: dict[str, Any] = field(default_factory=dict)
    n_configurations: int = 0
