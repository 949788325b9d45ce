"""What a calibration fits and how big it simulates (docs/calibration.md).

The default parameters are the participation, reinforcement, arrival and leaving constants, with bounds wide
enough to hold every shipped scenario's value and a real community's; `--fit PARAM=LOW:HIGH` replaces them. The
simulation is sized to the log: as many learners as members (at most MAX_LEARNERS) and as many days as the log
spans (at most MAX_DAYS; a longer log is put on a shrunk time axis, one simulated day = span / MAX_DAYS log days).
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Any

from learncomm.sim.check.log import Activity
from learncomm.sim.schema.loading import ScenarioError, with_changes
from learncomm.sim.schema.params import Params
from learncomm.sim.schema.scenario import Arrivals, Scenario
from learncomm.sim.sweeps.plan import build_scenario

MAX_LEARNERS = 10_000
MAX_DAYS = 730
LOG_RATIO = 20.0  # a positive range whose high is 20x its low or more is searched on a log scale


class FitError(ValueError):
    """A `--fit` the user can fix: which one, and what was expected."""


@dataclass(frozen=True)
class FitParam:
    path: str  # dotted scenario field, as in --set and sweep files
    low: float
    high: float
    integer: bool = False

    @property
    def log(self) -> bool:
        return self.low > 0 and self.high / self.low >= LOG_RATIO

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "log": self.log}


# (path, low, high): the participation, reinforcement, arrival and leaving parameters (docs/calibration.md)
DEFAULT_FIT: tuple[tuple[str, float, float], ...] = (
    ("params.post_rate", 0.02, 1.0),
    ("params.activity_spread", 0.2, 4.0),
    ("params.reply_reinforcement", 0.0, 1.0),
    ("arrivals.founders", 0.01, 1.0),
    ("arrivals.wave_days", 1.0, 120.0),
    ("arrivals.trickle", 0.0, 1.0),
    ("params.fade_days", 5.0, 200.0),
    ("params.leave_rate", 0.01, 0.8),
    ("params.leave_tenure", 5.0, 300.0),
)
ARRIVAL_FIELDS = tuple(Arrivals.model_fields)
SIZED = ("learners", "days", "seed")
OWN_ARRIVALS = "_communities_set_arrivals"  # a marker in the sized base's data, removed before validation


def full_path(name: str) -> str:
    """`post_rate` means `params.post_rate`, `founders` means `arrivals.founders`; dotted paths stay."""
    if "." in name:
        return name
    if name in Params.model_fields:
        return f"params.{name}"
    if name in ARRIVAL_FIELDS:
        return f"arrivals.{name}"
    return name


def _number(text: str, what: str, item: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise FitError(f"--fit {item}: the {what} {text!r} is not a number; expected PARAM=LOW:HIGH") from None
    if not math.isfinite(v):
        raise FitError(f"--fit {item}: the {what} {text!r} is not finite; expected PARAM=LOW:HIGH")
    return v


def parse_fit(item: str) -> tuple[str, float, float]:
    """`PARAM=LOW:HIGH` -> (full path, low, high), checked for form only (the scenario checks the values)."""
    if len(item) > 300:
        raise FitError("--fit: longer than 300 characters; expected PARAM=LOW:HIGH")
    if "=" not in item:
        raise FitError(f"--fit {item}: expected PARAM=LOW:HIGH, for example --fit post_rate=0.05:0.5")
    name, rng = (s.strip() for s in item.split("=", 1))
    if not name:
        raise FitError(f"--fit {item}: no parameter name; expected PARAM=LOW:HIGH")
    if rng.count(":") != 1:
        raise FitError(f"--fit {item}: expected the range as LOW:HIGH, for example 0.05:0.5")
    lo_text, hi_text = (s.strip() for s in rng.split(":"))
    low, high = _number(lo_text, "low end", item), _number(hi_text, "high end", item)
    if not low < high:
        raise FitError(f"--fit {item}: the low end must be below the high end")
    return full_path(name), low, high


def _current(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def fit_space(base: dict[str, Any], fits: list[str] | None) -> list[FitParam]:
    """The parameters to fit: the `--fit` items, else DEFAULT_FIT; each must be a numeric field of the scenario
    whose low and high ends both make a valid scenario."""
    items = [parse_fit(f) for f in fits] if fits else list(DEFAULT_FIT)
    seen: set[str] = set()
    space = []
    for path, low, high in items:
        if path in seen:
            raise FitError(f"--fit {path}: given twice")
        seen.add(path)
        if path.startswith("arrivals.") and base.get(OWN_ARRIVALS):
            raise FitError(
                f"--fit {path}: the base scenario's communities set their own arrivals, which a scenario-level fit "
                "cannot change; fit other parameters (--fit), or remove the communities' arrivals from the base"
            )
        if path in SIZED:
            raise FitError(f"--fit {path}: set by the log (learners = members, days = its span), not fitted")
        value = _current(base, path)
        if isinstance(value, bool) or not isinstance(value, int | float):
            what = "not a field of the scenario" if value is None else f"not a number (it is {value!r})"
            raise FitError(
                f"--fit {path}: {what}; expected a numeric field such as params.post_rate or arrivals.wave_days "
                "(docs/scenarios.md)"
            )
        integer = isinstance(value, int)
        if integer and (low != int(low) or high != int(high)):
            raise FitError(f"--fit {path}: the field holds whole numbers; expected whole LOW:HIGH")
        for end in (low, high):
            try:
                trial_scenario(base, {path: int(end) if integer else end})
            except ScenarioError as exc:
                raise FitError(f"--fit {path}={low:g}:{high:g}: {end:g} is not allowed: {exc}") from None
        space.append(FitParam(path, float(low), float(high), integer))
    return space


@dataclass(frozen=True)
class Sizing:
    learners: int
    days: int
    scale: float  # log days per simulated day (1 unless the log spans more than MAX_DAYS)


def sizing(log: Activity) -> Sizing:
    """Learners = members (capped), days = the log's span in whole days (capped, with the time axis shrunk)."""
    span = max(1.0, log.horizon)
    days = min(MAX_DAYS, math.ceil(span))
    scale = span / MAX_DAYS if span > MAX_DAYS else 1.0
    return Sizing(learners=max(2, min(MAX_LEARNERS, log.n)), days=max(1, days), scale=scale)


def sized_base(base: Scenario, size: Sizing) -> dict[str, Any]:
    """The base scenario sized to the log, as data the trial values are set on. Its arrivals are written out at
    the scenario level (the setting's when the file gives none), so fitting one arrival field keeps the others."""
    sc = with_changes(base, source="the base scenario sized to the log", learners=size.learners, days=size.days)
    data = sc.model_dump(mode="json")
    if not any(c.arrivals is not None for c in sc.communities or []):
        data["arrivals"] = sc.arrivals_of(sc.resolved_communities()[0]).model_dump(mode="json")
    else:
        data[OWN_ARRIVALS] = True  # fit_space refuses arrivals.* (they would change nothing)
    return copy.deepcopy(data)


def trial_scenario(base: dict[str, Any], values: dict[str, float]) -> Scenario:
    return build_scenario({k: v for k, v in base.items() if k != OWN_ARRIVALS}, values, False)
