"""Running the facts over seeds: each (scenario, seed) runs once and serves every fact that needs it.

Runs go one after the other by default: a shipped scenario runs in a fraction of a second, about what a worker
process takes to start and import the engine. `workers > 1` runs them on the sweep machinery's process pool
(`own_pool`), which pays off for larger scenarios.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from learncomm import __version__
from learncomm.sim.check.facts import FACTS, FAST_SCENARIOS, LONG, OPEN, Fact, LogCheck, Sample, check_log
from learncomm.sim.check.figures import Figures, figures
from learncomm.sim.check.log import Activity
from learncomm.sim.runs.claim import stamped_dir
from learncomm.sim.runs.compare import interval
from learncomm.sim.runs.run import RunResult, run_scenario
from learncomm.sim.runs.store import atomic_dir, versions, write_json
from learncomm.sim.schema.loading import load_scenario
from learncomm.sim.sweeps.runner import own_pool
from learncomm.sim.sweeps.worker import worker_task

FAST_SEEDS = 3
DEFAULT_SEEDS = 5
SCALARS = ("gini", "top1_share", "top10_share", "never_post", "lurkers", "contributors", "superusers", "peak_week",
           "decay_ratio", "left", "left_early", "median_arrival_day", "members", "posts")  # fmt: skip


@dataclass
class FactResult:
    fact: Fact
    scenario: str
    seeds: list[int]
    values: list[float]
    mean: float
    ci_low: float
    ci_high: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        f = self.fact
        return {
            "id": f.id,
            "statement": f.statement,
            "source": f.source,
            "scenario": self.scenario,
            "baseline": f.baseline,
            "low": finite(f.low),
            "high": finite(f.high),
            "target": f.target,
            "unit": f.unit,
            "log_computable": f.log is not None,
            "seeds": self.seeds,
            "values": [finite(v) for v in self.values],
            "mean": finite(self.mean),
            "ci_low": finite(self.ci_low),
            "ci_high": finite(self.ci_high),
            "passed": self.passed,
        }


@dataclass
class CheckReport:
    results: list[FactResult]
    seeds: list[int]
    fast: bool
    scenario_figures: dict[str, dict[str, Any]]  # per scenario: scalar figures (mean over seeds) and curves
    log: dict[str, Any] | None = None
    log_check: LogCheck | None = None
    skipped: list[str] = field(default_factory=list)  # fact ids not run (and why)
    wall_s: float = 0.0

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "learncomm": __version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": versions(),
            "fast": self.fast,
            "seeds": self.seeds,
            "passed": self.passed,
            "facts": [r.to_dict() for r in self.results],
            "skipped": self.skipped,
            "simulated_figures": self.scenario_figures,
            "log": self.log,
            "wall_time_s": round(self.wall_s, 3),
        }


def finite(v: float) -> float | None:
    """JSON has no NaN or infinity: null instead (a missing value, or an open end of a range)."""
    return float(v) if v is not None and math.isfinite(v) else None


def plan(
    facts: Sequence[Fact], fast: bool, scenarios: Sequence[str] | None
) -> tuple[list[tuple[Fact, str]], list[str]]:
    """(fact, scenario) pairs to check, and the facts skipped with the reason. `scenarios` replaces the open
    communities the open-community facts run on; facts tied to another setting are then skipped."""
    pairs: list[tuple[Fact, str]] = []
    skipped: list[str] = []
    for f in facts:
        if scenarios:
            if f.scenarios not in (OPEN, LONG):  # facts of open communities apply to the user's scenarios
                skipped.append(f"{f.id}: checked on {', '.join(f.scenarios)} only (not with --scenario)")
                continue
            names = list(scenarios)
        else:
            names = [s for s in f.scenarios if not fast or s in FAST_SCENARIOS]
            if not names:
                skipped.append(f"{f.id}: no cheap scenario (full suite only)")
        pairs.extend((f, s) for s in names)
    return pairs, skipped


def scalar_figures(figs: list[Figures]) -> dict[str, Any]:
    """Mean over seeds of the scalar figures; curves (Lorenz, posts and arrivals per week) from the first seed."""
    out: dict[str, Any] = {}
    for k in SCALARS:
        vals = np.array([float(getattr(f, k)) for f in figs], dtype=float)
        vals = vals[np.isfinite(vals)]
        out[k] = float(vals.mean()) if len(vals) else None
    first = figs[0]
    out.update(
        lorenz_x=first.lorenz_x,
        lorenz_y=first.lorenz_y,
        posts_per_week=first.posts_per_week,
        arrivals_per_week=first.arrivals_per_week,
    )
    return out


def run_one(name: str, seed: int) -> RunResult:
    """One run of a scenario (a shipped name or a file) on a seed, no folder written (on a pool worker:
    interruptible by the pool's stop, see sim/sweeps/worker.py)."""
    with worker_task():
        return run_scenario(load_scenario(name), seed=seed)


def run_all(
    keys: list[tuple[str, int]], workers: int, on_run: Callable[[str, int], None] | None
) -> dict[tuple[str, int], RunResult]:
    """Every (scenario, seed) once: in this process, or on a process pool of `workers`."""
    runs: dict[tuple[str, int], RunResult] = {}
    if workers <= 1:
        for name, seed in keys:
            runs[name, seed] = run_one(name, seed)
            if on_run is not None:
                on_run(name, seed)
        return runs
    with own_pool(workers) as pool:  # interrupted: the running workers are stopped, not waited for
        futures = {pool.submit(run_one, name, seed): (name, seed) for name, seed in keys}
        for fut in cf.as_completed(futures):
            runs[futures[fut]] = fut.result()
            if on_run is not None:
                on_run(*futures[fut])
    return runs


def run_check(
    seeds: Sequence[int],
    fast: bool = False,
    scenarios: Sequence[str] | None = None,
    log: Activity | None = None,
    facts: Sequence[Fact] = FACTS,
    on_run: Callable[[str, int], None] | None = None,
    workers: int = 1,
) -> CheckReport:
    """Run every needed (scenario, seed) once and evaluate each fact on its scenarios over the seeds."""
    started = time.perf_counter()
    pairs, skipped = plan(facts, fast, scenarios)
    names = list(dict.fromkeys([s for _, s in pairs] + [f.baseline for f, _ in pairs if f.baseline]))
    runs = run_all([(n, seed) for n in names for seed in seeds], workers, on_run)
    samples = {key: Sample(run) for key, run in runs.items()}  # a run's figures are computed once, when needed
    results: list[FactResult] = []
    for f, name in pairs:
        values = []
        for seed in seeds:
            s = samples[name, seed]
            if f.baseline is not None:
                s = Sample(s.run, runs[f.baseline, seed])
            values.append(float(f.statistic(s)))
        arr = np.array(values, dtype=float)
        ok = arr[np.isfinite(arr)]  # a seed with no value (nobody left, say) is left out
        m, lo, hi = interval(ok) if len(ok) else (math.nan, math.nan, math.nan)
        results.append(FactResult(f, name, list(seeds), values, m, lo, hi, bool(len(ok)) and f.in_range(m)))
    sim_figs: dict[str, dict[str, Any]] = {}
    # the figures beside a log: the scenarios the log-computable facts are checked on
    for name in dict.fromkeys(s for f, s in pairs if f.log is not None):
        sim_figs[name] = scalar_figures([samples[name, seed].figures for seed in seeds])
    report = CheckReport(results, list(seeds), fast, sim_figs, skipped=skipped)
    if log is not None:
        fig = figures(log)
        report.log_check = check_log(fig, tuple(facts))
        report.log = {
            "source": log.source,
            "columns": log.columns,
            "members_listed_not_seen": log.members_listed,
            "figures": fig.to_dict(),
            "facts": {
                k: {"value": finite(v), "in_range": report.log_check.in_range[k]}
                for k, v in report.log_check.values.items()
            },
        }
    report.wall_s = time.perf_counter() - started
    return report


def default_check_dir(root: Path, claim: bool = False) -> Path:
    """results/check-<UTC timestamp> (with -1, -2, ... when it exists; `claim`: created at once, see claim_dir)."""
    return stamped_dir(root, "check", claim=claim)


def write_report(report: CheckReport, out: Path, claimed: bool = False) -> Path:
    """Write the check folder OUT (check.json) atomically, as `run` writes a run folder: OUT is claimed first
    (`claimed`: the caller did, before the runs), so two checks into one folder never clobber each other."""
    out = Path(out)
    with atomic_dir(out, claimed=claimed) as tmp:
        write_json(report.to_dict(), tmp / "check.json")
    return out / "check.json"
