"""What every dashboard page shares: escaping, colours, the shared plotly.js, atomic writes, the page frame.

Pages are plain HTML files that work from disk with no network: plotly.js is
written once beside the folders it serves (`<parent>/plotly.min.js`) and
referenced relatively, or embedded when asked. Every string that came from a
scenario file or a language model is escaped before it reaches HTML or a
Plotly label (plotly.js renders labels and hover text as a subset of HTML).
"""

from __future__ import annotations

import html
import math
import os
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from learncomm.sim.runs.store import atomic_file
from learncomm.sim.schema.vocab import GROUPS
from learncomm.sim.schema.wording import number

# Okabe-Ito colours (safe for colour-blind readers); a group has the same colour on every page.
GROUP_COLOURS: dict[str, str] = {
    "all": "#555555",
    "low": "#D55E00",
    "medium": "#E69F00",
    "high": "#0072B2",
    "tutors": "#CC79A7",
    "tutees": "#56B4E9",
    "community": "#009E73",
}
# What learners do on a day (the participation mix), from Paul Tol's "muted" scheme (colour-blind safe, Tol 2021,
# SRON/EPS/TN/09-002): none is near a group's colour (ask was once an orange beside the low group's vermillion),
# and the five stay apart under simulated protan, deutan and tritan vision (tests/test_dashboard_data.py).
MODE_COLOURS: dict[str, str] = {
    "study": "#DDCC77",
    "ask": "#332288",
    "observe": "#88CCEE",
    "explain": "#117733",
    "meet": "#882255",
}
GROUP_LABELS: dict[str, str] = {"all": "all learners", **{g: f"{g} confidence" for g in GROUPS}}
PLOTLY_JS = "plotly.min.js"
CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}


class DashboardError(Exception):
    """A problem the user can fix: not a results folder, a missing or unreadable file."""


def esc(value: Any) -> str:
    """Text from a scenario file or an LLM, made safe for HTML and for Plotly labels (shown, never run)."""
    return html.escape("" if value is None else str(value), quote=True)


def esc_wrapped(text: Any, width: int = 80, limit: int = 600) -> str:
    """Escaped text broken into lines with <br> for Plotly hover labels; long text is cut (the table has it all)."""
    s = "" if text is None else str(text)
    if len(s) > limit:
        s = s[:limit] + " …"
    lines = textwrap.wrap(s, width=width, break_long_words=True, replace_whitespace=True) or [""]
    return "<br>".join(esc(line) for line in lines)


