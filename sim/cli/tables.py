"""Rich tables of a run's outcomes, its AI roles and a comparison, as `learncomm run` and `compare` print them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from learncomm.sim.schema.vocab import LEARNER_OUTCOMES, MECHANISMS, ROLE_ACCOUNTING
from learncomm.sim.schema.wording import number

if TYPE_CHECKING:
    from learncomm.sim.runs.compare import Comparison

# Counts (days, questions, answers, meetups) are shown with one decimal, shares and levels with three.
COUNTED = ("days_present", "ask", "explain", "meet")


def _fmt(x: float, digits: int = 3) -> str:
    return number(x, digits)  # '–' when missing, never '-0.000'


def print_summary(console: Console, summary: dict[str, Any], title: str) -> None:
    """Outcomes per confidence group (and tutoring role), then community outcomes."""
    groups = summary["groups"]
    table = Table(title=title, title_justify="left")
    table.add_column("outcome")
    for g in groups:
        table.add_column(f"{g} (n={groups[g]['learners']})", justify="right")
    for o, label in LEARNER_OUTCOMES.items():
        table.add_row(label, *(_fmt(groups[g][o], 1 if o in COUNTED else 3) for g in groups))
    console.print(table)
    c = summary["community"]
    console.print(
        f"equity gap (high − low knowledge gain): {_fmt(c['equity_gap'])}   active learners: {c['active_learners']}   "
        f"Gini of posts: {_fmt(c['posts_gini'])}   meetup attendances: {c['meetup_attendance_total']:.0f}",
        highlight=False,
    )
    p = summary.get("participation")
    if p:
        console.print(
            f"posts by the top 10%: {p['posts_top10_share']:.0%}, top 1%: {p['posts_top1_share']:.0%}   "
            f"never posted: {p['lurker_share']:.0%}   first questions answered: {_pct(p['first_question_answered'])}   "
            f"leavers who left within 30 days: {_pct(p['leavers_within_30_days'])}",
            highlight=False,
        )


def _pct(x: float) -> str:
    return "-" if x != x else f"{x:.0%}"  # NaN: nobody asked, nobody left


def print_roles(console: Console, roles: dict[str, dict[str, float]]) -> None:
    """Per role: decisions, LLM calls, fallbacks, cache hits, tokens, cost."""
    if not roles:
        return
    table = Table(title="AI roles", title_justify="left")
    for col in ("role", *ROLE_ACCOUNTING.values()):
        table.add_column(col, justify="left" if col == "role" else "right")
    for name, r in roles.items():
        table.add_row(
            name,
            *(f"{r[k]:.0f}" for k in list(ROLE_ACCOUNTING)[:6]),
            f"{r['cost_usd']:.4f}",
            f"{r['latency_s']:.1f}",
        )
    console.print(table)


def print_comparison(console: Console, result: Comparison, groups: list[str] | None = None) -> None:
    t = result.table
    wanted = groups or [g for g in t["group"].unique() if g != "community"]
    for g in wanted:
        sub = t[t["group"] == g]
        if sub.empty:
            continue
        table = Table(
            title=f"{escape(str(g))}: {escape(result.b)} − {escape(result.a)} over {len(result.seeds)} paired seeds",
            title_justify="left",
        )
        for col in ("outcome", result.a, result.b, "B − A", "95% CI", "Cohen's d"):
            table.add_column(Text(col), justify="left" if col == "outcome" else "right")  # scenario names: not markup
        for _, r in sub.iterrows():
            label = LEARNER_OUTCOMES.get(r["outcome"]) or MECHANISMS.get(r["outcome"], r["outcome"])
            style = "dim" if r["kind"] == "mechanism" else None
            table.add_row(
                label,
                _fmt(r["mean_a"]),
                _fmt(r["mean_b"]),
                _fmt(r["diff"]),
                f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]",
                _fmt(r["d"], 2),
                style=style,
            )
        console.print(table)
    comm = t[t["group"] == "community"]
    for _, r in comm.iterrows():
        console.print(
            f"{r['outcome']}: {escape(result.a)} {_fmt(r['mean_a'])}, {escape(result.b)} {_fmt(r['mean_b'])}, B − A "
            f"{_fmt(r['diff'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}], paired d_z {_fmt(r['d'], 2)}",
            highlight=False,
        )
    console.print(
        "[dim]Cohen's d is between learners (pooled SD of the learners' values, averaged over seeds). Dim rows "
        "are mechanisms (run-average shares of days) that show why an outcome moved; their d is the paired d_z "
        "over seeds.[/]"
    )
