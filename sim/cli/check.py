"""`learncomm check`: the stylised facts of real communities, checked over seeds, and an event log beside them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from learncomm.sim.cli.app import app, err, fail, out, released_on_error, warn
from learncomm.sim.cli.progress import count_progress
from learncomm.sim.runs.claim import ResultsError, claim_dir
from learncomm.sim.schema.loading import ScenarioError

if TYPE_CHECKING:
    from learncomm.sim.check.suite import CheckReport

FIGURE_ROWS = (
    ("members", "members", 0),
    ("gini", "Gini of posts", 2),
    ("top10_share", "top 10% share of posts", 2),
    ("top1_share", "top 1% share of posts", 2),
    ("never_post", "never post", 2),
    ("peak_week", "busiest week", 1),
    ("decay_ratio", "busiest / last full fortnight", 1),
    ("left", "posters silent in the last 30 days", 2),
    ("left_early", "of those, active <= 30 days", 2),
    ("median_arrival_day", "median arrival day", 1),
)


def num(v: float | None, digits: int = 2) -> str:
    if v is None or v != v:  # None or NaN
        return "–"
    return f"{v:,.{digits}f}" if digits else f"{v:,.0f}"


def print_facts(report: CheckReport) -> None:
    log = report.log_check
    wide = out.width >= 160  # the sources fit in the table; else they follow it, one line per fact
    t = Table(
        title=f"Model check: {len(report.results)} facts over seeds {report.seeds}",
        title_justify="left",
        box=box.HEAVY_HEAD if wide else box.SIMPLE_HEAD,
        pad_edge=wide,
    )
    for col in ("fact", "scenario", "value [95% interval]", "target", "result"):
        t.add_column(col, no_wrap=True)
    if log is not None:
        t.add_column("log (in range?)", no_wrap=True)
    if wide:
        t.add_column("source", overflow="fold")
    for r in report.results:
        f = r.fact
        d = 1 if f.unit in ("ratio", "week") else 2
        interval = "" if r.ci_low != r.ci_low else f" [{num(r.ci_low, d)}, {num(r.ci_high, d)}]"
        row = [
            escape(f.id),
            escape(r.scenario + (f" vs {f.baseline}" if f.baseline and wide else "")),
            f"{num(r.mean, d)}{interval}",
            escape(f.target),
            "[green]pass[/]" if r.passed else "[bold red]FAIL[/]",
        ]
        if log is not None:
            if f.id in log.values:
                mark = "[green]yes[/]" if log.in_range[f.id] else "[red]no[/]"
                row.append(f"{num(log.values[f.id], d)} ({mark})")
            else:
                row.append("–")
        if wide:
            row.append(escape(f.source))
        t.add_row(*row)
    out.print(t)
    if not wide:
        for f in dict.fromkeys(r.fact for r in report.results):
            out.print(f"[bold]{f.id}[/]: {escape(f.source)}", highlight=False)
    for s in report.skipped:
        out.print(f"[dim]skipped {escape(str(s))}[/]", highlight=False)


def print_figures(report: CheckReport) -> None:
    assert report.log is not None
    sims = report.scenario_figures
    t = Table(title="The log's figures beside the simulated ones (means over seeds)", title_justify="left")
    t.add_column("figure")
    t.add_column("log")
    for s in sims:
        t.add_column(escape(s))
    for key, label, digits in FIGURE_ROWS:
        t.add_row(label, num(report.log["figures"].get(key), digits), *(num(sims[s].get(key), digits) for s in sims))
    out.print(t)


@app.command()
def check(
    fast: Annotated[
        bool, typer.Option("--fast", help="The fast suite: 3 seeds, cheap scenarios only (the CI gate).")
    ] = False,
    seeds: Annotated[int | None, typer.Option("--seeds", min=2, help="Seeds 1..N (default 5; 3 with --fast).")] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            help="Check the open-community facts on this scenario (a file or shipped name; repeatable) instead "
            "of the shipped community and open-course.",
        ),
    ] = None,
    log: Annotated[
        Path | None,
        typer.Option("--log", help="An event log (sender, recipient, time or user, time): its figures beside."),
    ] = None,
    members: Annotated[
        Path | None, typer.Option("--members", help="With --log: a member list, one id per line.")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for check.json and dashboard.html (default: results/check-<time>)."),
    ] = None,
    results: Annotated[Path, typer.Option("--results", help="Where check folders go by default.")] = Path("results"),
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Run on a process pool of N workers (default 1: in this process).")
    ] = 1,
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", help="Do not write dashboard.html.")] = False,
) -> None:
    """Check the model against stylised facts of real communities (and, with --log, a community's event log).

    Exits 1 when a fact fails, 2 on bad input."""
    from learncomm.sim.check.facts import FACTS  # the engine: loaded when the check starts
    from learncomm.sim.check.log import LogError, read_log
    from learncomm.sim.check.suite import DEFAULT_SEEDS, FAST_SEEDS, default_check_dir, plan, run_check, write_report
    from learncomm.sim.schema.loading import load_scenario

    if members is not None and log is None:
        fail("--members needs --log")
    try:
        activity = read_log(log, members) if log is not None else None
    except LogError as exc:
        fail(str(exc))
        return
    if activity is not None:
        used = ", ".join(f"{k}: {v}" for k, v in activity.columns.items())
        out.print(
            f"Log [bold]{escape(str(log))}[/]: {activity.n:,} members, {int(activity.posts.sum()):,} events over "
            f"{activity.horizon:.1f} days (columns {escape(used)})",
            highlight=False,
        )
        if activity.members_listed:
            out.print(f"  {activity.members_listed:,} listed members never appear in the log (counted, 0 posts)")
    n = seeds or (FAST_SEEDS if fast else DEFAULT_SEEDS)
    with released_on_error(ScenarioError, ResultsError, OSError) as claimed:
        for s in scenario or []:
            load_scenario(s)  # a bad --scenario fails before any run
        # claimed before the runs, as `run` claims its folder: a taken or unwritable --out fails now
        target = claimed.take(claim_dir(out_dir, on_stale=warn) if out_dir else default_check_dir(results, claim=True))
        pairs, _ = plan(FACTS, fast, scenario)
        needed = {s for f, s in pairs} | {f.baseline for f, _ in pairs if f.baseline}
        with count_progress(err, "model check", len(needed) * n) as advance:
            report = run_check(
                list(range(1, n + 1)),
                fast=fast,
                scenarios=scenario,
                log=activity,
                facts=FACTS,
                workers=workers,
                on_run=lambda _s, _seed: advance(),
            )
        path = write_report(report, target, claimed=True)
    print_facts(report)
    if report.log is not None:
        print_figures(report)
    good = sum(r.passed for r in report.results)
    out.print(
        f"{good} of {len(report.results)} facts pass ({report.wall_s:.1f} s). Results: [bold]{escape(str(path))}[/]"
    )
    if not no_dashboard:
        from learncomm.sim.dashboard.check_page import build_check

        out.print(f"Dashboard: [bold]{escape(str(build_check(Path(target))))}[/]")
    if not report.passed:
        raise typer.Exit(1)
