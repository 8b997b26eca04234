"""The drawing modules load on first use, even when torch walks every loaded module; scipy.stats
(~0.5 s of every process's start) loads when a fit needs it."""

import subprocess
import sys

import pytest

PROBE = """
import inspect, sys
from rgexp import pipeline
from rgexp.stages import _transform
inspect.getmodule((lambda: None).__code__, "<probe>")  # reads every loaded module's __file__, as torch does on import
before = "matplotlib" in sys.modules, "scipy.stats" in sys.modules
_transform.figures.__file__  # the first read loads it (seaborn brings scipy.stats)
print(*before, "matplotlib" in sys.modules)
"""


def test_a_process_that_draws_nothing_never_imports_matplotlib_nor_scipy_stats():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]


def test_a_missing_module_is_refused_when_declared():
    from rgexp.lazy import lazy_module

    with pytest.raises(ModuleNotFoundError, match="no_such_module"):
        lazy_module("rgexp.no_such_module")
