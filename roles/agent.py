"""RoleAgent: a Mesa agent whose step runs its role's LangGraph graph on its cadence."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa

from learncomm.roles.base import RoleSpec
from learncomm.roles.benchmarker import BenchmarkerRole
from learncomm.roles.graph import RoleContext, role_graph
from learncomm.roles.ideator import IdeatorRole
from learncomm.roles.manager import ManagerRole
from learncomm.roles.matchmaker import MatchmakerRole
from learncomm.roles.secretary import SecretaryRole
from learncomm.roles.source import SourceRole
from learncomm.sim.schema.roles import RoleBase

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel

SPECS: dict[str, type[RoleSpec]] = {
    "ideator": IdeatorRole,
    "secretary": SecretaryRole,
    "benchmarker": BenchmarkerRole,
    "source": SourceRole,
    "manager": ManagerRole,
    "matchmaker": MatchmakerRole,
}


class RoleAgent(mesa.Agent):
    """One AI role serving one community."""

    def __init__(self, model: CommunityModel, spec: RoleSpec, cfg: RoleBase, community: int, decider: Any) -> None:
        super().__init__(model)
        self.spec, self.cfg, self.community, self.decider = spec, cfg, community, decider
        self.last_act = -(10**9)  # day of this role's last decision

    def due(self) -> bool:
        d = self.model.day
        return d >= self.cfg.start_day and (d - self.cfg.start_day) % self.cfg.cadence == 0

    def step(self) -> None:
        """Act on the cadence, or early when the role's trigger fires (at most once per `cooldown` days)."""
        self.spec.expire(self.model, self.community, self.cfg)
        why: str | None = "cadence" if self.due() else None
        if why is None and self.model.day - self.last_act >= self.cfg.cooldown and self.model.day >= self.cfg.start_day:
            why = self.spec.trigger(self.model, self.community, self.cfg, self.last_act)
        if why is not None:
            self.last_act = self.model.day
            role_graph().invoke({"trigger": why}, context=RoleContext(agent=self))
