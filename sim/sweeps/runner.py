"""Running a sweep on any `concurrent.futures.Executor`, resumably.

The runner takes a local process pool (the default) or a Dask cluster's
executor. Each run writes its own folder atomically (sim/sweeps/worker.py);
the parent keeps only a bounded number of runs in flight and counts. Runs
whose folder is complete are skipped, so a killed sweep resumes where it
stopped, and the summary is rebuilt from the run folders at the end.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from learncomm.roles.local_server import LocalModelError, LocalServer
from learncomm.roles.setup import DeciderFactory, check_deciders
from learncomm.roles.trust import Trust
from learncomm.sim.engine.background import SECOND_THREAD
from learncomm.sim.schema.loading import ScenarioError
from learncomm.sim.schema.scenario import Scenario
from learncomm.sim.sweeps.groups import saved_spec, write_groups
from learncomm.sim.sweeps.llm_limit import LLMLimit
from learncomm.sim.sweeps.plan import SweepPlan
from learncomm.sim.sweeps.store import (
    SweepStoreError,
    clean_leftovers,
    lock_sweep_folder,
    point_width,
    read_rows,
    read_sweep_json,
    row_schema,
    run_dir,
    run_state,
    write_json_atomic,
    write_summary,
)
from learncomm.sim.sweeps.worker import RunTask, error_of, init_worker, record_failure, run_one

BLAS_THREADS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


@dataclass
class SweepReport:
    """What an invocation did: counts, where the failures are, and timings for the benchmark."""

    out: Path
    total: int
    skipped: int = 0
    done: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    cleaned: int = 0
    summary: Path | None = None
    groups: Path | None = None  # groups.parquet, when --by or --group asked for subgroups (now or before)
    wall_s: float = 0.0
    run_s: float = 0.0  # worker-side time inside run_scenario, summed
    run_cpu_s: float = 0.0  # the same in CPU time (on a shared machine, run_s / run_cpu_s shows the contention)
    task_s: float = 0.0  # worker-side time of whole tasks, summed

    @property
    def pending(self) -> int:
        return self.total - self.skipped - self.done - len(self.failed)


def local_executor(workers: int | None = None) -> cf.ProcessPoolExecutor:
    """A process pool that imports the engine once per worker, with one BLAS thread each
    (two workers must not oversubscribe two cores)."""
    for var in BLAS_THREADS:
        os.environ[var] = "1"  # inherited by the pool's processes
    if 2 * (workers or os.cpu_count() or 1) > (os.cpu_count() or 1):  # no idle core for a run's second thread
        os.environ[SECOND_THREAD] = "0"
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["learncomm.sim.sweeps.worker", "learncomm.sim.runs.run"])
    # the workers watch this process and end when it does, even by SIGKILL (sim/sweeps/worker.py); then the
    # forkserver and the resource tracker, which only wait for their last client, end too
    return cf.ProcessPoolExecutor(
        max_workers=workers or os.cpu_count() or 1, mp_context=ctx, initializer=init_worker, initargs=(os.getpid(),)
    )


@contextmanager
def own_pool(workers: int | None = None) -> Iterator[cf.ProcessPoolExecutor]:
    """A `local_executor` for the block. When the block is interrupted (Ctrl-C, SIGTERM) or fails, tasks not yet
    started are cancelled and the running workers are told to stop (SIGTERM: each cleans up its run as on Ctrl-C,
    sim/sweeps/worker.py `_stop`) rather than finishing them; either way the workers have ended on exit."""
    pool = local_executor(workers)
    try:
        yield pool
    except BaseException:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGTERM)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # joins the workers


def executor_slots(executor: cf.Executor) -> int:
    """How many runs the executor can work on at once."""
    client = getattr(executor, "_client", None)
    if client is not None:  # a Dask ClientExecutor
        return max(1, sum(client.nthreads().values()))
    return int(getattr(executor, "_max_workers", os.cpu_count() or 1))


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    pairs = {
        "base scenario": (old.get("base", {}).get("scenario"), new["base"]["scenario"]),
        "parameters": (old.get("parameters"), new["parameters"]),
        "design": (old.get("design"), new["design"]),
        "seeds": (old.get("seeds"), new["seeds"]),
        "points": ([p.get("values") for p in old.get("points", [])], [p["values"] for p in new["points"]]),
    }
    return [name for name, (a, b) in pairs.items() if a != b] or ["learncomm's design record"]


def prepare_folder(plan: SweepPlan, out: Path, force: bool = False) -> dict[str, Any]:
    """Create or reuse the sweep folder; refuse one that holds a different design (unless `force`)."""
    record = plan.record()
    try:
        old = read_sweep_json(out)
    except SweepStoreError:
        if not force:
            raise
        old = {}  # damaged: --force starts over
    if old is not None and old.get("design_hash") != record["design_hash"]:
        if not force:
            changed = ", ".join(_differences(old, record))
            raise SweepStoreError(
                f"{out}: holds a different sweep (changed: {changed}); its runs would not match. "
                "Use --force to delete them and start over, or choose another --out"
            )
    elif old is None and out.is_dir() and any(p.name != ".sweep.lock" for p in out.iterdir()):
        # not a sweep folder: --force never empties it (it may hold anything of the user's)
        (out / ".sweep.lock").unlink(missing_ok=True)  # leave the user's folder as it was
        raise SweepStoreError(
            f"{out}: exists and is not a sweep folder (no sweep.json); choose another --out (--force only starts "
            "a sweep folder over)"
        )
    if force and (old is None or old.get("design_hash") != record["design_hash"]):
        for p in out.iterdir() if out.is_dir() else []:
            if p.name != ".sweep.lock":
                shutil.rmtree(p) if p.is_dir() else p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    kept = old.get("created") if old is not None and old.get("design_hash") == record["design_hash"] else None
    record["created"] = kept or datetime.now(UTC).isoformat(timespec="seconds")
    write_json_atomic(record, out / "sweep.json")
    return record


def check_keys(plan: SweepPlan) -> None:
    """Before anything is written: every point's openai decider may send its key where it goes, and has one
    (roles/setup.py, check_deciders; TrustError or MissingKeyError, both ScenarioErrors, otherwise)."""
    if _uses_llm(plan)[0]:
        check_deciders(_llm_scenarios(plan), DeciderFactory(trust=plan.trust), where=str(plan.source))


def _llm_scenarios(plan: SweepPlan) -> Iterator[Scenario]:
    """The scenarios whose LLM settings differ: every point's when roles or llm are swept, else the base."""
    if any(p.split(".")[0] in ("roles", "llm") for p in plan.parameters):
        return (plan.scenario(i) for i in range(len(plan.design.points)))
    return iter([plan.base])


