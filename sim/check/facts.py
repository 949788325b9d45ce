"""The stylised facts of real communities, as data (docs/check.md).

Each fact: what it says, where it comes from, the scenarios it is checked on, its statistic (a function of a
finished run, or of the `Figures` it shares with an event log), and the target range. The ranges and scenarios
are meant to be tuned: they live in the one table `FACTS` below, so a change is one line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from learncomm.sim.check.figures import Figures, figures
from learncomm.sim.check.log import Activity
from learncomm.sim.runs.compare import cohens_d
from learncomm.sim.runs.run import RunResult

OPEN = ("community", "open-course")  # the shipped open communities
LONG = ("community", "video-game")  # open communities that run half a year: long enough for activity to decay
FAST_SCENARIOS = frozenset(
    {"community", "open-course", "classroom", "self-study", "peer-tutoring", "pottery"}
)  # cheap runs
EARLY_DAYS = 30  # leaving within 30 days of joining is leaving early
HAZARD_EARLY = (1, 30)  # tenure days
HAZARD_LATE = (61, 180)


@dataclass
class Sample:
    """One seed of one scenario (and its baseline's run on the same seed, for a paired fact)."""

    run: RunResult
    baseline: RunResult | None = None

    @cached_property
    def activity(self) -> Activity:
        return Activity.from_run(self.run.learners, self.run.timeseries, int(self.run.manifest["days"]))

    @cached_property
    def figures(self) -> Figures:
        return figures(self.activity)


@dataclass(frozen=True)
class Fact:
    id: str
    statement: str
    source: str
    scenarios: tuple[str, ...]
    statistic: Callable[[Sample], float]
    low: float
    high: float = math.inf
    log: Callable[[Figures], float] | None = None  # the same statistic from a log's figures (None: model only)
    baseline: str | None = None  # a scenario run on the same seeds that the statistic compares against
    unit: str = "share"  # share, ratio, week, d

    def in_range(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)  # NaN (no value) is never in range

    @property
    def target(self) -> str:
        if self.high == math.inf:
            return f">= {self.low:g}"
        return f"{self.low:g} to {self.high:g}"


def of_figures(get: Callable[[Figures], float]) -> Callable[[Sample], float]:
    return lambda s: float(get(s.figures))


# ---- statistics of a run's tables (model only) ----


def retention(s: Sample) -> float:
    """Share of the run's members still active at the end."""
    return float(s.run.learners["retained"].mean())


def early_leavers(s: Sample) -> float:
    """Of the members who left, the share who left within EARLY_DAYS of joining (tenure <= 30)."""
    left = s.run.learners[s.run.learners["leaving_day"] >= 0]
    if left.empty:
        return math.nan
    return float((left["tenure"] <= EARLY_DAYS).mean())


def first_questions_answered(s: Sample) -> float:
    """Share of members' first public questions that got a response."""
    asked = s.run.learners["first_question_answered"].dropna()
    return float(asked.astype(bool).mean()) if len(asked) else math.nan


def reply_reinforces(s: Sample) -> float:
    """Among members whose first post was a public question: P(posted again on a later day | it was answered)
    - P(posted again | unanswered) (Joyce & Kraut 2006 measured 56% vs 44%)."""
    lr = s.run.learners
    first_q = (lr["first_question_day"] >= 0) & (lr["first_question_day"] == lr["first_post_day"])
    sub = lr[first_q]
    answered = sub["first_question_answered"].astype("boolean").fillna(False).to_numpy(bool)
    again = (sub["last_post_day"] > sub["first_post_day"]).to_numpy(bool)
    if answered.sum() == 0 or (~answered).sum() == 0:
        return math.nan
    return float(again[answered].mean() - again[~answered].mean())


def tenure_hazard(learners: pd.DataFrame, days: int, window: tuple[int, int]) -> tuple[int, int]:
    """(members who left on a tenure day in `window`, member-days at risk in it); tenure day k is the k-th day
    of membership, a leaver is at risk up to its leaving tenure day, a stayer up to the end (censored)."""
    a, b = window
    leaving = learners["leaving_day"].to_numpy(np.int64)
    joined = learners["joined_day"].to_numpy(np.int64)
    last = np.where(leaving >= 0, leaving, days) - joined
    events = int(((leaving >= 0) & (last >= a) & (last <= b)).sum())
    exposure = int(np.clip(np.minimum(last, b) - a + 1, 0, None).sum())
    return events, exposure


def hazard_falls(s: Sample) -> float:
    """Daily leaving hazard in tenure days 1-30 over that in days 61-180 (late leavers counted as at least 0.5,
    so a window with nobody leaving gives a large finite ratio)."""
    days = int(s.run.manifest["days"])
    e1, x1 = tenure_hazard(s.run.learners, days, HAZARD_EARLY)
    e2, x2 = tenure_hazard(s.run.learners, days, HAZARD_LATE)
    if x1 == 0 or x2 == 0:
        return math.nan
    return (e1 / x1) / (max(e2, 0.5) / x2)


def tutoring_d(s: Sample) -> float:
    """Cohen's d of tutees' knowledge gain, this run against its baseline on the same seed (sim/runs/compare.py)."""
    if s.baseline is None:
        return math.nan
    a, b = s.baseline.learners, s.run.learners
    xa = a.loc[a["tutoring_role"] == "tutee", "knowledge_gain"].to_numpy(float)
    xb = b.loc[b["tutoring_role"] == "tutee", "knowledge_gain"].to_numpy(float)
    return cohens_d(xa, xb)


# ---- the facts: one table; tune scenarios and ranges here ----

FACTS: tuple[Fact, ...] = (
    Fact(
        "posts_gini",
        "Posting is very unequal: the Gini of posts over all members (non-posters included) is high",
        "CollegeMsg 0.80 (Panzarasa et al. 2009); van Mierlo 2014 (JMIR)",
        OPEN,
        of_figures(lambda f: f.gini),
        0.60,
        0.92,
        log=lambda f: f.gini,
    ),
    Fact(
        "top10_share",
        "The top 10% of members write most posts",
        "CollegeMsg 65%; van Mierlo 2014 (JMIR)",
        OPEN,
        of_figures(lambda f: f.top10_share),
        0.45,
        0.90,
        log=lambda f: f.top10_share,
    ),
    Fact(
        "top1_share",
        "The top 1% of members write a large share of posts",
        "CollegeMsg 18%; van Mierlo 2014: 74.7% in communities of 63,990 (small communities cannot reach that)",
        OPEN,
        of_figures(lambda f: f.top1_share),
        0.08,
        0.50,
        log=lambda f: f.top1_share,
    ),
    Fact(
        "never_post",
        "Many members never post (lurkers)",
        "CollegeMsg 29%; Nielsen 2006 (90-9-1); van Mierlo 2014: fewer than 25% ever posted",
        OPEN,
        of_figures(lambda f: f.never_post),
        0.25,
        0.92,
        log=lambda f: f.never_post,
    ),
    Fact(
        "retention",
        "Most members of an open community are gone by the end",
        "Jordan 2015: MOOC completion median 12.6% of 221 courses; 12-40% of new Wikipedia editors active a year on",
        OPEN,
        retention,
        0.08,
        0.45,
    ),
    Fact(
        "early_leavers",
        "Of the members who leave, most leave within 30 days of joining",
        "CollegeMsg 59% (log-style); Jordan 2015: weeks 1-2 of a MOOC are critical (an 84-day course loses more early)",
        OPEN,
        early_leavers,
        0.40,
        0.85,
    ),
    Fact(
        "questions_answered",
        "Most first questions get a response, not all",
        "Joyce & Kraut 2006: 73% of newcomers' first posts got a reply",
        OPEN,
        first_questions_answered,
        0.50,
        0.85,
    ),
    Fact(
        "activity_decay",
        "Activity decays: the busiest fortnight has at least 4 times the posts of the last full fortnight",
        "CollegeMsg: 33x (3rd fortnight 18,724 vs 13th 572 messages); half-year communities only",
        LONG,
        of_figures(lambda f: f.decay_ratio),
        4.0,
        unit="ratio",
        log=lambda f: f.decay_ratio,
    ),
    Fact(
        "activity_peak",
        "Activity peaks early: the busiest week is within weeks 1-6",
        "CollegeMsg: weeks 2-6 are the busiest, peak in week 6; half-year communities only",
        LONG,
        of_figures(lambda f: f.peak_week),
        1,
        6,
        unit="week",
        log=lambda f: f.peak_week,
    ),
    Fact(
        "reply_reinforces",
        "A reply to a newcomer's first question makes posting again more likely",
        "Joyce & Kraut 2006: 56% posted again when answered vs 44% when not",
        OPEN,
        reply_reinforces,
        0.03,
        0.30,
    ),
    Fact(
        "hazard_falls",
        "The leaving hazard falls with tenure: days 1-30 at least twice days 61-180",
        "Jordan 2015 (MOOC weeks 1-2); CollegeMsg (most leavers were active 30 days or less)",
        OPEN,
        hazard_falls,
        2.0,
        unit="ratio",
    ),
    Fact(
        "classroom_stays",
        "A compulsory class keeps attendance",
        "compulsory settings keep attendance (issue 11)",
        ("classroom",),
        retention,
        0.85,
        1.0,
    ),
    Fact(
        "committed_group_stays",
        "A small club whose members chose to meet every week stays together",
        "bond-based attachment keeps members (Ren, Kraut & Kiesler 2007); `pottery` sets its club's leaving to 0.1",
        ("pottery",),
        retention,
        0.60,
        1.0,
    ),
    Fact(
        "tutoring_d",
        "Tutees gain about d = 0.4-0.5 over self-study (existing calibration)",
        "peer-tutoring meta-analyses (docs/model.md; tests/test_compare.py)",
        ("peer-tutoring",),
        tutoring_d,
        0.35,
        0.60,
        baseline="self-study",
        unit="d",
    ),
)

FACT_IDS = tuple(f.id for f in FACTS)
assert len(set(FACT_IDS)) == len(FACT_IDS), "fact ids must be unique"


def log_facts(facts: tuple[Fact, ...] = FACTS) -> list[Fact]:
    return [f for f in facts if f.log is not None]


@dataclass
class LogCheck:
    """A log's value of each log-computable fact and whether it is in the fact's range."""

    values: dict[str, float] = field(default_factory=dict)
    in_range: dict[str, bool] = field(default_factory=dict)


def check_log(fig: Figures, facts: tuple[Fact, ...] = FACTS) -> LogCheck:
    out = LogCheck()
    for f in log_facts(facts):
        assert f.log is not None
        v = float(f.log(fig))
        out.values[f.id], out.in_range[f.id] = v, f.in_range(v)
    return out
