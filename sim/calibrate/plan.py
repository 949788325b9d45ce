"""A calibration from the user's inputs: the log read and measured, the base scenario sized, the fit space checked.

Everything that can be wrong with the inputs fails here, before any simulation: a bad log (LogError), a bad base
scenario (ScenarioError) or a bad `--fit` (FitError)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from learncomm.sim.calibrate.figures import arrival_kind, cal_figures, rescaled
from learncomm.sim.calibrate.search import CalSetup
from learncomm.sim.calibrate.space import fit_space, sized_base, sizing
from learncomm.sim.check.log import Activity, read_log
from learncomm.sim.schema.loading import load_scenario, resolve_path

DEFAULT_BUDGET = 200
DEFAULT_BATCH = 8


@dataclass(frozen=True)
class Options:
    budget: int = DEFAULT_BUDGET  # trials
    batch: int = DEFAULT_BATCH  # trials asked together
    seed: int = 1
    reps: int = 1  # simulations (seeds) per trial


def make_setup(
    log: Path, base: str, fits: list[str] | None = None, members: Path | None = None, options: Options | None = None
) -> tuple[CalSetup, Activity]:
    """Read and check everything; raises LogError, ScenarioError or FitError."""
    o = options or Options()
    activity = read_log(log, members)
    scenario = load_scenario(base)
    size = sizing(activity)
    data = sized_base(scenario, size)
    space = fit_space(data, fits)
    figs = cal_figures(rescaled(activity, size.scale), arrival_kind(activity))
    info = {
        "source": str(log),
        "members_file": None if members is None else str(members),
        "columns": activity.columns,
        "members": activity.n,
        "members_listed_not_seen": activity.members_listed,
        "posts": int(activity.posts.sum()),
        "days": activity.horizon,
        "scale": size.scale,
        "arrival": figs.arrival_kind,
    }
    setup = CalSetup(
        data=figs,
        base=data,
        space=space,
        seed=o.seed,
        reps=o.reps,
        batch=o.batch,
        budget=o.budget,
        log_info=info,
        base_name=scenario.name if not Path(base).is_file() else str(base),
        base_path=str(resolve_path(base)),
    )
    return setup, activity
