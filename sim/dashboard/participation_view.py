"""The run page's "Participation" section: who posts (Lorenz curves with the 90-9-1 bands), who stays
(Kaplan-Meier survival of members) and how the community grows and shrinks (arrivals, leavers, active
members and posts per day). The numbers come from `participation_data.py`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from learncomm.sim.dashboard import participation_data as pdata
from learncomm.sim.dashboard.common import GROUP_LABELS, Section, base_layout, colour, esc, figure_html, rounded
from learncomm.sim.dashboard.run_figures import Bands
from learncomm.sim.schema.wording import plural

# the 90-9-1 bands: a solid colour for the band's marker, a translucent one for its shaded region
LEVEL_COLOURS = {"lurker": "#777777", "contributor": "#009E73", "superuser": "#CC79A7"}
LEVEL_FILLS = {
    "lurker": "rgba(119,119,119,0.16)",
    "contributor": "rgba(0,158,115,0.10)",
    "superuser": "rgba(204,121,167,0.25)",
}
LEVEL_LABELS = {"lurker": "lurkers (0 posts)", "contributor": "contributors", "superuser": "superusers (top 1%)"}
ANSWER_COLOURS = {"answered": "#009E73", "unanswered": "#CC79A7", "never asked": "#888888"}
SCOPE_ORDER = ("low", "medium", "high", "all")


def _pct(share: float, digits: int) -> str:
    """A share as a percentage; a group without posts has no share of them ('–')."""
    return "–" if math.isnan(share) else f"{share:.{digits}%}"


def _band_hover(group: str, s: pdata.LevelShare) -> str:
    return (
        f"{esc(GROUP_LABELS[group])}: {esc(LEVEL_LABELS[s.level])}<br>{s.members:,} members "
        f"({_pct(s.member_share, 1)} of the group) wrote {s.posts:,} posts ({_pct(s.post_share, 1)} of its posts)"
    )


def lorenz_figure(learners: pd.DataFrame) -> go.Figure | None:
    """One Lorenz curve per confidence group and for all, over shaded lurker / contributor / superuser bands;
    None when nobody posted (the section says so instead)."""
    if float(learners["posts"].sum()) <= 0:
        return None
    groups = pdata.groups_of(learners)
    curves, shares = {}, {}
    for g in SCOPE_ORDER:
        sub = groups[g]
        shares[g] = pdata.level_shares(sub["activity_level"], sub["posts"])
        keep = tuple(e for _, lo, hi in pdata.band_edges(shares[g]) for e in (lo, hi))
        curves[g] = pdata.lorenz(sub["posts"].to_numpy(), keep=keep)
    titles = [
        f"{GROUP_LABELS[g]}: Gini {curves[g].gini:.2f}" if curves[g].posts else f"{GROUP_LABELS[g]}: no posts"
        for g in SCOPE_ORDER
    ]
    fig = make_subplots(rows=1, cols=4, subplot_titles=titles, shared_yaxes=True, horizontal_spacing=0.035)
    shapes: list[dict[str, object]] = []
    for i, g in enumerate(SCOPE_ORDER, start=1):
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                line={"color": "#999", "dash": "dash", "width": 1},
                name="equality (everyone posts the same)",
                legendgroup="equality",
                showlegend=i == 1,
                hoverinfo="skip",
            ),
            row=1,
            col=i,
        )
        edges = pdata.band_edges(shares[g])
        axis = "" if i == 1 else str(i)
        shapes += [  # shaded bands behind the curve (plain dicts: add_vrect is slow, ~20 ms each)
            {
                "type": "rect",
                "xref": f"x{axis}",
                "yref": f"y{axis} domain",
                "x0": lo,
                "x1": hi,
                "y0": 0,
                "y1": 1,
                "fillcolor": LEVEL_FILLS[level],
                "line": {"width": 0},
                "layer": "below",
            }
            for level, lo, hi in edges
            if hi > lo
        ]
        # one marker per band at its centre, carrying the band's numbers (shapes have no hover)
        present = [(e, s) for e, s in zip(edges, shares[g], strict=True) if e[2] > e[1]]
        centres = [(lo + hi) / 2 for (_, lo, hi), _ in present]
        fig.add_trace(
            go.Scatter(
                x=rounded(centres),
                y=[0.93 - 0.07 * k for k in range(len(present))],
                mode="markers+text",
                text=[f"{_pct(s.member_share, 0)} / {_pct(s.post_share, 0)}" for _, s in present],
                textposition=["middle left" if c > 0.6 else "middle right" for c in centres],
                textfont={"size": 10},
                marker={"symbol": "square", "size": 9, "color": [LEVEL_COLOURS[s.level] for _, s in present]},
                hovertext=[_band_hover(g, s) for _, s in present],
                hoverinfo="text",
                name="90-9-1 bands: share of members / of posts",
                legendgroup="bands",
                showlegend=i == 1,
                cliponaxis=False,
            ),
            row=1,
            col=i,
        )
        c = curves[g]
        if c.posts:
            fig.add_trace(
                go.Scatter(
                    x=rounded(c.x),
                    y=rounded(c.y),
                    mode="lines",
                    line={"color": colour(g), "width": 2.5},
                    name=esc(GROUP_LABELS[g]),
                    legendgroup=g,
                    hovertemplate=(
                        f"{esc(GROUP_LABELS[g])}<br>the %{{x:.1%}} of members with the fewest posts"
                        "<br>wrote %{y:.1%} of the posts<extra></extra>"
                    ),
                ),
                row=1,
                col=i,
            )
        else:
            fig.add_annotation(
                text="no posts in this group" if c.members else "no members",
                x=0.5,
                y=0.5,
                showarrow=False,
                row=1,
                col=i,
            )
        fig.update_xaxes(title_text="share of members (fewest posts first)", tickformat=".0%", range=[0, 1], col=i)
    fig.update_yaxes(title_text="share of posts", tickformat=".0%", range=[0, 1.0], row=1, col=1)
    fig.update_layout(shapes=shapes)
    return base_layout(fig, 430)


def _survival_trace(km: pdata.Survival, label: str, line_colour: str, dash: str | None, show: bool) -> go.Scatter:
    med = km.median()
    median = f"median {plural(med, 'day')}" if med is not None else "median beyond the data"
    return go.Scatter(
        x=rounded(km.time, 2),
        y=rounded(km.survival),
        mode="lines",
        line={"shape": "hv", "color": line_colour, "width": 2, "dash": dash},
        name=f"{esc(label)} (n={km.members:,}, {km.left:,} left; {median})",
        customdata=np.column_stack([km.at_risk, km.events]).tolist(),
        text=[plural(round(float(t), 2), "day") for t in km.time],  # "after 1 day", not "after 1 days"
        hovertemplate=(
            f"{esc(label)}<br>after %{{text}} as a member: %{{y:.1%}} still members"
            "<br>%{customdata[0]:,} at risk, %{customdata[1]:,} left that day<extra></extra>"
        ),
        showlegend=show,
    )


def survival_figure(learners: pd.DataFrame) -> go.Figure:
    """Kaplan-Meier curves of membership over tenure: by confidence group (left) and by whether the learner's
    first question got a response (right)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=["by confidence group", "by the first question's fate"],
        shared_yaxes=True,
        horizontal_spacing=0.06,
    )
    for g, km in pdata.survival_by(learners, "confidence").items():
        trace = _survival_trace(km, GROUP_LABELS[g], colour(g), "dot" if g == "all" else None, True)
        fig.add_trace(trace, row=1, col=1)
    for a, km in pdata.survival_by(learners, "first_answer").items():
        fig.add_trace(_survival_trace(km, f"first question {a}", ANSWER_COLOURS[a], None, True), row=1, col=2)
    fig.update_xaxes(title_text="days as a member (tenure)", rangemode="tozero", row=1, col=1)
    fig.update_xaxes(title_text="days after the first question", rangemode="tozero", row=1, col=2)
    fig.update_yaxes(title_text="share still members", tickformat=".0%", range=[0, 1.03], row=1, col=1)
    return base_layout(fig, 430, legend={"orientation": "v", "x": 1.02, "y": 1})


