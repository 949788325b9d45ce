"""`llm eval`'s page (EVAL_DIR/dashboard.html), built from eval.json alone.

Model text (messages, failure reasons) is data: every string goes through `esc` or `table_html`.
"""

from __future__ import annotations

import json
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

ROLE_COLUMNS = (
    "role", "situations", "valid", "agrees with policy", "on clear ones", "by chance", "most picked position",
    "position p", "refusals", "placeholders", "names its choice", "in language", "within length", "latency s",
    "tokens in/out",
)  # fmt: skip


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def role_row(role: str, f: dict[str, Any]) -> list[str]:
    t, p = f["text"], f["position"]
    return [
        role,
        str(f["decisions"]),
        pct(f["valid_share"]),
        pct(f["agrees_with_policy"]),
        pct(f["agrees_by_kind"].get("clear")),
        pct(f["agreement_by_chance"]),
        pct(p["top_share"]),
        fmt(p["p_value"]),
        pct(t["refusal"]),
        pct(t["placeholder"]),
        pct(t["names_choice"]),
        pct(t["in_language"]),
        pct(t["within_length"]),
        fmt(f["latency_mean_s"]),
        f"{f['input_tokens']}/{f['output_tokens']}",
    ]


def position_figure(data: dict[str, Any]) -> go.Figure:
    """Picks by shown position against a content-blind pick, per role: bars far from the dots are a bias."""
    fig = go.Figure()
    for role, f in data["roles"].items():
        p = f["position"]
        xs = [esc(f"{role} #{k}") for k in range(len(p["by_position"]))]  # Plotly renders tags in labels
        fig.add_bar(x=xs, y=p["by_position"], name=esc(f"{role}: picks"), marker_color="#0072B2", showlegend=False)
        fig.add_scatter(
            x=xs, y=p["expected"], mode="markers", marker={"color": "#D55E00", "size": 10, "symbol": "diamond"},
            name="expected if blind to position", showlegend=role == next(iter(data["roles"])),
        )  # fmt: skip
    base_layout(fig, 380, xaxis_title="role and position shown", yaxis_title="answers")
    return fig


def items_table(data: dict[str, Any]) -> str:
    rows = []
    for r in data["items"]:
        c = r.get("checks") or {}
        flags = [k for k in ("placeholder", "refusal", "empty") if c.get(k)]
        flags += [
            f"not {k.replace('_', ' ')}" for k in ("names_choice", "in_language", "within_length") if c.get(k) is False
        ]
        rows.append(
            [
                r["id"],
                r["kind"],
                r["shown_order"],
                "-" if r["fallback"] else f"#{r['shown_position']} -> rank {r['choice']}",
                ", ".join(flags) or ("fallback: " + r["reason"] if r["fallback"] else "ok"),
                r["text"][:300],
            ]
        )
    return table_html(["situation", "kind", "shown order (policy ranks)", "picked", "checks", "message"], rows)


def build_eval(folder: Path, embed: bool = False) -> Path:
    """Write EVAL_DIR/dashboard.html from EVAL_DIR/eval.json and return its path."""
    folder = Path(folder)
    src = folder / "eval.json"
    if not src.is_file():
        raise DashboardError(f"{folder}: not an llm eval folder (no eval.json)")
    try:
        data = json.loads(src.read_text(encoding="utf-8"))
        rows = [role_row(role, f) for role, f in [*data["roles"].items(), ("all", data["overall"])]]
    except (ValueError, KeyError, TypeError) as exc:
        raise DashboardError(f"{src}: not a readable eval report: {exc}") from None
    warnings = [w for f in data["roles"].values() for w in f.get("warnings", [])]
    sections = [
        Section(
            "roles",
            "What the model decided, per role",
            "valid: answers in the right shape with a real option; agrees: picked the policy's first choice (by "
            "chance: what a blind pick would give); most picked position: options are shown in a shuffled order, "
            "so a model choosing by content spreads its picks, one choosing by position piles them up (p: "
            "chi-square against a blind pick); text checks are over valid answers.",
            table_html(ROLE_COLUMNS, rows),
            notes=[f"warning: {w}" for w in warnings] + [f"failed: {f}" for f in data.get("failures", [])],
        ),
        Section(
            "positions",
            "Picks by shown position",
            "bars: the model's picks at each position it was shown; diamonds: what a pick blind to position "
            "would give. A tall first bar with diamonds far below it means the model takes what comes first.",
            figure_html(position_figure(data), "fig-positions"),
        ),
        Section(
            "items",
            "Every situation",
            "the benchmark's situations in order: the order the options were shown in (as the policy's ranks), "
            "what the model picked, the checks its message failed, and the message itself.",
            items_table(data),
        ),
    ]
    facts = [
        ("result", "passed" if data.get("passed") else "failed"),
        ("model", f"{data.get('model')} ({data.get('decider')})"),
        ("situations", data.get("situations")),
        ("language", data.get("language")),
        ("seed", data.get("seed")),
    ]
    target = folder / "dashboard.html"
    atomic_write_text(target, page("Language-model decider evaluation", facts, sections, target, embed=embed))
    return target
