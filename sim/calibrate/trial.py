"""One simulation of a calibration, as an executor task: run the trial's scenario and return its figures.

The task runs in a sweep worker (a local process pool or a Dask worker, sim/sweeps/runner.py) and sends back only
the small figures dict; the parent computes the distance and records the trial before telling the search.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

from learncomm.sim.calibrate.figures import cal_figures
from learncomm.sim.check.log import Activity
from learncomm.sim.schema.scenario import Scenario


@dataclass(frozen=True)
class TrialTask:
    number: int  # the Optuna trial number (-1: the uncalibrated base scenario)
    scenario: Scenario
    seeds: tuple[int, ...]  # one simulation per seed; the trial's distance is the mean over them
    arrival_kind: str


def simulate_trial(task: TrialTask) -> dict[str, Any]:
    """Simulate once per seed; a run that raises is reported as failed, not re-raised (the search goes on)."""
    from learncomm.sim.runs.run import run_scenario

    started = time.perf_counter()
    try:
        figs = []
        for seed in task.seeds:
            run = run_scenario(task.scenario, seed=seed)
            act = Activity.from_run(run.learners, run.timeseries, days=task.scenario.days)
            figs.append(cal_figures(act, task.arrival_kind).to_dict())
        return {"number": task.number, "status": "ok", "figures": figs, "run_s": time.perf_counter() - started}
    except Exception as exc:  # noqa: BLE001 - a failed simulation is a failed trial
        return {
            "number": task.number,
            "status": "failed",
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": "".join(traceback.format_exception(exc))[-4000:],
            "run_s": time.perf_counter() - started,
        }
