"""The AI roles on the run page: what each decided and when (with its text), and what it cost.

Decision texts may come from a language model: they are escaped everywhere
(hover labels and table cells), so they show as text and never run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from learncomm.sim.dashboard.common import base_layout, esc, esc_wrapped, fmt, table_html
from learncomm.sim.schema.vocab import ROLE_ACCOUNTING

TABLE_ROWS = 1000
DECIDER_COLOURS = {"policy": "#4c78a8", "openai": "#f58518", "local": "#54a24b", "replay": "#b279a2"}


def readable_decision(decision: Any, topics: Sequence[str]) -> str:
    """A recorded decision ({"topic": 1, "level": "beginner"}) as a reader wants it: "topic: topic-2, level:
    beginner". Roles record topics by index; the page names them. Text that is not a JSON object is shown as is."""
    text = "" if decision is None else str(decision)
    try:
        d = json.loads(text)
    except ValueError:
        return text
    if not isinstance(d, dict):
        return text

    def name(v: Any) -> Any:
        ok = isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(topics)
        return topics[v] if ok else v

    parts = []
    for k, v in d.items():
        if k == "topic" or k.endswith("_topic"):
            v = name(v)
        elif k == "topics" and isinstance(v, list):
            v = [name(x) for x in v]
        shown = "none" if v is None else ("yes" if v is True else "no" if v is False else v)
        parts.append(f"{k}: {', '.join(map(str, shown)) if isinstance(shown, list) else shown}")
    return ", ".join(parts)


def _lane(row: pd.Series, several: bool) -> str:
    return esc(f"{row['role']} · {row['community']}" if several else row["role"])


def timeline(inter: pd.DataFrame, topics: Sequence[str] = ()) -> go.Figure:
    """One point per decision: day × role, coloured by decider, × for a fallback; hover shows the decision (topics
    by name) and its text."""
    several = "community" in inter and inter["community"].nunique() > 1
    fig = go.Figure()
    for decider, d in inter.groupby("decider", sort=True):
        for fb, part in d.groupby(d["fallback"].astype(bool) if "fallback" in d else pd.Series(False, index=d.index)):
            hover = [
                f"<b>day {int(r['day'])} · {esc(r['role'])}</b>"
                + (f" · {esc(r['community'])}" if several else "")
                + f"<br>decider: {esc(r['decider'])}"
                + (f" ({esc(r['model'])})" if r.get("model") and r.get("model") != r["decider"] else "")
                + f"<br>decision: {esc_wrapped(readable_decision(r.get('decision', ''), topics), 80, 300)}"
                + (f"<br><b>fell back to the policy</b>: {esc_wrapped(r.get('reason', ''), 80, 300)}" if fb else "")
                + f"<br>tokens: {int(r.get('input_tokens', 0) or 0)} in, {int(r.get('output_tokens', 0) or 0)} out"
                + f"<br>text: {esc_wrapped(r.get('text', ''))}"
                for _, r in part.iterrows()
            ]
            name = esc(f"{decider}{' (fallback)' if fb else ''}")
            fig.add_trace(
                go.Scatter(
                    x=part["day"].astype(int).tolist(),
                    y=[_lane(r, several) for _, r in part.iterrows()],
                    mode="markers",
                    name=name,
                    marker={
                        "size": 11 if fb else 9,
                        "symbol": "x" if fb else "circle",
                        "color": "#d62728" if fb else DECIDER_COLOURS.get(str(decider), "#777"),
                        "line": {"width": 0.5, "color": "#333"},
                    },
                    hovertext=hover,
                    hoverinfo="text",
                )
            )
    lanes = sorted({_lane(r, several) for _, r in inter.iterrows()})
    fig.update_xaxes(title_text="day")
    fig.update_yaxes(title_text="role", categoryorder="array", categoryarray=lanes)
    return base_layout(fig, max(280, 120 + 40 * len(lanes)), hovermode="closest")


