"""What outside actors (experts, AI roles) can set, and how the day applies it.

Roles change the community only through these levers, so the learners' day
stays one vectorised function and a role's effect is easy to find and test.
Each effect's size comes from the role's scenario block (sim/schema/roles.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from learncomm.agents.state import LearnerState
from learncomm.sim.schema.roles import Benchmarker, Source


@dataclass
class Meeting:
    """A meetup a role scheduled: on `day` (0-based), in `community`, on `topic`."""

    day: int
    community: int
    topic: int
    online: bool
    reach: float
    attend_propensity: float
    invited: np.ndarray | None = None  # (N,) bool; None: every member


@dataclass
class Levers:
    pull: np.ndarray  # (C, T) pull multiplier of a topic (suggestions)
    agenda: dict[int, int] = field(default_factory=dict)  # community -> topic of its next scenario meetup
    boost: np.ndarray | None = None  # (N,) one-off motivation change (nudges, novelty), cleared after use
    meetings: list[Meeting] = field(default_factory=list)  # role-scheduled meetups
    summary_share: np.ndarray | None = None  # (C,) share of a meetup's gain absent members get from notes
    marks: np.ndarray | None = None  # (C, T) benchmark marks, NaN where none
    benchmark: Benchmarker | None = None
    source: np.ndarray | None = None  # (C,) bool: an AI source answers open questions there
    source_cfg: Source | None = None
    match: np.ndarray | None = None  # (N,) matched partner or -1
    match_use: float = 0.0
    welcomed: np.ndarray | None = None  # (N,) bool: a community manager has welcomed this learner
    welcome_patience: float = 0.0  # a welcomed learner's dropout patience is multiplied by 1 + this

    def add_boost(self, who: np.ndarray, amount: float, n: int) -> None:
        if self.boost is None:
            self.boost = np.zeros(n)
        self.boost[who] += amount


def benchmark_effect(state: LearnerState, lv: Levers, idx: np.ndarray, comm: np.ndarray, topic: np.ndarray) -> None:
    """Goal gradient near a shown mark; discouragement for the unconfident far below it."""
    if lv.marks is None or lv.benchmark is None:
        return
    mark = lv.marks[comm, topic]
    has = ~np.isnan(mark)
    if not has.any():
        return
    b, who = lv.benchmark, idx[has]
    dist = np.maximum(mark[has] - state.knowledge[who, topic[has]], 0.0)
    near = dist <= b.near
    state.motivation[who[near]] += b.pull * (1.0 - dist[near] / max(b.near, 1e-9))
    far = ~near & (state.confidence[who] < b.low_confidence)
    how_far = (dist[far] - b.near) / max(1.0 - b.near, 1e-9)
    state.motivation[who[far]] -= b.discourage * how_far
    state.confidence[who[far]] -= b.confidence_cost * how_far
    np.clip(state.motivation, 0.0, 1.0, out=state.motivation)
    np.clip(state.confidence, 0.0, 1.0, out=state.confidence)


def meeting_summaries(
    state: LearnerState,
    lv: Levers,
    attended: np.ndarray,
    meet_topic: dict[int, int],
    meet_level: np.ndarray,
    alpha_meet: float,
    peak: float,
) -> np.ndarray:
    """Absent members of a community that met today take part of the meetup's gain from its notes.

    Applied to knowledge here (computed from the start-of-day state); returns each learner's gain.
    """
    from learncomm.sim.engine.learning import zpd_gain

    gain = np.zeros(state.n)
    if lv.summary_share is None or not meet_topic:
        return gain
    for c, t in meet_topic.items():
        share = lv.summary_share[c]
        if share <= 0.0:
            continue
        absent = np.flatnonzero(state.membership[:, c] & state.active & ~attended)
        got = share * alpha_meet * zpd_gain(meet_level[c, t] - state.knowledge[absent, t], peak)
        state.knowledge[absent, t] = np.minimum(1.0, state.knowledge[absent, t] + got)
        gain[absent] += got
    return gain
