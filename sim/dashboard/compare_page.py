"""The comparison dashboard (COMPARE_DIR/dashboard.html): B − A per outcome and group, as forest plots, and
learner by learner: whom B leaves behind, individual differences and the groups over time (compare_views.py).

Reads what `learncomm compare` stores (comparison.parquet: per group and
outcome the mean difference over paired seeds with its 95% t-interval and the
paired shares; trajectories.parquet).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from learncomm.sim.dashboard.common import (
    GROUP_LABELS,
    Section,
    atomic_write_text,
    base_layout,
    colour,
    esc,
    figure_html,
    fmt,
    page,
    rounded,
    table_html,
)
from learncomm.sim.dashboard.compare_views import individual, learner_rows, left_behind, left_behind_table, trajectories
from learncomm.sim.dashboard.folders import read_json, read_parquet
from learncomm.sim.schema.vocab import SCOPES

LABELS = {
    "knowledge_gain": "knowledge gain",
    "confidence_change": "confidence change",
    "motivation_final": "final motivation",
    "retained": "retention (share)",
    "days_present": "days taking part",
    "ask": "questions asked",
    "explain": "explanations given",
    "meet": "meetups attended",
    "share_ask": "share of days asking",
    "share_observe": "share of days observing",
    "share_explain": "share of days explaining",
    "share_study": "share of days studying alone",
    "exposed": "share of days exposed",
    "present": "share of days taking part",
    "equity_gap": "equity gap (high − low gain)",
    "posts_gini": "Gini of posts",
}
ORDER = (*SCOPES, "tutors", "tutees", "community")


def label(outcome: str) -> str:
    return LABELS.get(outcome, outcome)


def size_note(row: pd.Series) -> str:
    """The group's size for a hover label: learners per seed in A and B (comparisons from before had none)."""
    a, b = row.get("learners_a"), row.get("learners_b")
    if a is None or b is None or a != a:
        return ""
    return f"<br>learners per seed: {float(a):.1f} (A), {float(b):.1f} (B)"


def forest(t: pd.DataFrame, a: str, b: str, cols: int = 2) -> go.Figure:
    """One panel per outcome (its own x scale), one row per group: B − A with its 95% interval; dashed line at no
    difference."""
    outcomes = list(dict.fromkeys(t["outcome"]))
    groups = [g for g in ORDER if g in set(t["group"])] + sorted(set(t["group"]) - set(ORDER))
    rows = math.ceil(len(outcomes) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[esc(label(o)) for o in outcomes],
        horizontal_spacing=0.12,
        vertical_spacing=min(0.5 / max(rows, 1), 0.12),
    )
    seen: set[str] = set()
    for i, o in enumerate(outcomes):
        r, c = i // cols + 1, i % cols + 1
        for g in groups:
            row = t[(t["outcome"] == o) & (t["group"] == g)]
            if row.empty:
                continue
            x = row.iloc[0]
            diff, lo, hi = (float(x[k]) for k in ("diff", "ci_low", "ci_high"))
            hover = (
                f"<b>{esc(label(o))}</b> · {esc(GROUP_LABELS.get(g, g))}<br>B − A = {diff:.4g}  95% CI "
                f"[{lo:.4g}, {hi:.4g}]"
                f"<br>{esc(a)} (A): {float(x['mean_a']):.4g}<br>{esc(b)} (B): {float(x['mean_b']):.4g}"
                f"<br>d = {float(x['d']):.2f} ({esc(x['d_kind'])}), {int(x['seeds'])} seeds" + size_note(x)
            )
            fig.add_trace(
                go.Scatter(
                    x=rounded([diff], 6),
                    y=[esc(GROUP_LABELS.get(g, g))],
                    mode="markers",
                    name=esc(GROUP_LABELS.get(g, g)),
                    legendgroup=g,
                    showlegend=g not in seen,
                    marker={"color": colour(g), "size": 10, "symbol": "diamond"},
                    error_x={
                        "type": "data",
                        "symmetric": False,
                        "array": rounded([hi - diff], 6),
                        "arrayminus": rounded([diff - lo], 6),
                        "color": colour(g),
                        "thickness": 2,
                        "width": 5,
                    },
                    hovertext=[hover],
                    hoverinfo="text",
                ),
                row=r,
                col=c,
            )
            seen.add(g)
        fig.add_vline(x=0, line={"color": "#888", "dash": "dash"}, row=r, col=c)
        fig.update_yaxes(autorange="reversed", row=r, col=c)
        fig.update_xaxes(title_text="B − A", title_standoff=2, row=r, col=c)
    return base_layout(fig, 120 + 200 * rows, hovermode="closest", margin={"l": 130, "r": 30, "t": 60, "b": 60})


