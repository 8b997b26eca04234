"""The claims the report judges, as data: ``claims.yaml`` (shipped with the package) read and checked.

:func:`load_claims` reads a claims file (default: the packaged ``claims.yaml``; its header documents
every field) into :class:`Claims`: the sources' citations and a tuple of :class:`Claim`, each with
its :class:`Estimator` s. A bad file fails on load with one line naming the claim, the key and the
allowed values. The references are names: a quantity of the run's model from
:func:`rgexp.constants.reference`, or another metric of the run named like the measured one
(``{metric: {role: exact}}``: its exact companion). Which model a run sampled comes from its
params (:func:`model_of`). No I/O beyond reading the file; no plotting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from rgexp import constants
from rgexp.metric_names import MetricName, Select

__all__ = ["Claim", "Claims", "ClaimsError", "Estimator", "Tolerance", "CATEGORIES", "KINDS", "REDUCTIONS",
           "DIRECTIONS", "MODELS", "load_claims", "model_of", "critical_temperature"]

CATEGORIES = ("claim", "baseline", "construction")
KINDS = ("equals", "differs", "bracket", "trend")
REDUCTIONS = ("last", "starts", "sides", "each", "curves")
DIRECTIONS = ("toward", "away", "down", "up")
MODELS = ("ising2d", "chain1d", "long_range")
_LABELS = {"T_c": "T_c", "delta_sigma": "Δ_σ", "delta_epsilon": "Δ_ε", "beta": "β", "nu": "ν", "K_star": "K*"}
Params = Mapping[str, str]


class ClaimsError(ValueError):
    """A claims file that does not follow the schema; the message is one line."""


@dataclass(frozen=True)
class Tolerance:
    """τ (or a trend's minimum effect δ) = rel·|r| + abs."""

    rel: float = 0.0
    abs: float = 0.0

    def of(self, reference: float | None) -> float:
        return self.rel * abs(reference or 0.0) + self.abs


@dataclass(frozen=True)
class Estimator:
    """One way of measuring a claim: the metrics it reads and how they reduce to a verdict."""

    name: str
    select: Select
    reduce: str
    kind: str | None = None  # this estimator reads the claim as another kind (equals / differs)


@dataclass(frozen=True)
class Claim:
    """One entry of the claims file (field meanings: the file's header)."""

    key: str
    source: tuple[str, ...]
    statement: str
    category: str
    models: tuple[str, ...]
    kind: str
    estimators: tuple[Estimator, ...]
    where: str = ""
    presets: tuple[str, ...] | None = None
    reference: str | Mapping[str, Any] | None = None
    tolerance: Tolerance = Tolerance()  # a trend's minimum effect δ
    direction: str | None = None
    both_sides: bool = False
    figure: str = ""

    def kind_of(self, estimator: Estimator) -> str:
        return estimator.kind or self.kind

    @property
    def cited(self) -> str:
        """``dmk2020 Fig. 5a``, ``dmk2020, iso2018 §III-A``."""
        return ", ".join(self.source) + (f" {self.where}" if self.where else "")

    @property
    def label(self) -> str:
        """The reference in words: ``T_c``, ``Δ_σ``, ``the logged exact value``."""
        if isinstance(self.reference, str):
            return _LABELS[self.reference]
        return "the logged exact value" if self.reference is not None else ""

    def applies(self, params: Params) -> bool:
        """Whether runs with these params are of the claim's models (and presets)."""
        return model_of(params) in self.models and (self.presets is None or params.get("name") in self.presets)

    def reference_value(self, params: Params) -> float | None:
        """r from the registry of constants for this run's model (None: a metric reference, or none known)."""
        return _constant(self.reference, params) if isinstance(self.reference, str) else None

    def reference_metric(self, metric: str) -> str | None:
        """The name of the metric a metric reference compares ``metric`` with (None: a constant)."""
        if not isinstance(self.reference, Mapping):
            return None
        return replace(MetricName.parse(metric), **self.reference["metric"]).format()


@dataclass(frozen=True)
class Claims:
    """A claims file: source key -> citation, and the claims in file order."""

    sources: dict[str, str]
    claims: tuple[Claim, ...]

    def __iter__(self):
        return iter(self.claims)

    def of(self, *categories: str) -> list[Claim]:
        return [c for c in self.claims if c.category in categories]


def model_of(params: Params) -> str:
    """Which Ising model a run sampled, from its logged params: ising2d, chain1d, long_range or unknown."""
    target = params.get("sampler._target_", "")
    if "sampler.sigma" in params or "LongRange" in target:
        return "long_range"
    if "Chain1D" in target or "chain1d" in target:
        return "chain1d"
    if "Ising2D" in target:
        return "ising2d"
    return "unknown"


def critical_temperature(params: Params) -> float | None:
    """T_c of the run's model where known (2D: Onsager's, scaled by |J|; long range: published)."""
    return _constant("T_c", params)


def _constant(quantity: str, params: Params) -> float | None:
    model = model_of(params)
    if model not in MODELS:
        return None
    return constants.reference(quantity, model, J=_number(params, "sampler.J", 1.0),
                               sigma=_number(params, "sampler.sigma", None), d=_number(params, "sampler.d", 2),
                               couplings=params.get("sampler.couplings", "images"))


def _number(params: Params, key: str, default: float | None) -> float | None:
    try:
        return float(params[key]) if key in params else default
    except ValueError:
        return default


# ------------------------------------------------------------------------------------------ loading
_REQUIRED = ("key", "source", "statement", "category", "models", "kind", "estimators")
_OPTIONAL = ("where", "presets", "reference", "tolerance", "min_effect", "direction", "both_sides", "figure")
_ESTIMATOR = ("name", "select", "reduce", "kind")
_BY_KIND = {"equals": ("last", "starts", "sides", "each"), "differs": ("last", "starts", "sides", "each"),
            "bracket": ("sides",), "trend": ("curves",)}
_METRIC_FIELDS = ("stage", "observable", "path", "role")


def _fail(where: str, message: str) -> ClaimsError:
    return ClaimsError(f"{where}: {message}")


def _one_of(where: str, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _fail(where, f"{key} {value!r}; allowed: {', '.join(allowed)}")
    return value


def _strings(where: str, key: str, value: Any, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(x, str) and x for x in items):
        raise _fail(where, f"{key} must be a non-empty string or list of strings, got {value!r}")
    return tuple(_one_of(where, key, x, allowed) if allowed else x for x in items)


def _tolerance(where: str, key: str, value: Any) -> Tolerance:
    ok = isinstance(value, Mapping) and value and set(value) <= {"rel", "abs"} and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0 for v in value.values())
    if not ok:
        raise _fail(where, f"{key} must be {{rel: x, abs: y}} with numbers >= 0, got {value!r}")
    return Tolerance(float(value.get("rel", 0.0)), float(value.get("abs", 0.0)))


def _reference(where: str, value: Any) -> str | dict | None:
    if value is None or isinstance(value, str):
        return None if value is None else _one_of(where, "reference", value, constants.QUANTITIES)
    fields_ = value.get("metric") if isinstance(value, Mapping) and set(value) == {"metric"} else None
    if not isinstance(fields_, Mapping) or not fields_ or not set(fields_) <= set(_METRIC_FIELDS):
        raise _fail(where, f"reference {value!r}; allowed: one of {', '.join(constants.QUANTITIES)}, "
                           f"or {{metric: {{{'|'.join(_METRIC_FIELDS)}: …}}}}")
    return {"metric": {k: tuple(v) if k == "path" else v for k, v in fields_.items()}}


def _estimator(where: str, data: Any, kind: str) -> Estimator:
    if not isinstance(data, Mapping):
        raise _fail(where, f"an estimator must be a mapping, got {data!r}")
    unknown = sorted(set(data) - set(_ESTIMATOR))
    if unknown or not {"name", "select", "reduce"} <= set(data):
        raise _fail(where, f"estimator key {unknown[0] if unknown else 'missing'!r}; allowed: {', '.join(_ESTIMATOR)} "
                           "(name, select, reduce required)")
    own = _one_of(where, "estimator kind", data["kind"], ("equals", "differs")) if "kind" in data else None
    try:
        select = Select.from_data(data["select"])
    except (ValueError, TypeError, AttributeError) as err:
        raise _fail(where, f"estimator {data['name']!r}: {err}") from None
    reduce = _one_of(f"{where}, estimator {data['name']!r}", "reduce", data["reduce"], _BY_KIND[own or kind])
    return Estimator(str(data["name"]), select, reduce, own)


def _claim(where: str, data: Any, sources: Mapping[str, str]) -> Claim:
    if not isinstance(data, Mapping):
        raise _fail(where, f"a claim must be a mapping, got {data!r}")
    where = f"{where} {data.get('key', '?')!r}"
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    missing = [k for k in _REQUIRED if k not in data]
    if unknown or missing:
        bad = f"unknown key {unknown[0]!r}" if unknown else f"missing key {missing[0]!r}"
        raise _fail(where, f"{bad}; allowed: {', '.join(_REQUIRED + _OPTIONAL)}")
    kind = _one_of(where, "kind", data["kind"], KINDS)
    trend = kind == "trend"
    wrong = "tolerance" if trend and "tolerance" in data else "min_effect" if not trend and "min_effect" in data else None
    if wrong or (trend and "direction" not in data) or (not trend and ("direction" in data or "both_sides" in data)):
        raise _fail(where, f"kind {kind} takes {'direction, min_effect, both_sides' if trend else 'tolerance'}"
                           f"{f', not {wrong}' if wrong else ''}")
    reference = _reference(where, data.get("reference"))
    direction = _one_of(where, "direction", data["direction"], DIRECTIONS) if trend else None
    if reference is None and (not trend or direction in ("toward", "away")):
        raise _fail(where, f"kind {kind}{f' {direction}' if trend else ''} needs a reference")
    estimators = data["estimators"]
    if not isinstance(estimators, list) or not estimators:
        raise _fail(where, "estimators must be a non-empty list")
    presets = data.get("presets")
    return Claim(key=str(data["key"]), source=_strings(where, "source", data["source"], tuple(sources)),
                 statement=str(data["statement"]), category=_one_of(where, "category", data["category"], CATEGORIES),
                 models=_strings(where, "models", data["models"], MODELS), kind=kind,
                 estimators=tuple(_estimator(where, e, kind) for e in estimators), where=str(data.get("where", "")),
                 presets=_strings(where, "presets", presets) if presets is not None else None, reference=reference,
                 tolerance=_tolerance(where, "min_effect" if trend else "tolerance",
                                      data.get("min_effect" if trend else "tolerance", {"abs": 0.0})),
                 direction=direction, both_sides=bool(data.get("both_sides", False)), figure=str(data.get("figure", "")))


def _parse(text: str, name: str) -> Claims:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ClaimsError(f"{name}: not YAML{at}: {getattr(err, 'problem', None) or err}") from None
    if not isinstance(data, Mapping) or set(data) != {"sources", "claims"}:
        raise ClaimsError(f"{name}: the top level must hold exactly the keys sources, claims")
    sources = data["sources"]
    if not isinstance(sources, Mapping) or not all(isinstance(v, str) for v in sources.values()):
        raise ClaimsError(f"{name}: sources must map a key to its citation")
    if not isinstance(data["claims"], list):
        raise ClaimsError(f"{name}: claims must be a list")
    claims = tuple(_claim(f"{name}: claims[{i}]", c, sources) for i, c in enumerate(data["claims"]))
    keys = [c.key for c in claims]
    if len(set(keys)) != len(keys):
        raise ClaimsError(f"{name}: claim key {next(k for k in keys if keys.count(k) > 1)!r} appears twice")
    for c in claims:
        if c.figure and c.figure not in keys:
            raise ClaimsError(f"{name}: claim {c.key!r}: figure {c.figure!r}; allowed: the key of another claim")
    return Claims(dict(sources), claims)


@lru_cache(maxsize=None)
def _packaged() -> Claims:
    text = resources.files("rgexp.report").joinpath("claims.yaml").read_text(encoding="utf-8")
    return _parse(text, "claims.yaml")


def load_claims(path: str | Path | None = None) -> Claims:
    """The claims of ``path`` (None: the packaged ``claims.yaml``, read once)."""
    if path is None:
        return _packaged()
    path = Path(path)
    return _parse(path.read_text(encoding="utf-8"), path.name)

