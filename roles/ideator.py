"""The ideator: suggests the next exploration area (topic, level, resources) to a group with no leader."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypedDict

import numpy as np
from typing_extensions import ReadOnly

from learncomm.roles.base import Candidate, RoleSpec, valid_topic
from learncomm.roles.board import Board
from learncomm.roles.rows import community_rows
from learncomm.roles.snapshot import Snapshot
from learncomm.sim.schema.roles import Ideator

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel


BLOCK = 8192  # members read at a time by ready_topics
Level = Literal["beginner", "intermediate", "advanced"]


class Idea(TypedDict):
    topic: ReadOnly[int]
    level: ReadOnly[Level]


def level_of(k: float) -> Level:
    return "beginner" if k < 0.3 else "intermediate" if k < 0.6 else "advanced"


def ready_topics(model: CommunityModel, community: int) -> np.ndarray:
    """(T,) bool: topics whose every prerequisite some active member has mastered (`prerequisite_mastery`).

    A suggestion nobody can start from helps nobody: without the prerequisites, learning a topic runs at
    `prerequisite_floor` of its speed (docs/model.md), and there is no one in the group to ask.
    Only topics that are someone's prerequisite are looked at, and members are read in blocks until each
    of those has a master: usually the first block (no reading at all without prerequisites).
    """
    s, w = model.state, model.world
    needed = np.flatnonzero((w.prereq > 0).any(axis=1))  # topics that are a prerequisite of some topic
    mastered = np.zeros(w.prereq.shape[0], dtype=bool)
    if needed.size:
        act = community_rows(s, community).active
        found = np.zeros(needed.size, dtype=bool)
        for start in range(0, act.size, BLOCK):
            block = s.knowledge[np.ix_(act[start : start + BLOCK], needed)]
            found |= (block >= model.params.prerequisite_mastery).any(axis=0)
            if found.all():
                break
        mastered[needed] = found
    return np.asarray(~((w.prereq > 0) & ~mastered[:, None]).any(axis=0))


class IdeatorRole(RoleSpec[Ideator, Idea]):
    name = "ideator"
    purpose = "you suggest the next topic to explore together, at the right level, with resources."
    changes_observation = False  # pull, resources and a motivation boost applied tomorrow

    def __init__(self, board: Board | None = None) -> None:
        super().__init__(board)
        self.lifted: dict[int, tuple[int, float]] = {}  # community -> (topic, resources the suggestion added)
        self._ready: tuple[Snapshot, np.ndarray] | None = None  # ready_topics for the last snapshot seen

    def ready(self, snap: Snapshot, model: CommunityModel) -> np.ndarray:
        """ready_topics once per observation: candidates and validate read it on the same snapshot, and a
        snapshot is shared only while nothing it reads (members, knowledge, activity) has changed."""
        if self._ready is None or self._ready[0] is not snap:
            self._ready = (snap, ready_topics(model, snap.community))
        return self._ready[1]

    def candidates(self, snap: Snapshot, model: CommunityModel, cfg: Ideator) -> list[Candidate[Idea]]:
        """Topics members want and do not know yet and can start (prerequisites met): interest x room to grow,
        best first. No candidate (no decision) when no topic of the community can be started."""
        ready = self.ready(snap, model)
        open_ = [t for t in snap.topics if ready[t.index]]
        ranked = sorted(open_, key=lambda t: (-t.interest * (1.0 - t.mean_knowledge), t.index))[:3]
        return [
            Candidate(
                label=f"explore '{t.name}' at {level_of(t.mean_knowledge)} level "
                f"(wanted by {t.interest:.0%} of interest, mean knowledge {t.mean_knowledge:.2f})",
                decision={"topic": t.index, "level": level_of(t.mean_knowledge)},
                text=f"Next up: {t.name}, at {level_of(t.mean_knowledge)} level. "
                "New resources are in the shared folder; bring a question to the next meetup!",
            )
            for t in ranked
        ]

    def trigger(self, model: CommunityModel, community: int, cfg: Ideator, last_act: int) -> str | None:
        """Learning stalled: the members taking part today gained less than `stagnation` on average."""
        day = model.last_day
        if cfg.stagnation is None or day is None:
            return None
        here = day.present & (day.community == community)
        g = float(day.gain[here].mean()) if here.any() else 0.0
        return (
            f"learning stalled: members taking part gained {g:.4f} on average today (threshold {cfg.stagnation})"
            if g < cfg.stagnation
            else None
        )

    def validate(self, decision: Idea, snap: Snapshot, model: CommunityModel) -> str | None:
        if decision.get("level") not in ("beginner", "intermediate", "advanced"):
            return f"level {decision.get('level')!r} is not beginner, intermediate or advanced"
        bad = valid_topic(decision.get("topic"), snap)
        if bad is None and not self.ready(snap, model)[int(decision["topic"])]:
            return f"topic {decision['topic']} has a prerequisite no active member has mastered"
        return bad

    def act(self, model: CommunityModel, snap: Snapshot, decision: Idea, cfg: Ideator) -> None:
        c, t = snap.community, int(decision["topic"])
        lv, w, s = model.levers, model.world, model.state
        lv.pull[c] = 1.0
        lv.pull[c, t] = cfg.pull
        self.reset_resources(model, c)  # a new suggestion replaces the last one's resources
        lift = cfg.resource_boost * (1.0 - w.resources[c, t])
        w.resources[c, t] += lift
        self.lifted[c] = (t, lift)
        curious = np.flatnonzero(s.membership[:, c] & s.active & (s.interest[:, t] > 1.0 / s.interest.shape[1]))
        lv.add_boost(curious, cfg.novelty)
        self.hold(model, c, cfg.duration)

    def reset(self, model: CommunityModel, community: int) -> None:
        model.levers.pull[community] = 1.0
        self.reset_resources(model, community)

    def reset_resources(self, model: CommunityModel, community: int) -> None:
        """A suggestion's curated resources last `duration` days; then they are taken off again (what experts
        added meanwhile stays), so one decision no longer lifts a topic for good and the cadence matters."""
        t, lift = self.lifted.pop(community, (-1, 0.0))
        if t >= 0:
            model.world.resources[community, t] = max(0.0, model.world.resources[community, t] - lift)
