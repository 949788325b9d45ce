"""The comparison page's learner-by-learner views: whom B leaves behind, individual differences, trajectories over time.

Read from the comparison folder: comparison.parquet (the shares better off, worse off and unchanged and the
quantiles of individual differences, per group and outcome) and trajectories.parquet (per seed, scenario, group and
day). A folder written before these existed gets a note instead (sim/dashboard/compare_page.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from learncomm.sim.dashboard.common import GROUP_LABELS, base_layout, esc, fmt, rounded, table_html
from learncomm.sim.schema.vocab import LEARNER_OUTCOMES

WORSE, SAME, BETTER = "#D55E00", "#BBBBBB", "#0072B2"  # Okabe-Ito vermillion and blue
A_COLOUR, B_COLOUR = "#555555", "#E69F00"
MAX_PANELS = 12  # trajectory panels; the groups with most learners first


def group_label(g: str, r: pd.Series | dict[str, Any] | None = None) -> str:
    """A group's label with its size (learners per seed in A) when known."""
    name = GROUP_LABELS.get(g, g)
    n = None if r is None else r.get("learners_a")
    return name if n is None or n != n else f"{name} (n={float(n):.0f})"


def learner_rows(t: pd.DataFrame) -> pd.DataFrame:
    """The learner-outcome rows that have paired shares (a folder from before per-learner effects has none)."""
    if "share_worse" not in t:
        return t.iloc[0:0]
    return t[(t["kind"] == "learners") & t["paired"].fillna(0).gt(0)]


def _ranked(sub: pd.DataFrame) -> pd.DataFrame:
    return sub.sort_values(["share_worse", "share_worse_high"], ascending=[True, True], na_position="first")


def left_behind(t: pd.DataFrame, b: str) -> go.Figure:
    """Per group, the shares of learners worse off, unchanged and better off in B than the same learner in A, ranked
    by the share worse off (most at the top), with the 95% interval of the share worse off; a menu picks the
    outcome."""
    rows = learner_rows(t)
    outcomes = [o for o in LEARNER_OUTCOMES if o in set(rows["outcome"])]
    fig = go.Figure()

    def arrays(o: str) -> dict[str, list[Any]]:
        sub = _ranked(rows[rows["outcome"] == o])
        ys = [esc(group_label(g, r)) for g, (_, r) in zip(sub["group"], sub.iterrows(), strict=True)]
        return {
            "y": ys,
            "worse": rounded(sub["share_worse"] * 100, 2),
            "same": rounded(sub["share_unchanged"] * 100, 2),
            "better": rounded(sub["share_better"] * 100, 2),
            "hi": rounded((sub["share_worse_high"] - sub["share_worse"]) * 100, 2),
            "lo": rounded((sub["share_worse"] - sub["share_worse_low"]) * 100, 2),
            "text": [
                f"{esc(group_label(g, r))}<br>worse off {fmt(r['share_worse'] * 100, 1)}% "
                f"[{fmt(r['share_worse_low'] * 100, 1)}, {fmt(r['share_worse_high'] * 100, 1)}]<br>"
                f"unchanged {fmt(r['share_unchanged'] * 100, 1)}%, better off {fmt(r['share_better'] * 100, 1)}%"
                f"<br>{fmt(r['paired'], 0)} paired learners per seed"
                for g, (_, r) in zip(sub["group"], sub.iterrows(), strict=True)
            ],
        }

    first = arrays(outcomes[0]) if outcomes else {k: [] for k in ("y", "worse", "same", "better", "hi", "lo", "text")}
    fig.add_trace(
        go.Bar(
            y=first["y"],
            x=first["worse"],
            name=f"worse off in {esc(b)}",
            orientation="h",
            marker_color=WORSE,
            error_x={"type": "data", "symmetric": False, "array": first["hi"], "arrayminus": first["lo"]},
            hovertext=first["text"],
            hoverinfo="text",
        )
    )
    for key, name, c in (("same", "unchanged", SAME), ("better", f"better off in {esc(b)}", BETTER)):
        fig.add_trace(
            go.Bar(
                y=first["y"],
                x=first[key],
                name=name,
                orientation="h",
                marker_color=c,
                hovertext=first["text"],
                hoverinfo="text",
            )
        )
    buttons = []
    for o in outcomes:
        arr = arrays(o)
        buttons.append(
            {
                "label": esc(LEARNER_OUTCOMES[o]),
                "method": "restyle",
                "args": [
                    {
                        "y": [arr["y"]] * 3,
                        "x": [arr["worse"], arr["same"], arr["better"]],
                        "hovertext": [arr["text"]] * 3,
                        "error_x.array": [arr["hi"], None, None],
                        "error_x.arrayminus": [arr["lo"], None, None],
                    }
                ],
            }
        )
    n = len(first["y"])
    fig.update_layout(
        barmode="stack",
        updatemenus=[{"buttons": buttons, "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom", "type": "dropdown"}]
        if buttons
        else [],
    )
    fig.update_xaxes(title_text="share of learners (%)", range=[0, 100])
    # tall enough for the open outcome menu (eight entries) over the bars
    return base_layout(fig, max(380, 160 + 28 * n), hovermode="closest", margin={"l": 260, "r": 30, "t": 60, "b": 60})


