"""The numbers behind the run page's "Participation" panels: Lorenz curves of posts, the 90-9-1 shares,
Kaplan-Meier survival of members, and the splits by confidence group and by the first question's fate.

Pure NumPy/pandas, no figures (those are in `participation_view.py`), so each piece is tested on its own
against hand-computed values (tests/test_participation_data.py).

The Kaplan-Meier estimator is written here (about 20 lines) rather than taken from a library: neither
statsmodels (`SurvfuncRight`) nor lifelines is a dependency of learncomm, and adding one (statsmodels
with patsy, or lifelines with autograd and formulaic) for a product over at most `days` distinct times
would cost more install than the code it saves (docs/dashboards.md, "Participation").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from learncomm.sim.runs.inequality import LEVELS
from learncomm.sim.runs.inequality import gini as gini_of
from learncomm.sim.schema.vocab import GROUPS

# The fate of a learner's first public question (`first_question_answered`: true, false, null).
FIRST_ANSWER: tuple[str, ...] = ("answered", "unanswered", "never asked")
ASKED: tuple[str, ...] = FIRST_ANSWER[:2]  # the survival split by the first question's fate starts at that question

# What each panel reads; a run made before these columns existed gets a note instead of the panel.
LORENZ_COLUMNS: tuple[str, ...] = ("posts", "activity_level", "confidence_group")
SURVIVAL_COLUMNS: tuple[str, ...] = ("tenure", "leaving_day", "first_question_answered", "confidence_group")
FLOW_COLUMNS: tuple[str, ...] = ("arrivals", "leavers", "active_learners", "posts")


def missing(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    """The columns a panel needs that the table lacks (an older run folder)."""
    return [c for c in columns if c not in frame.columns]


@dataclass(frozen=True)
class Lorenz:
    """A Lorenz curve of posts: x = share of members (fewest posts first), y = their share of all posts.

    `x`, `y` hold at most about `points` vertices (the curve is piecewise linear between members, so
    points on it are exact; the band edges are always among them). `gini` is computed from every member.
    """

    x: np.ndarray
    y: np.ndarray
    members: int
    posts: int
    gini: float


def lorenz(posts: np.ndarray, points: int = 200, keep: tuple[float, ...] = ()) -> Lorenz:
    """The Lorenz curve of `posts` (zeros included). With no member or no post the curve is undefined:
    x and y are empty and the Gini is NaN (the page shows a note instead)."""
    p = np.sort(np.asarray(posts, dtype=float))
    n, total = p.size, float(p.sum())
    if n == 0 or total <= 0:
        return Lorenz(np.empty(0), np.empty(0), n, int(total), float("nan"))
    xs = np.arange(n + 1) / n
    ys = np.concatenate([[0.0], np.cumsum(p) / total])
    gini = gini_of(p)  # the one Gini of sim/runs/inequality.py: check.json and this page agree
    grid = np.union1d(np.linspace(0.0, 1.0, points + 1), np.clip(np.asarray(keep, dtype=float), 0.0, 1.0))
    if grid.size >= xs.size:
        return Lorenz(xs, ys, n, int(total), gini)
    return Lorenz(grid, np.interp(grid, xs, ys), n, int(total), gini)


@dataclass(frozen=True)
class LevelShare:
    """One 90-9-1 band of a group: its members and their posts, as counts and shares of the group."""

    level: str
    members: int
    member_share: float
    posts: int
    post_share: float


def level_shares(levels: pd.Series, posts: pd.Series) -> list[LevelShare]:
    """Lurkers, contributors and superusers of a group (in that order): how many, and what share of posts."""
    lv = levels.astype(str).to_numpy()
    p = posts.to_numpy(dtype=float)
    n, total = lv.size, float(p.sum())
    out = []
    for level in LEVELS:
        mask = lv == level
        k, s = int(mask.sum()), float(p[mask].sum())
        out.append(LevelShare(level, k, k / n if n else float("nan"), int(s), s / total if total else float("nan")))
    return out


def band_edges(shares: list[LevelShare]) -> list[tuple[str, float, float]]:
    """Where each band lies on the Lorenz x axis (members sorted by posts): lurkers first, superusers last."""
    edges, left = [], 0.0
    for s in shares:
        right = left if math.isnan(s.member_share) else min(1.0, left + s.member_share)
        edges.append((s.level, left, right))
        left = right
    return edges


@dataclass(frozen=True)
class Survival:
    """A Kaplan-Meier curve as a step function: S(t) holds from `time[i]` until `time[i+1]`.

    `time` starts at 0 (S = 1) and ends at the longest follow-up (the last event or censoring), so the
    curve is drawn as far as there is data. `at_risk[i]` members were still members just before
    `time[i]`, `events[i]` left at `time[i]`.
    """

    time: np.ndarray
    survival: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    members: int
    left: int

    def median(self) -> float | None:
        """The first time S(t) <= 0.5, or None when more than half never left (it is beyond the data)."""
        hit = np.flatnonzero(self.survival <= 0.5)
        return float(self.time[hit[0]]) if hit.size else None


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> Survival:
    """Kaplan-Meier: S(t) = prod over event times t_i <= t of (1 - d_i / n_i), with n_i the members whose time
    is >= t_i (a member censored at t_i is still at risk at t_i: events come before censoring)."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    if t.size == 0:
        return Survival(np.zeros(1), np.ones(1), np.zeros(1, int), np.zeros(1, int), 0, 0)
    times, events = np.unique(t[e], return_counts=True)
    at_risk = t.size - np.searchsorted(np.sort(t), times, side="left")
    surv = np.cumprod(1.0 - events / at_risk)
    x, s, n_risk, n_ev = [0.0, *times], [1.0, *surv], [t.size, *at_risk], [0, *events]
    end = float(t.max())
    if end > x[-1]:  # the curve goes on, flat, as long as someone is still followed
        x, s, n_risk, n_ev = [*x, end], [*s, s[-1]], [*n_risk, int((t >= end).sum())], [*n_ev, 0]
    return Survival(
        np.asarray(x), np.asarray(s), np.asarray(n_risk, int), np.asarray(n_ev, int), int(t.size), int(e.sum())
    )


