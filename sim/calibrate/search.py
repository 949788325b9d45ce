"""The search: Optuna's TPE sampler over the fit space, simulations on the sweep executors, resumable.

Trials go in fixed batches (`batch`, not the number of workers, so the result depends on the seed alone): a
batch's trials are asked with a sampler seeded from (seed, batch index) and written down (batches/K.json), their
simulations run on the executor, each finished one is recorded atomically (trials/NNNNN.json) as it comes back,
and the batch is told to the study in trial order. Optuna's journal file (study.journal) holds the study.

A kill at any point loses no finished simulation: on resume, a recorded trial is told from its record, an asked
trial without a record is simulated (it had not finished), and a batch whose asks were cut short has its asked
trials marked failed and is asked again with the same seeded sampler, so the search goes on exactly as an
uninterrupted one would. A batch is asked whole even when the budget ends inside it (only its trials within
the budget are simulated), so a bigger budget later gives the trials an uninterrupted run would.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState

from learncomm.sim.calibrate.figures import CalFigures, distance
from learncomm.sim.calibrate.space import FitParam, trial_scenario
from learncomm.sim.calibrate.trial import TrialTask, simulate_trial
from learncomm.sim.runs.store import canonical_hash
from learncomm.sim.sweeps.runner import executor_slots, local_executor
from learncomm.sim.sweeps.store import write_json_atomic

STUDY = "calibration"
BASELINE = -1  # the trial number of the uncalibrated base scenario
REPLICATES = 4  # the best fit again on 4 other sets of seeds: how far the distance moves with the seed alone
SAMPLER = "optuna.samplers.TPESampler(multivariate=True, constant_liar=True)"


class CalibrationError(Exception):
    """A calibration folder or run the user can fix (another calibration in it, a worker died)."""


@dataclass
class CalSetup:
    """What a calibration is: its identity (all but the budget) must match to resume a folder."""

    data: CalFigures
    base: dict[str, Any]  # the base scenario sized to the log, as data
    space: list[FitParam]
    seed: int = 1
    reps: int = 1  # simulations per trial (seeds seed, seed+1, ...): more for small, noisy communities
    batch: int = 8
    budget: int = 200
    log_info: dict[str, Any] = field(default_factory=dict)
    base_name: str = ""
    base_path: str = ""  # the base scenario's file (the calibrated YAML starts from its fields)
    n_startup: int = 10

    def identity(self) -> dict[str, Any]:
        return {
            "data_figures": self.data.to_dict(),
            "base": self.base,
            "space": [p.to_dict() for p in self.space],
            "seed": self.seed,
            "reps": self.reps,
            "batch": self.batch,
            "n_startup": self.n_startup,
            "sampler": SAMPLER,
            "optuna": optuna.__version__,
        }


@dataclass
class SearchReport:
    out: Path
    budget: int
    done: int = 0  # trials finished (ok or failed), this invocation and earlier ones
    ran: int = 0  # simulations run by this invocation (the baseline included)
    reused: int = 0  # finished trials found recorded on start
    best: float | None = None
    wall_s: float = 0.0
    run_s: float = 0.0


def _distributions(space: list[FitParam]) -> dict[str, BaseDistribution]:
    return {
        p.path: IntDistribution(int(p.low), int(p.high)) if p.integer else FloatDistribution(p.low, p.high, log=p.log)
        for p in space
    }


def _sampler(setup: CalSetup, k: int) -> optuna.samplers.BaseSampler:
    seed = int(np.random.SeedSequence([setup.seed, k]).generate_state(1)[0])
    return optuna.samplers.TPESampler(
        seed=seed, multivariate=True, constant_liar=True, n_startup_trials=setup.n_startup
    )


def seeds_of(setup: CalSetup, replicate: int) -> tuple[int, ...]:
    """A trial's seeds (replicate 0: every trial, on common random numbers) and those of the best fit's replicates."""
    first = setup.seed + replicate * setup.reps
    return tuple(range(first, first + setup.reps))


def trial_path(out: Path, number: int, replicate: int = 0) -> Path:
    if replicate:
        return out / "trials" / f"rep-{number:05d}-{replicate}.json"
    return out / "trials" / ("base.json" if number == BASELINE else f"{number:05d}.json")


def read_record(out: Path, number: int, replicate: int = 0) -> dict[str, Any] | None:
    path = trial_path(out, number, replicate)
    if not path.is_file():
        return None
    try:
        rec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # written atomically, so never half; unreadable means redo
    return rec


def read_records(out: Path) -> list[dict[str, Any]]:
    """Every recorded trial (not the baseline), by number."""
    recs = []
    for p in sorted((out / "trials").glob("[0-9]*.json")):
        rec = read_record(out, int(p.stem))
        if rec is not None:
            recs.append(rec)
    return recs


def _lock(out: Path) -> int:
    import fcntl

    fd = os.open(out / ".calibrate.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise CalibrationError(
            f"{out}: another calibration is running in this folder; wait or choose another --out"
        ) from None
    return fd


def _leftover(p: Path) -> bool:
    """What a kill before setup.json was written can leave (by an older version, which made these first)."""
    if p.name == ".calibrate.lock" or p.name.startswith(".setup.json.part-"):
        return True
    return p.name in ("trials", "batches") and p.is_dir() and not any(p.iterdir())


def prepare_folder(setup: CalSetup, out: Path) -> None:
    """Create the folder, or check that it holds this calibration (a resume). setup.json is written (atomically)
    before anything else, so a kill at any point leaves either a folder that resumes or one that starts afresh."""
    ident = setup.identity()
    path = out / "setup.json"
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CalibrationError(f"{path}: damaged ({exc}); choose another --out") from None
        if old.get("hash") != canonical_hash(ident):
            changed = [k for k in ident if canonical_hash(old.get("identity", {}).get(k)) != canonical_hash(ident[k])]
            raise CalibrationError(
                f"{out}: holds a different calibration (changed: {', '.join(changed) or 'its record'}); resuming "
                "needs the same log, base scenario, --fit, --seed and --batch; choose another --out"
            )
    elif out.is_dir() and not all(_leftover(p) for p in out.iterdir()):
        raise CalibrationError(f"{out}: exists and is not a calibration folder (no setup.json); choose another --out")
    else:
        write_json_atomic({"hash": canonical_hash(ident), "identity": ident}, path)
    (out / "trials").mkdir(exist_ok=True)  # a kill may have come between setup.json and these
    (out / "batches").mkdir(exist_ok=True)


def best_record(out: Path) -> dict[str, Any] | None:
    ok = [r for r in read_records(out) if r.get("distance") is not None]
    return min(ok, key=lambda r: (r["distance"], r["number"])) if ok else None


def _record(
    out: Path, setup: CalSetup, res: dict[str, Any], params: dict[str, Any], replicate: int = 0
) -> dict[str, Any]:
    rec: dict[str, Any] = {"number": res["number"], "params": params, "status": res["status"], "run_s": res["run_s"]}
    if replicate:
        rec["replicate"] = replicate
    if res["status"] == "ok":
        each = [distance(setup.data, CalFigures.from_dict(f)) for f in res["figures"]]
        total = float(np.mean([d for d, _ in each]))
        terms = {k: float(np.mean([t[k] for _, t in each])) for k in each[0][1]}
        rec.update(distance=total, terms=terms, figures=res["figures"][0], distances=[d for d, _ in each])
    else:
        rec.update(distance=None, error=res.get("error"), traceback=res.get("traceback"))
    write_json_atomic(rec, trial_path(out, res["number"], replicate))  # durable before the study is told
    return rec


class _Runner:
    """Runs trial tasks in this process (workers = 1, no executor) or on a sweep executor, made once."""

    def __init__(self, stack: ExitStack, executor: cf.Executor | None, workers: int) -> None:
        self.stack, self.executor, self.workers = stack, executor, workers

    def _ex(self) -> cf.Executor:
        if self.executor is None:
            self.executor = local_executor(self.workers)
            self.stack.callback(self.executor.shutdown, wait=True, cancel_futures=True)
        return self.executor

    def run(self, tasks: list[TrialTask]) -> Iterator[dict[str, Any]]:
        if not tasks:
            return
        if self.executor is None and self.workers <= 1:
            for t in tasks:
                yield simulate_trial(t)
            return
        ex = self._ex()
        futures = {ex.submit(simulate_trial, t): t for t in tasks}
        try:
            for fut in cf.as_completed(futures):
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    raise CalibrationError(
                        "a worker process died (out of memory?); run the same command again to resume"
                    ) from None
                except Exception as exc:  # noqa: BLE001 - the executor lost the task (a Dask worker died)
                    yield {"number": futures[fut].number, "status": "failed", "error": str(exc), "run_s": 0.0}
        finally:
            for fut in futures:
                fut.cancel()


def _repair_journal(path: Path) -> Path:
    """What a SIGKILL can leave of Optuna's journal, cleaned while this process holds the folder's lock (so no
    other writer exists): its lock file (else the resume waits out Optuna's 30 s grace period) and a last line cut
    short (else the next append would join it and make the journal unreadable). A cut line was never read back
    as an event, so dropping it loses nothing."""
    for stale in path.parent.glob(path.name + ".lock*"):
        stale.unlink(missing_ok=True)
    size = path.stat().st_size if path.is_file() else 0
    if not size:
        return path
    with open(path, "rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return path
        end = size
        while end > 0:  # back to the last whole line, a block at a time (the journal may be large)
            start = max(0, end - 65_536)
            fh.seek(start)
            cut = fh.read(end - start).rfind(b"\n")
            if cut >= 0:
                fh.truncate(start + cut + 1)
                return path
            end = start
        fh.truncate(0)
    return path


def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def run_calibration(
    setup: CalSetup,
    out: Path,
    executor: cf.Executor | None = None,
    workers: int = 1,
    on_start: Callable[[SearchReport], None] | None = None,
    on_trial: Callable[[SearchReport], None] | None = None,
) -> SearchReport:
    """Run (or resume) the calibration in `out` until `setup.budget` trials have finished."""
    _quiet()
    started = time.perf_counter()
    out = Path(out).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = _lock(out)
    except OSError as exc:
        raise CalibrationError(f"{out}: cannot be written ({exc.strerror or exc}); choose another --out") from None
    try:
        prepare_folder(setup, out)
        storage = JournalStorage(JournalFileBackend(str(_repair_journal(out / "study.journal"))))
        study = optuna.create_study(study_name=STUDY, storage=storage, direction="minimize", load_if_exists=True)
        report = SearchReport(out=out, budget=setup.budget)
        finished = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
        report.reused = sum(1 for r in read_records(out))
        report.done = min(report.reused, setup.budget)
        report.best = min((t.value for t in finished if t.value is not None), default=None)
        if on_start is not None:
            on_start(report)
        with ExitStack() as stack:
            search = _Search(setup, out, study, _Runner(stack, executor, workers), report, on_trial)
            search.baseline()
            k = 0
            while k * setup.batch < setup.budget:
                search.batch(k)
                k += 1
            search.replicates()
        report.wall_s = time.perf_counter() - started
        return report
    finally:
        os.close(lock)


@dataclass
class _Search:
    setup: CalSetup
    out: Path
    study: optuna.Study
    runner: _Runner
    report: SearchReport
    on_trial: Callable[[SearchReport], None] | None

    def baseline(self) -> None:
        """The uncalibrated base scenario, sized to the log, once: the distance the fit is measured against."""
        if read_record(self.out, BASELINE) is not None:
            return
        sc = trial_scenario(self.setup.base, {})
        task = TrialTask(BASELINE, sc, seeds_of(self.setup, 0), self.setup.data.arrival_kind)
        for res in self.runner.run([task]):
            self.report.ran += self.setup.reps
            self.report.run_s += res["run_s"]
            _record(self.out, self.setup, res, {})

    def replicates(self) -> None:
        """The best fit on REPLICATES more seeds (once per best trial): the seed-to-seed noise of its distance,
        which sets how close to the best a good fit must be (sim/calibrate/report.py)."""
        best = best_record(self.out)
        if best is None:
            return
        n, setup = best["number"], self.setup
        sc = trial_scenario(setup.base, best["params"])
        todo = [r for r in range(1, REPLICATES + 1) if read_record(self.out, n, r) is None]
        tasks = [TrialTask(n * 1000 + r, sc, seeds_of(setup, r), setup.data.arrival_kind) for r in todo]
        for res in self.runner.run(tasks):
            r = res["number"] % 1000
            self.report.ran += self.setup.reps
            self.report.run_s += res["run_s"]
            _record(self.out, setup, {**res, "number": n}, best["params"], replicate=r)

    def ask(self, k: int) -> list[int]:
        """Batch k's trial numbers: asked now, or read from batches/K.json when a resume finds them. A batch is
        always asked whole (`batch` trials) even when the budget ends inside it, so a later, bigger budget
        simulates the rest of it and gets the same trials as an uninterrupted run."""
        plan = self.out / "batches" / f"{k:05d}.json"
        numbers: list[int] = json.loads(plan.read_text(encoding="utf-8"))["numbers"] if plan.is_file() else []
        if len(numbers) >= self.setup.batch:
            return numbers
        # a new batch, or one an older version planned short (it asked only up to the budget): ask what is missing
        planned = set(numbers)
        for other in (self.out / "batches").glob("*.json"):
            planned.update(json.loads(other.read_text(encoding="utf-8"))["numbers"])
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if t.number not in planned:
                self.study.tell(t.number, state=TrialState.FAIL)  # asked before a kill cut these asks short
        self.study.sampler = _sampler(self.setup, k)
        dists = _distributions(self.setup.space)
        for i in range(len(numbers), self.setup.batch):
            trial = self.study.ask(dists)
            trial.set_user_attr("batch", k)
            trial.set_user_attr("slot", i)
            numbers.append(trial.number)
        write_json_atomic({"batch": k, "numbers": numbers}, plan)
        return numbers

    def batch(self, k: int) -> None:
        setup, out, report = self.setup, self.out, self.report
        numbers = self.ask(k)[: setup.budget - k * setup.batch]  # the budget may end inside the batch
        trials = {t.number: t for t in self.study.get_trials(deepcopy=False)}
        open_ = [n for n in numbers if trials[n].state == TrialState.RUNNING]
        params = {n: dict(trials[n].params) for n in numbers}
        todo = [n for n in open_ if read_record(out, n) is None]
        tasks = [
            TrialTask(n, trial_scenario(setup.base, params[n]), seeds_of(setup, 0), setup.data.arrival_kind)
            for n in todo
        ]
        for res in self.runner.run(tasks):
            rec = _record(out, setup, res, params[res["number"]])
            report.ran += setup.reps
            report.done += 1
            report.run_s += res["run_s"]
            if rec["distance"] is not None and (report.best is None or rec["distance"] < report.best):
                report.best = rec["distance"]
            if self.on_trial is not None:
                self.on_trial(report)
        for n in open_:  # in trial order, so the study is the same however the simulations finished (the
            # trials past the budget stay asked, RUNNING, until a bigger budget simulates them)
            told = read_record(out, n)
            if told is None:
                raise CalibrationError(f"{trial_path(out, n)}: missing after its simulation; run again to resume")
            if told["distance"] is None:
                self.study.tell(n, state=TrialState.FAIL)
            else:
                self.study.tell(n, told["distance"])


def slots(executor: cf.Executor | None, workers: int) -> int:
    return executor_slots(executor) if executor is not None else workers
