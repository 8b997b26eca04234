"""The pipeline's stages: each a module of this package with one job, run in the order the config's
``stages`` list gives (``rgexp/conf/config.yaml``; presets may override it).

A stage module defines
  NEEDS: tuple of context fields earlier stages must have given (``data``, ``trained``, ``flow`` …)
  GIVES: the fields it gives
  run(ctx: Context) -> None          the work; logs through ``ctx.tracked``, stores what it made on ctx
  applies(ctx) -> bool   (optional)  False: skipped (its analysis component is null, the model has
                                     one layer, the lattice is a chain …); decided before any work
  check(ctx) -> None     (optional)  config checks before any work (raise ConfigError)
Adding a stage: a module here and its name in a ``stages`` list; the orchestrator does not change.
Randomness: ``ctx.stream(stage, *keys)`` is a pure function of the run's seed and the keys, so
nothing measured depends on what else was measured, or in which order.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig

from rgexp.errors import ConfigError
from rgexp.ising.data import IsingData
from rgexp.perf import StageClock
from rgexp.seeding import keyed_stream, stage_streams
from rgexp.stages.training import bottom_rbm, build_model
from rgexp.stages.thermometers import coarse_sizes

__all__ = ["Context", "resolve", "check_stages", "applicable", "available", "build_model", "coarse_sizes",
           "bottom_rbm"]

PROVIDED_AT_START = ("config",)  # what every stage can rely on: cfg, parts, model (untrained), streams


@dataclass
class Context:
    """What the stages share: the validated config and what earlier stages made.

    ``data``: the Monte Carlo data (n_T, n_samples, *lattice_shape); ``model``: the model (trained
    once ``trained`` is given); ``thermometers``: lattice shape -> trained thermometer; ``curves``:
    kind -> lattice shape -> Monte Carlo curve; ``results``: what ``run`` returns under "metrics".
    """

    cfg: DictConfig
    settings: Any
    parts: Any
    device: torch.device
    model: torch.nn.Module
    tracked: Any  # rgexp.tracking.TrackedRun or any object with its logging methods (MemoryRun)
    stop: Any  # .check(after) raises Interrupted at a safe point; () -> bool
    checkpoint: dict | None = None
    config_yaml: str = ""
    clock: StageClock = field(default_factory=lambda: StageClock(memory=True))
    data: IsingData | None = None
    data_key: str | None = None
    thermometers: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    given: set[str] = field(default_factory=lambda: set(PROVIDED_AT_START))
    _measurer: Any = None

    @functools.cached_property
    def streams(self) -> dict[str, np.random.SeedSequence]:
        """The seed's stage streams (rgexp.seeding.STAGES), spawned once."""
        return stage_streams(self.settings.seed)

    def stream(self, stage: str, *keys: int | float | str) -> np.random.SeedSequence:
        """The seed stream of ``stage`` (rgexp.seeding.STAGES) at ``keys`` (names, temperatures, steps)."""
        return keyed_stream(self.streams[stage], *keys)

    @property
    def ndim(self) -> int:
        """The lattice's dimension (1: a chain)."""
        return len(self.parts.sampler.lattice_shape)

    @property
    def measurer(self):
        """The one measurer every transform (flow, RG, stack) feeds (made on first use)."""
        if self._measurer is None:
            from rgexp.measure import Measurer

            scaling = self.parts.analysis.get("scaling")
            picks = scaling.picks(self.data.temperatures) if scaling is not None else []
            self._measurer = Measurer(self.parts.analysis, self.tracked, self.thermometers,
                                      self.stream("analysis", "read"), picks, self.stream("analysis", "scaling"),
                                      self.curves, self.device)
        return self._measurer


def available() -> list[str]:
    """Every stage module's name."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def resolve(names: list[str]) -> list[ModuleType]:
    """The stage modules of ``names`` (ConfigError naming the allowed ones for an unknown name)."""
    allowed = available()
    bad = [n for n in names if n not in allowed]
    if bad:
        raise ConfigError(f"stages: unknown stage {bad[0]!r}; allowed: {', '.join(allowed)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"stages: each stage once, got {list(names)}")
    return [importlib.import_module(f"{__name__}.{n}") for n in names]


def applicable(modules: list[ModuleType], ctx: Context) -> list[ModuleType]:
    """The listed stages that apply to this config and model, in order."""
    return [m for m in modules if getattr(m, "applies", lambda c: True)(ctx)]


def check_stages(modules: list[ModuleType], ctx: Context) -> None:
    """Every applicable stage's NEEDS met by an earlier one, and its own config checks (a stage's
    ``check`` sees in ``ctx.given`` what the stages before it give); no work."""
    given = set(PROVIDED_AT_START)
    for m in modules:
        name = m.__name__.rsplit(".", 1)[-1]
        missing = [n for n in m.NEEDS if n not in given]
        if missing:
            makers = [s for s in available() if missing[0] in importlib.import_module(f"{__name__}.{s}").GIVES]
            raise ConfigError(f"stages: {name} needs {missing[0]!r}, given by {' or '.join(makers)}, "
                              f"listed before it")
        check = getattr(m, "check", None)
        if check is not None:
            ctx.given = set(given)  # what the stages before this one give
            check(ctx)
        given |= set(m.GIVES)
    ctx.given = set(PROVIDED_AT_START)
