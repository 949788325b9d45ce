"""Outcomes collected every day, overall and per confidence group.

Names are `<outcome>_<scope>` with scope `all`, `low`, `medium` or `high`
(plus a few community-wide outcomes). They are the columns of
timeseries.parquet and the model's DataCollector.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from learncomm.agents.state import LearnerState
from learncomm.sim.engine.day import DayResult
from learncomm.sim.schema.vocab import MODES, SCOPES, Stage

PER_SCOPE: tuple[str, ...] = (
    "knowledge",
    "gain",
    "confidence",
    "confidence_change",
    "motivation",
    "retention",
    "present",
    *(f"share_{m}" for m in MODES),
    "daily_gain",
    "exposed",
)
COMMUNITY_WIDE: tuple[str, ...] = (
    "equity_gap",
    "active_learners",
    "posts_gini",
    "meetup_attendance",
    "stage_newcomer",
    "stage_regular",
    "stage_core",
    "joined_learners",
    "arrivals",
    "leavers",
    "posts",
    "posters",
)
METRICS: tuple[str, ...] = tuple(f"{o}_{s}" for o in PER_SCOPE for s in SCOPES) + COMMUNITY_WIDE


def gini_of_counts(x: np.ndarray) -> float:
    """Gini coefficient of non-negative integer counts in O(N) through their histogram."""
    total = float(x.sum())
    n = x.size
    if n == 0 or total == 0.0:
        return 0.0
    hist = np.bincount(x)
    upto = np.cumsum(hist)
    first = upto - hist
    rank_sum = hist * (first + upto + 1) / 2.0
    weighted = float((np.arange(hist.size) * rank_sum).sum())
    return 2.0 * weighted / (n * total) - (n + 1.0) / n


SPARSE = 0.5
"""A mask covering less than this share of the learners is summed over its rows (a gather of those rows);
a denser one through a product with the mask over every learner. Both add the same numbers in the same
order (the rows outside a mask add +0.0), so the outcome is the same to the last bit."""


class _Scopes:
    """Sums and means per scope (all, low, medium, high). Each mask's rows and counts are found once a day
    (the same mask weighs several outcomes), and a sparse mask's sums run over its rows only: in a large
    open community most learners have not arrived yet or have left."""

    def __init__(self, group: np.ndarray) -> None:
        self.group = group
        self._counts: dict[int, np.ndarray] = {}
        self._rows: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
        self._masks: list[np.ndarray | None] = []  # kept alive, so no id is reused within the day

    def rows(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, their groups) of a sparse mask; None for a dense one."""
        key = id(mask)
        if key not in self._rows:
            rows = np.flatnonzero(mask)
            self._rows[key] = (rows, self.group[rows]) if rows.size < SPARSE * mask.size else None
            self._masks.append(mask)
        return self._rows[key]

    def counts(self, mask: np.ndarray | None) -> np.ndarray:
        key = id(mask)
        if key not in self._counts:
            sub = None if mask is None else self.rows(mask)
            if sub is not None:
                k = np.bincount(sub[1], minlength=3).astype(float)
            elif mask is None:
                k = np.bincount(self.group, minlength=3)
            else:
                k = np.bincount(self.group, weights=mask.astype(float), minlength=3)
            self._counts[key] = np.concatenate([[k.sum()], k])
            self._masks.append(mask)
        return self._counts[key]

    def sums(
        self, values: np.ndarray | Callable[[np.ndarray | None], np.ndarray], mask: np.ndarray | None = None
    ) -> np.ndarray:
        """`values` (N,), or a function of rows (None: every learner) giving the values of those rows."""
        sub = None if mask is None else self.rows(mask)
        if sub is not None:
            s = np.bincount(sub[1], weights=values(sub[0]) if callable(values) else values[sub[0]], minlength=3)
        else:
            v = values(None) if callable(values) else values
            s = np.bincount(self.group, weights=v if mask is None else v * mask, minlength=3)
        return np.concatenate([[s.sum()], s])

    def mean(
        self, values: np.ndarray | Callable[[np.ndarray | None], np.ndarray], mask: np.ndarray | None = None
    ) -> np.ndarray:
        s, k = self.sums(values, mask), self.counts(mask)
        return np.divide(s, k, out=np.full(4, np.nan), where=k > 0)


class _RowMeans:
    """Each learner's mean knowledge over the topics, computed for the rows asked (once for each set)."""

    def __init__(self, knowledge: np.ndarray) -> None:
        self.knowledge = knowledge
        self._done: dict[int, np.ndarray] = {}

    def __call__(self, rows: np.ndarray | None) -> np.ndarray:
        key = id(rows)
        if key not in self._done:
            k = self.knowledge if rows is None else self.knowledge[rows]
            self._done[key] = np.einsum("it->i", k) / k.shape[1]  # einsum: 3x faster than mean(axis=1) on narrow rows
        return self._done[key]


CHANGING: tuple[str, ...] = ("confidence", "motivation", "active", "joined", "joined_day", "posts", "stage")
"""What `day_metrics` reads of the state that a day changes, besides knowledge (read as each learner's mean:
`Frozen.row_means`); the rest it reads (`group`, `initial_mean_knowledge`, `initial_confidence`) is fixed."""


