"""`learncomm dashboard PATH`: write the HTML dashboard of a run, comparison, sweep, model check or results folder."""

from __future__ import annotations

import re
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from learncomm.sim.cli.app import app, fail, out


def open_in_browser(page: Path) -> None:
    """Open a page from disk in the default browser (no server needed)."""
    webbrowser.open(page.resolve().as_uri())


@app.command()
def dashboard(
    path: Annotated[
        Path,
        typer.Argument(help="A run, comparison, sweep or model check folder, or a folder of those (e.g. results/)."),
    ],
    open_page: Annotated[bool, typer.Option("--open", help="Open the page in the default browser.")] = False,
    embed: Annotated[
        bool,
        typer.Option(
            "--embed",
            help="Put plotly.js inside each page (one self-contained file, +4.8 MB) instead of sharing "
            "plotly.min.js beside the folder.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="For a folder of results: rebuild every page, also those newer than their inputs (a page older "
            "than its data, or a run's whose replicates beside it changed, is rebuilt anyway).",
        ),
    ] = False,
) -> None:
    """Write an HTML dashboard (works offline, from disk) and print its path; for a results folder, every dashboard plus
    index.html."""
    from learncomm.sim.dashboard import DashboardError, write_dashboard  # plotly: loaded only to write pages

    def warn(message: str) -> None:
        out.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)

    try:
        page = write_dashboard(path, embed=embed, force=force, warn=warn)
    except DashboardError as exc:
        fail(str(exc))
        return
    except OSError as exc:  # a read-only folder, a full disk: a clear error, no traceback
        name = re.sub(r"\.([^/\\]+)\.part-[0-9a-f-]+$", r"\1", str(exc.filename or path))  # not the temp name
        fail(f"{name}: the dashboard cannot be written ({exc.strerror or exc})")
        return
    out.print(f"Dashboard: [bold]{escape(str(page))}[/]", highlight=False)
    if open_page:
        open_in_browser(page)


def write_after(folder: Path, index: bool) -> None:
    """After `run`/`compare`: write the folder's dashboard (and the results folder's index) and print the path; never
    fails the command."""
    from learncomm.sim.dashboard import write_dashboard, write_index  # plotly: loaded only to write pages

    try:
        page = write_dashboard(folder)
        if index:
            write_index(folder.parent)
    except Exception as exc:  # the results are written; a dashboard problem must not hide them
        out.print(f"[yellow]warning:[/] the dashboard could not be written: {escape(str(exc))}", highlight=False)
        return
    out.print(f"Dashboard: [bold]{escape(str(page))}[/]  (open it in a browser; works offline)", highlight=False)
