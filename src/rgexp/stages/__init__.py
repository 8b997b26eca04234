"""The pipeline's stages: each a module of this package with one job, run in the order the config's
``stages`` list gives (``rgexp/conf/config.yaml``; presets may override it).

A stage module defines
  NEEDS: tuple of products earlier stages must have given (``data``, ``trained``, ``flow`` …)
  USES:  (optional) products it reads when they are given: a stage that gives one must then be
         listed before it (the flow reads the thermometers; the Δ figures the transforms' fits)
  GIVES: the products it gives, one :class:`Context` field each (see there)
  run(ctx: Context) -> product       the work; logs through ``ctx.tracked`` and returns what it
                                     GIVES (a dict ``{name: product}`` when it gives several)
  applies(ctx) -> bool   (optional)  False: skipped (its analysis component is null, the model has
                                     one layer, the lattice is a chain …); decided before any work
  check(ctx) -> None     (optional)  config checks before any work (raise ConfigError); it sees in
                                     ``ctx.given`` what the stages listed before it give
  CHECKPOINTS = True     (optional)  it writes the run's first checkpoint: a stop asked for before
                                     it ends is acted on inside it, not between the stages before
The orchestrator refuses, before any work, a list whose order leaves a NEEDS or USES unmet; after
each stage it stores what the stage returned and refuses a stage that gave nothing.
Adding a stage: a module here and its name in a ``stages`` list; the orchestrator does not change.
Randomness: ``ctx.stream(stage, *keys)`` is a pure function of the run's seed and the keys, so
nothing measured depends on what else was measured, or in which order.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass, field, fields
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from omegaconf import DictConfig

from rgexp.cache import DataCache
from rgexp.config import RunSettings
from rgexp.errors import ConfigError
from rgexp.flows import RBMFlow
from rgexp.ising.data import IsingData
from rgexp.perf import StageClock
from rgexp.seeding import keyed_stream, stage_streams
from rgexp.rg import BlockSpinRG
from rgexp.stages._types import Sampler, Stop, Thermometers, Tracked, Transformed
from rgexp.stages.thermometers import coarse_sizes
from rgexp.stages.training import bottom_rbm, build_model

if TYPE_CHECKING:
    from rgexp.tracking import MLflowTracker

__all__ = ["Context", "Parts", "resolve", "check_stages", "applicable", "available", "stage_name", "build_model",
           "coarse_sizes", "bottom_rbm"]

PROVIDED_AT_START = ("config",)  # what every stage can rely on: cfg, parts, model (untrained), streams


@dataclass
class Parts:
    """The instantiated config groups (all but the model, which needs the data's size)."""

    sampler: Sampler
    flow: RBMFlow
    rg: BlockSpinRG
    analysis: dict[str, Any]  # measurements, thermometer, receptive, scaling, … (None: off)
    tracker: MLflowTracker
    cache: DataCache


@dataclass
class Context:
    """What the stages share: the validated config and the products earlier stages gave.

    A product field is None until the stage that GIVES it has run: ``data`` (the Monte Carlo data,
    monte_carlo), ``thermometers`` (thermometers), ``trained`` (the trained model, training),
    ``flow`` / ``rg`` / ``stack`` (what each transform measured), ``binned``, ``scaling``,
    ``baseline``, ``criticality``, ``receptive``, ``chain`` (each analysis stage's results); a new
    stage's product goes into ``extra``. ``model`` is the untrained model from the start (its
    architecture decides which stages apply); ``results`` is what ``run`` returns under "metrics".
    """

    cfg: DictConfig
    settings: RunSettings
    parts: Parts
    device: torch.device
    model: torch.nn.Module
    tracked: Tracked
    stop: Stop
    checkpoint: dict | None = None
    config_yaml: str = ""
    clock: StageClock = field(default_factory=lambda: StageClock(memory=True))
    # products
    data: IsingData | None = None
    data_key: str | None = None
    thermometers: Thermometers | None = None
    trained: torch.nn.Module | None = None
    flow: Transformed | None = None
    rg: Transformed | None = None
    stack: Transformed | None = None
    binned: dict[str, dict] | None = None
    scaling: dict[str, dict] | None = None
    baseline: dict[str, list] | None = None
    criticality: dict[str, float] | None = None
    receptive: dict[str, Any] | None = None
    chain: dict[float, dict] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    given: set[str] = field(default_factory=lambda: set(PROVIDED_AT_START))

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

    def give(self, name: str, product: Any) -> None:
        """Store ``product`` as ``name`` (its field, or ``extra[name]`` for a new stage's)."""
        if name in _PRODUCTS:
            setattr(self, name, product)
        else:
            self.extra[name] = product
        self.given.add(name)

    def product(self, name: str) -> Any:
        """The product ``name`` (None if not given)."""
        return getattr(self, name) if name in _PRODUCTS else self.extra.get(name)


_PRODUCTS = {f.name for f in fields(Context)} - {
    "cfg", "settings", "parts", "device", "model", "tracked", "stop", "checkpoint", "config_yaml", "clock",
    "extra", "results", "given"}


def stage_name(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


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


def _makers(name: str) -> str:
    return " or ".join(s for s in available() if name in importlib.import_module(f"{__name__}.{s}").GIVES)


def check_stages(modules: list[ModuleType], ctx: Context) -> None:
    """Every applicable stage's NEEDS met by an earlier one, every product it USES given before it
    if some stage of the list gives it, and its own config checks; no work."""
    given, giver = set(PROVIDED_AT_START), {n: stage_name(m) for m in modules for n in m.GIVES}
    for m in modules:
        name = stage_name(m)
        check = getattr(m, "check", None)
        if check is not None:  # first: a config reason (analysis.binned without a thermometer) says more
            ctx.given = set(given)  # what the stages before this one give
            check(ctx)
        missing = [n for n in m.NEEDS if n not in given]
        if missing:
            raise ConfigError(f"stages: {name} needs {missing[0]!r}, given by {_makers(missing[0])}, "
                              f"listed before it")
        after = [n for n in getattr(m, "USES", ()) if n not in given and giver.get(n, name) != name]
        if after:
            raise ConfigError(f"stages: {name} uses {after[0]!r}, given by {giver[after[0]]}, which is listed "
                              f"after it; list {giver[after[0]]} before {name}")
        given |= set(m.GIVES)
    ctx.given = set(PROVIDED_AT_START)


def store(module: ModuleType, ctx: Context, returned: Any) -> None:
    """Store what ``module.run`` returned under the names it GIVES; a stage that gave nothing for
    one of them is an error naming it (a bug in the stage, not in the config)."""
    name, gives = stage_name(module), tuple(module.GIVES)
    products = returned if len(gives) > 1 and isinstance(returned, dict) else {gives[0]: returned} if gives else {}
    missing = [n for n in gives if products.get(n) is None]
    if missing:
        raise RuntimeError(f"stage {name} gave nothing for {missing[0]!r} (its GIVES): its run() must return it")
    for n in gives:
        ctx.give(n, products[n])