def flow_figure(b: Bands) -> go.Figure:
    """Active members with posts per day on a second axis (top); arrivals and leavers per day (bottom).
    Day 0's arrivals are the founding members and are left out of the bars (they would dwarf the rest)."""
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        row_heights=[0.55, 0.45],
        specs=[[{"secondary_y": True}], [{}]],
        subplot_titles=["active members and posts per day", "arrivals and leavers per day"],
    )
    days = b.days.tolist()
    active, lo, hi = b.stats("active_learners")
    if lo is not None and hi is not None:
        ok = ~np.isnan(lo)
        xs = np.asarray(days)[ok]
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([xs, xs[::-1]]).tolist(),
                y=rounded(np.concatenate([hi[ok], lo[ok][::-1]])),
                fill="toself",
                fillcolor=colour("community", 0.18),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                name="active members 95% band",
            ),
            row=1,
            col=1,
            secondary_y=False,
        )
    fig.add_trace(
        go.Scatter(
            x=days,
            y=rounded(active, 2),
            mode="lines",
            line={"color": colour("community"), "width": 2.5},
            name="active members (left axis)",
            hovertemplate="day %{x}: %{y:,.1f} active members<extra></extra>",
        ),
        row=1,
        col=1,
        secondary_y=False,
    )
    posts, _, _ = b.stats("posts")
    posts = posts.copy()
    posts[np.asarray(days) == 0] = np.nan  # nothing is posted before the first day
    fig.add_trace(
        go.Scatter(
            x=days,
            y=rounded(posts, 2),
            mode="lines",
            line={"color": "#56B4E9", "width": 1.5},
            name="posts per day (right axis)",
            hovertemplate="day %{x}: %{y:,.1f} posts<extra></extra>",
        ),
        row=1,
        col=1,
        secondary_y=True,
    )
    for column, name, bar_colour in (("arrivals", "arrivals", "#0072B2"), ("leavers", "leavers", "#D55E00")):
        mean, _, _ = b.stats(column)
        mean = mean.copy()
        if column == "arrivals":
            mean[np.asarray(days) == 0] = np.nan
        fig.add_trace(
            go.Bar(
                x=days,
                y=rounded(mean, 2),
                name=f"{name} per day",
                marker={"color": bar_colour},
                hovertemplate=f"day %{{x}}: %{{y:,.1f}} {name}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="active members", rangemode="tozero", row=1, col=1, secondary_y=False)
    fig.update_yaxes(
        title_text="posts per day", rangemode="tozero", row=1, col=1, secondary_y=True, showgrid=False, tickmode="auto"
    )
    fig.update_yaxes(title_text="learners per day", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="day", row=2, col=1)
    return base_layout(fig, 520, barmode="group", bargap=0.15)


HOW = (
    "three views of who takes part, read together: how unequally members post, how long they stay, and how the "
    "community's size and activity move. The first two are from this run's learners only (not averaged over "
    "replicates)."
)
LORENZ_HOW = (
    "Lorenz curves of public posts: members sorted from fewest to most posts (x), and the share of all posts "
    "they wrote together (y). The further the curve sags below the dashed equality line, the more unequal "
    "(Gini 0 = equal, 1 = one member writes everything). Shaded: lurkers (0 posts, grey), contributors (green), "
    "superusers (the run's top 1% by posts, pink); the labels give each band's share of the group's members / of "
    "its posts (90-9-1 would read 90% / 0%, 9% / ~10%, 1% / ~90%). Hover for the numbers."
)
SURVIVAL_HOW = (
    "Kaplan-Meier curves: of the members who joined, the share still members after a given number of days as "
    "a member (tenure). Members who stayed to the end count until then (censored), so late arrivals do not look "
    "like leavers. A steep early drop means most leavers leave early. Right: members who asked, from their "
    "first public question on, by whether it got a response (time starts at the question, so staying long "
    "enough to ask favours neither curve)."
)
FLOW_HOW = (
    "top: members active at the end of each day (left axis) and public posts per day (right axis); bottom: "
    "learners who joined (blue) and who left (orange) each day; day 0's founding members are not drawn as "
    "arrivals. A launch wave then decay shows as posts peaking early and falling."
)


def section(learners: pd.DataFrame, b: Bands, replicate_note: str) -> Section:
    """The run page's "Participation" section: three panels, each with its one-line reading guide, or a note
    saying what the run folder lacks."""
    notes: list[str] = []
    parts: list[str] = []
    gone = pdata.missing(learners, pdata.LORENZ_COLUMNS)
    if gone:
        notes.append(
            f"Posts per learner: this run's learners.parquet has no {', '.join(gone)} (made before "
            "learncomm recorded them); re-run it to see who posts."
        )
    else:
        fig = lorenz_figure(learners)
        if fig is None:
            notes.append("Nobody posted in this run, so there is no Lorenz curve of posts (every member is a lurker).")
        else:
            parts.append(f'<p class="how">{esc(LORENZ_HOW)}</p>' + figure_html(fig, "fig-lorenz"))
    gone = pdata.missing(learners, pdata.SURVIVAL_COLUMNS)
    if gone:
        notes.append(f"Survival of members: this run's learners.parquet has no {', '.join(gone)}; re-run it.")
    elif learners.empty:
        notes.append("Survival of members: the run has no learners.")
    else:
        parts.append(f'<p class="how">{esc(SURVIVAL_HOW)}</p>' + figure_html(survival_figure(learners), "fig-survival"))
    gone = [c for c in pdata.FLOW_COLUMNS if c not in b.frames[0].columns]
    if gone:
        notes.append(f"Arrivals and leavers: this run's timeseries.parquet has no {', '.join(gone)}; re-run it.")
    else:
        parts.append(f'<p class="how">{esc(FLOW_HOW + replicate_note)}</p>' + figure_html(flow_figure(b), "fig-flow"))
    return Section("participation", "Participation", HOW, "".join(parts), notes=notes)
