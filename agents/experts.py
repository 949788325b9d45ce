"""Experts: the classroom teacher and the community facilitators.

An expert knows a topic almost fully. How often it answers questions, and
whether it scaffolds its answers to the learner's level, comes from the
community's setting (sim/engine/learning.py applies that). Each day it also shares
resources on the topics people asked about, which raises self-study gains
and the pull of those topics, as the experts of an open online course do
instead of teaching.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from learncomm.sim.schema.vocab import Mode

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel


class Expert(mesa.Agent):
    """A teacher (classroom) or facilitator (community) of one community."""

    def __init__(self, model: CommunityModel, community: int) -> None:
        super().__init__(model)
        self.community = community

    @property
    def role(self) -> str:
        return "teacher" if self.model.world.curriculum[self.community] is not None else "facilitator"

    def step(self) -> None:
        """Share resources on today's asked-about topics (every topic a little when nobody asked)."""
        world, day = self.model.world, self.model.last_day
        c = self.community
        rate = world.expert_resource_rate[c]
        if rate == 0.0 or day is None:
            return
        asked = (day.mode == Mode.ASK) & (day.community == c)
        wanted = np.bincount(day.topic[asked], minlength=world.resources.shape[1]) + 1.0
        share = wanted * world.topic_mask[c] / (wanted * world.topic_mask[c]).sum()
        world.resources[c] += rate * share * (1.0 - world.resources[c])