def d_heatmap(t: pd.DataFrame) -> go.Figure:
    """Cohen's d between learners for every outcome and group: a common scale to compare outcomes."""
    sub = t[t["kind"] == "learners"]
    groups = [g for g in ORDER if g in set(sub["group"])]
    outcomes = list(dict.fromkeys(sub["outcome"]))
    pivot = sub.pivot_table(index="outcome", columns="group", values="d").reindex(index=outcomes, columns=groups)
    fig = go.Figure(
        go.Heatmap(
            z=[rounded(r, 3) for r in pivot.to_numpy(float)],
            x=[GROUP_LABELS.get(g, g) for g in groups],
            y=[esc(label(o)) for o in outcomes],
            colorscale="RdBu",
            zmid=0,
            texttemplate="%{z:.2f}",
            colorbar={"title": {"text": "Cohen's d"}},
            hovertemplate="%{y} · %{x}: d = %{z:.2f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top")
    return base_layout(fig, 120 + 36 * len(outcomes), margin={"l": 170, "r": 30, "t": 60, "b": 30})


def full_table(t: pd.DataFrame, a: str, b: str) -> str:
    header = ["group", "learners A/B", "outcome", "kind", f"{a} (A)", f"{b} (B)", "B − A", "95% CI", "d", "d kind"]
    header += ["seeds"]
    rows = [
        [
            r["group"],
            f"{fmt(r.get('learners_a'), 1)} / {fmt(r.get('learners_b'), 1)}",
            label(r["outcome"]),
            r["kind"],
            fmt(r["mean_a"], 4),
            fmt(r["mean_b"], 4),
            fmt(r["diff"], 4),
            f"[{fmt(r['ci_low'], 4)}, {fmt(r['ci_high'], 4)}]",
            fmt(r["d"], 2),
            r["d_kind"],
            fmt(int(r["seeds"])),
        ]
        for _, r in t.iterrows()
    ]
    return table_html(header, rows)


def groups_fact(m: dict[str, Any]) -> str:
    """How the groups were formed: `--by` attributes and `--group` expressions (text from the command line: the page
    escapes it)."""
    g = m.get("groups") or {}
    parts = [f"by {' × '.join(g.get('by') or [])}"] if g.get("by") else ["confidence groups"]
    parts += [f"{name}: {expr}" for name, expr in (g.get("custom") or {}).items()]
    return "; ".join(parts)


def facts(m: dict[str, Any], path: Path) -> list[tuple[str, Any]]:
    req = m.get("request") or {}
    seeds = m.get("seeds") or []
    created = (
        m.get("created")
        or datetime.fromtimestamp((path / "comparison.parquet").stat().st_mtime, UTC).isoformat(timespec="seconds")
        + " (file time)"
    )
    return [
        ("A (baseline)", m.get("a")),
        ("B", m.get("b")),
        ("paired seeds", f"{len(seeds)} ({seeds[0]}–{seeds[-1]})" if seeds else "?"),
        ("learners", req.get("learners") or "each scenario's own"),
        ("days", req.get("days") or "each scenario's own"),
        *changes_facts(m),
        ("groups", groups_fact(m)),
        ("created", created),
        ("learncomm", m.get("learncomm")),
    ]


def changes_facts(m: dict[str, Any]) -> list[tuple[str, str]]:
    """The command line's overrides (manifest `request`: --set for both, --set-a, --set-b) as one fact per side that
    has any, e.g. ("A", "community with params.x=1"); one "changes: none" fact without any."""
    req = m.get("request") or {}
    both = [str(s) for s in req.get("sets") or []]
    out = []
    for side, key in (("A", "sets_a"), ("B", "sets_b")):
        changes = [*both, *(str(s) for s in req.get(key) or [])]
        if changes:
            out.append((f"{side} changes", f"{m.get(side.lower(), side)} with {' '.join(changes)}"))
    return out or [("changes (--set)", "none")]


def warnings_section(m: dict[str, Any]) -> list[Section]:
    """The runs' warnings (manifest `warnings`: per side, each code with how many seeds had it); none without."""
    found = m.get("warnings") or {}
    n = len(m.get("seeds") or [])
    notes = [
        f"{side} ({m.get(side.lower(), side)}), {w.get('seeds', '?')} of {n} seeds: {w.get('message', '')} "
        f"({w.get('code', '')})"
        for side in ("A", "B")
        for w in found.get(side) or []
        if isinstance(w, dict)
    ]
    if not notes:
        return []
    how = (
        "what the runs were asked to do and did not (each run's summary.json `warnings`; docs/results.md lists the "
        "codes)."
    )
    return [Section("warnings", "Warnings", how, "", notes=notes)]


def learner_sections(path: Path, t: pd.DataFrame, a: str, b: str) -> list[Section]:
    """Whom B leaves behind, individual differences, and the groups over time (sim/dashboard/compare_views.py)."""
    if learner_rows(t).empty:
        note = (
            "No learner could be paired between A and B (the scenarios draw different populations), or this folder "
            "was written before per-learner effects were stored; rerun learncomm compare for them."
        )
        return [
            Section(
                "left-behind",
                "Whom does it leave behind?",
                "per-learner effects need paired learners.",
                "",
                notes=[note],
            )
        ]
    secs = [
        Section(
            "left-behind",
            "Whom does it leave behind?",
            f"each learner in {b} (B) against the same learner in {a} (A) on the same seed. Bars: the share of the "
            "group worse off (vermillion, with its 95% interval over seeds), unchanged (grey) and better off (blue); "
            "the groups with most learners worse off are at the top; n is learners per seed. The menu picks the "
            "outcome; the table below is for knowledge gain.",
            figure_html(left_behind(t, b), "fig-left-behind") + left_behind_table(t),
        ),
        Section(
            "individual",
            "Individual differences in knowledge gain",
            "per group, the spread of B − A over its learners and seeds: the box spans the middle half (25% to 75%), "
            "the line inside is the median, the whiskers reach the 10% and 90% quantiles. A box left of the dashed "
            "line: most of the group gained less in B.",
            figure_html(individual(t), "fig-individual"),
        ),
    ]
    if (path / "trajectories.parquet").is_file():
        tr = read_parquet(path / "trajectories.parquet")
        how = (
            "one panel per group (the largest first, at most 12): the mean over seeds of A (dashed) and B (solid) "
            "each day, with a 95% band over seeds; where the lines part is when the scenarios diverge."
        )
        secs.append(
            Section(
                "over-time",
                "Over time: knowledge per group",
                "mean knowledge of the group's joined learners; " + how,
                figure_html(trajectories(tr, a, b, "knowledge"), "fig-trajectories"),
            )
        )
        secs.append(
            Section(
                "over-time-motivation",
                "Over time: motivation per group",
                "mean motivation of the group's active learners; " + how,
                figure_html(trajectories(tr, a, b, "motivation"), "fig-trajectories-motivation"),
            )
        )
    return secs


def build_comparison(path: Path, embed: bool = False) -> Path:
    """Write COMPARE_DIR/dashboard.html and return its path."""
    path = Path(path)
    m = read_json(path / "manifest.json") if (path / "manifest.json").is_file() else {}
    t = read_parquet(path / "comparison.parquet")
    a, b = str(m.get("a", "A")), str(m.get("b", "B"))
    n = int(t["seeds"].max()) if len(t) else 0
    how = (
        "each panel is one outcome with its own scale; each row a confidence group. The diamond is the mean "
        f"over {n} paired seeds of "
        f"{b} (B) minus {a} (A), the whiskers its 95% interval. Whiskers that cross the dashed zero line: no "
        "clear difference."
    )
    secs = [
        *warnings_section(m),  # first: what did not happen
        Section(
            "learner-outcomes",
            "Learner outcomes: B − A per group",
            how,
            figure_html(forest(t[t["kind"] == "learners"], a, b), "fig-forest-learners"),
        ),
        *learner_sections(path, t, a, b),
        Section(
            "effect-sizes",
            "Effect sizes (Cohen's d between learners)",
            "standardised differences on one scale: about 0.2 is small, 0.5 medium, 0.8 large "
            "(the scale education meta-analyses report); red: B lower, blue: B higher.",
            figure_html(d_heatmap(t), "fig-d"),
        ),
    ]
    mech = t[t["kind"] == "mechanism"]
    if not mech.empty:
        secs.append(
            Section(
                "mechanisms",
                "Mechanisms: why outcomes moved",
                "run-average shares of days in each mode, B − A per group, with 95% intervals: "
                "for example, the low-confidence group asking more in B explains a gain there.",
                figure_html(forest(mech, a, b), "fig-forest-mechanisms"),
            )
        )
    comm = t[t["kind"] == "run"]
    if not comm.empty:
        secs.append(
            Section(
                "community",
                "Community outcomes",
                "one value per run on the last day: the equity gap (high − low knowledge gain; "
                "below zero in B − A means B is more equal) and the Gini of posts (lower: posting is spread "
                "more evenly).",
                figure_html(forest(comm, a, b), "fig-forest-community"),
            )
        )
    secs.append(
        Section(
            "table",
            "All numbers",
            "the stored comparison table (comparison.parquet), one row per group and outcome.",
            full_table(t, a, b),
        )
    )
    target = path / "dashboard.html"
    atomic_write_text(target, page(f"Comparison: {b} − {a}", facts(m, path), secs, target, embed=embed))
    return target
