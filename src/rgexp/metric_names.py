"""Metric names: the one contract between the stages that log metrics and the report that reads them.

A name is ``/``-separated segments, ``<stage>/<observable>``, then the qualifiers ``/L<L>`` (a
lattice size) and ``/T<T>`` (a start or bin temperature, ``T{T:.4f}``; ``Tinf`` for a random start):

    flow/temperature/T1.5000        the thermometer's reading along the flow started at T = 1.5
    mc/delta_sigma/L10/T2.2692      Δ_σ of the Monte Carlo data of L = 10 at T = 2.2692
    receptive/RBM/radius            the receptive-field radius of a layer
    thermometer/L4/final/accuracy   the held-out accuracy of the thermometer of 4×4 lattices

The step a metric is logged at is its flow length, RG step, layer or training update.

Uncertainties and references are companions, named by ONE rule: the role's suffix (``_err``,
``_ci_low``, ``_ci_high``, ``_ci_level``, ``_exact``, ``_n_eff``, ``_tau_int``) goes on the last
segment that is not a qualifier: ``flow/temperature_err/T1.5000``, ``receptive/RBM/radius_err``,
``mc/delta_sigma_ci_low/L10/T2.2692``, ``thermometer/final/accuracy_ci_low``.

Writers build names with :func:`metric`, :func:`companion`, :func:`with_companions` and
:func:`estimate_metrics`; the report parses them with :func:`split_start`, :func:`companions_of` and
:func:`hidden_companions`, and writes :data:`START` for a temperature in its patterns. No I/O; the
standard library only.

Runs logged before this contract named the thermometer's final metrics ``X_value`` with
``X_error``, ``X_ci_low``, …: :func:`companions_of` still reads those.
"""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = ["ERR", "CI_LOW", "CI_HIGH", "CI_LEVEL", "EXACT", "N_EFF", "TAU_INT", "ROLES", "START",
           "format_temperature", "format_size", "metric", "companion", "with_companions", "estimate_metrics",
           "split_start", "parse_companion", "is_scaling_dimension", "companions_of", "hidden_companions"]

# The roles of companions: a standard error, an interval (at level ci_level), an exact value, the
# effective sample size and integrated autocorrelation time of a Monte Carlo mean.
ERR, CI_LOW, CI_HIGH, CI_LEVEL = "err", "ci_low", "ci_high", "ci_level"
EXACT, N_EFF, TAU_INT = "exact", "n_eff", "tau_int"
ROLES = (ERR, CI_LOW, CI_HIGH, CI_LEVEL, EXACT, N_EFF, TAU_INT)

# A temperature qualifier in a report pattern (re.fullmatch); the group ``start`` is the temperature.
# A number is fixed-point (``1.5000``) or, for a temperature that would print as 0.0000, exponent form
# (``1e-06``): the Monte Carlo grid point T = 1e-6 and the flow's ordered start T = 0 are two starts.
_NUMBER = r"-?[0-9]+(?:\.[0-9]*)?(?:e-?[0-9]+)?"
START = rf"T(?P<start>{_NUMBER}|inf)"
_QUALIFIER = re.compile(rf"T({_NUMBER}|inf)|L[0-9]+")
_START = re.compile(rf"(?P<family>.+)/T(?P<start>{_NUMBER}|inf)")
# Before this contract (thermometer/final/accuracy_value, …): role -> suffix of X_value's stem.
_LEGACY_VALUE = "_value"
_LEGACY = {ERR: "_error", CI_LOW: "_ci_low", CI_HIGH: "_ci_high", CI_LEVEL: "_ci_level", N_EFF: "_n_eff",
           TAU_INT: "_tau_int"}


def format_temperature(T: float) -> str:
    """``T1.5000``; ``Tinf`` for T = ∞ (a random start), ``T0.0000`` for an ordered one (T = 0 exactly);
    ``T1e-06`` for a temperature that is not 0 but would print as 0.0000."""
    fixed = f"{float(T):.4f}"
    return f"T{float(T):.4g}" if T != 0 and fixed.lstrip("-") == "0.0000" else f"T{fixed}"


