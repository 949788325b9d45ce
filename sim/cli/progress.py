"""Rich progress bars for long work; quiet when output is not a terminal-like console."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from learncomm.sim.cli.app import check_terminated


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


@contextmanager
def day_progress(console: Console, label: str, days: int) -> Iterator[Callable[[int], None]]:
    """Yields `advance(day)` for a run of `days` days. The label says when the model is being set up (before
    day 1) and when the run folder is being written (after the last day): each takes a while at a million
    learners, and a bar standing still at 0 or at the end would look stuck."""
    with _bar(console) as bar:
        task = bar.add_task(f"{label}: setting up", total=days)

        def advance(day: int) -> None:
            check_terminated()
            bar.update(task, completed=day, description=f"{label}: " + ("writing" if day >= days else "days"))

        yield advance


@contextmanager
def count_progress(console: Console, label: str, total: int, unit: str = "runs") -> Iterator[Callable[[], None]]:
    """Yields `advance()` for `total` units of work (runs, situations)."""
    with _bar(console) as bar:
        task = bar.add_task(f"{label}: {unit}", total=total)

        def advance() -> None:
            check_terminated()
            bar.advance(task)

        yield advance
