"""The metric name as a value: :class:`MetricName` with ``format`` and ``parse``, the temperature
and size qualifiers, the writers' constructors and the readers' companion look-ups (the rules:
:mod:`rgexp.metric_names`)."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, replace
from functools import lru_cache

__all__ = ["VALUE", "ERR", "CI_LOW", "CI_HIGH", "CI_LEVEL", "EXACT", "N_EFF", "TAU_INT", "CENSORED", "ROLES",
           "MetricName", "try_parse", "format_temperature", "parse_temperature", "printed_temperature", "format_size", "metric", "companion",
           "with_companions", "estimate_metrics", "companions_of", "hidden_companions", "is_scaling_dimension",
           "stage_of", "SECONDS", "PEAK_RSS_GB", "cost_metric", "parse_cost"]

# The roles of companions: a standard error, an interval (at level ci_level), an exact value, the
# effective sample size and integrated autocorrelation time of a Monte Carlo mean, and the side at
# which a fit's interval was censored by its search bound.
VALUE = "value"
ERR, CI_LOW, CI_HIGH, CI_LEVEL = "err", "ci_low", "ci_high", "ci_level"
EXACT, N_EFF, TAU_INT, CENSORED = "exact", "n_eff", "tau_int", "censored"
ROLES = (ERR, CI_LOW, CI_HIGH, CI_LEVEL, EXACT, N_EFF, TAU_INT, CENSORED)
# Before the contract (thermometer/final/accuracy_value, …_error): the thermometer's value and error.
_LEGACY_STAGE = "thermometer"
_LEGACY_SUFFIX = {VALUE: "_value", ERR: "_error"}


def format_temperature(T: float) -> str:
    """``T1.5000``; ``Tinf`` for T = ∞ (a random start), ``T0.0000`` for an ordered one (T = 0 exactly);
    ``T1e-06`` for a temperature that is not 0 but would print as 0.0000."""
    fixed = f"{float(T):.4f}"
    return f"T{float(T):.4g}" if T != 0 and fixed.lstrip("-") == "0.0000" else f"T{fixed}"


def parse_temperature(segment: str) -> float:
    """The temperature of a ``T<T>`` qualifier (``T1.5000`` -> 1.5, ``Tinf`` -> ∞); ValueError for a
    segment that :func:`format_temperature` does not write."""
    value = _temperature(segment)
    if value is None:
        raise ValueError(f"{segment!r} is not a temperature qualifier (T1.5000, T1e-06, Tinf)")
    return value


def format_size(L: int) -> str:
    """``L10``."""
    return f"L{int(L)}"


def _temperature(segment: str) -> float | None:
    if not segment.startswith("T"):
        return None
    try:
        value = float(segment[1:])
    except ValueError:
        return None
    # only what format_temperature writes: a name read back is the name written
    ok = not math.isnan(value) and value != -math.inf and format_temperature(value) == segment
    return value if ok else None


def _size(segment: str) -> int | None:
    digits = segment[1:]
    ok = segment.startswith("L") and digits.isascii() and digits.isdigit() and str(int(digits)) == digits
    return int(digits) if ok else None


def _is_qualifier(segment: str) -> bool:
    return _size(segment) is not None or _temperature(segment) is not None


def printed_temperature(T: float) -> float:
    """T as its name holds it: the printed value (2.269185 -> 2.2692)."""
    return parse_temperature(format_temperature(T))


@dataclass(frozen=True)
class MetricName:
    """One metric's name as fields; ``str(name)`` / :meth:`format` write it, :meth:`parse` reads it.

    stage:      the first segment (``flow``, ``flow_binned``, ``mc``, ``thermometer``, ``train``, …);
    observable: what was measured, the last segment that is not a qualifier, without its role suffix;
    path:       the segments between them (``final``, a layer ``layer0``, a receptive field ``RBM``);
    L, T:       the lattice size and the start or bin temperature (None: not qualified); T holds the
                printed value (``T=2.269185`` is ``T2.2692``, 2.2692);
    role:       ``value`` or a companion role (:data:`ROLES`);
    stage_qualified: the qualifiers follow the stage instead of ending the name;
    legacy:     written as before the contract (thermometer ``X_value`` / ``X_error``).
    """

    stage: str
    observable: str
    path: tuple[str, ...] = ()
    L: int | None = None
    T: float | None = None
    role: str = VALUE
    stage_qualified: bool = False
    legacy: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", tuple(self.path))
        for where, segment in (("stage", self.stage), ("observable", self.observable),
                               *(("path", s) for s in self.path)):
            if not isinstance(segment, str) or not segment or "/" in segment or _is_qualifier(segment):
                raise ValueError(f"metric name {where} must be a non-empty segment without '/' that is not "
                                 f"L<n> or T<T>, got {segment!r}")
        if self.role not in (VALUE, *ROLES):
            raise ValueError(f"unknown metric role {self.role!r}; allowed: {', '.join((VALUE, *ROLES))}")
        if _split_role(self.stage, self.observable) != (self.observable, VALUE, False):
            raise ValueError(f"observable {self.observable!r} ends in a role's suffix: it would read back as that role")
        if self.L is not None and (isinstance(self.L, bool) or not isinstance(self.L, int) or self.L < 0):
            raise ValueError(f"metric name L must be a non-negative int or None, got {self.L!r}")
        if self.T is not None:
            object.__setattr__(self, "T", printed_temperature(self.T))
        if self.L is None and self.T is None:  # nothing to place: one way to write it
            object.__setattr__(self, "stage_qualified", False)
        object.__setattr__(self, "legacy", bool(self.legacy) and self.stage == _LEGACY_STAGE)

    def format(self) -> str:
        """The name as logged: ``flow/temperature_err/T1.5000``."""
        suffix = _LEGACY_SUFFIX.get(self.role) if self.legacy else None
        leaf = self.observable + (suffix if suffix is not None else "" if self.role == VALUE else f"_{self.role}")
        qualifiers = ([format_size(self.L)] if self.L is not None else []) + (
            [format_temperature(self.T)] if self.T is not None else [])
        if self.stage_qualified:
            return "/".join([self.stage, *qualifiers, *self.path, leaf])
        return "/".join([self.stage, *self.path, leaf, *qualifiers])

    __str__ = format

    @staticmethod
    def parse(name: str) -> MetricName:
        """The fields of a logged name; ValueError for a name outside the contract (fewer than two
        segments, an empty one, qualifiers neither after the stage nor at the end)."""
        return _parse(name)

    def with_role(self, role: str) -> MetricName:
        """The same metric in ``role`` (``value`` or a companion role)."""
        return replace(self, role=role)

    @property
    def value(self) -> MetricName:
        """The value this name is a companion of (itself for a value)."""
        return self.with_role(VALUE)

    @property
    def family(self) -> str:
        """The name without its temperature: the family of curves it belongs to (``flow/temperature``)."""
        return replace(self, T=None).format()

    @property
    def is_scaling_dimension(self) -> bool:
        """A fitted scaling dimension (``delta_*``), whose interval may be censored at the fit's search bounds."""
        return self.observable.startswith("delta_")


