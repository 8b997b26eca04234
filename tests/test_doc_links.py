"""The README and docs/ hold together: every relative link (and its #anchor) resolves inside the
repository, every repository path they name in backticks exists, and the README stays a manual."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:
# a path inside the repository named in backticks: a top-level folder, then no placeholders
REPO_PATH = re.compile(r"`((?:src|tests|benchmarks|docs|\.ci)/[^`\s<>*…{}]+)`")
README_MAX_LINES = 300


def prose(text: str) -> str:
    """The text without fenced code blocks (their '#' lines are comments, not headings)."""
    return re.sub(r"^```.*?^```[^\n]*$", "", text, flags=re.S | re.M)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(path.read_text()), flags=re.M):
        base = slug(heading)
        n = seen.get(base, 0)
        out.add(base if n == 0 else f"{base}-{n}")  # GitHub numbers repeated headings
        seen[base] = n + 1
    return out


def links(path: Path) -> list[str]:
    return [t for t in LINK.findall(prose(path.read_text())) if not EXTERNAL.match(t)]


def test_the_slug_is_githubs():
    assert slug("Where the RBM flow's fixed point lies") == "where-the-rbm-flows-fixed-point-lies"
    assert slug("`bench_subnormals.py`") == "bench_subnormalspy"
    assert slug("MLflow: browsing runs") == "mlflow-browsing-runs"


def test_the_pages_link_to_each_other():
    assert len(PAGES) >= 7 and sum(len(links(p)) for p in PAGES) > 30  # the scan sees the links


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves_inside_the_repository(page):
    broken = []
    for target in links(page):
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        if not resolved.is_relative_to(ROOT.resolve()) or file.startswith("/"):
            broken.append(f"{target}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor} in {resolved.name}")
    assert broken == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_repository_path_named_exists(page):
    named = set(REPO_PATH.findall(page.read_text()))
    assert [p for p in sorted(named) if not (ROOT / p.rstrip("/.,")).exists()] == []


def test_the_readme_is_a_manual_not_a_notebook():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= README_MAX_LINES
    # no commit-stamped results: a 7-to-40-digit hex word would be a hash
    assert re.findall(r"\bcommit [0-9a-f]{7,40}\b", text) == []
