"""The trainers' view of the RBM training hyperparameters, whose one home is
:class:`rgexp.hyperparameters.TrainConfig` (type, default and range of each field).

- :class:`~rgexp.models.RBMTrainer` and :class:`~rgexp.models.StackedRBMTrainer` take the fields as
  keyword arguments (``model.train``) and hold a ``TrainConfig`` (one per layer in a stack);
  :func:`takes_hyperparameters` writes the fields into their signatures, so ``inspect.signature``
  — and with it the config check of :mod:`rgexp.config` and ``help()`` — sees every hyperparameter
  with its type and default as if it were written out;
- :func:`validate_hyperparameters` checks any subset (a layer's overrides) by the same fields;
- ``STRUCTURAL`` names those a checkpoint's resume may not change.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from rgexp.hyperparameters import StackOptions, TrainConfig, check_values, takes

__all__ = ["TrainConfig", "StackOptions", "HYPERPARAMETERS", "STRUCTURAL", "validate_hyperparameters",
           "takes_hyperparameters"]

HYPERPARAMETERS: tuple[str, ...] = tuple(f.name for f in fields(TrainConfig))
STRUCTURAL: tuple[str, ...] = tuple(f.name for f in fields(TrainConfig) if f.metadata["structural"])


def validate_hyperparameters(prefix: str = "", **hp: Any) -> None:
    """Raise ``ValueError("<prefix><name> must be <range>, got <value>")`` for the first bad value."""
    check_values(TrainConfig, prefix, **hp)


takes_hyperparameters = takes(TrainConfig)  # class decorator: RBMTrainer's keywords
