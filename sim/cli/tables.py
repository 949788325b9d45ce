"""Rich tables of a run's outcomes, its AI roles and a comparison, as `learncomm run` and `compare` print them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from learncomm.sim.runs.paired import TOLERANCE
from learncomm.sim.runs.subgroups import short_name
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


def _size(r: Any) -> str:
    """Learners in the group per seed, in A and B (their mean over seeds)."""
    a, b = r.get("learners_a", math.nan), r.get("learners_b", math.nan)
    if a != a:
        return ""
    na, nb = (f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}" for x in (a, b))
    return f" (n = {na})" if na == nb else f" (n = {na} in A, {nb} in B)"  # per seed


def print_group_outcomes(console: Console, rows: list[dict[str, Any]]) -> None:
    """`run --by/--group`: one line per group with its size and mean outcomes (summary.json `subgroups.requested`)."""
    if not rows:
        return
    cols = ("knowledge_gain", "confidence_change", "retained", "days_present")
    table = Table(title="Outcomes per group (--by, --group)", title_justify="left")
    table.add_column("group", no_wrap=True)
    table.add_column("learners", justify="right")
    for c in cols:
        table.add_column(LEARNER_OUTCOMES[c], justify="right")
    for r in rows:
        table.add_row(Text(str(r["group"])), str(r["learners"]), *(number(r[c], 3) for c in cols))
    console.print(table)


def print_llm_quality(console: Console, quality: dict[str, dict[str, Any]]) -> None:
    """What the language model decided, per role, and a warning where it looks like noise."""
    if not quality:
        return
    table = Table(title="What the language model decided", title_justify="left")
    for col in (
        "role",
        "model answers",
        "valid",
        "agrees with policy",
        "by chance",
        "top position",
        "refusals",
        "placeholders",
        "names its choice",
    ):
        table.add_column(col, justify="left" if col == "role" else "right")
    pct = lambda v: "-" if v is None else f"{v:.0%}"  # noqa: E731
    for name, q in quality.items():
        table.add_row(
            name, str(q["asked"]), pct(q["valid_share"]), pct(q["agrees_with_policy"]), pct(q["agreement_by_chance"]),
            pct(q["position"]["top_share"]), pct(q["text"]["refusal"]), pct(q["text"]["placeholder"]),
            pct(q["text"]["names_choice"]),
        )  # fmt: skip
    console.print(table)  # its warnings are among the run's (summary.json `warnings`), printed after it


def print_comparison(console: Console, result: Comparison, groups: list[str] | None = None) -> None:
    t = result.table
    wanted = groups or [g for g in t["group"].unique() if g != "community"]
    for g in wanted:
        sub = t[t["group"] == g]
        if sub.empty:
            continue
        table = Table(
            title=f"{escape(short_name(str(g)))}{_size(sub.iloc[0])}: {escape(result.b)} − {escape(result.a)} over "
            f"{len(result.seeds)} paired seeds",
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


def _share(x: float) -> str:
    return "–" if x != x else f"{100 * x:.0f}%"


def print_left_behind(console: Console, result: Comparison, outcome: str) -> None:
    """Whom does B leave behind: per group, the share of learners worse off in `outcome` than the same learner on the
    same seed in A, with the shares better off and unchanged and the individual differences; worst first."""
    t = result.table
    sub = t[(t["outcome"] == outcome) & (t["kind"] == "learners")]
    if "share_worse" not in sub or sub["paired"].fillna(0).max() == 0:
        console.print(
            f"[yellow]warning:[/] no learner could be paired between {escape(result.a)} and {escape(result.b)}: the "
            "scenarios draw different populations (docs/results.md, 'Per-learner effects')",
            highlight=False,
        )
        return
    sub = sub.sort_values(["share_worse", "share_worse_high"], ascending=False, na_position="last")
    table = Table(
        title=f"Whom does {escape(result.b)} leave behind? {LEARNER_OUTCOMES.get(outcome, outcome)}, each learner "
        f"against themself in {escape(result.a)} on the same seed",
        title_justify="left",
    )
    by = " & ".join(result.spec.by)
    for col in (f"group ({by})" if by else "group", "n", "worse off [95% CI]", "better", "same", "B − A q10/q50/q90"):
        table.add_column(Text(col), justify="left" if col.startswith("group") else "right")
    for _, r in sub.iterrows():
        table.add_row(
            Text(short_name(str(r["group"])), no_wrap=True),
            f"{r['paired']:.0f}",
            f"{_share(r['share_worse'])} [{_share(r['share_worse_low'])}, {_share(r['share_worse_high'])}]",
            _share(r["share_better"]),
            _share(r["share_unchanged"]),
            f"{_fmt(r['diff_q10'], 2)}/{_fmt(r['diff_q50'], 2)}/{_fmt(r['diff_q90'], 2)}",
        )
    console.print(table)
    tol = TOLERANCE.get(outcome, 0.0)
    unpaired = result.pairing.get("unpaired", 0) + result.pairing.get("only_a", 0) + result.pairing.get("only_b", 0)
    console.print(
        f"[dim]Unchanged: |B − A| <= {tol:g}. Shares are means over {len(result.seeds)} seeds with a 95% interval "
        f"over seeds; groups are the learners' groups in A."
        + (f" {unpaired} learner-seeds could not be paired and are left out." if unpaired else "")
        + "[/]",
        highlight=False,
    )
