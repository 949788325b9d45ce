"""The figures of an `Activity` (docs/check.md): the same code for an event log and a run.

Inequality of posts (Gini, top shares, the 90-9-1 split, the Lorenz curve), the community's activity over time
(posts per week, peak week, busiest fortnight against the last full fortnight), log-style leaving (posters
silent in the last 30 days, and of those, who posted for 30 days or less) and arrivals.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from learncomm.sim.check.log import Activity
from learncomm.sim.runs.inequality import gini, level_codes, top_share

LEFT_AFTER = 30.0  # a poster silent for the last 30 days has left (log-style)
EARLY = 30.0  # a leaver whose first-to-last post span is <= 30 days left early
LORENZ_POINTS = 200


def lorenz(x: np.ndarray, points: int = LORENZ_POINTS) -> tuple[list[float], list[float]]:
    """Lorenz curve (share of members from the least active, share of posts), at most `points` points."""
    x = np.sort(np.asarray(x, dtype=np.float64))
    n, total = len(x), float(x.sum())
    cx = np.arange(n + 1) / max(n, 1)
    cy = np.concatenate([[0.0], np.cumsum(x) / total]) if total > 0 else cx.copy()
    idx = np.unique(np.linspace(0, n, min(points, n + 1)).round().astype(int))
    return [float(v) for v in cx[idx]], [float(v) for v in cy[idx]]


def per_bin(daily: np.ndarray, width: int) -> np.ndarray:
    """Sums over consecutive bins of `width` days (the last one may be partial)."""
    daily = np.asarray(daily, dtype=np.int64)
    if len(daily) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.add.reduceat(daily, np.arange(0, len(daily), width))


@dataclass
class Figures:
    members: int
    posts: int
    horizon_days: float
    gini: float
    top1_share: float
    top10_share: float
    never_post: float
    lurkers: float  # 90-9-1 shares of members
    contributors: float
    superusers: float
    peak_week: int  # 1-based
    busiest_fortnight: int  # 1-based, over full fortnights
    busiest_fortnight_posts: int
    last_fortnight: int  # 1-based: the last full fortnight
    last_fortnight_posts: int
    decay_ratio: float  # busiest / max(last, 1)
    left: float  # share of posters silent in the last 30 days
    left_early: float  # of those, share whose first-to-last post span was <= 30 days
    median_arrival_day: float
    posts_per_week: list[int]
    arrivals_per_week: list[int]
    lorenz_x: list[float]
    lorenz_y: list[float]

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def figures(a: Activity) -> Figures:
    """Every figure of an `Activity`."""
    posts = a.posts
    n = a.n
    lv = level_codes(posts)
    weeks = per_bin(a.daily_posts, 7)
    full = int(math.floor(a.horizon / 14 + 1e-9))
    fort = per_bin(a.daily_posts, 14)[:full]
    if len(fort):
        busiest = int(np.argmax(fort))
        last = len(fort) - 1
        b_posts, l_posts = int(fort[busiest]), int(fort[last])
    else:
        busiest = last = -1
        b_posts = l_posts = 0
    posters = posts > 0
    left = posters & (a.last_post < a.horizon - LEFT_AFTER)
    early = left & (a.last_post - a.first_post <= EARLY)
    seen = a.first_seen[np.isfinite(a.first_seen)]
    arrivals = np.bincount(np.floor(seen / 7).astype(np.int64), minlength=len(weeks)) if len(seen) else weeks * 0
    lx, ly = lorenz(posts)
    return Figures(
        members=n,
        posts=int(posts.sum()),
        horizon_days=float(a.horizon),
        gini=gini(posts),
        top1_share=top_share(posts, 0.01),
        top10_share=top_share(posts, 0.10),
        never_post=float((~posters).mean()) if n else math.nan,
        lurkers=float((lv == 0).mean()),
        contributors=float((lv == 1).mean()),
        superusers=float((lv == 2).mean()),
        peak_week=int(np.argmax(weeks)) + 1 if len(weeks) and weeks.sum() > 0 else 0,
        busiest_fortnight=busiest + 1,
        busiest_fortnight_posts=b_posts,
        last_fortnight=last + 1,
        last_fortnight_posts=l_posts,
        decay_ratio=b_posts / max(l_posts, 1) if len(fort) else math.nan,
        left=float(left.sum() / posters.sum()) if posters.any() else math.nan,
        left_early=float(early.sum() / left.sum()) if left.any() else math.nan,
        median_arrival_day=float(np.median(seen)) if len(seen) else math.nan,
        posts_per_week=[int(v) for v in weeks],
        arrivals_per_week=[int(v) for v in arrivals],
        lorenz_x=lx,
        lorenz_y=ly,
    )