def is_scaling_dimension(name: str) -> bool:
    """Whether a metric is a fitted scaling dimension (a ``delta_*`` segment: ``flow/delta_sigma/T2.0000``,
    ``mc/delta_epsilon_plane/L10/T2.2692``), whose interval may be censored at the fit's search bounds."""
    return any(part.startswith("delta_") for part in name.split("/"))


def format_size(L: int) -> str:
    """``L10``."""
    return f"L{int(L)}"


def metric(*segments: str, L: int | None = None, T: float | None = None) -> str:
    """``metric("flow", "temperature", T=1.5)`` -> ``flow/temperature/T1.5000``; the qualifiers
    follow the segments, ``/L<L>`` before ``/T<T>``."""
    tail = ([format_size(L)] if L is not None else []) + ([format_temperature(T)] if T is not None else [])
    return "/".join([*segments, *tail])


def _stem(parts: list[str]) -> int:
    """The index of the last segment that is not a qualifier (the last one if all are)."""
    return next((i for i in range(len(parts) - 1, -1, -1) if not _QUALIFIER.fullmatch(parts[i])), len(parts) - 1)


def companion(name: str, role: str) -> str:
    """The companion of ``name`` in ``role``: the suffix ``_<role>`` on the last segment that is not
    a qualifier (``flow/temperature/T1.5000``, err -> ``flow/temperature_err/T1.5000``)."""
    if role not in ROLES:
        raise ValueError(f"unknown companion role {role!r}; allowed: {', '.join(ROLES)}")
    parts = name.split("/")
    i = _stem(parts)
    parts[i] += f"_{role}"
    return "/".join(parts)


def with_companions(name: str, value: float, **roles: float | None) -> dict[str, float]:
    """``{name: value}`` and the companion of each role given (``err=…``, ``ci_low=…``; None: not logged)."""
    return {name: value} | {companion(name, role): v for role, v in roles.items() if v is not None}


def estimate_metrics(name: str, estimate) -> dict[str, float]:
    """An :class:`rgexp.stats.Estimate` as metrics: ``name`` = its value, its error and the optional
    fields that are set (interval, level, n_eff, tau_int) as companions."""
    optional = {role: getattr(estimate, role, None) for role in (CI_LOW, CI_HIGH, CI_LEVEL, N_EFF, TAU_INT)}
    return {k: float(v) for k, v in with_companions(name, estimate.value, err=estimate.error, **optional).items()}


def split_start(name: str) -> tuple[str, str | None]:
    """``flow/temperature/T1.5000`` -> ``("flow/temperature", "1.5000")``; others -> ``(name, None)``."""
    m = _START.fullmatch(name)
    return (m["family"], m["start"]) if m else (name, None)


def parse_companion(name: str) -> tuple[str, str] | None:
    """``(metric, role)`` when ``name`` has the shape of a companion (``flow/temperature_err/T1.5000``
    -> ``("flow/temperature/T1.5000", "err")``); None otherwise. Whether that metric was logged is
    the caller's question (``train/kl_exact`` has the shape, and no ``train/kl``)."""
    parts = name.split("/")
    i = _stem(parts)
    for role in ROLES:
        suffix = f"_{role}"
        if parts[i].endswith(suffix) and len(parts[i]) > len(suffix):
            return "/".join(parts[:i] + [parts[i][: -len(suffix)]] + parts[i + 1:]), role
    return None


def companions_of(name: str, names: Collection[str]) -> dict[str, str]:
    """Role -> the name of ``name``'s companion in that role, for those ``names`` holds (a legacy
    ``X_value`` metric: its ``X_error``, ``X_ci_low``, …)."""
    if name.endswith(_LEGACY_VALUE):
        stem = name[: -len(_LEGACY_VALUE)]
        found = {role: stem + suffix for role, suffix in _LEGACY.items()}
    else:
        found = {role: companion(name, role) for role in ROLES}
    return {role: c for role, c in found.items() if c in names}


def hidden_companions(names: Collection[str]) -> set[str]:
    """The names in ``names`` that are a companion of another name in ``names``."""
    return {c for name in names for c in companions_of(name, names).values() if c != name}
