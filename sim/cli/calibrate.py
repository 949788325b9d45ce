"""`learncomm calibrate`: fit a scenario to a community's event log (docs/calibration.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from learncomm.sim.cli.app import app, err, fail, out
from learncomm.sim.runs.store import ResultsError
from learncomm.sim.schema.loading import ScenarioError

if TYPE_CHECKING:
    from learncomm.sim.calibrate.search import CalSetup

MAX_BUDGET = 100_000


def _default_out(results: Path, log: Path, base: str) -> Path:
    """results/calibrations/<log>-<base>: the same command resumes the same folder."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{log.stem}-{Path(base).stem}").strip("-.") or "calibration"
    return results / "calibrations" / name[:120]


def _print_setup(setup: CalSetup, target: Path) -> None:
    info = setup.log_info
    used = ", ".join(f"{k}: {v}" for k, v in info["columns"].items())
    out.print(
        f"Log [bold]{escape(info['source'])}[/]: {info['members']:,} members, {info['posts']:,} events over "
        f"{info['days']:.1f} days (columns {escape(used)})",
        highlight=False,
    )
    if info["members_listed_not_seen"]:
        out.print(f"  {info['members_listed_not_seen']:,} listed members never appear in the log (counted, 0 posts)")
    scale = f" (one simulated day = {info['scale']:.3g} log days)" if info["scale"] != 1 else ""
    out.print(
        f"Simulating {escape(setup.base_name)} with {setup.base['learners']:,} learners over {setup.base['days']} "
        f"days{scale}; fitting {len(setup.space)} parameters with {setup.budget} trials of {setup.reps} simulation"
        f"{'s' if setup.reps > 1 else ''} (batches of {setup.batch}, seed {setup.seed}) → {escape(str(target))}",
        highlight=False,
    )


def _print_result(summary: dict[str, Any]) -> None:
    best, base = summary["best"], summary["baseline"]
    if best is None:
        return
    t = Table(
        title=f"Best fit (trial {best['number']}) and the spread of the {summary['good']['count']} good fits",
        title_justify="left",
    )
    for col in ("parameter", "best", "good fits: min – max", "median", "searched"):
        t.add_column(col)
    for p in summary["fit"]:
        s = summary["good"]["spread"].get(p["path"], {})
        t.add_row(
            escape(p["path"]),
            f"{best['params'][p['path']]:.4g}",
            f"{s.get('min', float('nan')):.4g} – {s.get('max', float('nan')):.4g}",
            f"{s.get('median', float('nan')):.4g}",
            f"{p['low']:g} – {p['high']:g}" + (" (log)" if p["log"] else ""),
        )
    out.print(t)
    terms = ", ".join(f"{k} {v:.3f}" for k, v in best["terms"].items())
    base_d = f"; the uncalibrated base scenario: {base['distance']:.3f}" if base else ""
    out.print(f"Distance to the log: {best['distance']:.3f} ({terms}){base_d}", highlight=False)


def _executor(scheduler: str | None) -> tuple[Any, Any]:
    if scheduler is None:
        return None, None
    from learncomm.sim.cli.sweep import _dask_executor

    return _dask_executor(scheduler)


@app.command()
def calibrate(
    log: Annotated[Path, typer.Argument(help="The event log: sender, recipient, time or user, time (docs/check.md).")],
    base: Annotated[str, typer.Option("--base", help="The scenario to fit (a file or a shipped name).")] = "community",
    fit: Annotated[
        list[str] | None,
        typer.Option(
            "--fit",
            help="PARAM=LOW:HIGH to fit (repeatable; default: participation, reinforcement, arrival and leaving "
            "parameters, docs/calibration.md).",
        ),
    ] = None,
    budget: Annotated[int, typer.Option("--budget", min=1, max=MAX_BUDGET, help="Simulations to run.")] = 200,
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=1000, help="Trials asked together (the result depends on it).")
    ] = 8,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Local worker processes (default: all cores; 1: here).")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Run on a Dask cluster at this address. Extra: dask.")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder (default: results/calibrations/<log>-<base>). The same again resumes."),
    ] = None,
    reps: Annotated[
        int, typer.Option("--reps", min=1, max=100, help="Simulations per trial (seeds), averaged: for small logs.")
    ] = 1,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**63 - 1, help="Seed of the search and the runs.")] = 1,
    members: Annotated[Path | None, typer.Option("--members", help="A member list, one id per line.")] = None,
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", help="Do not write dashboard.html.")] = False,
) -> None:
    """Fit a scenario's parameters to a community's event log; resumable (the same command again resumes).

    Exits 2 on bad input."""
    import os

    from learncomm.sim.calibrate.plan import Options, make_setup
    from learncomm.sim.calibrate.report import write_outputs
    from learncomm.sim.calibrate.search import CalibrationError, run_calibration
    from learncomm.sim.calibrate.space import FitError
    from learncomm.sim.check.log import LogError

    if workers is not None and scheduler is not None:
        fail("give --workers or --scheduler, not both")
    try:
        setup, _ = make_setup(log, base, fit, members, Options(budget, batch, seed, reps))
    except (LogError, ScenarioError, FitError) as exc:
        fail(str(exc))
        return
    target = out_dir or _default_out(Path("results"), log, base)
    _print_setup(setup, target)
    n_workers = workers or os.cpu_count() or 1
    client, executor = _executor(scheduler)
    progress = Progress(
        TextColumn("[bold]calibrate"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("trials  best distance {task.fields[best]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err,
    )
    state: dict[str, Any] = {}

    def best_text(v: float | None) -> str:
        return "–" if v is None else f"{v:.3f}"

    def on_start(rep: Any) -> None:
        if rep.reused:
            out.print(f"resuming: {rep.reused} finished trials kept", highlight=False)
        state["task"] = progress.add_task("", total=rep.budget, completed=rep.done, best=best_text(rep.best))

    def on_trial(rep: Any) -> None:
        progress.update(state["task"], completed=rep.done, best=best_text(rep.best))

    try:
        with progress:
            report = run_calibration(
                setup,
                target,
                executor=executor,
                workers=1 if executor is None and n_workers == 1 else n_workers,
                on_start=on_start,
                on_trial=on_trial,
            )
        summary = write_outputs(setup, report.out, report.wall_s, report.ran)
    except (CalibrationError, ResultsError, ScenarioError, OSError) as exc:
        fail(str(exc))
        return
    finally:
        if client is not None:
            client.close()
    _print_result(summary)
    out.print(
        f"{summary['trials_done']} trials ({report.ran} simulations now, {report.reused} kept; "
        f"{summary['trials_failed']} failed) in {report.wall_s:.1f} s. Results: [bold]{escape(str(report.out))}[/] "
        "(calibration.json, scenario.yaml)",
        highlight=False,
    )
    if not no_dashboard:
        from learncomm.sim.dashboard.calibration_page import build_calibration

        out.print(f"Dashboard: [bold]{escape(str(build_calibration(report.out)))}[/]")
