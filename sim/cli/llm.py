"""`learncomm llm serve`: keep one local model server running for many runs.

Starting llama.cpp's server takes a few seconds per run; a user who runs many
scenarios (or a sweep) starts it once and passes its URL with `--base-url`.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from learncomm.roles.local_server import LocalModelError, LocalServer
from learncomm.sim.cli.app import app, fail, out

llm_app = typer.Typer(no_args_is_help=True, help="The local language model: serve it for many runs.")
app.add_typer(llm_app, name="llm")


@llm_app.command()
def serve(
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Loopback port (default: a free one).")
    ] = None,
    log: Annotated[Path | None, typer.Option("--log", help="Append the server's output to this file.")] = None,
    startup_timeout: Annotated[
        float, typer.Option("--startup-timeout", min=1.0, help="Seconds to wait until the server is healthy.")
    ] = 120.0,
) -> None:
    """Start the bundled Gemma 3 270M on loopback and keep it running until Ctrl-C.

    Then: learncomm run community-roles --decider local --base-url URL
    """
    try:
        server = LocalServer(port=port, startup_timeout_s=startup_timeout, log=log)
        url = server.start()
    except LocalModelError as exc:
        fail(str(exc))
        return
    out.print(f"local model serving at [bold]{escape(url)}[/] (Ctrl-C or SIGTERM to stop)")
    out.print(
        f"use it with: learncomm run community-roles --decider local --base-url {url}", highlight=False, markup=False
    )

    def stop(signum: int, frame: object) -> None:
        raise _Stop(signal.Signals(signum).name)

    # our own handlers: a process started in the background by a non-interactive shell ignores SIGINT otherwise
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    try:
        while server.proc is not None and server.proc.poll() is None:
            time.sleep(0.5)
        fail(
            f"the local model server stopped by itself (exit code {server.proc.returncode if server.proc else '?'})",
            code=1,
        )
    except _Stop as why:
        out.print(f"{escape(str(why))}: stopping the local model server")
    finally:
        server.stop()


class _Stop(Exception):
    """SIGINT or SIGTERM asked `serve` to stop."""
