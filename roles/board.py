"""The roles' shared board: what they remember of each other, how long their effects hold, today's
observations, and the record of every decision. Off the model: the model only steps its roles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from learncomm.roles.record import Intervention
from learncomm.roles.snapshot import Snapshot

if TYPE_CHECKING:
    from learncomm.roles.base import RoleSpec

D = TypeVar("D", bound=Mapping[str, object])


@dataclass
class Board:
    """One model's roles share one board; each key is (role name, community index)."""

    memory: dict[tuple[str, int], Mapping[str, object]] = field(default_factory=dict)  # last decision
    holds: dict[tuple[str, int], int] = field(default_factory=dict)  # day the effect ends
    observations: dict[tuple[int, int], Snapshot] = field(default_factory=dict)  # (day, community)
    interventions: list[Intervention] = field(default_factory=list)

    def recall(self, role: type[RoleSpec[Any, D]], community: int) -> D | None:
        """`role`'s last decision in `community`, so roles can build on each other (the secretary on the ideator)."""
        return cast("D | None", self.memory.get((role.name, community)))
