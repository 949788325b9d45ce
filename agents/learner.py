"""The Mesa `Learner`: a thin view onto one row of the model's learner arrays.

The day itself is vectorised (sim/engine/day.py); these agents exist so Mesa's own
tools work on the model: `model.agents`, `AgentSet.select/groupby`, agent
reporters in a DataCollector. Reading an attribute reads the array, so a
Learner never holds stale state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from learncomm.sim.schema.vocab import GROUPS, STAGES, TUTORING_ROLES

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel


class Learner(mesa.Agent):
    """One learner; `index` is its row in `model.state`."""

    def __init__(self, model: CommunityModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def confidence_group(self) -> str:
        return GROUPS[int(self.model.state.group[self.index])]

    @property
    def confidence(self) -> float:
        return float(self.model.state.confidence[self.index])

    @property
    def motivation(self) -> float:
        return float(self.model.state.motivation[self.index])

    @property
    def access(self) -> float:
        return float(self.model.state.access[self.index])

    @property
    def knowledge(self) -> np.ndarray:
        """Mastery per topic (a copy: change the model's arrays, not this)."""
        return self.model.state.knowledge[self.index].copy()

    @property
    def mean_knowledge(self) -> float:
        return float(self.model.state.knowledge[self.index].mean())

    @property
    def interest(self) -> np.ndarray:
        return self.model.state.interest[self.index].copy()

    @property
    def stage(self) -> str:
        return STAGES[int(self.model.state.stage[self.index])]

    @property
    def active(self) -> bool:
        return bool(self.model.state.active[self.index])

    @property
    def tutoring_role(self) -> str:
        return TUTORING_ROLES[int(self.model.state.tutoring_role[self.index])]

    @property
    def communities(self) -> list[str]:
        return [self.model.world.names[c] for c in np.flatnonzero(self.model.state.membership[self.index])]

    def __repr__(self) -> str:
        status = "active" if self.active else "dropped"
        return f"Learner({self.index}, {self.confidence_group}, k={self.mean_knowledge:.2f}, {status})"
