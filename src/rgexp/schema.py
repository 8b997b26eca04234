"""Hydra structured configs built from the typed homes of the defaults, registered in ConfigStore.

The YAML files extend these nodes and write no default of their own:

- ``/schema/settings@_global_`` from :class:`rgexp.config.RunSettings`, extended by ``conf/config.yaml``;
- ``/schema/rbm_train@_here_`` from :class:`rgexp.hyperparameters.TrainConfig`, by
  ``conf/model/train/rbm.yaml``;
- ``/schema/stacked_rbm_train@_here_`` from ``TrainConfig`` and ``StackOptions``, by
  ``conf/model/train/stacked_rbm.yaml``;
- ``/schema/thermometer@thermometer`` from ``ThermometerConfig``, by ``conf/analysis/default.yaml``.

A node holds ``_target_`` (and ``_partial_`` for the trainers, which the pipeline completes with
the model and the data) and one key per field, with the field's default. Its keys are typed ``Any``
on purpose: the checks stay those of the home (one-line ``ValueError``/``ConfigError`` naming the
key and what is allowed), where OmegaConf's converters would accept ``persistent=yes`` and, for a
wrong type inside a preset file, report the value without its key. A key outside the node is
refused at composition ("unknown key"), as for any YAML node. The settings node is a plain
mapping: a typed root would refuse the groups beside it.

:func:`register` runs when :mod:`rgexp.cli` is imported, which every composition of the project's
configs goes through (``python -m rgexp``, ``python -m rgexp.report``, the tests' ``compose_config``);
a program of its own that composes ``CONFIG_DIR`` imports ``rgexp.cli`` for the path, and with it this.
Torch-free, so the command line's pre-flight check stays quick.
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING, field, fields, make_dataclass
from typing import Any

__all__ = ["NODES", "register", "node_defaults"]

# name: (target, partial, home classes); the node's keys are the classes' fields, in order.
NODES: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    "rbm_train": ("rgexp.models.RBMTrainer", True, ("TrainConfig",)),
    "stacked_rbm_train": ("rgexp.models.StackedRBMTrainer", True, ("TrainConfig", "StackOptions")),
    "thermometer": ("rgexp.analysis.NeuralThermometer", False, ("ThermometerConfig",)),
}


def _default(f: dataclasses.Field) -> Any:
    return f.default if f.default is not MISSING else f.default_factory()


def node_defaults(name: str) -> dict[str, Any]:
    """``{key: default}`` of a node: ``settings`` or one of :data:`NODES` (without ``_target_``)."""
    from rgexp import hyperparameters
    from rgexp.config import RunSettings

    if name == "settings":
        return {f.name: _default(f) for f in fields(RunSettings)
                if f.default is not MISSING or f.default_factory is not MISSING}
    return {f.name: _default(f) for cls in NODES[name][2] for f in fields(getattr(hyperparameters, cls))}


def _node(name: str) -> type:
    """A dataclass ``<Name>Node`` with ``_target_`` (``_partial_``) and the homes' fields."""
    target, partial, _ = NODES[name]
    spec: list[tuple[str, Any, Any]] = [("_target_", str, field(default=target))]
    if partial:
        spec.append(("_partial_", bool, field(default=True)))
    for key, value in node_defaults(name).items():  # mutable defaults ({} of layer_overrides) by factory
        spec.append((key, Any, field(default_factory=lambda v=value: type(v)(v))
                     if isinstance(value, (dict, list)) else field(default=value)))
    title = "".join(part.title() for part in name.split("_"))
    return make_dataclass(f"{title}Node", spec)


def register() -> None:
    """Store the nodes in Hydra's ConfigStore (group ``schema``), the ``exact`` resolver of
    :mod:`rgexp.constants` and ``sites`` (L^d, the sites of an L×…×L lattice) in OmegaConf; idempotent."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    from rgexp.constants import exact

    OmegaConf.register_new_resolver("exact", exact, replace=True)  # ${exact:ising2d.T_c} in the YAML
    OmegaConf.register_new_resolver("sites", lambda L, d=2: int(L) ** int(d), replace=True)  # ${sites:${sampler.L}}
    store = ConfigStore.instance()
    store.store(group="schema", name="settings", node=node_defaults("settings"))
    for name in NODES:
        store.store(group="schema", name=name, node=_node(name))
