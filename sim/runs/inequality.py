"""How unequal posting is: Gini, top shares and the 90-9-1 levels, one definition for run summaries,
the model check (sim/check/figures.py) and the dashboards. (The day's `posts_gini` column uses the same
Gini in an O(N) form over integer counts, sim/engine/metrics.gini_of_counts; tests/test_metrics.py checks
they agree.)"""

from __future__ import annotations

import numpy as np

LEVELS: tuple[str, ...] = ("lurker", "contributor", "superuser")  # the 90-9-1 levels (Nielsen 2006), by code


def gini(x: np.ndarray) -> float:
    """Gini coefficient over all values (zeros included): sum |xi - xj| / (2 n^2 mean); 0 when all are 0."""
    x = np.sort(np.asarray(x, dtype=np.float64))
    n, total = len(x), float(x.sum())
    if n == 0 or total == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float((2.0 * (i * x).sum()) / (n * total) - (n + 1.0) / n)


def top_count(n: int, fraction: float) -> int:
    """How many members the top `fraction` is: round(fraction * n), at least one."""
    return max(1, int(round(fraction * n)))


def top_share(x: np.ndarray, fraction: float) -> float:
    """Share of the total held by the top `fraction` of members (`top_count` of them)."""
    x = np.sort(np.asarray(x, dtype=np.float64))[::-1]
    total = float(x.sum())
    if total == 0:
        return 0.0
    return float(x[: top_count(len(x), fraction)].sum() / total)


def level_codes(posts: np.ndarray) -> np.ndarray:
    """90-9-1 level per member as an index into LEVELS: 0 lurker (no post), 2 superuser (the top 1% by posts, at
    least one member when anyone posted, ties broken by position), 1 contributor (everyone else who posted)."""
    posts = np.asarray(posts)
    out = np.where(posts > 0, 1, 0)
    posters = int((posts > 0).sum())
    if posters:
        k = min(posters, top_count(len(posts), 0.01))
        order = np.lexsort((np.arange(len(posts)), -posts))  # most posts first, then by position
        out[order[:k]] = 2
    return out


def activity_levels(posts: np.ndarray) -> np.ndarray:
    """The 90-9-1 level of each member by name (the `activity_level` column of learners.parquet)."""
    return np.asarray(LEVELS)[level_codes(posts)]
