"""The `learncomm` command line. Importing this package registers every command on one Typer app."""

from __future__ import annotations

import signal
import sys

from learncomm.sim.cli import calibrate, check, dashboard, llm, run, sweep  # noqa: F401  (each registers its commands)
from learncomm.sim.cli.app import TERMINATION, Terminated, app, err, terminating

__all__ = ["app", "main"]


def _terminate(signum: int, frame: object) -> None:
    if terminating():  # once: a second SIGTERM must not interrupt the clean-up
        return
    TERMINATION["pending"] = True
    raise Terminated


def main() -> None:
    """Console entry point; Ctrl-C exits 130 and SIGTERM 143, without a traceback, after the same clean-up (atomic
    writes leave nothing half-written)."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:  # a SIGTERM ignored by whoever started us stays ignored
        signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except Terminated:
        err.print("terminated (SIGTERM); nothing half-written was left behind")
        sys.exit(143)
    except KeyboardInterrupt:  # raised outside Typer's own handling
        err.print("interrupted; nothing half-written was left behind")
        sys.exit(130)
    except SystemExit as exc:  # Typer turns a Ctrl-C inside a command into exit 130 and says nothing
        if exc.code == 130 and _interrupted(exc):
            err.print("interrupted; nothing half-written was left behind")
        raise


def _interrupted(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is behind `exc` (Typer raises its exit `from` the interrupt)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False
