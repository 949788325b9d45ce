"""Learner state as arrays, one row per learner (the population is drawn in agents/population.py).

The learners' day is vectorised over these arrays (sim/engine/day.py); the Mesa
`Learner` agents are thin views onto one row each (agents/learner.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from learncomm.sim.schema.vocab import COUNTS, Stage, TutoringRole


@dataclass
class LearnerState:
    """Everything that changes about learners during a run."""

    knowledge: np.ndarray  # (N, T) mastery per topic
    interest: np.ndarray  # (N, T) sums to 1 per learner
    confidence: np.ndarray  # (N,)
    motivation: np.ndarray  # (N,)
    baseline_motivation: np.ndarray  # (N,) the trait motivation rests back to
    access: np.ndarray  # (N,) chance of being able to take part on a day
    access_class: np.ndarray  # (N,) index into population.access
    available: np.ndarray  # (N, 7) weekdays free for a meetup
    group: np.ndarray  # (N,) 0 low, 1 medium, 2 high confidence group
    membership: np.ndarray  # (N, C) member of community c
    activity: np.ndarray  # (N,) lasting propensity to post, heavy-tailed (median 1), separate from confidence
    initial_knowledge: np.ndarray = field(init=False)
    initial_mean_knowledge: np.ndarray = field(init=False)  # (N,) for the daily gain outcome
    initial_confidence: np.ndarray = field(init=False)
    initial_motivation: np.ndarray = field(init=False)
    expectation: np.ndarray = field(init=False)  # (N,) expected daily gain (moving average)
    stage: np.ndarray = field(init=False)  # (N,) Stage: newcomer, regular, core
    active: np.ndarray = field(init=False)  # (N,) false once dropped out
    leaving_day: np.ndarray = field(init=False)  # (N,) day it left (timeseries numbering), -1 while a member
    low_streak: np.ndarray = field(init=False)  # (N,) days in a row below the dropout threshold
    counts: np.ndarray = field(init=False)  # (N, 7) by Count: days present, one column per mode, answers
    tutoring_role: np.ndarray = field(init=False)  # (N,) TutoringRole: none, tutor, tutee
    tutoring_partner: np.ndarray = field(init=False)  # (N,) the other member of the pair, -1 if none
    joined: np.ndarray = field(init=False)  # (N,) false for prospects a community manager has not reached yet
    joined_day: np.ndarray = field(init=False)  # (N,) first day it can take part (0: from the start), -1 if never
    reinforcement: np.ndarray = field(init=False)  # (N,) log-multiplier of the propensity to post, from responses
    bonds: np.ndarray = field(init=False)  # (N,) ties and successes: responses, answers given, explanations, meetups
    posts: np.ndarray = field(init=False)  # (N,) public posts: questions, explanations, answers to peers
    first_post_day: np.ndarray = field(init=False)  # (N,) -1 until the first post
    last_post_day: np.ndarray = field(init=False)
    first_question_day: np.ndarray = field(init=False)  # (N,) -1 until the first public question
    first_question_answered: np.ndarray = field(init=False)  # (N,) int8: -1 never asked, 0 no response, 1 a response
    unanswered: np.ndarray = field(init=False)  # (N,) public questions without a response
    last_active_day: np.ndarray = field(init=False)  # (N,) last day it took part, -1 if never

    def __post_init__(self) -> None:
        n = self.knowledge.shape[0]
        self.initial_knowledge = self.knowledge.copy()
        self.initial_mean_knowledge = self.knowledge.mean(axis=1)
        self.initial_confidence = self.confidence.copy()
        self.initial_motivation = self.motivation.copy()
        self.expectation = np.zeros(n)
        self.stage = np.full(n, Stage.NEWCOMER, dtype=np.int8)
        self.active = np.ones(n, dtype=bool)
        self.leaving_day = np.full(n, -1, dtype=np.int32)
        self.low_streak = np.zeros(n, dtype=np.int32)
        self.counts = np.zeros((n, len(COUNTS)), dtype=np.int32)
        self.tutoring_role = np.full(n, TutoringRole.NONE, dtype=np.int8)
        self.tutoring_partner = np.full(n, -1, dtype=np.int64)
        self.joined = np.ones(n, dtype=bool)
        self.joined_day = np.zeros(n, dtype=np.int32)
        self.reinforcement = np.zeros(n)
        self.bonds = np.zeros(n, dtype=np.int32)
        self.posts = np.zeros(n, dtype=np.int32)
        self.first_post_day = np.full(n, -1, dtype=np.int32)
        self.last_post_day = np.full(n, -1, dtype=np.int32)
        self.first_question_day = np.full(n, -1, dtype=np.int32)
        self.first_question_answered = np.full(n, -1, dtype=np.int8)
        self.unanswered = np.zeros(n, dtype=np.int32)
        self.last_active_day = np.full(n, -1, dtype=np.int32)

    @cached_property
    def interest_by_topic(self) -> np.ndarray:
        """(T, N) the interests topic by topic, contiguous: choosing topics gathers long rows, not six-wide ones.

        Interests never change once the days begin: from the first use of this copy `interest` is read-only, so
        a change that would leave the copy stale fails loudly instead."""
        self.interest.flags.writeable = False
        return np.ascontiguousarray(self.interest.T)

    @property
    def prospect(self) -> np.ndarray:
        """(N,) people a community manager's outreach can still bring in (not members yet, none scheduled)."""
        return ~self.joined & (self.joined_day < 0)

    @property
    def n(self) -> int:
        return int(self.knowledge.shape[0])
