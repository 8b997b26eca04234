"""Type predicates for range checks on user input, and numpy scalars as plain Python values.

The constructors that turn config values into objects (samplers, trainers, thermometers) check
every argument and raise a one-line ``ValueError`` naming it. A config value can arrive as a Python
``int``/``float`` (YAML), as a numpy scalar (a value computed by the caller) or as a ``bool``, which
Python counts as an int: ``is_int(True)`` must be False so that ``epochs=true`` is refused. The
stdlib's numeric ABCs do the type part (numpy registers its scalars with them); these helpers add
only the bool exclusion.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["is_int", "is_number", "plain"]


def is_int(x: Any) -> bool:
    """An integer (Python or numpy), not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def is_number(x: Any) -> bool:
    """A real number (Python or numpy int or float), not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def plain(x: Any) -> Any:
    """numpy scalars as Python ``bool``/``int``/``float`` (checkpoints and params hold plain types);
    anything else as it is."""
    if isinstance(x, (bool, np.bool_)):  # np.bool_ is no numbers.Integral
        return bool(x)
    if is_int(x):
        return int(x)
    return float(x) if is_number(x) else x
