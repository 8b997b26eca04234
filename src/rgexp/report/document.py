"""A tiny document model rendered twice: Markdown (figures linked relatively) and self-contained
HTML (figures embedded as base64 ``data:`` URIs), so both always say the same thing.

A link to a figure in a cell or paragraph is written ``[text](figures/NAME.png)``: Markdown keeps
it (the file sits beside the report); HTML points it at the embedded figure (``#fig-NAME``)."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Heading", "Para", "Table", "Figure", "Block", "anchor", "to_markdown", "to_html"]


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    """Plain text; `backticks` become code in both renderings."""

    text: str


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Figure:
    path: str  # relative to the report's directory, e.g. figures/flow_temperature.png
    caption: str


Block = Heading | Para | Table | Figure


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {b.text}")
        elif isinstance(b, Para):
            out.append(b.text)
        elif isinstance(b, Table):
            out.append("| " + " | ".join(_md_cell(h) for h in b.header) + " |")
            out.append("|" + "---|" * len(b.header))
            out.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows)
        elif isinstance(b, Figure):
            out.append(f"![{b.caption}]({b.path})")
        out.append("")
    return "\n".join(out)


_FIGURE_LINK = re.compile(r"\[([^\]]+)\]\(figures/([A-Za-z0-9_.-]+)\.png\)")


def anchor(path: str) -> str:
    """The HTML id of the embedded figure ``figures/NAME.png``: ``fig-NAME``."""
    name = Path(path).name
    return "fig-" + (name[: -len(".png")] if name.endswith(".png") else name)


def _inline(text: str) -> str:
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
    return _FIGURE_LINK.sub(lambda m: f"<a href='#{anchor(m[2] + '.png')}'>{m[1]}</a>", text)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1300px; padding: 0 1em; color: #222; }
div.table { overflow-x: auto; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top;
         max-width: 26em; overflow-wrap: break-word; }
td.v-reproduced, td.v-not-reproduced, td.v-inconclusive { white-space: nowrap; }
th { background: #f3f3f3; }
td.v-reproduced { background: #d9f2d9; } td.v-not-reproduced { background: #f7d4d4; }
td.v-inconclusive { background: #f3ecd2; }
figure img { max-width: 100%; } code { background: #f3f3f3; padding: 0 2px; }
"""


def _cell(text: str) -> str:
    cls = f' class="v-{text.replace(" ", "-")}"' if text in ("reproduced", "not reproduced", "inconclusive") else ""
    return f"<td{cls}>{_inline(str(text))}</td>"


def _table_html(t: Table) -> str:
    head = "".join(f"<th>{_inline(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in t.rows)
    return f"<div class='table'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def to_html(blocks: list[Block], root: Path, title: str) -> str:
    """Self-contained HTML; figure files are read from ``root`` and embedded."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body>"]
    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{_inline(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            parts.append(f"<p>{_inline(b.text)}</p>")
        elif isinstance(b, Table):
            parts.append(_table_html(b))
        elif isinstance(b, Figure):
            data = base64.b64encode((root / b.path).read_bytes()).decode("ascii")
            parts.append(f"<figure id='{anchor(b.path)}'><img alt='{html.escape(b.caption)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{_inline(b.caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
