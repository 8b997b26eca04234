"""RBM training hyperparameters, said once: the frozen :class:`TrainConfig`.

Each field carries its type, its default and its range check with the words of its error
(``ValueError("<name> must be <range>, got <value>")``). Everything else reads them from here:

- :class:`~rgexp.models.RBMTrainer` and :class:`~rgexp.models.StackedRBMTrainer` take the fields as
  keyword arguments (``model.train`` in ``conf/model/train/rbm.yaml``) and hold a ``TrainConfig``
  (one per layer in a stack); :func:`takes_hyperparameters` writes the fields into their
  signatures, so ``inspect.signature`` — and with it the config check of :mod:`rgexp.config` and
  ``help()`` — sees every hyperparameter with its type and default as if it were written out;
- :func:`validate_hyperparameters` checks any subset (a layer's overrides, a config before any
  work) by the same fields;
- ``STRUCTURAL`` names those a checkpoint's resume may not change.

Values are stored as plain Python scalars (numpy scalars converted), so ``as_dict()`` goes into a
checkpoint as it is.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal

from rgexp.checks import is_int, is_number, plain

from .optim import LRSchedule
from .rbm import MAX_EXACT_UNITS

__all__ = ["TrainConfig", "HYPERPARAMETERS", "STRUCTURAL", "validate_hyperparameters", "takes_hyperparameters"]


def _param(ok: Callable[[Any], bool], must: str, default: Any = MISSING, *, structural: bool = False) -> Any:
    """A field checked by ``ok``; ``must`` completes "<name> must be ..., got <value>". A
    ``structural`` one may not change between a checkpoint and its resume."""
    return field(default=default, metadata={"ok": ok, "must": must, "structural": structural})


def _one_of(kind: Any) -> tuple[Callable[[Any], bool], str]:
    values = typing.get_args(kind)
    return (lambda x: x in values), "one of " + ", ".join(repr(v) for v in values)


Optimizer = Literal["sgd", "adam"]


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """CD-k / PCD-k training of one RBM (of every layer of a stack)."""

    epochs: int = _param(lambda x: is_int(x) and x >= 1, "an int >= 1")
    batch_size: int = _param(lambda x: is_int(x) and x >= 1, "an int >= 1", structural=True)
    lr: float = _param(lambda x: is_number(x) and x > 0, "> 0")
    k: int = _param(lambda x: is_int(x) and x >= 1, "an int >= 1", 1, structural=True)  # Gibbs steps per update
    persistent: bool = _param(lambda x: isinstance(x, bool), "a bool", False, structural=True)  # PCD
    optimizer: Optimizer = _param(*_one_of(Optimizer), "adam", structural=True)
    momentum: float = _param(lambda x: is_number(x) and 0 <= x < 1, "in [0, 1)", 0.0, structural=True)  # sgd only
    weight_decay: float = _param(lambda x: is_number(x) and x >= 0, ">= 0", 0.0)  # L2 on the weights
    l1: float = _param(lambda x: is_number(x) and x >= 0, ">= 0", 0.0)  # L1 on the weights
    adam_beta1: float = _param(lambda x: is_number(x) and 0 <= x < 1, "in [0, 1)", 0.9)
    adam_beta2: float = _param(lambda x: is_number(x) and 0 <= x < 1, "in [0, 1)", 0.999)
    adam_eps: float = _param(lambda x: is_number(x) and x > 0, "> 0", 1e-8)
    lr_schedule: LRSchedule = _param(*_one_of(LRSchedule), "constant")
    lr_final_fraction: float = _param(lambda x: is_number(x) and 0 < x <= 1, "in (0, 1]", 0.01)
    holdout_fraction: float = _param(lambda x: is_number(x) and 0 <= x < 1, "in [0, 1)", 0.1, structural=True)
    metrics_every: int = _param(lambda x: is_int(x) and x >= 0, "an int >= 0", 1)  # 0: no metrics
    metric_samples: int = _param(lambda x: is_int(x) and x >= 1, "an int >= 1", 1000)
    exact_max_units: int = _param(lambda x: is_int(x) and 0 <= x <= MAX_EXACT_UNITS,
                                  f"an int in [0, {MAX_EXACT_UNITS}]", 20)

    def __post_init__(self) -> None:
        values = self.as_dict()
        validate_hyperparameters(**values)
        for name, value in values.items():  # frozen: the plain values go in by object.__setattr__
            object.__setattr__(self, name, plain(value))

    def as_dict(self) -> dict[str, Any]:
        """``{name: value}`` in field order (what a checkpoint stores)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_FIELDS = {f.name: f for f in fields(TrainConfig)}
HYPERPARAMETERS: tuple[str, ...] = tuple(_FIELDS)
STRUCTURAL: tuple[str, ...] = tuple(name for name, f in _FIELDS.items() if f.metadata["structural"])


def validate_hyperparameters(prefix: str = "", **hp: Any) -> None:
    """Raise ``ValueError("<prefix><name> must be <range>, got <value>")`` for the first bad value."""
    for name, value in hp.items():
        if name not in _FIELDS:
            raise ValueError(f"{prefix}{name} is not an RBM training hyperparameter; known: {', '.join(_FIELDS)}")
        meta = _FIELDS[name].metadata
        if not meta["ok"](value):
            raise ValueError(f"{prefix}{name} must be {meta['must']}, got {value!r}")
    if hp.get("momentum") and hp.get("optimizer", "sgd") != "sgd":  # checked once both are known
        raise ValueError(f"{prefix}momentum must be 0 with optimizer='adam' (Adam has its own), got {hp['momentum']!r}")


def takes_hyperparameters(cls: type) -> type:
    """Class decorator: ``cls.__init__(..., **hyperparameters)`` shows :class:`TrainConfig`'s fields
    in place of ``**hyperparameters`` — in its ``__signature__`` (after the parameters without a
    default) and its annotations — so that whatever reads signatures sees the real keywords."""
    init = cls.__init__
    params = list(inspect.signature(init).parameters.values())
    var_kw = next(p for p in params if p.kind is p.VAR_KEYWORD)
    params.remove(var_kw)
    hints = typing.get_type_hints(TrainConfig)
    extra = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=hints[f.name],
                               default=inspect.Parameter.empty if f.default is MISSING else f.default)
             for f in _FIELDS.values()]
    at = max(i for i, p in enumerate(params) if p.default is inspect.Parameter.empty) + 1
    init.__signature__ = inspect.signature(init).replace(parameters=params[:at] + extra + params[at:])
    init.__annotations__ = {k: v for k, v in init.__annotations__.items() if k != var_kw.name} | hints
    return cls
