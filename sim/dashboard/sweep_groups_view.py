"""The sweep page's subgroup panel: per-group outcome means against each swept parameter (groups.parquet, written by
`learncomm sweep --by/--group`, sim/sweeps/groups.py).

One line per subgroup (the largest first, at most MAX_LINES) in one panel per parameter; a menu picks the outcome
(Plotly's own restyle: no page script). Means and 95% intervals are over the runs at each value, as in the page's
"Each parameter's effect" panel, and the parameter values are grouped the same way (sweep_data.make_axis).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from learncomm.sim.dashboard.common import Section, base_layout, esc, figure_html, rounded
from learncomm.sim.dashboard.folders import read_parquet
from learncomm.sim.dashboard.sweep_data import SweepData, file_order, make_axis, mean_ci
from learncomm.sim.schema.vocab import LEARNER_OUTCOMES

MAX_LINES = 10  # subgroups drawn; the rest are in groups.parquet (learncomm query DIR "... from groups")
COLOURS = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#999999", "#882255")


def groups_section(d: SweepData) -> Section | None:
    """The panel, or None when the sweep has no groups.parquet (no --by / --group) or it holds no row."""
    path = Path(d.path) / "groups.parquet"
    if not path.is_file():
        return None
    t = read_parquet(path)
    params = [p for p in d.params if p in t.columns]
    outcomes = [o for o in LEARNER_OUTCOMES if o in t.columns]
    if t.empty or not params or not outcomes or "subgroup" not in t.columns:
        return None
    sizes = t.groupby("subgroup", sort=False)["learners"].mean().sort_values(ascending=False, kind="stable")
    shown = ["all"] * ("all" in sizes.index) + [g for g in sizes.index if g != "all"][: MAX_LINES - 1]
    fig = figure(t, d, params, outcomes, shown)
    left = len(sizes) - len(shown)
    how = (
        "groups.parquet (learncomm sweep --by/--group): per subgroup, the mean over runs of the group's mean outcome "
        "at each parameter value, with its 95% interval over runs (other parameters vary too); one line per group, "
        "the largest first. The menu picks the outcome. Lines that part as the parameter grows: it helps some groups "
        "more than others."
    )
    notes = [f"{left} smaller groups are not drawn; they are in groups.parquet."] if left > 0 else []
    return Section("subgroups", "Subgroups against the parameters", how, figure_html(fig, "fig-subgroups"), notes=notes)


def gaps(upper: list[Any], lower: list[Any]) -> list[float | None]:
    """Error-bar lengths upper - lower, None where either is missing (no interval from one run)."""
    return rounded((np.nan if u is None or w is None else u - w for u, w in zip(upper, lower, strict=True)), 6)


def figure(t: Any, d: SweepData, params: list[str], outcomes: list[str], shown: list[str]) -> go.Figure:
    cols = min(len(params), 3)
    rows = math.ceil(len(params) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[esc(p) for p in params], horizontal_spacing=0.08)
    axes = {p: make_axis(p, t[p], file_order(d.record, p)) for p in params}
    per_outcome: dict[str, list[dict[str, Any]]] = {o: [] for o in outcomes}
    for i, p in enumerate(params):
        ax, r, c = axes[p], i // cols + 1, i % cols + 1
        x = ax.centres if ax.numeric else [esc(v) for v in ax.labels]
        for k, g in enumerate(shown):
            rows_g = (t["subgroup"] == g).to_numpy()
            for o in outcomes:
                y = np.where(rows_g, t[o].to_numpy(float), np.nan)
                m, lo, hi, n = mean_ci(y, ax.codes, len(ax.labels))
                per_outcome[o].append(
                    {
                        "y": m,
                        "plus": gaps(hi, m),
                        "minus": gaps(m, lo),
                        "n": n,
                    }
                )
            first = per_outcome[outcomes[0]][-1]
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=first["y"],
                    customdata=first["n"],
                    error_y={"type": "data", "array": first["plus"], "arrayminus": first["minus"], "thickness": 1},
                    mode="lines+markers",
                    name=esc(g),
                    legendgroup=esc(g),
                    showlegend=i == 0,
                    line={"color": COLOURS[k % len(COLOURS)], "width": 2.5 if g == "all" else 1.8},
                    hovertemplate=f"{esc(g)}<br>%{{x}}: mean %{{y:.4g}} over %{{customdata}} runs<extra></extra>",
                ),
                row=r,
                col=c,
            )
        fig.update_xaxes(title_text=esc(p), row=r, col=c)
        if not ax.numeric:
            fig.update_xaxes(type="category", categoryorder="array", categoryarray=x, row=r, col=c)
    buttons = [
        {
            "label": esc(LEARNER_OUTCOMES[o]),
            "method": "restyle",
            "args": [
                {
                    "y": [s["y"] for s in per_outcome[o]],
                    "customdata": [s["n"] for s in per_outcome[o]],
                    "error_y.array": [s["plus"] for s in per_outcome[o]],
                    "error_y.arrayminus": [s["minus"] for s in per_outcome[o]],
                }
            ],
        }
        for o in outcomes
    ]
    fig.update_layout(
        updatemenus=[
            {"buttons": buttons, "x": 0, "xanchor": "left", "y": 1.12, "yanchor": "bottom", "type": "dropdown"}
        ]
    )
    return base_layout(fig, 120 + 360 * rows, margin={"l": 70, "r": 30, "t": 90, "b": 70})
