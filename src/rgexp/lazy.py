"""Modules imported on first use.

A run that keeps no figures never draws one (``tracking.figures=false``), so the drawing modules —
and matplotlib, seaborn and pandas behind them — need not be imported by every process that runs
or merely checks a config: the stages hold them as ``figures = lazy_module("rgexp.analysis.figures")``
and the import happens at the first ``figures.<name>``.

The stand-in is not put in ``sys.modules``: code that walks every loaded module (``inspect.getmodule``,
which torch calls while importing ``torch.distributed``) would otherwise touch it and load it — the
standard library's ``LazyLoader`` recipe registers the module and is defeated that way.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

__all__ = ["lazy_module"]


class _Deferred(ModuleType):
    """Stands for the module ``name`` until an attribute is read, then hands over to it."""

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)  # later reads skip __getattr__
        return getattr(module, attribute)


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, imported when one of its attributes is first read."""
    if importlib.util.find_spec(name) is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    return _Deferred(name)
