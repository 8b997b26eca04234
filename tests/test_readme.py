"""The Python examples of the README and of docs/ run as written (the manual must not lie): each
file's ```python blocks in order, in one namespace per file."""

import re
from pathlib import Path

from tests.conftest import ROOT

DOCS = sorted((ROOT / "docs").glob("*.md"))


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def run_blocks(path: Path) -> dict:
    namespace: dict = {}
    for block in python_blocks(path):
        exec(compile(block, str(path.relative_to(ROOT)), "exec"), namespace)  # noqa: S102
    return namespace


def test_readme_python_blocks_run():
    assert len(python_blocks(ROOT / "README.md")) >= 1
    namespace = run_blocks(ROOT / "README.md")
    assert namespace["s"].shape == (200, 16, 16) and namespace["s"].dtype.name == "int8"
    # decimation keeps every other spin of every other row: the coarse lattice is a sub-lattice
    assert (namespace["coarse"] == namespace["s"][:, ::2, ::2]).all()


def test_api_python_blocks_run():
    assert len(python_blocks(ROOT / "docs" / "api.md")) >= 3
    namespace = run_blocks(ROOT / "docs" / "api.md")
    assert namespace["s"].shape == (1000, 32, 32) and namespace["s"].dtype.name == "int8"
    assert namespace["v5"].shape == (1000, 100)


def test_every_other_doc_python_block_runs():
    """A Python block added to any other page of docs/ runs too (none holds one today)."""
    others = [p for p in DOCS if p.name != "api.md"]
    assert len(others) >= 6
    for path in others:
        run_blocks(path)
