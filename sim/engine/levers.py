"""What outside actors (experts, AI roles) can set, and how the day applies it.

Roles change the community only through these levers, so the learners' day
stays one vectorised function and a role's effect is easy to find and test.
Each effect's size comes from the role's scenario block (sim/schema/roles.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from learncomm.agents.state import LearnerState
from learncomm.sim.engine.zpd import zpd_gain
from learncomm.sim.schema.roles import Benchmarker, Source
from learncomm.sim.schema.scenario import Params


@dataclass
class Meeting:
    """A meetup a role scheduled: on `day` (0-based), in `community`, on `topic`."""

    day: int
    community: int
    topic: int
    online: bool
    reach: float
    attend_propensity: float


@dataclass
class Levers:
    """Every lever exists from the model's start with a neutral value, so the day never asks whether a role
    has acted; `Levers.neutral` makes them."""

    pull: np.ndarray  # (C, T) pull multiplier of a topic (suggestions), 1 = none
    boost: np.ndarray  # (N,) one-off motivation change (nudges, novelty), taken by the next day
    reply: np.ndarray  # (N,) one-off reinforcement of posting (a welcome, like a reply), taken by the next day
    summary_share: np.ndarray  # (C,) share of a meetup's gain absent members get from notes, 0 = no notes
    marks: np.ndarray  # (C, T) benchmark marks, NaN where none
    source: np.ndarray  # (C,) bool: an AI source answers open questions there
    match: np.ndarray  # (N,) matched partner or -1
    welcomed: np.ndarray  # (N,) bool: a community manager has welcomed this learner
    meetings: list[Meeting] = field(default_factory=list)  # role-scheduled meetups
    benchmark: Benchmarker = field(default_factory=Benchmarker)  # effect sizes of the marks
    source_cfg: Source = field(default_factory=Source)  # effect sizes of the AI source
    match_use: float = 0.0  # chance a social turn goes to the matched partner
    welcome_patience: float = 0.0  # a welcomed learner's dropout patience is multiplied by 1 + this

    @classmethod
    def neutral(cls, learners: int, communities: int, topics: int) -> Levers:
        """Levers no role has touched: the day runs as if there were no roles."""
        return cls(
            pull=np.ones((communities, topics)),
            boost=np.zeros(learners),
            reply=np.zeros(learners),
            summary_share=np.zeros(communities),
            marks=np.full((communities, topics), np.nan),
            source=np.zeros(communities, dtype=bool),
            match=np.full(learners, -1, dtype=np.int64),
            welcomed=np.zeros(learners, dtype=bool),
        )

    def add_boost(self, who: np.ndarray, amount: float) -> None:
        self.boost[who] += amount

    def take_boost(self) -> np.ndarray | None:
        """The one-off changes roles made since the last day, handed to the day once (None: there are none)."""
        return self._take("boost")

    def add_reply(self, who: np.ndarray, amount: float) -> None:
        self.reply[who] += amount

    def take_reply(self) -> np.ndarray | None:
        """The reinforcement roles' replies gave since the last day, handed to the day once (None: none)."""
        return self._take("reply")

    def _take(self, name: str) -> np.ndarray | None:
        taken: np.ndarray = getattr(self, name)
        if not taken.any():
            return None
        setattr(self, name, np.zeros_like(taken))
        return taken

    def patience(self) -> np.ndarray | None:
        """Each learner's dropout patience factor: longer for the welcomed (None: nobody's is stretched)."""
        if self.welcome_patience == 0.0:
            return None
        return 1.0 + self.welcome_patience * self.welcomed


def benchmark_effect(state: LearnerState, lv: Levers, idx: np.ndarray, comm: np.ndarray, topic: np.ndarray) -> None:
    """Goal gradient near a shown mark; discouragement for the unconfident far below it."""
    if np.isnan(lv.marks).all():  # no marks shown: the common case costs nothing
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
    # only their rows moved (everyone else is in [0, 1] already): no pass over every learner
    state.motivation[who] = np.clip(state.motivation[who], 0.0, 1.0)
    state.confidence[who] = np.clip(state.confidence[who], 0.0, 1.0)


def meeting_summaries(
    state: LearnerState,
    lv: Levers,
    p: Params,
    readers: np.ndarray,
    meet_topic: dict[int, int],
    meet_level: np.ndarray,
) -> np.ndarray:
    """Members of a community that met today who were not at the meetup but take part today (`readers`: they
    visit and can read the notes) take part of the meetup's gain from its notes.

    Applied to knowledge here (computed from the start-of-day state); returns each learner's gain.
    """
    gain = np.zeros(state.n)
    if not meet_topic:
        return gain
    for c, t in meet_topic.items():
        share = lv.summary_share[c]
        if share <= 0.0:
            continue
        absent = np.flatnonzero(state.membership[:, c] & readers)
        got = share * p.alpha_meet * zpd_gain(meet_level[c, t] - state.knowledge[absent, t], p.zpd_peak)
        state.knowledge[absent, t] = np.minimum(1.0, state.knowledge[absent, t] + got)
        gain[absent] += got
    return gain
