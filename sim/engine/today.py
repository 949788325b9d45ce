"""What the phases of a day share: the day's context, where everyone is, the present learners' turns.

The day (sim/engine/day.py) passes these few objects from phase to phase
instead of a dozen loose arrays, so each phase's inputs can be read off its
signature. Arrays over every learner live in `Plan`; arrays over the present
learners only (aligned with `Turns.idx`) live in `Turns`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from learncomm.agents.state import LearnerState
from learncomm.sim.engine.levers import Levers
from learncomm.sim.engine.streams import Draws, TakenDraws
from learncomm.sim.engine.world import World
from learncomm.sim.schema.scenario import Params


def cells(a: np.ndarray) -> np.ndarray:
    """A 2-D array's cells in one flat view (never a copy: NumPy raises instead): a (learner, column) cell read
    through one flat index costs half of `a[rows, cols]` (`Turns.cell`, the day's counts)."""
    return a.reshape(-1, copy=False)


@dataclass
class Day:
    """The context of one day: the learners, their world, the model's parameters, the roles' levers."""

    state: LearnerState
    world: World
    p: Params
    levers: Levers
    number: int  # 0 on the first day
    draws: Draws  # today's uniforms of every learner
    sessions_per_week: int = 0  # tutoring sessions (0: no tutoring programme)
    ahead: bool = False  # a large run: independent work of the day overlaps on a second thread (background.py)


@dataclass
class Plan:
    """Where every learner is today, (N,) arrays: filled by the day's first phases."""

    meet: np.ndarray  # bool: at a meetup
    comm: np.ndarray  # int64: the community it works in
    topic: np.ndarray  # int64: its topic, -1 until chosen
    present: np.ndarray = field(init=False)  # bool: takes part
    tutoring: np.ndarray = field(init=False)  # bool: in a tutoring session

    def __post_init__(self) -> None:
        self.present = self.meet.copy()
        self.tutoring = np.zeros_like(self.meet)


@dataclass
class HeldMeetups:
    """Today's meetups, each read from the start-of-day state."""

    attendance: dict[int, int]  # community -> attendees
    topic: dict[int, int]  # community -> topic
    level: np.ndarray  # (C, T) the attendees' mean knowledge of the meetup's topic, 0 elsewhere


@dataclass
class Turns:
    """The present learners and what they do: entry j of every array is learner `idx[j]`."""

    idx: np.ndarray  # rows of the present learners
    comm: np.ndarray
    topic: np.ndarray
    u: Draws | TakenDraws  # their uniforms
    private: np.ndarray  # bool: a tutoring session (no power gap, no audience)
    cell: np.ndarray  # flat index of (learner, topic) in an (N, T) array: half the cost of (row, column) indexing
    known: np.ndarray  # knowledge of the topic at the start of the day (read by the mode and by learning)
    mode: np.ndarray = field(init=False)  # int8 Mode, set by choose_modes
    lead: np.ndarray = field(init=False)  # knowledge minus the audience's on the topic, set by choose_modes
    exposed: np.ndarray = field(init=False)  # bool: a gap shown in public hurt, set by the day's `feel`

    def __post_init__(self) -> None:
        self.mode = np.full(self.idx.size, -1, dtype=np.int8)
        self.lead = np.zeros(self.idx.size)
        self.exposed = np.zeros(self.idx.size, dtype=bool)

    @classmethod
    def at(
        cls,
        state: LearnerState,
        idx: np.ndarray,
        comm: np.ndarray,
        topic: np.ndarray,
        u: Draws | TakenDraws,
        private: np.ndarray,
    ) -> Turns:
        """The turns of the learners `idx` on `topic`, with their cells and their knowledge of it now."""
        cell = idx * state.knowledge.shape[1] + topic
        known = cells(state.knowledge)[cell]
        return cls(idx=idx, comm=comm, topic=topic, u=u, private=private, cell=cell, known=known)
