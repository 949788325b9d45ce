"""RoleAgent: a Mesa agent whose step runs its role's LangGraph graph on its cadence."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic

import mesa

from learncomm.roles.base import C, D, RoleSpec
from learncomm.roles.deciders import Decider
from learncomm.roles.graph import RoleContext, role_graph

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel


class RoleAgent(mesa.Agent, Generic[C, D]):
    """One AI role serving one community."""

    model: CommunityModel

    def __init__(self, model: CommunityModel, spec: RoleSpec[C, D], cfg: C, community: int, decider: Decider) -> None:
        super().__init__(model)
        self.spec, self.cfg, self.community, self.decider = spec, cfg, community, decider
        self.board = spec.board  # shared by all the model's roles
        self.last_act = -(10**9)  # day of this role's last decision

    def due(self) -> bool:
        d = self.model.day
        return d >= self.cfg.start_day and (d - self.cfg.start_day) % self.cfg.cadence == 0

    def step(self) -> None:
        """Act on the cadence, or early when the role's trigger fires (at most once per `cooldown` days)."""
        self.spec.expire(self.model, self.community)
        why: str | None = "cadence" if self.due() else None
        if why is None and self.model.day - self.last_act >= self.cfg.cooldown and self.model.day >= self.cfg.start_day:
            why = self.spec.trigger(self.model, self.community, self.cfg, self.last_act)
        if why is not None:
            self.last_act = self.model.day
            role_graph().invoke({"trigger": why}, context=RoleContext(agent=self))
