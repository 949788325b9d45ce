"""The model check's page (CHECK_DIR/dashboard.html): the facts with pass/fail, and a log against the model.

Built from check.json alone, so it can be rebuilt from the folder. Text from check.json (a log's path, its column
names, fact statements) is data: every string goes through `esc` or `table_html`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from learncomm.sim.dashboard.folders import inputs_tag, read_json

FIGURE_ROWS = (
    ("members", "members", 0),
    ("gini", "Gini of posts", 2),
    ("top10_share", "share of posts by the top 10%", 2),
    ("top1_share", "share of posts by the top 1%", 2),
    ("never_post", "members who never post", 2),
    ("superusers", "superusers (top 1%)", 3),
    ("contributors", "contributors", 2),
    ("peak_week", "busiest week", 1),
    ("decay_ratio", "busiest / last full fortnight", 1),
    ("left", "posters silent in the last 30 days", 2),
    ("left_early", "of those, active 30 days or less", 2),
    ("median_arrival_day", "median arrival day", 1),
)
LOG_COLOUR = "#000000"
SIM_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")


def value_cell(r: dict[str, Any]) -> str:
    if r.get("mean") is None:
        return "no value"
    ci = "" if r.get("ci_low") is None else f" [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"
    return f"{fmt(r['mean'])}{ci}"


def facts_table(data: dict[str, Any]) -> str:
    log = (data.get("log") or {}).get("facts") or {}
    header = ["fact", "scenario", "value [95% interval]", "target", "result", "statement", "source"]
    if log:
        header.insert(5, "log (in range?)")
    rows = []
    for r in data.get("facts", []):
        row = [
            r["id"],
            r["scenario"] + (f" vs {r['baseline']}" if r.get("baseline") else ""),
            value_cell(r),
            r["target"],
            "pass" if r["passed"] else "FAIL",
            r["statement"],
            r["source"],
        ]
        if log:
            lf = log.get(r["id"])
            row.insert(5, "model only" if lf is None else f"{fmt(lf['value'])} ({'yes' if lf['in_range'] else 'no'})")
        rows.append(row)
    return table_html(header, rows)


def figures_table(data: dict[str, Any]) -> str:
    sims = data.get("simulated_figures") or {}
    log = data.get("log")
    header = ["figure", *(["log"] if log else []), *sims]
    rows = []
    for key, label, digits in FIGURE_ROWS:
        row = [label]
        if log:
            row.append(fmt(log["figures"].get(key), digits))
        row += [fmt(sims[s].get(key), digits) for s in sims]
        rows.append(row)
    return table_html(header, rows)


def lorenz_figure(data: dict[str, Any]) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#999"}, name="equal"))
    log = data.get("log")
    if log:
        f = log["figures"]
        fig.add_trace(
            go.Scatter(
                x=f["lorenz_x"],
                y=f["lorenz_y"],
                name=esc("log: " + Path(log["source"]).name),
                line={"color": LOG_COLOUR, "width": 3},
            )  # fmt: skip
        )
    for i, (name, f) in enumerate((data.get("simulated_figures") or {}).items()):
        fig.add_trace(
            go.Scatter(
                x=f["lorenz_x"], y=f["lorenz_y"], name=esc(name), line={"color": SIM_COLOURS[i % len(SIM_COLOURS)]}
            )  # fmt: skip
        )
    return base_layout(
        fig, 460, xaxis={"title": "share of members (least active first)"}, yaxis={"title": "share of posts"}
    )


def weekly_figure(data: dict[str, Any]) -> go.Figure:
    fig = go.Figure()

    def add(name: str, weeks: list[int], colour: str, width: int) -> None:
        total = sum(weeks) or 1
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(weeks) + 1)),
                y=[w / total for w in weeks],
                name=esc(name),
                mode="lines+markers",
                line={"color": colour, "width": width},
            )  # fmt: skip
        )

    log = data.get("log")
    if log:
        add("log: " + Path(log["source"]).name, log["figures"]["posts_per_week"], LOG_COLOUR, 3)
    for i, (name, f) in enumerate((data.get("simulated_figures") or {}).items()):
        add(name, f["posts_per_week"], SIM_COLOURS[i % len(SIM_COLOURS)], 2)
    return base_layout(fig, 420, xaxis={"title": "week"}, yaxis={"title": "share of all posts", "tickformat": ".0%"})


def build_check(folder: Path, embed: bool = False) -> Path:
    """Write CHECK_DIR/dashboard.html from CHECK_DIR/check.json and return its path."""
    folder = Path(folder)
    src = folder / "check.json"
    if not src.is_file():
        raise DashboardError(f"{folder}: not a model check folder (no check.json)")
    data = read_json(src)
    res = data.get("facts", [])
    passed = sum(1 for r in res if isinstance(r, dict) and r.get("passed"))
    how_sim = (
        "simulated lines are the first seed of each scenario (the tables give means over seeds); "
        if data.get("simulated_figures")
        else ""
    )
    sections = [
        Section(
            "facts",
            "Stylised facts",
            "each row is a fact checked on a scenario: the mean over seeds with its 95% t-interval, the target "
            "range and the source; a fact passes when the mean is in range."
            + (" The log column gives the log's value and whether it is in the range." if data.get("log") else ""),
            facts_table(data),
            notes=[f"skipped: {s}" for s in data.get("skipped", [])],
        ),
        Section(
            "figures",
            "Figures" + (": the log against the model" if data.get("log") else ""),
            "the same figures, computed the same way from the log and from each scenario's runs (means over seeds).",
            figures_table(data),
        ),
        Section(
            "lorenz",
            "Lorenz curve of posts",
            "members sorted from least to most active (x) against the share of all posts they wrote (y); the "
            "further below the dotted diagonal, the more unequal. " + how_sim,
            figure_html(lorenz_figure(data), "fig-lorenz"),
        ),
        Section(
            "weeks",
            "Posts per week",
            "each week's share of all posts, so communities of different sizes and lengths compare; a real "
            "community peaks early and decays. " + how_sim,
            figure_html(weekly_figure(data), "fig-weeks"),
        ),
    ]
    log = data.get("log")
    facts = [
        ("result", f"{passed} of {len(res)} facts pass"),
        ("seeds", ", ".join(str(s) for s in data.get("seeds", []))),
        ("suite", "fast" if data.get("fast") else "full"),
        ("created", data.get("created")),
        ("learncomm", data.get("learncomm")),
    ]
    if log:
        facts.append(("log", log.get("source")))
        facts.append(("log columns", ", ".join(f"{k}={v}" for k, v in (log.get("columns") or {}).items())))
    target = folder / "dashboard.html"
    tag = inputs_tag(folder, "check")
    atomic_write_text(target, page("Model check", facts, sections, target, embed=embed, inputs=tag))
    return target
