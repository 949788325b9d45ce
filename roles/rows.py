"""A community's rows, and reductions over them that give the same floats as over all learners, faster.

At 1,000,000 learners a community has a few hundred thousand members: an observation finds their rows
once (streaming boolean passes over the membership column, the cheapest pass there is) and reads
knowledge, interest and the rest on those rows only (`np.take`, about three times faster than
fancy indexing), never over every learner with 0/1 weights. An action that picks a few members needs
no rows: one fused boolean pass over the learners is cheaper (docs/roles.md, "What a role sees").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from learncomm.agents.state import LearnerState


@dataclass(frozen=True, slots=True)
class Rows:
    """Row numbers, ascending (the order a boolean mask over all learners gives)."""

    members: np.ndarray  # joined (those who dropped out included)
    active: np.ndarray  # joined and still active (an active learner has always joined)
    waiting: np.ndarray  # not joined yet: prospects (joined_day -1) and later arrivals


def community_rows(state: LearnerState, community: int) -> Rows:
    """The community's rows: read these after anything that changes who has joined or is active."""
    enrolled = state.membership[:, community]
    joined = enrolled & state.joined
    return Rows(np.flatnonzero(joined), np.flatnonzero(joined & state.active), np.flatnonzero(enrolled & ~state.joined))


def column_sums(x: np.ndarray) -> np.ndarray:
    """x.sum(axis=0) of a C-ordered (R, K) array, the same floats: numpy adds the rows one after another
    for K >= 2, and so does einsum, four times faster (tests/test_roles_rows.py checks they agree).
    A single column is a 1-D sum, which numpy adds pairwise: left to numpy."""
    if x.ndim != 2 or x.shape[1] < 2 or not x.flags.c_contiguous:
        return np.asarray(x.sum(axis=0))
    return np.einsum("it->t", x)


def column_counts(x: np.ndarray) -> np.ndarray:
    """(K,) int64: True values per column of a boolean (R, K) array (counts: any order of adding is exact)."""
    return np.array([np.count_nonzero(x[:, j]) for j in range(x.shape[1])], dtype=np.int64)
