"""The README's Python examples run as written (the manual must not lie)."""

import re

from tests.conftest import ROOT


def test_readme_python_blocks_run():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["s"].shape == (1000, 32, 32) and namespace["s"].dtype.name == "int8"
    assert namespace["v5"].shape == (1000, 100)
