"""The summary figures a calibration compares, and the distance between a log's and a run's (docs/calibration.md).

Both sides reduce to the model check's `Activity` (sim/check/log.py), so a log and a run are measured by the same
code. Each figure is scale-free or put on a common grid, and each term of the distance lies in [0, 1], so the
terms add up without weights: Lorenz curve (mean absolute gap), share of non-posters (absolute gap), survival of
posters by tenure (Kolmogorov-Smirnov), activity per week and arrivals per week (total variation of the weekly
shares) and posts per member (log ratio, one decade = 1).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from learncomm.sim.check.log import Activity
from learncomm.sim.runs.inequality import gini, top_share

GRID = np.linspace(0.0, 1.0, 101)  # the Lorenz curves' x: share of members, least active first
TERMS = ("lorenz", "never_post", "tenure", "weekly", "arrivals", "volume")
SURVIVAL_POINTS = 60


@dataclass
class CalFigures:
    """The figures of one side (log or run), small enough to keep per trial in JSON."""

    members: int
    posts: int
    days: float
    posts_per_member: float
    gini: float
    top10_share: float
    never_post: float
    lorenz: list[float]  # share of posts at GRID
    spans: list[float]  # sorted posting spans (last - first post, days) of posters, at most 2,000 quantiles
    weekly: list[float]  # share of posts per week
    arrivals: list[float]  # share of arrivals per week
    arrival_kind: str  # "first seen" (logs with recipients; a run's joined day) or "first post"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CalFigures:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


def _shares(counts: np.ndarray) -> list[float]:
    total = float(np.sum(counts))
    return [float(v) / total for v in counts] if total > 0 else [0.0] * len(counts)


def _weekly(values: np.ndarray, weeks: int) -> np.ndarray:
    values = values[np.isfinite(values)]
    idx = np.clip(np.floor(values / 7.0).astype(np.int64), 0, weeks - 1)
    return np.bincount(idx, minlength=weeks)


def cal_figures(a: Activity, arrival_kind: str) -> CalFigures:
    """The calibration figures of an `Activity`; `arrival_kind` says which day is a member's arrival, the same for
    the log and the runs compared with it."""
    posts = a.posts.astype(np.float64)
    n, total = len(posts), float(posts.sum())
    weeks = max(1, math.ceil((a.horizon + 1e-9) / 7.0))
    daily = np.asarray(a.daily_posts, dtype=np.float64)
    weekly = np.bincount(np.minimum(np.arange(len(daily)) // 7, weeks - 1), weights=daily, minlength=weeks)
    xs = np.sort(posts)
    cum = np.concatenate([[0.0], np.cumsum(xs)]) / total if total > 0 else np.linspace(0, 1, n + 1)
    lor = np.interp(GRID, np.arange(n + 1) / n, cum)
    posters = a.posts > 0
    spans = np.sort((a.last_post - a.first_post)[posters])
    if len(spans) > 2000:
        spans = np.quantile(spans, np.linspace(0, 1, 2000))
    arrive = a.first_seen if arrival_kind == "first seen" else a.first_post
    return CalFigures(
        members=n,
        posts=int(total),
        days=float(a.horizon),
        posts_per_member=total / n if n else 0.0,
        gini=gini(a.posts),
        top10_share=top_share(a.posts, 0.10),
        never_post=float((~posters).mean()) if n else 0.0,
        lorenz=[round(float(v), 6) for v in lor],
        spans=[round(float(v), 4) for v in spans],
        weekly=_shares(weekly),
        arrivals=_shares(_weekly(np.asarray(arrive, dtype=np.float64), weeks)),
        arrival_kind=arrival_kind,
    )


def survival(spans: list[float], at: np.ndarray) -> np.ndarray:
    """Share of posters whose posting span exceeds each day in `at` (1 at 0 when every poster posted twice)."""
    s = np.asarray(spans, dtype=np.float64)
    if len(s) == 0:
        return np.zeros(len(at))
    return 1.0 - np.searchsorted(s, at, side="right") / len(s)


def _tv(p: list[float], q: list[float]) -> float:
    m = max(len(p), len(q))
    a, b = np.zeros(m), np.zeros(m)
    a[: len(p)], b[: len(q)] = p, q
    return float(0.5 * np.abs(a - b).sum())


def _ks(a: list[float], b: list[float]) -> float:
    if not a and not b:
        return 0.0
    if not a or not b:
        return 1.0
    at = np.unique(np.concatenate([a, b]))
    return float(np.max(np.abs(survival(a, at) - survival(b, at))))


def terms(data: CalFigures, sim: CalFigures) -> dict[str, float]:
    """Each term of the distance, in [0, 1]; see the module docstring."""
    ratio = (sim.posts_per_member + 1e-9) / (data.posts_per_member + 1e-9)
    return {
        "lorenz": float(np.mean(np.abs(np.asarray(data.lorenz) - np.asarray(sim.lorenz)))) * 2.0,
        "never_post": abs(data.never_post - sim.never_post),
        "tenure": _ks(data.spans, sim.spans),
        "weekly": _tv(data.weekly, sim.weekly),
        "arrivals": _tv(data.arrivals, sim.arrivals),
        "volume": min(1.0, abs(math.log10(ratio))),
    }


def distance(data: CalFigures, sim: CalFigures) -> tuple[float, dict[str, float]]:
    """The sum of the terms (0 = the same figures; at most len(TERMS))."""
    t = terms(data, sim)
    return float(sum(t.values())), t


def arrival_kind(log: Activity) -> str:
    """A log with recipients shows when a member first appears; a posts-only log only their first post."""
    return "first seen" if "recipient" in log.columns else "first post"


def rescaled(a: Activity, scale: float) -> Activity:
    """The activity with time divided by `scale` (one simulated day = `scale` log days), for logs longer than the
    longest simulation (docs/calibration.md)."""
    if scale == 1.0:
        return a
    daily = np.asarray(a.daily_posts, dtype=np.float64)
    idx = np.floor(np.arange(len(daily)) / scale).astype(np.int64)
    return Activity(
        posts=a.posts,
        first_post=a.first_post / scale,
        last_post=a.last_post / scale,
        first_seen=a.first_seen / scale,
        daily_posts=np.bincount(idx, weights=daily).round().astype(np.int64),
        horizon=a.horizon / scale,
        source=a.source,
        columns=a.columns,
        members_listed=a.members_listed,
    )
