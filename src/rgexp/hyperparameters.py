"""The one home of every hyperparameter: each field says its type, its default and its range once.

- :class:`TrainConfig` — training of an RBM, of every layer of a stack (``model.train``);
- :class:`StackOptions` — the stack trainer's own keys (``propagate``, ``layer_overrides``);
- :class:`ThermometerConfig` — the neural thermometer (``analysis.thermometer``).

Everything else takes from here, nothing restates a value:

- the YAML: :mod:`rgexp.schema` registers Hydra structured configs built from these classes, which
  ``conf/model/train/*.yaml`` and ``conf/analysis/default.yaml`` extend without a value of their own
  (presets and the command line still override any key: ``model.train.lr=0.01``);
- the code: :func:`takes` writes the fields, with their types and defaults, into the signatures of
  ``RBMTrainer``, ``StackedRBMTrainer``, ``NeuralThermometer`` and ``train_thermometer``, so that
  ``help()`` and the config check of :mod:`rgexp.config` (which reads signatures) see them;
- the validation: each field's ``ok``/``must`` metadata is the range check, with the words of its
  one-line error ``ValueError("<name> must be <must>, got <value>")`` (:func:`check_values`).

The defaults are the experiments' (de Mello Koch et al.'s published scripts for the RBM; the paper's
80-unit thermometer), the values every preset ran with. Values are stored as plain Python scalars
(numpy scalars converted), so ``as_dict()`` goes into a checkpoint as it is. Torch-free: the
command line registers the structured configs before it composes, without importing torch.
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Literal

from rgexp.checks import is_int, is_number, plain

__all__ = ["Hyperparameters", "TrainConfig", "StackOptions", "ThermometerConfig", "check_values", "takes",
           "LRSchedule", "Optimizer", "Propagate", "RealInputs", "Reading", "READINGS", "MAX_EXACT_UNITS"]

Optimizer = Literal["sgd", "adam"]
LRSchedule = Literal["constant", "linear", "cosine", "exponential"]
Propagate = Literal["mean", "sample"]
RealInputs = Literal["as_is", "sample", "sign"]
Reading = Literal["mean", "likelihood", "energy", "nn_energy", "magnetization"]
READINGS: tuple[str, ...] = typing.get_args(Reading)
MAX_EXACT_UNITS = 25  # exact sums over 2^n states of the smaller layer: 2^25 is the most we enumerate


def _param(ok: Callable[[Any], bool], must: str, default: Any = MISSING, *, factory: Any = MISSING,
           structural: bool = False) -> Any:
    """A field checked by ``ok``; ``must`` completes "<name> must be ..., got <value>". A
    ``structural`` one may not change between a checkpoint and its resume."""
    return field(default=default, default_factory=factory,
                 metadata={"ok": ok, "must": must, "structural": structural})


def _one_of(kind: Any) -> tuple[Callable[[Any], bool], str]:
    values = typing.get_args(kind)
    return (lambda x: x in values), "one of " + ", ".join(repr(v) for v in values)


def _int_at_least(n: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda x: is_int(x) and x >= n), f"an int >= {n}"


@dataclass(frozen=True, kw_only=True)
class Hyperparameters:
    """Base of the configs here: every value checked on construction, stored as plain Python."""

    WHAT: ClassVar[str] = "hyperparameter"

    def __post_init__(self) -> None:
        values = self.as_dict()
        check_values(type(self), **values)
        for name, value in values.items():  # frozen: the plain values go in by object.__setattr__
            object.__setattr__(self, name, plain(value))

    def as_dict(self) -> dict[str, Any]:
        """``{name: value}`` in field order (what a checkpoint stores)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def cross_check(cls, prefix: str, values: Mapping[str, Any]) -> None:
        """Checks of several fields at once (the given ones; the others may come later)."""


def check_values(cls: type[Hyperparameters], prefix: str = "", **values: Any) -> None:
    """Raise ``ValueError("<prefix><name> must be <range>, got <value>")`` for the first bad value
    among ``values`` (any subset of ``cls``'s fields)."""
    known = {f.name: f for f in fields(cls)}
    for name, value in values.items():
        if name not in known:
            raise ValueError(f"{prefix}{name} is not {cls.WHAT}; known: {', '.join(known)}")
        meta = known[name].metadata
        if not meta["ok"](value):
            raise ValueError(f"{prefix}{name} must be {meta['must']}, got {value!r}")
    cls.cross_check(prefix, values)


