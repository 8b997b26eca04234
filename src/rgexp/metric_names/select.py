"""Selectors: which metric names a reader wants, by the fields of :class:`MetricName`, not by regex.

``Select(stage="flow", observable="temperature", T=ANY)`` picks the flows' temperature readings,
one per start. Each field holds a constraint:

- a value (``stage="flow"``, ``L=10``, ``T=2.2692``, ``path=("final",)``): exactly that;
- ``None``: the name has no such qualifier (``path=()`` for no path);
- :data:`ANY`: any value, but present; :data:`OPTIONAL` (``(None, ANY)``): present or not;
- a tuple of these (``stage=("flow", "flow_binned")``): any of them (for ``path``: a tuple whose
  items are not all strings, ``(("final",), None)``);
- for ``T`` only, :class:`Near`: the temperature of the matching names nearest a target (or the
  nearest below / above it, e.g. the grid points either side of T_c), resolved by :meth:`Select.select`.

A field not given is ``stage``/``observable``: ANY; ``path``: ``()``; ``L``, ``T``: None; ``role``:
``value``; ``stage_qualified``: either. So ``Select(stage="mc", observable="T_c")`` names one metric,
``mc/T_c``, and not its companions. :meth:`Select.to_data` / :meth:`Select.from_data` write and read a
selector as plain data (``{"stage": "flow", "observable": "temperature", "T": "*"}``; lists for
tuples, ``"*"`` for ANY, ``{"near": "T_c", "side": "below"}`` for Near, ``{"name": "mc/T_c"}`` for
one metric), for claims kept in a data file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from rgexp.metric_names.name import ROLES, VALUE, MetricName, format_size, format_temperature, printed_temperature

__all__ = ["ANY", "OPTIONAL", "Near", "Select"]


class _Any:
    """Any value, but present (data form ``"*"``)."""

    def __repr__(self) -> str:
        return "ANY"

    def __reduce__(self) -> str:  # pickles as the module's one instance
        return "ANY"


ANY = _Any()
OPTIONAL = (None, ANY)
_STAR = "*"
_SIDES = ("nearest", "below", "above")


@dataclass(frozen=True)
class Near:
    """The temperature nearest ``to`` (a number, or a name whose value :meth:`Select.select` is
    given, e.g. ``"T_c"``) among the matching names; ``side`` ``below`` / ``above``: the nearest
    strictly below / above it."""

    to: float | str
    side: Literal["nearest", "below", "above"] = "nearest"

    def __post_init__(self) -> None:
        if isinstance(self.to, bool) or not isinstance(self.to, (int, float, str)):
            raise ValueError(f"Near to must be a temperature or a target's name ('T_c'), got {self.to!r}")
        if self.side not in _SIDES:
            raise ValueError(f"Near side must be one of {', '.join(_SIDES)}, got {self.side!r}")


def _is_choice(name: str, c: Any) -> bool:
    """Whether a constraint lists alternatives (a path's own value is a tuple of strings)."""
    return isinstance(c, tuple) and not (name == "path" and all(isinstance(s, str) for s in c))


def _normal(name: str, c: Any) -> Any:
    """One alternative, checked and in canonical form (a path as a tuple, T as its printed value)."""
    if c is ANY:
        return c
    if name == "path":
        if c is None:
            return ()
        if isinstance(c, (tuple, list)) and all(isinstance(s, str) and s and "/" not in s for s in c):
            return tuple(c)
    elif name in ("stage", "observable", "role"):
        if isinstance(c, str) and c and "/" not in c and (name != "role" or c in (VALUE, *ROLES)):
            return c
    elif name == "L":
        if c is None or (isinstance(c, int) and not isinstance(c, bool) and c >= 0):
            return c
    elif name == "T":
        if c is None or isinstance(c, Near):
            return c
        if isinstance(c, (int, float)) and not isinstance(c, bool) and not math.isnan(c) and c != -math.inf:
            return printed_temperature(c)  # 2.269185 and 2.2692 are one T: the name holds what it prints
    raise ValueError(f"select: bad {name} {c!r}; allowed: {_ALLOWED[name]}")


_ALLOWED = {"stage": "a segment, ANY, or a tuple of them", "observable": "a segment, ANY, or a tuple of them",
            "path": "a tuple of segments, None, ANY, or a tuple of them",
            "L": "an int >= 0, None, ANY, or a tuple of them",
            "T": "a temperature, None, ANY, Near(...), or a tuple of them (not Near)",
            "role": f"one of {', '.join((VALUE, *ROLES))}, ANY, or a tuple of them",
            "stage_qualified": "True, False or None (either)"}


def _holds(c: Any, v: Any) -> bool:
    """Whether one alternative holds for the field's value ``v``."""
    if c is ANY or isinstance(c, Near):
        return v is not None and v != () and (not isinstance(c, Near) or math.isfinite(v))
    if c is None or c == ():
        return v is None or v == ()
    return c == v


@dataclass(frozen=True)
class Select:
    """Metric names by their fields (see the module's docstring for the constraints)."""

    stage: Any = ANY
    observable: Any = ANY
    path: Any = ()
    L: Any = None
    T: Any = None
    role: Any = VALUE
    stage_qualified: bool | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name == "stage_qualified":
                if not (self.stage_qualified is None or isinstance(self.stage_qualified, bool)):
                    raise ValueError(f"select: bad stage_qualified {self.stage_qualified!r}; "
                                     f"allowed: {_ALLOWED['stage_qualified']}")
                continue
            c = getattr(self, f.name)
            if isinstance(c, list) and not (f.name == "path" and all(isinstance(s, str) for s in c)):
                c = tuple(c)
            if _is_choice(f.name, c):
                c = tuple(_normal(f.name, a) for a in c)
                if any(isinstance(a, Near) for a in c):
                    raise ValueError(f"select: bad T {c!r}; allowed: {_ALLOWED['T']}")
            else:
                c = _normal(f.name, c)
            object.__setattr__(self, f.name, c)

    @classmethod
    def exact(cls, name: str | MetricName) -> Select:
        """The selector of one metric (``Select.exact("mc/T_c")``)."""
        n = name if isinstance(name, MetricName) else MetricName.parse(name)
        placed = n.stage_qualified if n.L is not None or n.T is not None else None  # else: nothing to place
        return cls(n.stage, n.observable, n.path, n.L, n.T, n.role, placed)

    @property
    def name(self) -> str | None:
        """The one name this selector matches, when every field holds one value; else None."""
        values = [getattr(self, f) for f in ("stage", "observable", "path", "L", "T", "role")]
        if any(c is ANY or isinstance(c, Near) or _is_choice(f, c) for f, c in
               zip(("stage", "observable", "path", "L", "T", "role"), values)):
            return None
        return MetricName(*values, stage_qualified=bool(self.stage_qualified)).format()

    def matches(self, name: str | MetricName) -> bool:
        """Whether ``name`` has these fields (a name outside the contract matches nothing; a
        :class:`Near` temperature matches any finite T here, :meth:`select` resolves it)."""
        if isinstance(name, str):
            try:
                name = MetricName.parse(name)
            except ValueError:
                return False
        if self.stage_qualified is not None and name.stage_qualified != self.stage_qualified:
            return False
        for f in ("stage", "observable", "role", "path", "L", "T"):
            c, v = getattr(self, f), getattr(name, f)
            if not (any(_holds(a, v) for a in c) if _is_choice(f, c) else _holds(c, v)):
                return False
        return True

    def select(self, names: Iterable[str], **targets: float) -> list[str]:
        """The matching names, in their order; with a :class:`Near` temperature only those at the
        chosen temperature (``targets`` gives a named target's value: ``T_c=2.269``)."""
        found = [n for n in names if self.matches(n)]
        if not isinstance(self.T, Near) or not found:
            return found
        to = self.T.to
        if isinstance(to, str):
            if to not in targets:
                raise ValueError(f"select: Near({to!r}) needs {to}=<value>; given: {', '.join(targets) or 'none'}")
            to = targets[to]
        temps = sorted({MetricName.parse(n).T for n in found})
        candidates = {"below": [t for t in temps if t < to], "above": [t for t in temps if t > to],
                      "nearest": temps}[self.T.side]
        if not candidates:
            return []
        pick = {"below": max, "above": min}.get(self.T.side, lambda ts: min(ts, key=lambda t: (abs(t - to), t)))
        chosen = pick(candidates)
        return [n for n in found if MetricName.parse(n).T == chosen]

    def display(self) -> str:
        """The selector as a name with wildcards, for a table: ``flow/temperature/T*``."""
        def one(f: str, c: Any) -> str:
            if _is_choice(f, c):
                shown = [one(f, a) for a in c if a is not None and a != ()]
                return shown[0] if len(shown) == 1 else "(" + "|".join(shown) + ")"
            if c is ANY or isinstance(c, Near):
                return _STAR
            return "/".join(c) if f == "path" else str(c)

        leaf = one("observable", self.observable) + ("" if self.role == VALUE else "_" + one("role", self.role))
        path = [one("path", self.path)] if self.path != () else []
        qualifiers = []
        if self.L is not None:
            qualifiers.append(format_size(self.L) if isinstance(self.L, int) else "L" + one("L", self.L))
        if self.T is not None:
            qualifiers.append(format_temperature(self.T) if isinstance(self.T, float) else "T" + one("T", self.T))
        stage = [one("stage", self.stage)]
        return "/".join(stage + qualifiers + path + [leaf] if self.stage_qualified else stage + path + [leaf] + qualifiers)

    # ------------------------------------------------------------------------ plain data
    def to_data(self) -> dict[str, Any]:
        """The fields that differ from the defaults, as plain data (lists, ``"*"``, dicts for Near)."""
        def plain(f: str, c: Any) -> Any:
            if _is_choice(f, c):
                return [plain(f, a) for a in c]
            if c is ANY:
                return _STAR
            if isinstance(c, Near):
                return {"near": c.to, "side": c.side}
            return list(c) if f == "path" else c

        default = Select()
        return {f.name: plain(f.name, getattr(self, f.name)) for f in fields(self)
                if getattr(self, f.name) != getattr(default, f.name)}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Select:
        """A selector from plain data (:meth:`to_data`'s form, or ``{"name": <one metric>}``)."""
        unknown = set(data) - {f.name for f in fields(cls)} - {"name"}
        if unknown:
            raise ValueError(f"select: unknown field {sorted(unknown)[0]!r}; allowed: name, "
                             + ", ".join(f.name for f in fields(cls)))
        if "name" in data:
            if len(data) > 1:
                raise ValueError("select: 'name' names one metric and takes no other field")
            return cls.exact(data["name"])

        def value(f: str, x: Any) -> Any:
            if x == _STAR:
                return ANY
            if isinstance(x, Mapping) and f == "T":
                if "near" not in x or set(x) - {"near", "side"}:
                    raise ValueError(f"select: bad T {dict(x)!r}; allowed: {{near: <T or name>, side: nearest|below|above}}")
                return Near(x["near"], x.get("side", "nearest"))
            if isinstance(x, list) and not (f == "path" and all(isinstance(s, str) for s in x)):
                return tuple(value(f, a) for a in x)
            return tuple(x) if f == "path" and isinstance(x, list) else x

        return cls(**{f: (x if f == "stage_qualified" else value(f, x)) for f, x in data.items()})
