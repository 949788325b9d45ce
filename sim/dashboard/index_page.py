"""The index page (results/index.html): every run, comparison, sweep and model check in a results folder, newest
first.

Plain HTML (no plotly.js needed): one table per kind with links to each
folder's dashboard and the facts that tell runs apart.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from learncomm.sim.dashboard.common import CSS, atomic_write_text, esc, fmt
from learncomm.sim.dashboard.folders import children


def _json(path: Path) -> dict[str, Any]:
    """A folder's JSON file, or {} when it is missing or damaged (the row then shows dashes)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _mtime(path: Path) -> str:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    except OSError:
        return ""


def _link(root: Path, folder: Path) -> str:
    """A relative link to the folder's dashboard (or the folder itself when it has none yet)."""
    page = folder / "dashboard.html"
    target = page if page.is_file() else folder
    rel = quote(Path(os.path.relpath(target, root)).as_posix())
    label = Path(os.path.relpath(folder, root)).as_posix()
    note = "" if page.is_file() else ' <span class="note">(no dashboard yet)</span>'
    return f'<a href="{esc(rel)}">{esc(label)}</a>{note}'


def run_row(root: Path, folder: Path) -> tuple[str, list[str]]:
    m = _json(folder / "manifest.json")
    g = _dict(_json(folder / "summary.json").get("groups"))
    c = _dict(_json(folder / "summary.json").get("community"))
    created = str(m.get("created") or _mtime(folder / "manifest.json"))
    cells = [
        _link(root, folder),
        esc(m.get("scenario_name")),
        esc(m.get("seed")),
        esc(fmt(m.get("learners"))),
        esc(m.get("days")),
        esc(created),
        esc(fmt(_dict(g.get("low")).get("knowledge_gain"))),
        esc(fmt(_dict(g.get("high")).get("knowledge_gain"))),
        esc(fmt(c.get("equity_gap"))),
        esc(", ".join(map(str, m.get("decider") or [])) or "–"),
    ]
    return created, cells


def comparison_row(root: Path, folder: Path) -> tuple[str, list[str]]:
    m = _json(folder / "manifest.json")
    req = _dict(m.get("request"))
    seeds = m.get("seeds") or []
    created = str(m.get("created") or _mtime(folder / "comparison.parquet"))
    cells = [
        _link(root, folder),
        esc(m.get("a")),
        esc(m.get("b")),
        esc(len(seeds) if isinstance(seeds, list) else "–"),
        esc(fmt(req.get("learners")) if req.get("learners") else "scenario's"),
        esc(req.get("days") or "scenario's"),
        esc(created),
    ]
    return created, cells


def sweep_row(root: Path, folder: Path) -> tuple[str, list[str]]:
    r = _json(folder / "sweep.json")
    design = r.get("design")
    kind = design.get("kind") if isinstance(design, dict) else design
    base = r["base"] if isinstance(r.get("base"), dict) else {}
    scen = _dict(base.get("scenario"))
    params = r.get("parameters") or []
    names = (
        list(params) if isinstance(params, dict) else [p.get("path") if isinstance(p, dict) else str(p) for p in params]
    )
    created = str(r.get("created") or _mtime(folder / "summary.parquet") or _mtime(folder / "sweep.json"))
    pts = r.get("points")
    points = len(pts) if isinstance(pts, list) else "–"
    cells = [
        _link(root, folder),
        esc(scen.get("name") or base.get("source")),
        esc(kind),
        esc(", ".join(str(n) for n in names)),
        esc(points),
        esc(r.get("replicates")),
        esc(fmt(scen.get("learners"))),
        esc(scen.get("days")),
        esc(created),
    ]
    return created, cells


def check_row(root: Path, folder: Path) -> tuple[str, list[str]]:
    d = _json(folder / "check.json")
    res = [r for r in d.get("facts") or [] if isinstance(r, dict)]
    seeds = d.get("seeds")
    log = _dict(d.get("log"))
    created = str(d.get("created") or _mtime(folder / "check.json"))
    cells = [
        _link(root, folder),
        esc(f"{sum(1 for r in res if r.get('passed'))} of {len(res)} pass" if res else "–"),
        esc(", ".join(str(s) for s in seeds) if isinstance(seeds, list) else "–"),
        esc("fast" if d.get("fast") else "full"),
        esc(Path(str(log["source"])).name if log.get("source") else "–"),
        esc(created),
    ]
    return created, cells


