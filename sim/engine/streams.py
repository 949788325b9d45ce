"""Named random streams derived from a run's seed, and the day's uniforms by purpose.

Each stream is seeded by the run's seed and a stable hash of its name (as
Starsim does), so adding a stream, or a draw on one stream, never shifts the
numbers of another.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields

import numpy as np

from learncomm.sim.engine.background import Ahead, second_thread


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator of stream `name` for `seed`: the same numbers for the same (seed, name), always."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(zlib.crc32(name.encode()),)))


@dataclass(frozen=True)
class Draws:
    """A day's uniforms, one value per learner for each purpose, each purpose from its own stream.

    Every learner gets every draw, whatever branch it takes, so two scenarios run with one seed
    share their random numbers learner by learner (common random numbers); and a new purpose
    is a new stream, which leaves every other draw as it was.
    """

    participation: np.ndarray  # takes part today
    community: np.ndarray  # which of its communities
    topic: np.ndarray  # which topic
    explain: np.ndarray  # explains, when ahead
    social: np.ndarray  # takes a social turn
    ask: np.ndarray  # asks in it (else observes)
    partner: np.ndarray  # which network neighbour answers
    expert: np.ndarray  # an expert answers instead
    exposure: np.ndarray  # a classroom cold call
    meetup: np.ndarray  # goes to a meetup
    source: np.ndarray  # an AI source answers an open question
    source_ok: np.ndarray  # its answer is right
    match: np.ndarray  # a social turn goes to the matched partner
    post: np.ndarray  # willing to post today (else reads: lurks)
    respond: np.ndarray  # the neighbour a question reaches responds
    leave: np.ndarray  # leaves the community today

    def take(self, rows: np.ndarray) -> Draws:
        """The draws of the learners `rows`, in that order."""
        return Draws(*(getattr(self, f.name)[rows] for f in fields(self)))

    @classmethod
    def full(cls, n: int, value: float) -> Draws:
        """Every draw of `n` learners set to `value` (for tests and worked examples)."""
        return cls(*(np.full(n, value) for _ in fields(cls)))


PURPOSES: tuple[str, ...] = tuple(f.name for f in fields(Draws))


class TakenDraws:
    """The draws of the learners `rows`, each purpose gathered on its first use: the present learners'
    turns read about half of the purposes, and a gather costs about what drawing the number did."""

    participation: np.ndarray
    community: np.ndarray
    topic: np.ndarray
    explain: np.ndarray
    social: np.ndarray
    ask: np.ndarray
    partner: np.ndarray
    expert: np.ndarray
    exposure: np.ndarray
    meetup: np.ndarray
    source: np.ndarray
    source_ok: np.ndarray
    match: np.ndarray
    post: np.ndarray
    respond: np.ndarray
    leave: np.ndarray

    def __init__(self, draws: Draws, rows: np.ndarray) -> None:
        self._draws, self._rows = draws, rows

    def __getattr__(self, name: str) -> np.ndarray:
        if name not in PURPOSES:
            raise AttributeError(name)
        value: np.ndarray = getattr(self._draws, name)[self._rows]
        self.__dict__[name] = value  # gathered once
        return value


class DayStreams:
    """The generators of the day's draws: one stream per purpose for the members, and one per purpose
    for a community manager's prospects (rows after the members), so the members' numbers do not
    depend on whether there are prospects.

    From `AHEAD_MIN` learners, tomorrow's draws are made on a second thread while today's day runs
    (NumPy fills arrays without the global interpreter lock), so on two cores they cost no wall time.
    The numbers are the same either way: the same generators draw the same counts in the same order.
    """

    def __init__(
        self,
        seed: int,
        members: int,
        prospects: int = 0,
        purposes: tuple[str, ...] = PURPOSES,
        ahead: bool | None = None,
    ) -> None:
        self.members, self.prospects, self.purposes = members, prospects, purposes
        self._members = [stream(seed, name.replace("_", "-")) for name in purposes]
        self._prospects = [stream(seed, "prospects-" + name.replace("_", "-")) for name in purposes]
        self.ahead = second_thread(members + prospects) if ahead is None else ahead
        self._next: Ahead[dict[str, np.ndarray]] | None = None

    def today(self, tomorrow: bool = True) -> Draws:
        """The next day's draws (float32: twice as fast to draw, and 2^-24 resolution is ample for daily chances).
        `tomorrow`: whether another day may follow (the last day starts drawing none ahead)."""
        drawn = self._next.result() if self._next is not None else self._draw_all()
        self._next = Ahead(self._draw_all) if self.ahead and tomorrow else None
        return Draws(*(drawn[name] for name in PURPOSES))

    def wait(self) -> None:
        """Wait until tomorrow's draws are made (benchmarks: nothing of this run's left running meanwhile)."""
        if self._next is not None:
            self._next.result()

    def _draw_all(self) -> dict[str, np.ndarray]:
        return {name: self._draw(i) for i, name in enumerate(self.purposes)}

    def _draw(self, i: int) -> np.ndarray:
        u = self._members[i].random(self.members, dtype=np.float32)
        if self.prospects:
            u = np.concatenate([u, self._prospects[i].random(self.prospects, dtype=np.float32)])
        return u
