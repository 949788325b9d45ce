"""The run page's figures over time and per group: lines with replicate bands, the participation mix,
distributions, knowledge by topic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from learncomm.sim.dashboard.common import GROUP_LABELS, MODE_COLOURS, base_layout, colour, esc, rounded
from learncomm.sim.schema.vocab import GROUPS, MODES, SCOPES


class Bands:
    """Timeseries of several replicates aligned on day: mean and 95% t-interval per day (no band for one run)."""

    def __init__(self, frames: Sequence[pd.DataFrame]) -> None:
        days = sorted(set().union(*(set(f["day"].tolist()) for f in frames)))
        self.days = np.asarray(days)
        self.frames = [f.set_index("day").reindex(days) for f in frames]
        self.n = len(frames)

    def stats(self, column: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        if column not in self.frames[0].columns:
            nan = np.full(len(self.days), np.nan)
            return nan, None, None
        m = np.column_stack([f[column].to_numpy(float) for f in self.frames])
        with np.errstate(all="ignore"):
            mean = np.nanmean(m, axis=1) if self.n > 1 else m[:, 0]
            if self.n < 2:
                return mean, None, None
            from scipy import stats  # about 0.5 s to import: only pages with replicates need it

            k = np.sum(~np.isnan(m), axis=1)
            half = stats.t.ppf(0.975, np.maximum(k - 1, 1)) * np.nanstd(m, axis=1, ddof=1) / np.sqrt(np.maximum(k, 1))
            half = np.where(k > 1, half, np.nan)
        return mean, mean - half, mean + half


@dataclass(frozen=True)
class Line:
    """A timeseries column drawn as a line: the group gives its colour and legend entry, unless named."""

    column: str
    group: str
    name: str | None = None
    dash: str | None = None


def add_line(fig: go.Figure, b: Bands, line: Line, at: tuple[int, int], show: bool) -> None:
    """A mean line and (with replicates) a translucent 95% band, grouped in the legend by confidence group."""
    group, dash = line.group, line.dash
    row, col = at
    mean, lo, hi = b.stats(line.column)
    x = b.days.tolist()
    label = esc(line.name or GROUP_LABELS.get(group, group))
    if lo is not None and hi is not None:
        ok = ~np.isnan(lo)
        xs = np.asarray(x)[ok]
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([xs, xs[::-1]]).tolist(),
                y=rounded(np.concatenate([hi[ok], lo[ok][::-1]])),
                mode="lines",
                fill="toself",
                fillcolor=colour(group, 0.18),
                line={"width": 0},
                hoverinfo="skip",
                legendgroup=group,
                showlegend=False,
                name=f"{label} 95% band",
            ),
            row=row,
            col=col,
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=rounded(mean),
            mode="lines",
            name=label,
            legendgroup=group,
            showlegend=show,
            line={"color": colour(group), "width": 2, "dash": dash},
            hovertemplate=f"{label}<br>day %{{x}}: %{{y:.3f}}<extra></extra>",
        ),
        row=row,
        col=col,
    )


def over_time(b: Bands) -> go.Figure:
    """Knowledge, confidence and motivation per confidence group."""
    panels = [
        ("knowledge", "mean knowledge (0–1)"),
        ("confidence", "mean confidence (0–1)"),
        ("motivation", "mean motivation of active learners (0–1)"),
    ]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t for _, t in panels], horizontal_spacing=0.06)
    for i, (outcome, _) in enumerate(panels, start=1):
        for g in GROUPS:
            add_line(fig, b, Line(f"{outcome}_{g}", g), (1, i), show=i == 1)
        add_line(fig, b, Line(f"{outcome}_all", "all", dash="dot"), (1, i), show=i == 1)
        fig.update_xaxes(title_text="day", row=1, col=i)
    return base_layout(fig, 420)


def equity_gap(b: Bands) -> go.Figure:
    fig = make_subplots(rows=1, cols=1)
    add_line(fig, b, Line("equity_gap", "community", name="equity gap (high − low gain)"), (1, 1), show=True)
    fig.add_hline(y=0, line={"color": "#999", "dash": "dash"})
    fig.update_xaxes(title_text="day")
    fig.update_yaxes(title_text="knowledge gain: high − low (0–1 scale)")
    return base_layout(fig, 360)


def participation(b: Bands) -> go.Figure:
    """The day's mix of modes among learners taking part, stacked, per scope."""
    scopes = SCOPES
    fig = make_subplots(
        rows=1, cols=4, subplot_titles=[GROUP_LABELS[s] for s in scopes], shared_yaxes=True, horizontal_spacing=0.03
    )
    for i, s in enumerate(scopes, start=1):
        for m in MODES:
            mean, _, _ = b.stats(f"share_{m}_{s}")
            fig.add_trace(
                go.Scatter(
                    x=b.days[1:].tolist(),
                    y=rounded(mean[1:]),
                    stackgroup=f"s{i}",
                    name=m,
                    legendgroup=m,
                    showlegend=i == 1,
                    line={"width": 0.5, "color": MODE_COLOURS[m]},
                    hovertemplate=f"{m}: %{{y:.1%}} (day %{{x}})<extra>{esc(GROUP_LABELS[s])}</extra>",
                ),
                row=1,
                col=i,
            )
        fig.update_xaxes(title_text="day", row=1, col=i)
    fig.update_yaxes(title_text="share of learners taking part", tickformat=".0%", range=[0, 1], row=1, col=1)
    return base_layout(fig, 380)


