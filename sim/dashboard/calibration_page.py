"""A calibration's page (CALIBRATION_DIR/dashboard.html): data against simulation per figure, the search's
progress, and the spread of good fits per parameter.

Built from calibration.json alone, so it can be rebuilt from the folder. Text from the file (the log's path,
parameter names) is data: every string goes through `esc` or `table_html`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from learncomm.sim.dashboard.common import (
    DashboardError,
    Section,
    atomic_write_text,
    base_layout,
    esc,
    figure_html,
    fmt,
    page,
    table_html,
)

SIDES = (("data", "log", "#000000", 3), ("best", "best fit", "#0072B2", 2), ("baseline", "uncalibrated", "#D55E00", 2))
GRID = [i / 100 for i in range(101)]


def _sides(data: dict[str, Any]) -> list[tuple[str, dict[str, Any], str, int]]:
    figs = data.get("figures") or {}
    return [(label, figs[k], colour, w) for k, label, colour, w in SIDES if figs.get(k)]


def lorenz_figure(data: dict[str, Any]) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#999"}, name="equal"))
    for label, f, colour, w in _sides(data):
        fig.add_trace(go.Scatter(x=GRID, y=f["lorenz"], name=esc(label), line={"color": colour, "width": w}))
    return base_layout(
        fig, 420, xaxis={"title": "share of members (least active first)"}, yaxis={"title": "share of posts"}
    )


def weekly_figure(data: dict[str, Any], key: str, title: str) -> go.Figure:
    fig = go.Figure()
    for label, f, colour, w in _sides(data):
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(f[key]) + 1)),
                y=f[key],
                name=esc(label),
                mode="lines+markers",
                line={"color": colour, "width": w},
            )  # fmt: skip
        )
    return base_layout(fig, 380, xaxis={"title": "week"}, yaxis={"title": title, "tickformat": ".0%"})


def survival_figure(data: dict[str, Any]) -> go.Figure:
    fig = go.Figure()
    days = float((data.get("figures") or {}).get("data", {}).get("days") or 1.0)
    at = np.linspace(0.0, days, 120)
    for label, f, colour, w in _sides(data):
        s = np.asarray(f["spans"], dtype=np.float64)
        y = 1.0 - np.searchsorted(s, at, side="right") / len(s) if len(s) else np.zeros(len(at))
        fig.add_trace(
            go.Scatter(x=at.tolist(), y=y.tolist(), name=esc(label), line={"color": colour, "width": w, "shape": "hv"})
        )
    return base_layout(
        fig,
        380,
        xaxis={"title": "days from first to last post"},
        yaxis={"title": "share of posters", "tickformat": ".0%"},
    )


def progress_figure(data: dict[str, Any]) -> go.Figure:
    trials = data.get("trials", [])
    fig = go.Figure()
    ok = [t for t in trials if t.get("distance") is not None]
    fig.add_trace(
        go.Scatter(
            x=[t["number"] for t in ok],
            y=[t["distance"] for t in ok],
            mode="markers",
            name="trial",
            marker={"color": "#999", "size": 5},
        )  # fmt: skip
    )
    fig.add_trace(
        go.Scatter(
            x=[t["number"] for t in trials],
            y=data.get("running_best", []),
            mode="lines",
            name="best so far",
            line={"color": "#0072B2", "width": 2, "shape": "hv"},
        )  # fmt: skip
    )
    base = data.get("baseline")
    if base:
        fig.add_hline(y=base["distance"], line={"dash": "dash", "color": "#D55E00"}, annotation_text="uncalibrated")
    return base_layout(fig, 380, xaxis={"title": "trial"}, yaxis={"title": "distance to the log"})


def spread_figure(data: dict[str, Any]) -> go.Figure:
    """Each parameter's trials on its searched range (0 = low, 1 = high): all trials, good fits, the best."""
    fit = data.get("fit", [])
    trials = [t for t in data.get("trials", []) if t.get("distance") is not None]
    best = data.get("best") or {}
    good_cut = sorted(t["distance"] for t in trials)[data["good"]["count"] - 1] if trials else None
    fig = go.Figure()
    for kind, colour, size in (("all", "#ccc", 5), ("good", "#0072B2", 8)):
        xs, ys, texts = [], [], []
        for p in fit:
            span = (p["high"] - p["low"]) or 1.0
            for t in trials:
                if kind == "good" and (good_cut is None or t["distance"] > good_cut):
                    continue
                v = t["params"][p["path"]]
                xs.append((v - p["low"]) / span)
                ys.append(p["path"])
                texts.append(f"{v:.4g}")
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[esc(y) for y in ys],
                text=texts,
                mode="markers",
                name="good fits" if kind == "good" else "trials",
                marker={"color": colour, "size": size},
                hovertemplate="%{y}: %{text}<extra></extra>",
            )  # fmt: skip
        )
    if best:
        fig.add_trace(
            go.Scatter(
                x=[(best["params"][p["path"]] - p["low"]) / ((p["high"] - p["low"]) or 1.0) for p in fit],
                y=[esc(p["path"]) for p in fit],
                mode="markers",
                name="best",
                marker={"color": "#D55E00", "size": 12, "symbol": "diamond"},
            )  # fmt: skip
        )
    return base_layout(
        fig, 120 + 40 * max(1, len(fit)), xaxis={"title": "position in the searched range (low = 0, high = 1)"}
    )


