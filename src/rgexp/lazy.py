"""Modules loaded on first use (the standard library's ``importlib.util.LazyLoader`` recipe).

A run that keeps no figures never draws one (``tracking.figures=false``), so the drawing modules —
and matplotlib, seaborn and pandas behind them — need not be imported by every process that runs
or merely checks a config: the stages hold them as ``figures = lazy_module("rgexp.analysis.figures")``
and the import happens at the first ``figures.<name>``.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

__all__ = ["lazy_module"]


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, executed when one of its attributes is first read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
