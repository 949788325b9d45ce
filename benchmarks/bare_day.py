"""The bare peer-learning day: the yardstick every engine figure is divided by (issue 16).

N learners, 8 topics, a random network of degree 8; each day every learner
picks one random neighbour and one random topic and learns a share of the
neighbour's lead on it. Nothing else: no participation, modes, confidence,
motivation, metrics or record. It is what a day cannot get cheaper than in
vectorised NumPy, so `engine time / bare time`, both measured in the same
process, is a speed figure that survives the 2x swings of a shared machine.
"""

from __future__ import annotations

import numpy as np

TOPICS = 8
DEGREE = 8
RATE = 0.1  # share of the neighbour's lead learned


class BareDay:
    """State of the bare model: knowledge (N, 8) float64 and a fixed (N, 8) neighbour table."""

    def __init__(self, learners: int, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.n = learners
        self.knowledge = self.rng.random((learners, TOPICS)) * 0.5
        self.neighbours = self.rng.integers(0, learners, size=(learners, DEGREE))  # a random degree-8 network
        self.rows = np.arange(learners)

    def step(self) -> None:
        """One day: a random neighbour and topic per learner, gain from a positive lead, capped at 1."""
        rng, k = self.rng, self.knowledge
        topic = rng.integers(0, TOPICS, size=self.n)
        partner = self.neighbours[self.rows, rng.integers(0, DEGREE, size=self.n)]
        mine = k[self.rows, topic]
        lead = k[partner, topic] - mine
        k[self.rows, topic] = np.minimum(1.0, mine + RATE * np.maximum(lead, 0.0))


def run_bare(learners: int, days: int, seed: int = 0) -> BareDay:
    """A whole bare run (set-up included: it is small next to the days)."""
    model = BareDay(learners, seed)
    for _ in range(days):
        model.step()
    return model