def spread_table(data: dict[str, Any]) -> str:
    best = (data.get("best") or {}).get("params", {})
    rows = []
    for p in data.get("fit", []):
        s = data["good"]["spread"].get(p["path"], {})
        rows.append(
            [
                p["path"],
                fmt(best.get(p["path"]), 4),
                f"{fmt(s.get('min'), 4)} – {fmt(s.get('max'), 4)}",
                fmt(s.get("median"), 4),
                f"{p['low']:g} – {p['high']:g}" + (" (log)" if p.get("log") else ""),
            ]
        )
    return table_html(["parameter", "best", "good fits: min – max", "median", "searched"], rows)


def terms_table(data: dict[str, Any]) -> str:
    best, base = data.get("best") or {}, data.get("baseline") or {}
    names = list((best.get("terms") or base.get("terms") or {}).keys())
    rows = [[n, fmt((best.get("terms") or {}).get(n)), fmt((base.get("terms") or {}).get(n))] for n in names]
    rows.append(["total", fmt(best.get("distance")), fmt(base.get("distance"))])
    return table_html(["figure", "best fit", "uncalibrated"], rows)


def build_calibration(folder: Path, embed: bool = False) -> Path:
    """Write CALIBRATION_DIR/dashboard.html from calibration.json and return its path."""
    folder = Path(folder)
    src = folder / "calibration.json"
    if not src.is_file():
        raise DashboardError(f"{folder}: not a calibration folder (no calibration.json)")
    data = json.loads(src.read_text(encoding="utf-8"))
    sides = "the log (black), the best fit (blue) and the uncalibrated base scenario (orange), sized to the log"
    sections = [
        Section(
            "distance",
            "Distance per figure",
            "each figure's distance between the log and a simulation, in [0, 1] (0 = the same); the distance is "
            "their sum (docs/calibration.md).",
            terms_table(data),
        ),
        Section(
            "lorenz",
            "Lorenz curve of posts",
            f"members from least to most active against their share of posts; {sides}.",
            figure_html(lorenz_figure(data), "fig-lorenz"),
        ),
        Section(
            "weekly",
            "Activity per week",
            f"each week's share of all posts; {sides}.",
            figure_html(weekly_figure(data, "weekly", "share of posts"), "fig-weekly"),
        ),
        Section(
            "arrivals",
            "Arrivals per week",
            f"each week's share of the members' arrivals ({(data.get('log') or {}).get('arrival', '')}); {sides}.",
            figure_html(weekly_figure(data, "arrivals", "share of arrivals"), "fig-arrivals"),
        ),
        Section(
            "survival",
            "Survival of posters by tenure",
            f"share of posters whose first-to-last post span is longer than x days; {sides}.",
            figure_html(survival_figure(data), "fig-survival"),
        ),
        Section(
            "progress",
            "Search progress",
            "each finished trial's distance (grey) and the best so far (blue); the dashed line is the uncalibrated "
            "scenario.",
            figure_html(progress_figure(data), "fig-progress"),
        ),
        Section(
            "spread",
            "Parameter spread",
            f"the best fit and the spread of the good fits ({data['good']['rule']}); a parameter whose good fits "
            "spread over its whole range is not pinned down by this log.",
            spread_table(data) + figure_html(spread_figure(data), "fig-spread"),
        ),
    ]
    log = data.get("log") or {}
    best = data.get("best") or {}
    facts = [
        ("log", log.get("source")),
        ("members / events", f"{log.get('members')} / {log.get('posts')}"),
        ("base", data["base"].get("scenario")),
        ("trials", f"{data.get('trials_done')} ({data.get('trials_failed')} failed)"),
        ("best distance", fmt(best.get("distance"))),
        ("uncalibrated", fmt((data.get("baseline") or {}).get("distance"))),
        ("created", data.get("created")),
    ]
    target = folder / "dashboard.html"
    atomic_write_text(target, page("Calibration", facts, sections, target, embed=embed))
    return target