def left_mask(learners: pd.DataFrame) -> np.ndarray:
    """Who left (the event): `leaving_day >= 0`; everyone else stayed and is censored at the end."""
    return learners["leaving_day"].to_numpy(dtype=float) >= 0


def first_answer(learners: pd.DataFrame) -> pd.Series:
    """Each learner's first question: 'answered', 'unanswered' or 'never asked' (from the nullable bool)."""
    col = learners["first_question_answered"].astype("boolean")
    asked = col.notna().to_numpy(dtype=bool)
    answered = col.fillna(False).to_numpy(dtype=bool)
    out = np.where(~asked, "never asked", np.where(answered, "answered", "unanswered"))
    return pd.Series(out, index=learners.index, dtype=object)


def survival_by(learners: pd.DataFrame, by: str) -> dict[str, Survival]:
    """Kaplan-Meier curves of tenure per confidence group and for all ('confidence'); or, for the members who
    asked, of the days after their first question by its fate ('first_answer': answered / unanswered). Time runs
    from the question, so the curves do not favour those who stayed long enough to ask. A split with no member
    is left out."""
    t = learners["tenure"].to_numpy(dtype=float)
    e = left_mask(learners)
    if by == "confidence":
        keys, labels = learners["confidence_group"].astype(str).to_numpy(), (*GROUPS, "all")
    elif by == "first_answer":
        keys, labels = first_answer(learners).to_numpy(), ASKED
        asked_on = learners["first_question_day"].to_numpy(dtype=float) - learners["joined_day"].to_numpy(dtype=float)
        t = np.where(keys == "never asked", t, t - asked_on)  # days a member after the first question
    else:
        raise ValueError(f"unknown split {by!r}")
    out: dict[str, Survival] = {}
    for label in labels:
        mask = np.ones(t.size, bool) if label == "all" else keys == label
        if mask.any():
            out[label] = kaplan_meier(t[mask], e[mask])
    return out


def groups_of(learners: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The learners of each confidence group, then everyone ('all'); groups with no member are kept (empty)."""
    g = learners["confidence_group"].astype(str)
    return {**{name: learners[g == name] for name in GROUPS}, "all": learners}