def intervention_table(inter: pd.DataFrame, topics: Sequence[str] = ()) -> tuple[str, str | None]:
    """Every decision as a row (the first TABLE_ROWS), topics by name; all cells escaped."""
    cols = [
        ("day", "day"),
        ("role", "role"),
        ("community", "community"),
        ("decider", "decider"),
        ("model", "model"),
        ("decision", "decision"),
        ("text", "text"),
        ("fallback", "fallback"),
        ("reason", "reason"),
        ("input_tokens", "tokens in"),
        ("output_tokens", "tokens out"),
        ("latency_s", "latency s"),
        ("cache_hit", "cache hit"),
    ]
    cols = [(c, h) for c, h in cols if c in inter.columns]
    shown = inter.sort_values(["day"], kind="stable").head(TABLE_ROWS)
    rows = [
        [
            fmt(r[c], 2)
            if c == "latency_s"
            else (
                fmt(r[c])
                if c in ("input_tokens", "output_tokens", "fallback", "cache_hit")
                else readable_decision(r[c], topics)
                if c == "decision"
                else ("" if r[c] is None else str(r[c]))
            )
            for c, _ in cols
        ]
        for _, r in shown.iterrows()
    ]
    note = (
        f"The table shows the first {TABLE_ROWS:,} of {len(inter):,} decisions; interventions.parquet has them all."
        if len(inter) > TABLE_ROWS
        else None
    )
    return table_html([h for _, h in cols], rows), note


def accounting(roles: dict[str, dict[str, Any]]) -> tuple[go.Figure, str, str | None]:
    """Per role: decisions, LLM calls, fallbacks, cache hits; tokens; cost, as bars and as a table. A run with no
    tokens and no cost (the policy decided everything) gets the first panel only and a note saying why."""
    names = list(roles)
    labels = [esc(n) for n in names]
    spent = any(
        float(roles[n].get(k, 0) or 0) > 0 for n in names for k in ("input_tokens", "output_tokens", "cost_usd")
    )
    fig = make_subplots(
        rows=1,
        cols=3 if spent else 1,
        subplot_titles=["decisions and language-model calls", "tokens", "estimated cost (US$)"][: 3 if spent else 1],
        horizontal_spacing=0.08,
    )
    for key, label, c in (
        ("decisions", "decisions", "#4c78a8"),
        ("llm_calls", "LLM calls", "#f58518"),
        ("fallbacks", "fallbacks to the policy", "#d62728"),
        ("cache_hits", "cache hits", "#54a24b"),
    ):
        fig.add_trace(
            go.Bar(x=labels, y=[roles[n].get(key, 0) for n in names], name=label, marker_color=c, legendgroup="calls"),
            row=1,
            col=1,
        )
    header = ["role", *ROLE_ACCOUNTING.values()]
    rows = [
        [
            n,
            *(fmt(int(roles[n].get(k, 0))) for k in list(ROLE_ACCOUNTING)[:6]),
            fmt(roles[n].get("cost_usd"), 4),
            fmt(roles[n].get("latency_s"), 1),
        ]
        for n in names
    ]
    if not spent:
        fig.update_layout(barmode="group")
        fig.update_yaxes(title_text="count")
        note = (
            "No language-model tokens or cost in this run (no decision called a model), so those panels are left out."
        )
        return base_layout(fig, 380), table_html(header, rows), note
    for key, label, c in (("input_tokens", "input tokens", "#72b7b2"), ("output_tokens", "output tokens", "#eeca3b")):
        fig.add_trace(
            go.Bar(x=labels, y=[roles[n].get(key, 0) for n in names], name=label, marker_color=c), row=1, col=2
        )
    fig.add_trace(
        go.Bar(
            x=labels,
            y=[round(float(roles[n].get("cost_usd", 0.0)), 6) for n in names],
            name="cost US$",
            marker_color="#9d755d",
            hovertemplate="%{x}: $%{y:.4f}<extra></extra>",
        ),
        row=1,
        col=3,
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="count", row=1, col=1)
    fig.update_yaxes(title_text="tokens", row=1, col=2)
    fig.update_yaxes(title_text="US$", row=1, col=3)
    return base_layout(fig, 380), table_html(header, rows), None


def quality_table(quality: dict[str, dict[str, Any]]) -> tuple[str, list[str]]:
    """summary.json's llm_quality as a table, and its warnings."""
    pct = lambda v: "n/a" if v is None else f"{v:.0%}"  # noqa: E731
    header = ["role", "model asked", "valid", "agrees with policy", "by chance", "most picked position", "p",
              "refusals", "placeholders", "names its choice", "in language", "within length"]  # fmt: skip
    rows = [
        [role, q["asked"], pct(q["valid_share"]), pct(q["agrees_with_policy"]), pct(q["agreement_by_chance"]),
         pct(q["position"]["top_share"]), fmt(q["position"]["p_value"]), pct(q["text"]["refusal"]),
         pct(q["text"]["placeholder"]), pct(q["text"]["names_choice"]), pct(q["text"]["in_language"]),
         pct(q["text"]["within_length"])]
        for role, q in quality.items()
    ]  # fmt: skip
    return table_html(header, rows), [w for q in quality.values() for w in q.get("warnings", [])]
