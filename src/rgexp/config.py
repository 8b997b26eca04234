"""Config validation: every bad key, type or value becomes one :class:`ConfigError` line.

The schema is the code itself. Top-level keys are checked against :class:`RunSettings`; every node
with a ``_target_`` is checked against the signature and type hints of its target (``Literal``
annotations give the allowed values), then instantiated, so the target's own range checks
(``ValueError("L must be ...")``) run before any work and come back prefixed with the node's path.
"""

from __future__ import annotations

import collections.abc
import inspect
import re
import types
import typing
from dataclasses import dataclass, fields
from typing import Any, Literal

from hydra.utils import get_method, instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf

from rgexp.checks import is_int, is_number
from rgexp.errors import ConfigError
from rgexp.hyperparameters import TrainConfig

__all__ = ["RunSettings", "GROUPS", "HARMLESS", "HARMLESS_SETTINGS", "HARMLESS_GROUPS", "check_config",
           "instantiate_node", "instantiate_group", "describe", "flat_items"]

GROUPS: tuple[str, ...] = ("sampler", "model", "flow", "rg", "analysis", "tracking", "cache")
# The top-level settings and nodes that cannot change a run's numbers: a resume takes them from the
# command line (rgexp.resume), and the report groups runs that differ only in them (and in their
# seeds and device, rgexp.report.collect).
HARMLESS_SETTINGS: tuple[str, ...] = ("resume", "progress", "quiet", "checkpoint_every")
HARMLESS_GROUPS: tuple[str, ...] = ("tracking", "cache", "hydra")
HARMLESS: tuple[str, ...] = HARMLESS_SETTINGS + HARMLESS_GROUPS
_SEQ = (list, tuple, collections.abc.Sequence)
_HYDRA_KEYS = {"_target_", "_partial_", "_convert_", "_recursive_", "_args_"}


@dataclass(kw_only=True)
class RunSettings:
    """Top-level keys of the config (besides the groups): the one home of their types and defaults,
    which ``conf/config.yaml`` takes through the ``/schema/settings`` node (:mod:`rgexp.schema`).
    ``stages`` has no default here: the stage list is ``conf/config.yaml``'s own."""

    name: str = "default"  # MLflow experiment name (presets set their own)
    seed: int = 0  # the one seed, split into one stream per stage (rgexp.seeding.STAGES)
    data_seed: int | None = None  # pin the Monte Carlo stream (None: from seed), e.g. to sweep model seeds
    device: Literal["auto", "cpu", "cuda"] = "auto"
    progress: bool = True  # tqdm bars on long stages (false in CI)
    quiet: bool = False  # true: a run ends with its id and status only, not its summary of results
    resume: str | None = None  # an MLflow run id: continue that run from its last checkpoint
    checkpoint_every: int = 200  # RBM updates between checkpoints (0: only at the end)
    # train the model on these grid temperatures only (closest points); None: all
    train_temperatures: list[float] | None = None
    stages: list[str]  # rgexp.stages modules, in order


def flat_items(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> ``{"a.b": value}``; lists and scalars are leaves, kept as they are."""
    if not isinstance(tree, dict):
        return {prefix[:-1]: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(flat_items(value, f"{prefix}{key}."))
    return out


def describe(annotation: Any) -> str:
    """Human form of a type hint: ``int``, ``one of 'a', 'b'``, ``list of float or null``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else describe(a) for a in args)
    if origin in _SEQ or annotation in (list, tuple):
        return f"a list of {describe(args[0])}" if args else "a list"
    if origin in (dict, collections.abc.Mapping) or annotation is dict:
        return f"a mapping with {describe(args[0])} keys" if args else "a mapping"
    return getattr(annotation, "__name__", str(annotation))


def _matches(value: Any, annotation: Any) -> bool:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any or annotation is inspect.Parameter.empty:
        return True
    if annotation is type(None):
        return value is None
    if origin is Literal:
        return value in args
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if origin in _SEQ or annotation in (list, tuple):
        if not isinstance(value, (list, tuple, ListConfig)):
            return False
        return not args or all(_matches(v, args[0]) for v in value)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return is_int(value)
    if annotation is float:
        return is_number(value)
    if annotation is str:
        return isinstance(value, str)
    if annotation is dict or origin in (dict, collections.abc.Mapping):
        if not isinstance(value, (dict, DictConfig)):
            return False
        return not args or all(_matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items())
    return True  # torch dtypes, generators, …: not settable from a YAML value, not checked here


def _check_keys(values: dict[str, Any], hints: dict[str, Any], allowed: list[str], path: str) -> None:
    for key, value in values.items():
        if key in _HYDRA_KEYS:
            continue
        full = f"{path}.{key}" if path else key
        if key not in allowed:
            raise ConfigError(f"unknown key '{full}'; allowed: {', '.join(allowed)}")
        hint = hints.get(key, Any)
        if not _matches(value, hint):
            raise ConfigError(f"{full} must be {describe(hint)}, got {value!r}")