@dataclass(frozen=True, kw_only=True)
class TrainConfig(Hyperparameters):
    """CD-k / PCD-k training of one RBM (of every layer of a stack).

    Defaults follow de Mello Koch et al.'s published scripts: persistent CD with one Gibbs step,
    Adam with lr 1e-3 and eps 1e-2 (TensorFlow's default would be 1e-8), batch 100. They trained
    10,000–50,000 updates; ``epochs`` is kept small so the toy pipeline runs in seconds — for a
    reproduction set e.g. ``model.train.epochs=200`` (5,000 samples/epoch → ~9,000 updates).
    Iso et al.'s reproduction instead: ``optimizer=sgd lr=0.01 persistent=false`` (experiment=iso_flow).
    """

    WHAT: ClassVar[str] = "an RBM training hyperparameter"

    epochs: int = _param(*_int_at_least(1), 5)
    batch_size: int = _param(*_int_at_least(1), 100, structural=True)
    lr: float = _param(lambda x: is_number(x) and x > 0, "> 0", 1e-3)
    k: int = _param(*_int_at_least(1), 1, structural=True)  # Gibbs steps per update (CD-k / PCD-k)
    persistent: bool = _param(lambda x: isinstance(x, bool), "a bool", True, structural=True)  # PCD; false: CD
    optimizer: Optimizer = _param(*_one_of(Optimizer), "adam", structural=True)
    momentum: float = _param(lambda x: is_number(x) and 0 <= x < 1, "in [0, 1)", 0.0, structural=True)  # sgd only
    weight_decay: float = _param(lambda x: is_number(x) and x >= 0, ">= 0", 0.0)  # L2 on the weights
    l1: float = _param(lambda x: is_number(x) and x >= 0, ">= 0", 0.0)  # L1 on the weights
    adam_beta1: float = _param(lambda x: is_number(x) and 0 <= x < 1, "in [0, 1)", 0.9)
    adam_beta2: float = _param(lambda x: is_number(x) and 0 <= x < 1, "in [0, 1)", 0.999)
    adam_eps: float = _param(lambda x: is_number(x) and x > 0, "> 0", 1e-2)
    lr_schedule: LRSchedule = _param(*_one_of(LRSchedule), "constant")
    # lr at the last update / lr (non-constant schedules)
    lr_final_fraction: float = _param(lambda x: is_number(x) and 0 < x <= 1, "in (0, 1]", 0.01)
    # held out for the free-energy gap
    holdout_fraction: float = _param(lambda x: is_number(x) and 0 <= x < 1, "in [0, 1)", 0.1, structural=True)
    # epochs between logged metrics (the last epoch is always logged; 0: none)
    metrics_every: int = _param(lambda x: is_int(x) and x >= 0, "an int >= 0", 1)
    metric_samples: int = _param(*_int_at_least(1), 1000)  # for reconstruction error, pseudo-LL and the gap
    # exact log-likelihood and KL when min(n_visible, n_hidden) <= this
    exact_max_units: int = _param(lambda x: is_int(x) and 0 <= x <= MAX_EXACT_UNITS,
                                  f"an int in [0, {MAX_EXACT_UNITS}]", 20)

    @classmethod
    def cross_check(cls, prefix: str, values: Mapping[str, Any]) -> None:
        if values.get("momentum") and values.get("optimizer", "sgd") != "sgd":  # once both are known
            raise ValueError(f"{prefix}momentum must be 0 with optimizer='adam' (Adam has its own), "
                             f"got {values['momentum']!r}")


def _overrides_ok(x: Any) -> bool:
    if x is None:
        return True
    if isinstance(x, Mapping):
        return all(is_int(k) or (isinstance(k, str) and k.isdigit()) for k in x) and all(
            v is None or isinstance(v, Mapping) for v in x.values())
    return isinstance(x, (list, tuple)) and all(v is None or isinstance(v, Mapping) for v in x)


@dataclass(frozen=True, kw_only=True)
class StackOptions(Hyperparameters):
    """What a stack's trainer adds to :class:`TrainConfig`: how data reach the next layer, and
    per-layer values (``{layer index: {hyperparameter: value}}`` or a list with one dict per layer,
    e.g. Mehta & Schwab's lr/momentum/L1 per layer)."""

    WHAT: ClassVar[str] = "a stacked-RBM training option"

    propagate: Propagate = _param(*_one_of(Propagate), "mean")  # what layer k hands to layer k+1
    layer_overrides: Mapping[int, Mapping[str, Any]] | Sequence[Mapping[str, Any]] | None = _param(
        _overrides_ok, "a mapping {layer: {hyperparameter: value}}, a list of such dicts or null", factory=dict)


def _grid_ok(x: Any) -> bool:
    if x is None:
        return True
    if not isinstance(x, (list, tuple)) or len(x) < 2 or len(set(x)) != len(x):
        return False
    return all(is_number(t) and math.isfinite(t) and t > 0 for t in x)


