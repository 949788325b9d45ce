"""The `learncomm` command line. Importing this package registers every command on one Typer app."""

from __future__ import annotations

import sys

from learncomm.sim.cli import calibrate, check, dashboard, llm, run, sweep  # noqa: F401  (each registers its commands)
from learncomm.sim.cli.app import app, err

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point; Ctrl-C exits 130 without a traceback (atomic writes leave nothing half-written)."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; nothing half-written was left behind")
        sys.exit(130)