def left_behind_table(t: pd.DataFrame, outcome: str = "knowledge_gain") -> str:
    sub = learner_rows(t)
    rows = _ranked(sub[sub["outcome"] == outcome]).iloc[::-1]
    header = ["group", "learners (A)", "learners (B)", "paired", "worse off", "95% CI", "better off", "unchanged"]
    header += ["B − A 10%", "median", "90%"]
    body = [
        [
            GROUP_LABELS.get(r["group"], r["group"]),
            fmt(r["learners_a"], 1),
            fmt(r["learners_b"], 1),
            fmt(r["paired"], 1),
            f"{fmt(r['share_worse'] * 100, 1)}%",
            f"[{fmt(r['share_worse_low'] * 100, 1)}, {fmt(r['share_worse_high'] * 100, 1)}]",
            f"{fmt(r['share_better'] * 100, 1)}%",
            f"{fmt(r['share_unchanged'] * 100, 1)}%",
            fmt(r["diff_q10"], 4),
            fmt(r["diff_q50"], 4),
            fmt(r["diff_q90"], 4),
        ]
        for _, r in rows.iterrows()
    ]
    return table_html(header, body)


def individual(t: pd.DataFrame, outcome: str = "knowledge_gain") -> go.Figure:
    """Per group, the distribution of individual B − A (pooled over seeds) as a box: 10%, 25%, median, 75%, 90%."""
    sub = learner_rows(t)
    sub = sub[sub["outcome"] == outcome]
    labels = [esc(group_label(g, r)) for g, (_, r) in zip(sub["group"], sub.iterrows(), strict=True)]
    fig = go.Figure(
        go.Box(
            y=labels,
            lowerfence=rounded(sub["diff_q10"], 6),
            q1=rounded(sub["diff_q25"], 6),
            median=rounded(sub["diff_q50"], 6),
            q3=rounded(sub["diff_q75"], 6),
            upperfence=rounded(sub["diff_q90"], 6),
            orientation="h",
            name=esc(LEARNER_OUTCOMES.get(outcome, outcome)),
            marker_color=A_COLOUR,
            fillcolor="rgba(230,159,0,0.35)",
            line_color=A_COLOUR,
        )
    )
    fig.add_vline(x=0, line={"color": "#888", "dash": "dash"})
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text=f"B − A per learner: {esc(LEARNER_OUTCOMES.get(outcome, outcome))}")
    return base_layout(fig, 140 + 30 * len(labels), showlegend=False, margin={"l": 260, "r": 30, "t": 40, "b": 60})


def band(values: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over seeds per day and its 95% t-interval (the mean alone with one seed)."""
    from scipy import stats

    m = values.mean(axis=1).to_numpy(float)
    k = values.notna().sum(axis=1).to_numpy(float)
    sd = values.std(axis=1, ddof=1).to_numpy(float)
    half = np.where(k > 1, stats.t.ppf(0.975, np.maximum(k - 1, 1)) * sd / np.sqrt(np.maximum(k, 1)), 0.0)
    return m, m - half, m + half


def trajectories(tr: pd.DataFrame, a: str, b: str, measure: str = "knowledge", cols: int = 3) -> go.Figure:
    """One panel per group: A and B over days, each the mean over seeds with a 95% band."""
    size = tr[tr["day"] == tr["day"].max()].groupby("group", sort=False)["learners"].mean()
    groups = [g for g in dict.fromkeys(tr["group"])][:MAX_PANELS]
    rows = math.ceil(len(groups) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[esc(group_label(g, {"learners_a": size.get(g)})) for g in groups],
        vertical_spacing=min(0.5 / max(rows, 1), 0.12),
        shared_xaxes=True,
    )
    for i, g in enumerate(groups):
        r, c = i // cols + 1, i % cols + 1
        for side, name, col in (("A", a, A_COLOUR), ("B", b, B_COLOUR)):
            sub = tr[(tr["group"] == g) & (tr["scenario"] == side)]
            wide = sub.pivot_table(index="day", columns="seed", values=measure)
            m, lo, hi = band(wide)
            days = wide.index.to_list()
            rgb = tuple(int(col[j : j + 2], 16) for j in (1, 3, 5))
            fig.add_trace(
                go.Scatter(
                    x=days + days[::-1],
                    y=rounded(hi, 5) + rounded(lo[::-1], 5),
                    fill="toself",
                    fillcolor=f"rgba({rgb[0]},{rgb[1]},{rgb[2]},0.2)",
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=side,
                ),
                row=r,
                col=c,
            )
            fig.add_trace(
                go.Scatter(
                    x=days,
                    y=rounded(m, 5),
                    mode="lines",
                    name=f"{side}: {esc(name)}",
                    legendgroup=side,
                    showlegend=i == 0,
                    line={"color": col, "width": 2, "dash": "dash" if side == "A" else "solid"},
                    hovertemplate=f"{side} · {esc(GROUP_LABELS.get(g, g))}<br>day %{{x}}: %{{y:.4f}}<extra></extra>",
                ),
                row=r,
                col=c,
            )
    fig.update_xaxes(title_text="day", row=rows)
    return base_layout(fig, 140 + 230 * rows, hovermode="closest", margin={"l": 60, "r": 30, "t": 60, "b": 60})