@dataclass(frozen=True, kw_only=True)
class ThermometerConfig(Hyperparameters):
    """The neural thermometer (de Mello Koch et al.: L² → 80 tanh → n_T softmax, 60/40 split),
    trained on Monte Carlo data; it reads T along the RBM flow, RG steps and stack layers.

    real_inputs: how real-valued inputs (block averages, mean-field flows, stack layers) are fed:
        as they are, as ±1 draws with mean x, or as their signs (0: random).
    coarse_lattices: also one thermometer per coarse lattice (RG steps, square stack layers;
        side >= 4), on new Monte Carlo data of that size: reads T along RG steps and stack layers.
    temperatures: None: the classes are the data's grid; a list: every thermometer trains on new
        Monte Carlo data at these T (a wider grid lets coarse-grained lattices read beyond the data's).
    n_samples: with ``temperatures``, configurations per T (None: ``sampler.n_samples``).
    reading: the temperature logged for a set of configurations: mean (of each configuration's
        argmax T, the paper's) | likelihood | energy | nn_energy | magnetization — what each means:
        :class:`rgexp.analysis.NeuralThermometer`.
    """

    WHAT: ClassVar[str] = "a thermometer hyperparameter"

    hidden: int = _param(*_int_at_least(1), 80)
    epochs: int = _param(*_int_at_least(1), 30)
    batch_size: int = _param(*_int_at_least(1), 100)
    lr: float = _param(lambda x: is_number(x) and math.isfinite(x) and x > 0, "a finite float > 0", 1e-3)
    optimizer: Optimizer = _param(*_one_of(Optimizer), "adam")
    weight_decay: float = _param(lambda x: is_number(x) and math.isfinite(x) and x >= 0, "a finite float >= 0", 0.0)
    train_fraction: float = _param(lambda x: is_number(x) and 0 < x < 1, "in (0, 1)", 0.6)  # 60/40 split
    real_inputs: RealInputs = _param(*_one_of(RealInputs), "as_is")
    coarse_lattices: bool = _param(lambda x: isinstance(x, bool), "true or false", True)
    temperatures: list[float] | None = _param(
        _grid_ok, "null or a list of >= 2 distinct finite numbers > 0", None)
    n_samples: int | None = _param(lambda x: x is None or (is_int(x) and x >= 2), "null or an integer >= 2", None)
    reading: Reading = _param(*_one_of(Reading), "mean")

    TRAINING: ClassVar[tuple[str, ...]] = ("hidden", "epochs", "batch_size", "lr", "optimizer", "weight_decay",
                                           "train_fraction")  # what train_thermometer takes

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.temperatures is not None:
            object.__setattr__(self, "temperatures", [float(t) for t in self.temperatures])

    @classmethod
    def cross_check(cls, prefix: str, values: Mapping[str, Any]) -> None:
        if values.get("n_samples") is not None and "temperatures" in values and values["temperatures"] is None:
            raise ValueError(f"{prefix}n_samples applies to fresh thermometer data only: set temperatures too, "
                             "or n_samples=null")


def takes(*classes: type[Hyperparameters], only: tuple[str, ...] | None = None) -> Callable[[Any], Any]:
    """Decorator: a class's ``__init__`` (or a function) taking ``**hyperparameters`` shows the fields
    of ``classes`` (those in ``only``, if given) in place of them — in its ``__signature__`` (after
    the parameters without a default) and its annotations — so that whatever reads signatures (the
    config check, ``help()``) sees the real keywords, with the types and defaults of their home."""

    def decorate(obj: Any) -> Any:
        fn = obj.__init__ if inspect.isclass(obj) else obj
        params = list(inspect.signature(fn).parameters.values())
        var_kw = next(p for p in params if p.kind is p.VAR_KEYWORD)
        params.remove(var_kw)
        hints: dict[str, Any] = {}
        extra = []
        for cls in classes:
            cls_hints = typing.get_type_hints(cls)
            for f in fields(cls):
                if only is not None and f.name not in only:
                    continue
                default = f.default if f.default is not MISSING else (
                    f.default_factory() if f.default_factory is not MISSING else inspect.Parameter.empty)
                extra.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY,
                                               annotation=cls_hints[f.name], default=default))
                hints[f.name] = cls_hints[f.name]
        at = max((i for i, p in enumerate(params) if p.default is inspect.Parameter.empty), default=-1) + 1
        fn.__signature__ = inspect.signature(fn).replace(parameters=params[:at] + extra + params[at:])
        fn.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k != var_kw.name} | hints
        return obj

    return decorate