def calibration_row(root: Path, folder: Path) -> tuple[str, list[str]]:
    d = _json(folder / "calibration.json")
    log, base, best, baseline = (
        _dict(d.get("log")),
        _dict(d.get("base")),
        _dict(d.get("best")),
        _dict(d.get("baseline")),
    )
    created = str(d.get("created") or _mtime(folder / "calibration.json"))
    cells = [
        _link(root, folder),
        esc(Path(str(log["source"])).name if log.get("source") else "–"),
        esc(base.get("scenario")),
        esc(d.get("trials_done")),
        esc(fmt(best.get("distance"))),
        esc(fmt(baseline.get("distance"))),
        esc(created),
    ]
    return created, cells


def eval_row(root: Path, folder: Path) -> tuple[str, list[str]]:
    d = _json(folder / "eval.json")
    created = _mtime(folder / "eval.json")
    overall = _dict(d.get("overall"))
    cells = [
        _link(root, folder),
        esc(f"{d.get('model')} ({d.get('decider')})"),
        esc(d.get("situations")),
        esc(fmt(overall.get("valid_share"))),
        esc(fmt(overall.get("agrees_with_policy"))),
        esc("passed" if d.get("passed") else "failed"),
        esc(created),
    ]
    return created, cells


TABLES = {
    "run": (
        "Runs",
        [
            "run",
            "scenario",
            "seed",
            "learners",
            "days",
            "created",
            "gain low",
            "gain high",
            "equity gap",
            "AI deciders",
        ],
        run_row,
    ),
    "comparison": ("Comparisons", ["comparison", "A", "B", "seeds", "learners", "days", "created"], comparison_row),
    "sweep": (
        "Sweeps",
        ["sweep", "base scenario", "design", "parameters", "points", "replicates", "learners", "days", "created"],
        sweep_row,
    ),
    "check": ("Model checks", ["check", "stylised facts", "seeds", "suite", "log", "created"], check_row),
    "calibration": (
        "Calibrations",
        ["calibration", "log", "base scenario", "trials", "best distance", "base distance", "created"],
        calibration_row,
    ),
    "eval": (
        "Language-model evaluations",
        ["evaluation", "model", "situations", "valid", "agrees with policy", "result", "created"],
        eval_row,
    ),
}


def build_index(root: Path) -> Path:
    """Write ROOT/index.html and return its path. A folder with damaged files still gets its row (dashes for what
    cannot be read), so one bad manifest never stops the index."""
    found: dict[str, list[tuple[str, list[str]]]] = {k: [] for k in TABLES}
    for folder, kind in children(root):
        if kind in TABLES:
            try:
                found[kind].append(TABLES[kind][2](root, folder))
            except Exception:  # noqa: BLE001 - an unexpected shape in a damaged file: a row with the link only
                found[kind].append(("", [_link(root, folder)] + ["–"] * (len(TABLES[kind][1]) - 1)))
    parts = []
    for table, (title, header, _) in TABLES.items():
        rows = sorted(found[table], key=lambda r: r[0], reverse=True)
        if not rows:
            parts.append(f"<section><h2>{title}</h2><p>None yet.</p></section>")
            continue
        head = "".join(f"<th>{esc(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>" for _, cells in rows
        )  # cells are escaped above
        parts.append(
            f'<section id="{table}s"><h2>{title} ({len(rows)})</h2><div class="tablewrap"><table '
            f'class="data"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div></section>"
        )
    total = sum(len(v) for v in found.values())
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    html = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>learncomm results: '
        f"{esc(root.resolve().name)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>learncomm results in {esc(root.resolve().name)}/</h1><p>{total} folders, newest first; "
        "click one to open its dashboard. "
        "Gains are mean knowledge gains (0–1) of the low- and high-confidence groups; the equity gap is high "
        f"− low. Written {esc(stamp)}.</p></header>"
        f"<main>{''.join(parts)}</main></body></html>\n"
    )
    target = root / "index.html"
    atomic_write_text(target, html)
    return target
