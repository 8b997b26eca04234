"""``python -m rgexp.stages``: the stage graph — who gives what to whom — drawn from the stage
modules' own declarations (NEEDS, USES, GIVES) in the default ``stages`` order; ``--write PATH``
writes it as the architecture page (``docs/architecture.md``; a test keeps that file equal to
this output, so it cannot go stale)."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from types import ModuleType

from omegaconf import OmegaConf

from rgexp import stages

CONFIG = Path(__file__).resolve().parents[1] / "conf" / "config.yaml"
INTRO = """# Architecture: the stages and what they hand each other

A run is the config's `stages` list run in order by the orchestrator (`rgexp.pipeline`). Each stage
is a module of `rgexp.stages` that declares what it NEEDS (products an earlier stage must have given),
what it USES when given (a stage that gives it must then come earlier) and what it GIVES (a typed
field of `rgexp.stages.Context`). The orchestrator refuses a list whose order leaves a need unmet,
before any work, and refuses a stage that returns nothing for what it gives. Everything else the
stages decide themselves (`applies`, `check`).

This page is generated from the stage modules' declarations by `python -m rgexp.stages --write
docs/architecture.md` (a test checks that it is up to date).
"""


def default_order() -> list[str]:
    """The stage names of ``conf/config.yaml``'s ``stages`` list, then any other stage module."""
    listed = list(OmegaConf.load(CONFIG).stages)
    return listed + [s for s in stages.available() if s not in listed]


def _summary(module: ModuleType) -> str:
    """The first sentence of the module's docstring, without its ``Stage `name`:`` lead."""
    doc = " ".join((inspect.getdoc(module) or "").split())
    head = doc.split(": ", 1)[1] if doc.startswith("Stage ") and ": " in doc else doc
    return head.split(". ")[0].rstrip(".").replace("``", "`").replace("|", "\\|")


def mermaid(modules: list[ModuleType]) -> list[str]:
    """A Mermaid flowchart: stages as boxes, products as edges from the giver to each reader
    (solid: NEEDS, dotted: USES)."""
    giver = {p: stages.stage_name(m) for m in modules for p in m.GIVES}
    lines = ["```mermaid", "flowchart TD"]
    for m in modules:
        name = stages.stage_name(m)
        for product in m.NEEDS:
            if product in giver:
                lines.append(f"    {giver[product]} -->|{product}| {name}")
        for product in getattr(m, "USES", ()):
            if product in giver:
                lines.append(f"    {giver[product]} -.->|{product}| {name}")
    return lines + ["```"]


def table(modules: list[ModuleType]) -> list[str]:
    rows = ["| stage | needs | uses (if given) | gives | what it does |", "|---|---|---|---|---|"]
    for m in modules:
        cells = [", ".join(f"`{p}`" for p in getattr(m, key, ())) or "—" for key in ("NEEDS", "USES", "GIVES")]
        rows.append(f"| `{stages.stage_name(m)}` | {' | '.join(cells)} | {_summary(m)} |")
    return rows


def page() -> str:
    modules = stages.resolve(default_order())
    return "\n".join([INTRO, "## The stage graph (default order)", "", *mermaid(modules), "",
                      "## Each stage", "", *table(modules), ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rgexp.stages", description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="PATH", help="write the page there instead of printing it")
    args = parser.parse_args(argv)
    if args.write:
        Path(args.write).write_text(page())
    else:
        print(page(), end="")


if __name__ == "__main__":
    main()