def retention(b: Bands) -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=["retention: share still active", "community size: active learners"],
        horizontal_spacing=0.08,
    )
    for g in GROUPS:
        add_line(fig, b, Line(f"retention_{g}", g), (1, 1), show=True)
    add_line(fig, b, Line("retention_all", "all", dash="dot"), (1, 1), show=True)
    add_line(fig, b, Line("active_learners", "community", name="active learners"), (1, 2), show=True)
    joined, _, _ = b.stats("joined_learners")
    if np.nanmax(joined, initial=0.0) > np.nanmin(joined, initial=0.0):  # a community manager brought people in
        add_line(fig, b, Line("joined_learners", "community", name="joined (ever)", dash="dash"), (1, 2), show=True)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.03], row=1, col=1)
    fig.update_yaxes(title_text="learners", rangemode="tozero", row=1, col=2)
    fig.update_xaxes(title_text="day")
    return base_layout(fig, 360)


def distributions(learners: pd.DataFrame, bins: int = 30) -> go.Figure:
    """Knowledge gain and confidence change per learner, as a histogram per group (binned here: small at any size)."""
    cols = [("knowledge_gain", "knowledge gain per learner"), ("confidence_change", "confidence change per learner")]
    fig = make_subplots(rows=1, cols=2, subplot_titles=[t for _, t in cols], horizontal_spacing=0.08)
    for i, (c, title) in enumerate(cols, start=1):
        values = learners[c].to_numpy(float)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            continue
        edges = np.histogram_bin_edges(finite, bins=bins)
        centres = (edges[:-1] + edges[1:]) / 2
        for g in GROUPS:
            v = learners.loc[learners["confidence_group"] == g, c].to_numpy(float)
            if v.size == 0:
                continue
            h, _ = np.histogram(v, bins=edges)
            fig.add_trace(
                go.Scatter(
                    x=rounded(centres),
                    y=rounded(h / v.size),
                    mode="lines",
                    line={"shape": "hvh", "color": colour(g), "width": 2},
                    name=esc(GROUP_LABELS[g]),
                    legendgroup=g,
                    showlegend=i == 1,
                    hovertemplate=f"{esc(GROUP_LABELS[g])}: %{{y:.1%}} of the group near %{{x:.3f}}<extra></extra>",
                ),
                row=1,
                col=i,
            )
        fig.add_vline(x=0, line={"color": "#999", "dash": "dash"}, row=1, col=i)
        fig.update_xaxes(title_text=title.replace(" per learner", " (0–1 scale)"), row=1, col=i)
    fig.update_yaxes(title_text="share of the group", tickformat=".0%", row=1, col=1)
    return base_layout(fig, 360)


def knowledge_range(z: np.ndarray) -> tuple[float, float]:
    """The colour scale of the topic heatmap: the data's own range (on a fixed 0-1 scale every cell of a typical run
    looks alike), widened to at least 0.02 so one value alone still gets a scale, and kept within 0-1."""
    v = z[np.isfinite(z)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 0.02:
        mid = (lo + hi) / 2
        lo, hi = max(0.0, mid - 0.01), min(1.0, mid + 0.01)
    return float(np.floor(lo * 1000) / 1000), float(np.ceil(hi * 1000) / 1000)  # every cell within the scale


def topic_heatmap(learners: pd.DataFrame, topics: Sequence[str]) -> go.Figure | None:
    """Mean final knowledge of each topic per confidence group (per-topic knowledge is stored for the last day only)."""
    cols = [f"knowledge_final:{t}" for t in topics if f"knowledge_final:{t}" in learners.columns]
    if not cols:
        return None
    means = learners.groupby("confidence_group")[cols].mean().reindex(list(GROUPS))
    z = means.to_numpy(float).T  # topics × groups
    labels = [esc(c.split(":", 1)[1]) for c in cols]
    lo, hi = knowledge_range(z)
    fig = go.Figure(
        go.Heatmap(
            z=[rounded(r, 3) for r in z],
            x=[GROUP_LABELS[g] for g in GROUPS],
            y=labels,
            colorscale="Viridis",
            zmin=lo,
            zmax=hi,
            texttemplate="%{z:.2f}",
            colorbar={"title": {"text": f"mean final<br>knowledge<br>(colours: {lo:.2f}–{hi:.2f})"}},
            hovertemplate="topic %{y}<br>%{x}: mean final knowledge %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(title_text="topic", autorange="reversed")
    fig.update_xaxes(title_text="confidence group", side="top")
    return base_layout(fig, max(300, 80 + 28 * len(cols)))