def _target_hints(target: str, path: str) -> tuple[dict[str, Any], list[str], bool]:
    """(type hints, parameter names, accepts **kwargs) of a ``_target_``."""
    try:
        fn = get_method(target)
    except Exception as err:
        raise ConfigError(f"{path}._target_: cannot import {target!r} ({err})") from None
    init = fn.__init__ if inspect.isclass(fn) else fn
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # unresolvable forward references: check names only
        hints = {}
    params = [p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    var_kw = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
    return hints, [p.name for p in params], var_kw


def _referenced_keys(raw: Any) -> set[str]:
    """Dotted keys referenced by ``${...}`` interpolations anywhere in the unresolved config."""
    text = str(raw)
    return set(re.findall(r"\$\{([A-Za-z0-9_.]+)\}", text))


def _check_node(node: Any, path: str, referenced: set[str]) -> None:
    if not isinstance(node, dict):
        return
    if "_target_" in node:
        hints, names, var_kw = _target_hints(node["_target_"], path)
        if var_kw:
            allowed = sorted(set(names) | {k for k in node if k not in _HYDRA_KEYS})
        else:
            allowed = names
        plain = {k: v for k, v in node.items() if not isinstance(v, dict) or "_target_" not in v}
        _check_keys(plain, hints, allowed, path)
    else:
        children = [v for v in node.values() if isinstance(v, dict) and "_target_" in v]
        for key, value in node.items():
            is_target = isinstance(value, dict) and "_target_" in value
            # A plain key of a namespace group must feed a target: by interpolation
            # (model.layers -> ${model.layers}), or, once resolved (a resumed run's logged
            # config), by equalling a child's key of the same name.
            mirrored = any(c.get(key, object()) == value for c in children)
            disabled = value is None  # a component switched off (analysis.thermometer=null)
            if not is_target and not disabled and f"{path}.{key}" not in referenced and not mirrored:
                raise ConfigError(f"unknown key '{path}.{key}' in a group without a _target_")
    for key, value in node.items():
        # a _target_'s plain dict argument (e.g. analysis.scaling.exact) is a value, not a group
        plain_arg = "_target_" in node and not (isinstance(value, dict) and "_target_" in value)
        if isinstance(value, dict) and key not in _HYDRA_KEYS and not plain_arg:
            _check_node(value, f"{path}.{key}", referenced)


def check_config(cfg: DictConfig) -> RunSettings:
    """Check keys and types of the whole config; return the typed top-level settings."""
    try:
        resolved = OmegaConf.to_container(cfg, resolve=True)
    except Exception as err:
        raise ConfigError(f"cannot resolve config: {err}".splitlines()[0]) from None
    referenced = _referenced_keys(OmegaConf.to_container(cfg, resolve=False))
    top = {k: v for k, v in resolved.items() if k not in GROUPS and k not in ("experiment", "hydra")}
    hints = typing.get_type_hints(RunSettings)
    # groups are listed too: '+optimizer=adam' is most often a group name gone wrong
    _check_keys(top, hints, [*GROUPS, *(f.name for f in fields(RunSettings))], "")
    for group in GROUPS:
        if group not in resolved:
            raise ConfigError(f"missing config group '{group}'")
        _check_node(resolved[group], group, referenced)
    _check_data_sizes(resolved)
    settings = RunSettings(**top)
    if settings.seed < 0 or (settings.data_seed is not None and settings.data_seed < 0):
        raise ConfigError(f"seed and data_seed must be >= 0, got {settings.seed}, {settings.data_seed}")
    if settings.checkpoint_every < 0:
        raise ConfigError(f"checkpoint_every must be >= 0, got {settings.checkpoint_every}")
    return settings


def _check_data_sizes(resolved: dict[str, Any]) -> None:
    """Sizes that meet only once the data exist (the trainer checks them again then), checked here
    so that a run which must fail is refused before it is created: every mini-batch must fit in
    the training set, n_T × n_samples minus the held-out part."""
    sampler, train = resolved.get("sampler") or {}, (resolved.get("model") or {}).get("train") or {}
    temps, n = sampler.get("temperatures"), sampler.get("n_samples")
    if not isinstance(temps, list) or not temps or not is_int(n) or n < 1:
        return  # the sampler's own check names the bad value
    total = len(temps) * n
    extra = train.get("layer_overrides") or {}
    per_layer = extra.values() if isinstance(extra, dict) else extra
    for where, hp in [("", train), *(("layer_overrides.", {**train, **o}) for o in per_layer if o)]:
        bs, hold = hp.get("batch_size"), hp.get("holdout_fraction", TrainConfig.holdout_fraction)
        if not isinstance(bs, int) or not isinstance(hold, (int, float)) or not 0 <= hold < 1:
            continue  # a wrong type or range is reported by the trainer's own check
        n_train = total - int(hold * total)
        if bs > n_train:
            raise ConfigError(
                f"model.train.{where}batch_size must be <= the number of training samples {n_train} "
                f"(len(sampler.temperatures) × sampler.n_samples = {len(temps)} × {n}, less "
                f"holdout_fraction {hold}), got {bs}"
            )


def instantiate_node(node: DictConfig, path: str, **kwargs: Any) -> Any:
    """``instantiate`` with the target's ``ValueError``/``TypeError`` turned into a ConfigError."""
    try:
        return instantiate(node, _convert_="all", **kwargs)
    except Exception as err:
        cause = err
        while cause.__cause__ is not None:  # Hydra wraps the target's exception
            cause = cause.__cause__
        if isinstance(cause, (ValueError, TypeError)):
            raise ConfigError(f"{path}.{str(cause).splitlines()[0]}") from None
        raise


def instantiate_group(node: DictConfig, path: str) -> Any:
    """A group with a ``_target_`` as one object; a namespace group as ``{key: object or None}``,
    each child instantiated on its own so that errors name the child's full path."""
    if "_target_" in node:
        return instantiate_node(node, path)
    return {k: None if v is None else instantiate_node(v, f"{path}.{k}") for k, v in node.items()
            if isinstance(v, DictConfig) or v is None}