def colour(group: str, alpha: float | None = None) -> str:
    """The group's colour, optionally as rgba with transparency (bands)."""
    c = GROUP_COLOURS.get(group, "#777777")
    if alpha is None:
        return c
    r, g, b = (int(c[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def rounded(values: Iterable[Any], digits: int = 4) -> list[float | None]:
    """Floats rounded for small HTML; NaN and inf become null (a gap in a line)."""
    out: list[float | None] = []
    for v in values:
        f = float(v) if v is not None else math.nan
        out.append(None if not math.isfinite(f) else round(f, digits))
    return out


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a table cell ('–' when missing)."""
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number(f, digits, thousands=True)  # '–' when not finite, never '-0.000'


def atomic_write_text(path: Path, text: str) -> None:
    """Write beside the target, then rename: a reader never sees half a page."""
    atomic_file(path, lambda p: p.write_text(text, encoding="utf-8"))


_ASSETS_ROOT: ContextVar[Path | None] = ContextVar("assets_root", default=None)


@contextmanager
def assets_root(root: Path) -> Iterator[None]:
    """Pages written inside this block under `root` (a results folder given to `learncomm dashboard`) share
    `root/plotly.min.js`."""
    token = _ASSETS_ROOT.set(Path(root).resolve())
    try:
        yield
    finally:
        _ASSETS_ROOT.reset(token)


def assets_dir(folder: Path) -> Path:
    """Where the shared plotly.min.js of `folder`'s page goes: inside the results root the page is written to,
    never above it (a plotly.min.js found in /tmp or a parent folder may be anyone's script). The root is the
    results folder being built (`assets_root`), else the folder that holds `folder` (for a run inside a sweep,
    the one that holds the sweep)."""
    folder = Path(folder).resolve()
    if (
        folder.parent.name.startswith("point=")
        and folder.parents[1].name == "runs"
        and (folder.parents[2] / "sweep.json").is_file()
    ):
        folder = folder.parents[2]  # a sweep's own run: its page shares the sweep's assets
    home = folder.parent
    root = _ASSETS_ROOT.get()
    return root if root is not None and home.is_relative_to(root) else home


def ensure_plotly_js(directory: Path) -> Path:
    """Write plotly.min.js once per folder (rewritten only when plotly's version changed)."""
    target = Path(directory) / PLOTLY_JS
    js = get_plotlyjs()
    if not target.is_file() or target.stat().st_size != len(js.encode("utf-8")):
        atomic_write_text(target, js)
    return target


def figure_html(fig: go.Figure, div_id: str) -> str:
    """A figure as a div plus Plotly's own newPlot script (plotly.js is loaded once by the page)."""
    return pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=div_id, config=CONFIG, validate=False)


def table_html(header: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "data") -> str:
    """An HTML table; every header and every cell is escaped (cells may be pre-formatted by `fmt`)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<div class="tablewrap"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    )


@dataclass
class Section:
    """One block of a page: a title, a 'how to read this' line, and the HTML (figures, tables, notes)."""

    id: str
    title: str
    how: str
    body: str
    notes: list[str] = field(default_factory=list)

    def html(self) -> str:
        notes = "".join(f'<p class="note">{esc(n)}</p>' for n in self.notes)
        return (
            f'<section id="{esc(self.id)}"><h2>{esc(self.title)}</h2><p class="how"><b>How to read '
            f"this:</b> {esc(self.how)}</p>{notes}{self.body}</section>"
        )


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#fff;border-bottom:1px solid #ddd;padding:1rem 2rem}
h1{margin:.2rem 0 .6rem;font-size:1.5rem} h2{font-size:1.2rem;margin:0 0 .3rem}
dl.facts{display:flex;flex-wrap:wrap;gap:.3rem 1.6rem;margin:0}
dl.facts div{display:flex;gap:.4rem} dt{color:#666} dd{margin:0;font-weight:600}
nav{padding:.5rem 2rem;font-size:.9rem;background:#f0f0f0;border-bottom:1px solid #ddd}
nav a{margin-right:1rem;color:#0b5394}
main{padding:1rem 2rem;max-width:1400px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:1rem 1.2rem;margin:0 0 1.2rem}
p.how{color:#444;margin:.2rem 0 .6rem;font-size:.92rem} p.note{color:#8a5a00;font-size:.9rem;margin:.2rem 0}
.tablewrap{max-height:32rem;overflow:auto} table.data{border-collapse:collapse;font-size:.85rem}
table.data th,table.data td{border-bottom:1px solid #eee;padding:.25rem .6rem;text-align:left;vertical-align:top}
table.data th{position:sticky;top:0;background:#f4f4f4}
.warn{background:#fde2e1;border:1px solid #d33;padding:.6rem 1rem;margin:1rem 2rem}
.controls{display:flex;gap:1.5rem;flex-wrap:wrap;margin:.4rem 0 .8rem} .controls label{font-weight:600}
.legend-groups span{display:inline-block;margin-right:1rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:middle}
"""

MISSING_JS = """<script>window.addEventListener('DOMContentLoaded',function(){if(!window.Plotly){
var d=document.createElement('div');d.className='warn';
d.textContent='The charts need plotly.min.js at %s (next to this folder). '+
 'Rebuild with: learncomm dashboard <folder>  (or --embed for a single self-contained file).';
document.body.insertBefore(d,document.body.firstChild);}});</script>"""


def group_legend() -> str:
    """The confidence groups' colours, shown once at the top of each page."""
    spans = "".join(
        f'<span><i class="swatch" style="background:{GROUP_COLOURS[g]}"></i>{esc(GROUP_LABELS[g])}</span>'
        for g in (*GROUPS, "all")
    )
    return f'<p class="legend-groups">{spans}</p>'


def page(  # noqa: PLR0913 - each part of the frame is a keyword; a bundle type would add nothing
    title: str,
    facts: Sequence[tuple[str, Any]],
    sections: Sequence[Section],
    html_path: Path,
    embed: bool = False,
    extra_head: str = "",
    extra_body: str = "",
    inputs: str = "",
) -> str:
    """A whole page: header with the key facts, a contents line, the sections; plotly.js shared or embedded.
    `inputs` (a `<meta>` from `folders.inputs_tag`) goes first in the head, where a staleness check reads it."""
    if embed:
        script = f"<script>{get_plotlyjs()}</script>"
        missing = ""
    else:
        js = ensure_plotly_js(assets_dir(html_path.parent))
        rel = Path(os.path.relpath(js, html_path.parent.resolve())).as_posix()
        script = f'<script src="{esc(rel)}"></script>'
        missing = MISSING_JS % esc(rel).replace("'", "\\'")
    fact_html = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in facts)
    nav = "".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s in sections)
    body = "".join(s.html() for s in sections)
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">{inputs}<meta name="viewport" '
        'content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style>{script}{missing}{extra_head}</head><body>"
        f'<header><h1>{esc(title)}</h1><dl class="facts">{fact_html}</dl>{group_legend()}</header><nav>{nav}</nav>'
        f"<main>{body}</main>{extra_body}</body></html>\n"
    )


def base_layout(fig: go.Figure, height: int, **kw: Any) -> go.Figure:
    """Shared look: white template, room for the legend, left-aligned hover labels (long texts)."""
    layout: dict[str, Any] = {
        "template": "plotly_white",
        "height": height,
        "margin": {"l": 60, "r": 30, "t": 50, "b": 50},
        "hoverlabel": {"align": "left"},
        "legend": {"orientation": "h", "y": -0.18},
    }
    layout.update(kw)
    fig.update_layout(**layout)
    return fig