def _split_role(stage: str, leaf: str) -> tuple[str, str, bool]:
    """(observable, role, legacy) of a name's leaf segment."""
    if stage == _LEGACY_STAGE:
        for role, suffix in _LEGACY_SUFFIX.items():
            if leaf.endswith(suffix) and len(leaf) > len(suffix):
                return leaf[: -len(suffix)], role, True
    for role in ROLES:
        suffix = f"_{role}"
        if leaf.endswith(suffix) and len(leaf) > len(suffix):
            return leaf[: -len(suffix)], role, False
    return leaf, VALUE, False


def _qualifiers(segments: list[str]) -> tuple[int | None, float | None]:
    """(L, T) of consecutive qualifier segments, ``L`` before ``T``, each at most once."""
    L = _size(segments[0]) if segments and _size(segments[0]) is not None else None
    rest = segments[1:] if L is not None else segments
    T = _temperature(rest[0]) if rest else None
    if len(rest) > (T is not None):
        raise ValueError("qualifiers out of order")
    return L, T


@lru_cache(maxsize=1 << 16)
def _parse(name: str) -> MetricName:
    segments = name.split("/") if isinstance(name, str) else []
    qualifier = [_is_qualifier(s) for s in segments]
    plain = [i for i, q in enumerate(qualifier) if not q]
    if len(segments) < 2 or "" in segments or qualifier[0] or len(plain) < 2:
        raise ValueError(f"{name!r} is not a metric name: <stage>[/<path>…]/<observable>[/L<L>][/T<T>]")
    inner = [i for i in range(plain[0] + 1, plain[-1]) if qualifier[i]]
    head, tail = segments[1:plain[1]], segments[plain[-1] + 1:]
    if inner and (tail or inner != list(range(1, plain[1]))):
        raise ValueError(f"{name!r} is not a metric name: qualifiers follow the stage or end the name")
    try:
        L, T = _qualifiers(head or tail)
    except ValueError:
        raise ValueError(f"{name!r} is not a metric name: a qualifier repeated or /T<T> before /L<L>") from None
    observable, role, legacy = _split_role(segments[0], segments[plain[-1]])
    path = tuple(segments[i] for i in plain[1:-1])
    return MetricName(segments[0], observable, path, L, T, role, bool(head), legacy)


def try_parse(name: str) -> MetricName | None:
    """:meth:`MetricName.parse`, or None for a name outside the contract."""
    try:
        return _parse(name)
    except ValueError:
        return None