def _uses_llm(plan: SweepPlan) -> tuple[bool, bool]:
    """(some run decides with an LLM, some run uses the local model), over every point when roles are swept."""

    def kinds(sc: Scenario) -> set[str]:
        return {cfg.decider or sc.llm.decider for cfg in sc.roles.active().values()}

    swept = any(p.split(".")[0] in ("roles", "llm") for p in plan.parameters)
    found = (
        set().union(*(kinds(plan.scenario(i)) for i in range(len(plan.design.points)))) if swept else kinds(plan.base)
    )
    return bool(found & {"openai", "local"}), "local" in found


def run_sweep(
    plan: SweepPlan,
    out: Path,
    executor: cf.Executor | None = None,
    workers: int | None = None,
    force: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> SweepReport:
    """Run every (point, seed) of the plan whose folder is not complete; rebuild summary.parquet at the end.

    `plan.trust` is what the user allowed (default: their trust file and environment); it is checked against every
    point's LLM settings before anything is written, and passed to the workers. `plan.llm_cache` replaces the
    sweep's shared LLM cache (the command line's --llm-cache)."""
    out = Path(out).resolve()
    if plan.trust is None:
        plan = replace(plan, trust=Trust.from_user())
    check_keys(plan)  # a refused or missing key: one clean error now, not one failed run per point
    try:  # before any run: an unwritable --out fails now, cleanly
        out.mkdir(parents=True, exist_ok=True)
        lock = lock_sweep_folder(out)
    except OSError as exc:
        raise SweepStoreError(f"{out}: cannot be written ({exc.strerror or exc}); choose another --out") from None
    started = time.perf_counter()
    try:
        record = prepare_folder(plan, out, force)
        report = SweepReport(out=out, total=len(plan.runs()), cleaned=clean_leftovers(out))
        width = point_width(len(plan.design.points))
        todo = []
        for point, rep, seed in plan.runs():
            if run_state(run_dir(out, point, seed, width)) == "ok":
                report.skipped += 1
            else:
                todo.append((point, rep, seed))  # missing, failed (retried) or incomplete (redone)
        if on_start is not None:
            on_start(len(todo), report.skipped)
        try:
            with ExitStack() as stack:
                if todo:
                    # our own pool: shut down when done, its workers stopped when interrupted
                    ex = executor if executor is not None else stack.enter_context(own_pool(workers))
                    tasks = _tasks(plan, out, todo, record["design_hash"], ex, stack)
                    _drive(ex, tasks, report, on_done, in_flight=2 * executor_slots(ex))
        finally:  # after the pool has ended: every run that finished is in the summary, interrupted or not
            report.summary = summarise_folder(plan, out)
            report.wall_s = time.perf_counter() - started
        spec = plan.groups or saved_spec(out)  # none given: the groups a previous invocation asked for
        if spec is not None:
            summary = pd.read_parquet(report.summary)
            report.groups = write_groups(out, spec, summary, plan.parameters, point_width(len(plan.design.points)))
            report.wall_s = time.perf_counter() - started
        return report
    finally:
        os.close(lock)


def _tasks(
    plan: SweepPlan,
    out: Path,
    todo: list[tuple[int, int, int]],
    design_hash: str,
    executor: cf.Executor,
    stack: ExitStack,
) -> Iterator[RunTask]:
    """Tasks, made lazily (one scenario at a time). LLM sweeps share one cache, one call limit and one local server."""
    uses_llm, uses_local = _uses_llm(plan)
    limit, local_url, cache = None, None, None
    if uses_llm:
        if plan.llm_cache is not None:
            cache = str(plan.llm_cache)
        else:  # relative to the sweep file
            cache = str(plan.source.parent / plan.spec.llm_cache if plan.spec.llm_cache else out / "llm-cache.sqlite")
        if getattr(executor, "_client", None) is not None:
            limit = LLMLimit("dask", f"learncomm-llm-{design_hash[:16]}", plan.spec.llm_concurrency)
        else:
            limit = LLMLimit("file", str(out / ".llm-slots"), plan.spec.llm_concurrency)
    if uses_local:
        try:
            local_url = stack.enter_context(LocalServer(log=out / "local-server.log"))
        except LocalModelError as exc:
            raise ScenarioError(str(exc)) from None
    source = str(plan.source)
    width, schema = point_width(len(plan.design.points)), row_schema(plan.column_types)
    for point, rep, seed in todo:
        sc = plan.scenario(point)
        if cache is not None:
            sc = sc.model_copy(update={"llm": sc.llm.model_copy(update={"cache": cache})})
        yield RunTask(
            point=point,
            replicate=rep,
            seed=seed,
            scenario=sc,
            out=str(run_dir(out, point, seed, width)),
            columns=plan.columns(point),
            schema=schema,
            source=f"{source} point={point} replicate={rep}",
            local_url=local_url,
            limit=limit,
            trust=plan.trust,
        )


def _drive(
    executor: cf.Executor,
    tasks: Iterator[RunTask],
    report: SweepReport,
    on_done: Callable[[dict[str, Any]], None] | None,
    in_flight: int,
) -> None:
    """Keep at most `in_flight` runs submitted; count results as they finish."""
    pending: dict[cf.Future[dict[str, Any]], RunTask] = {}
    exhausted = False
    try:
        while pending or not exhausted:
            while not exhausted and len(pending) < in_flight:
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                pending[executor.submit(run_one, task)] = task
            if not pending:
                break
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                task = pending.pop(fut)
                try:
                    res = fut.result()
                except BrokenProcessPool:
                    raise SweepStoreError(
                        "a worker process died (out of memory?); run the same command again to resume"
                    ) from None
                except Exception as exc:  # noqa: BLE001 - the executor failed this task (e.g. a Dask worker lost); record it
                    res = {
                        "point": task.point,
                        "replicate": task.replicate,
                        "seed": task.seed,
                        "status": "failed",
                        "error": record_failure(task, exc),
                        "run_s": 0.0,
                        "task_s": 0.0,
                    }
                report.run_s += res.get("run_s", 0.0)
                report.run_cpu_s += res.get("run_cpu_s", 0.0)
                report.task_s += res.get("task_s", 0.0)
                if res["status"] == "ok":
                    report.done += 1
                else:
                    report.failed.append({**res, "path": task.out})
                if on_done is not None:
                    on_done(res)
    finally:
        for fut in pending:
            fut.cancel()


def summarise_folder(plan: SweepPlan, out: Path) -> Path:
    """Rebuild summary.parquet from the run folders that exist (complete or failed)."""
    width = point_width(len(plan.design.points))
    dirs = [d for d in (run_dir(out, p, s, width) for p, _, s in plan.runs()) if run_state(d) in ("ok", "failed")]
    rows = read_rows(dirs, row_schema(plan.column_types))
    return write_summary(out, rows, plan.parameters, plan.outcomes)


def failures(out: Path, limit: int = 10) -> list[tuple[Path, str]]:
    """The first failed run folders of a sweep and their errors."""
    found = []
    for d in sorted((out / "runs").glob("point=*/seed=*")):
        if run_state(d) == "failed":
            found.append((d, error_of(d)))
            if len(found) >= limit:
                break
    return found
