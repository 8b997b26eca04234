"""docs/references.md restates every value and source the project relies on, and no file of the
project points outside the repository (a clone has nothing beside it)."""

from __future__ import annotations

import re
import subprocess

import pytest

from rgexp.constants import PUBLISHED_T_C, T_C
from rgexp.report.claims import load_claims
from tests.conftest import ROOT

REFERENCES = ROOT / "docs" / "references.md"


def test_references_restate_the_registry_and_the_claims_sources():
    text = REFERENCES.read_text()
    assert f"{T_C:.6f}" in text and "Δ_σ (`ising2d.delta_sigma`) | 1/8" in text
    for (d, sigma, couplings), published in PUBLISHED_T_C.items():
        digits = f"{published.value:.{len(str(published.value).split('.')[1])}f}"
        last = round(published.error * 10 ** len(str(published.value).split(".")[1]))
        row = [line for line in text.splitlines() if line.startswith(f"| {d} | {sigma} |")]
        assert len(row) == 1 and f"`{couplings}`" in row[0] and f"{digits}({last})" in row[0], (d, sigma, row)
    flat = " ".join(text.replace("*", "").split())  # titles wrap across lines and are set in italics
    for key, citation in load_claims().sources.items():
        if key != "exact":  # each source by its key, its title and where it appeared
            title, where = (citation.split(", ")[i] for i in ((3, -1) if key == "dmk2020" else (-2, -1)))
            assert f"{key}: " in flat and title in flat and where in flat, (key, title, where)


def test_the_registry_and_the_claims_cite_the_references_file():
    assert "docs/references.md" in (ROOT / "src" / "rgexp" / "constants.py").read_text()
    assert "docs/references.md" in load_claims().sources["exact"]


def test_no_file_of_the_project_points_outside_the_repository():
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True,
                           check=True).stdout.split()
    shared = "shared"  # spelled in pieces: this file must not match itself
    outside = re.compile(rf"^/work/|[\s(]/work/|\.\./{shared}/|{shared}/REFERENCE", re.MULTILINE)
    found = [f for f in files if (ROOT / f).suffix in (".py", ".yaml", ".md", ".toml", ".cfg", ".txt", "")
             and (ROOT / f).is_file() and outside.search((ROOT / f).read_text(errors="replace"))]
    assert not found, found


def test_reference_gives_a_quantity_of_the_runs_model():
    from rgexp.constants import reference

    assert reference("T_c", "ising2d", J=-2.0) == 2 * T_C and reference("K_star", "chain1d") == 0.0
    assert reference("delta_sigma", "long_range", sigma=1.25, d=2) == 0.375
    assert reference("delta_sigma", "long_range", sigma=1.75, d=2) is None  # marginal σ_*: no closed form
    assert reference("delta_epsilon", "long_range", sigma=1.25, d=2) is None
    assert reference("T_c", "long_range", sigma=0.875, d=1, couplings="minimum_image", J=2.0) == 2 * 2.10589
    assert reference("T_c", "long_range", sigma=0.875, d=1) is None  # published for minimum_image only
    for args, message in [(("eta", "ising2d"), "unknown quantity 'eta'; allowed: T_c, delta_sigma"),
                          (("T_c", "ising3d"), "unknown model 'ising3d'; allowed: ising2d, chain1d, long_range")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            reference(*args)