# ------------------------------------------------------------------------------- the writers' API
def metric(*segments: str, L: int | None = None, T: float | None = None) -> str:
    """``metric("flow", "temperature", T=1.5)`` -> ``flow/temperature/T1.5000``; the qualifiers
    follow the segments, ``/L<L>`` before ``/T<T>`` (a stage's base: ``metric("thermometer", L=4)``)."""
    tail = ([format_size(L)] if L is not None else []) + ([format_temperature(T)] if T is not None else [])
    return "/".join([*segments, *tail])


def companion(name: str, role: str) -> str:
    """The companion of ``name`` in ``role``: ``flow/temperature/T1.5000``, err ->
    ``flow/temperature_err/T1.5000``."""
    if role not in ROLES:
        raise ValueError(f"unknown companion role {role!r}; allowed: {', '.join(ROLES)}")
    return _parse(name).with_role(role).format()


def with_companions(name: str, value: float, **roles: float | None) -> dict[str, float]:
    """``{name: value}`` and the companion of each role given (``err=…``, ``ci_low=…``, ``ci_high=…``,
    ``censored=`` the side −1 / 0 / +1 of a fit's interval at its search bound; None: not logged)."""
    return {name: value} | {companion(name, role): v for role, v in roles.items() if v is not None}


def estimate_metrics(name: str, estimate) -> dict[str, float]:
    """An :class:`rgexp.stats.Estimate` as metrics: ``name`` = its value, its error and the optional
    fields that are set (interval, level, n_eff, tau_int) as companions."""
    optional = {role: getattr(estimate, role, None) for role in (CI_LOW, CI_HIGH, CI_LEVEL, N_EFF, TAU_INT)}
    return {k: float(v) for k, v in with_companions(name, estimate.value, err=estimate.error, **optional).items()}


# ------------------------------------------------------------------------------- the readers' API
@lru_cache(maxsize=1 << 16)
def _companion_names(name: str) -> tuple[tuple[str, str], ...]:
    parsed = try_parse(name)
    if parsed is None or parsed.role != VALUE:  # a companion has no companions
        return ()
    return tuple((role, parsed.with_role(role).format()) for role in ROLES)


def companions_of(name: str, names: Collection[str]) -> dict[str, str]:
    """Role -> the name of ``name``'s companion in that role, for those ``names`` holds (a legacy
    ``X_value`` metric: its ``X_error``, ``X_ci_low``, …)."""
    return {role: c for role, c in _companion_names(name) if c in names}


def hidden_companions(names: Collection[str]) -> set[str]:
    """The names in ``names`` that are a companion of another name in ``names``."""
    return {c for name in names for c in companions_of(name, names).values()}


def is_scaling_dimension(name: str) -> bool:
    """Whether a metric is a fitted scaling dimension (``flow/delta_sigma/T2.0000``,
    ``mc/delta_epsilon_plane_ci_low/L10/T2.2692``), whose interval may be censored at the fit's search bounds."""
    parsed = try_parse(name)
    return parsed is not None and parsed.is_scaling_dimension


def stage_of(name: str) -> str:
    """The stage of a name (its first segment, also for a name outside the contract)."""
    parsed = try_parse(name)
    return parsed.stage if parsed is not None else name.split("/", 1)[0]


# ----------------------------------------------------------------------------------- run costs
# perf/<stage>_seconds, perf/<stage>_peak_rss_gb; the run's totals: perf/total_seconds, perf/peak_rss_gb
SECONDS, PEAK_RSS_GB = "seconds", "peak_rss_gb"
_PERF, _TOTAL = "perf", "total"


def cost_metric(stage: str | None, quantity: str) -> str:
    """The name of a cost: ``cost_metric("rbm_flow", SECONDS)`` -> ``perf/rbm_flow_seconds``; the
    run's totals (stage None): ``perf/total_seconds``, ``perf/peak_rss_gb``."""
    if quantity not in (SECONDS, PEAK_RSS_GB):
        raise ValueError(f"unknown cost {quantity!r}; allowed: {SECONDS}, {PEAK_RSS_GB}")
    if stage is None:
        return metric(_PERF, f"{_TOTAL}_{SECONDS}" if quantity == SECONDS else PEAK_RSS_GB)
    return metric(_PERF, f"{stage}_{quantity}")


def parse_cost(name: str) -> tuple[str | None, str] | None:
    """(stage, quantity) of a cost's name (stage None: the run's total); None for other names."""
    parsed = try_parse(name)
    if parsed is None or parsed.stage != _PERF or parsed.path or parsed.role != VALUE:
        return None
    observable = parsed.observable
    if observable in (f"{_TOTAL}_{SECONDS}", PEAK_RSS_GB):
        return None, SECONDS if observable.endswith(SECONDS) else PEAK_RSS_GB
    for quantity in (SECONDS, PEAK_RSS_GB):
        if observable.endswith(f"_{quantity}"):
            return observable[: -len(quantity) - 1], quantity
    return None