@dataclass
class Frozen:
    """What `day_metrics` needs of one moment, safe from the next day: a shallow copy of the state with its own
    copies of CHANGING, and each learner's mean knowledge (one pass, cheaper than copying the (N, T) array)."""

    state: LearnerState
    row_means: np.ndarray


def frozen_inputs(state: LearnerState) -> Frozen:
    """This moment's inputs of `day_metrics`, for a large run that computes them on a second thread while the
    next day changes the state."""
    snap = copy.copy(state)
    for name in CHANGING:
        setattr(snap, name, getattr(state, name).copy())
    return Frozen(snap, _RowMeans(state.knowledge)(None))


def frozen_metrics(frozen: Frozen, day: DayResult | None) -> dict[str, float]:
    """`day_metrics` of a frozen moment (the same numbers as on the state at that moment)."""
    return day_metrics(frozen.state, day, frozen.row_means)


def day_metrics(
    state: LearnerState, day: DayResult | None = None, row_means: np.ndarray | None = None
) -> dict[str, float]:
    """Every outcome for the state after a day (`day` is the DayResult; None before the first day; `row_means`:
    each learner's mean knowledge, when computed already)."""
    g = state.group.astype(np.intp)
    k: Callable[[np.ndarray | None], np.ndarray] = (
        _RowMeans(state.knowledge)
        if row_means is None  # every learner's, computed already: the same numbers row by row
        else lambda rows: row_means if rows is None else row_means[rows]
    )
    k0 = state.initial_mean_knowledge
    active = state.active
    joined = None if state.joined.all() else state.joined  # prospects a manager has not reached yet do not count
    scopes = _Scopes(g)
    out: dict[str, np.ndarray] = {
        "knowledge": scopes.mean(k, joined),
        "gain": scopes.mean(lambda rows: k(rows) - (k0 if rows is None else k0[rows]), joined),
        "confidence": scopes.mean(state.confidence, joined),
        "confidence_change": scopes.mean(
            lambda rows: (
                state.confidence - state.initial_confidence
                if rows is None
                else state.confidence[rows] - state.initial_confidence[rows]
            ),
            joined,
        ),
        "motivation": scopes.mean(state.motivation, active),
        "retention": scopes.mean(lambda rows: (active if rows is None else active[rows]).astype(float), joined),
    }
    if day is None:
        present = np.zeros(state.n, dtype=bool)
        mode, gain, exposed = np.full(state.n, -1), np.zeros(state.n), np.zeros(state.n, dtype=bool)
        meetups: dict[int, int] = {}
    else:
        present, mode, gain, exposed, meetups = day.present, day.mode, day.gain, day.exposed, day.meetups
    out["present"] = scopes.mean(
        lambda rows: (present if rows is None else present[rows]).astype(float), active | present
    )
    # one pass over the present counts every (group, mode) pair
    here = np.flatnonzero(present)
    by_mode = np.bincount(g[here] * len(MODES) + mode[here].astype(np.intp), minlength=3 * len(MODES)).reshape(3, -1)
    by_mode = np.vstack([by_mode.sum(axis=0), by_mode]).astype(float)
    n_present = by_mode.sum(axis=1)
    for i, m in enumerate(MODES):
        out[f"share_{m}"] = np.divide(by_mode[:, i], n_present, out=np.zeros(4), where=n_present > 0)
    out["daily_gain"] = scopes.mean(gain, present)
    shown = scopes.sums(
        lambda rows: (exposed if rows is None else exposed[rows]).astype(float), present
    )  # only the present
    out["exposed"] = np.divide(shown, n_present, out=np.zeros(4), where=n_present > 0)
    row = {f"{o}_{s}": float(out[o][i]) for o in PER_SCOPE for i, s in enumerate(SCOPES)}
    row["equity_gap"] = row["gain_high"] - row["gain_low"]
    row["active_learners"] = float(active.sum())
    row["joined_learners"] = float(state.n if joined is None else joined.sum())
    posts = state.posts  # public: questions, explanations, answers (not private tutoring sessions)
    sub = None if joined is None else scopes.rows(joined)
    row["posts_gini"] = gini_of_counts(posts if joined is None else posts[joined] if sub is None else posts[sub[0]])
    row["meetup_attendance"] = float(sum(meetups.values()))
    # joined since the last row: scheduled arrivals and a manager's outreach (row 0: the founders)
    row["arrivals"] = float((state.joined & (state.joined_day == (0 if day is None else day.number))).sum())
    if day is None:
        row["leavers"] = row["posts"] = row["posters"] = 0.0
    else:
        row["leavers"] = float(day.left.sum())
        row["posts"] = float(day.posts.sum())
        row["posters"] = float((day.posts > 0).sum())
    n_active = max(int(row["active_learners"]), 1)
    sub = scopes.rows(active)
    stages = np.bincount(state.stage[active] if sub is None else state.stage[sub[0]], minlength=len(Stage))
    for stage in Stage:
        row[f"stage_{stage.name.lower()}"] = float(stages[stage]) / n_active
    return row
