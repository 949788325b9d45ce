"""What a sweep worker does for one run: simulate, write the run folder atomically, return a small dict.

Workers never send tables back through the executor: everything goes to
disk, and the parent only learns the status and the timings.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from learncomm.roles.trust import Trust
from learncomm.sim.runs.claim import process_start
from learncomm.sim.runs.store import atomic_dir, write_json
from learncomm.sim.schema.scenario import Scenario
from learncomm.sim.sweeps.llm_limit import LLMLimit, call_slot
from learncomm.sim.sweeps.store import outcome_values, write_row


@dataclass(frozen=True)
class RunTask:
    """One (point, seed): the scenario to run and where its folder goes."""

    point: int
    replicate: int
    seed: int
    scenario: Scenario
    out: str
    columns: dict[str, Any]  # the point's parameter values as row columns
    schema: pa.Schema
    source: str
    local_url: str | None = None
    limit: LLMLimit | None = None
    trust: Trust | None = None  # what the user allowed on the sweep's command line (roles/trust.py)


def init_worker(parent: int | None = None) -> None:
    """Import the engine once per worker process, not once per run; with `parent` (the sweep process's pid),
    watch it and end this worker when it is gone, however it ended (SIGKILL included). SIGINT and SIGTERM stop
    the worker's run as Ctrl-C does (its folder is not left half-written), once: see `_stop`."""
    import learncomm.sim.runs.run  # noqa: F401

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent,), name="learncomm-parent-watch", daemon=True).start()


_state = {"busy": False, "stopping": False}


def _stop(signum: int, frame: object) -> None:
    """Ctrl-C (to the whole process group) or the parent's SIGTERM: interrupt the run in progress, once, so its
    clean-up is not interrupted again; an idle worker only notes it (an interrupt there would kill the pool's
    worker loop with a traceback) and refuses any task still queued for it."""
    first = not _state["stopping"]
    _state["stopping"] = True
    if first and _state["busy"]:
        raise KeyboardInterrupt


@contextmanager
def worker_task() -> Iterator[None]:
    """Around one task of a pool worker: marks it interruptible by `_stop`; refused once the worker is stopping.
    Outside a pool worker (no `_stop` installed) it does nothing."""
    if _state["stopping"]:
        raise KeyboardInterrupt
    _state["busy"] = True
    try:
        yield
    finally:
        _state["busy"] = False


PARENT_CHECK_S = 0.5


def _watch_parent(parent: int) -> None:
    """A sweep worker's parent is the forkserver, not the sweep, so the kernel's parent-death signal cannot
    tell it that the sweep died: poll the sweep's pid (and start time, so a reused pid does not count)."""
    started = process_start(parent)
    while True:
        time.sleep(PARENT_CHECK_S)
        if started is None or process_start(parent) != started:
            os._exit(1)  # the sweep is gone: stop writing run folders (a resume redoes this run)


def _row(
    task: RunTask, status: str, error: str | None, outcomes: dict[str, float] | None, wall: float
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "point": task.point,
        "replicate": task.replicate,
        "seed": task.seed,
        "status": status,
        "error": error,
        **task.columns,
    }
    row.update(outcomes or {})
    row["wall_time_s"] = round(wall, 3)
    return row


def record_failure(task: RunTask, exc: BaseException, wall: float = 0.0) -> str:
    """Write the run's folder as failed (error.json + row.parquet), atomically; returns the error text."""
    error = f"{type(exc).__name__}: {exc}"
    with atomic_dir(Path(task.out), overwrite=True) as tmp:
        write_json(
            {
                "point": task.point,
                "replicate": task.replicate,
                "seed": task.seed,
                "error": error,
                "traceback": "".join(traceback.format_exception(exc)),
            },
            tmp / "error.json",
        )
        write_row(_row(task, "failed", error, None, wall), task.schema, tmp / "row.parquet")
    return error


def run_one(task: RunTask) -> dict[str, Any]:
    """Run one (point, seed) into its folder; a run that raises is recorded as failed, not re-raised (an interrupt
    is not a failure: the folder is left out, and a resume runs it)."""
    with worker_task():
        return _run_one(task)


def _run_one(task: RunTask) -> dict[str, Any]:
    from learncomm.roles.setup import DeciderFactory
    from learncomm.sim.runs.run import run_scenario

    started = time.perf_counter()
    result: dict[str, Any] = {
        "point": task.point,
        "replicate": task.replicate,
        "seed": task.seed,
        "run_s": 0.0,
        "run_cpu_s": 0.0,
    }
    try:
        with atomic_dir(Path(task.out), overwrite=True) as tmp:
            t0, c0 = time.perf_counter(), time.process_time()
            run = run_scenario(
                task.scenario,
                seed=task.seed,
                out=tmp / "run",
                source=task.source,
                deciders=DeciderFactory(local_url=task.local_url, call_slot=call_slot(task.limit), trust=task.trust),
            )
            result["run_s"], result["run_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
            for f in (tmp / "run").iterdir():  # run_scenario's own files, written its way, moved up
                f.rename(tmp / f.name)
            (tmp / "run").rmdir()
            write_row(
                _row(task, "ok", None, outcome_values(run.summary), run.manifest["wall_time_s"]),
                task.schema,
                tmp / "row.parquet",
            )
        result.update(status="ok", error=None)
    except Exception as exc:  # noqa: BLE001 - any failure of one run is recorded, the sweep goes on
        result.update(status="failed", error=record_failure(task, exc, time.perf_counter() - started))
    result["task_s"] = time.perf_counter() - started
    return result


def error_of(path: Path) -> str:
    """The error text of a failed run folder."""
    try:
        return str(json.loads((path / "error.json").read_text(encoding="utf-8"))["error"])
    except (OSError, ValueError, KeyError):
        return "unknown error"
