"""The secretary: organises meetups when most members are free, nudges the disengaged, shares notes."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import numpy as np
from typing_extensions import ReadOnly

from learncomm.roles.base import Candidate, RoleSpec, valid_topic
from learncomm.roles.ideator import IdeatorRole
from learncomm.roles.snapshot import Snapshot
from learncomm.sim.engine.levers import Meeting
from learncomm.sim.schema.roles import Secretary

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Meetup(TypedDict):
    day: ReadOnly[int]  # the meetup's day (index of a model day)
    topic: ReadOnly[int]
    nudge: ReadOnly[bool]  # also nudge the disengaged


class SecretaryRole(RoleSpec[Secretary, Meetup]):
    name = "secretary"
    purpose = "you organise meetups on the days most members are free, nudge members who drift away, and share notes."
    changes_observation = False  # meetings, notes and nudges applied tomorrow

    def candidates(self, snap: Snapshot, model: CommunityModel, cfg: Secretary) -> list[Candidate[Meetup]]:
        """The next seven days ranked by how many active members are free; the ideator's topic first."""
        idea = self.board.recall(IdeatorRole, snap.community)
        topic = int(idea["topic"]) if idea else max(snap.topics, key=lambda t: (t.interest, -t.index)).index
        name = next(t.name for t in snap.topics if t.index == topic)
        start = model.day  # index of the next day to run
        days = sorted(range(start, start + 7), key=lambda d: (-snap.weekday_free[d % 7], d))[:3]
        return [
            Candidate(
                label=f"meetup on {WEEKDAYS[d % 7]} (in {d - start + 1} days, "
                f"{snap.weekday_free[d % 7]} members free) about '{name}'",
                decision={"day": d, "topic": topic, "nudge": snap.disengaged > 0},
                text=f"Meetup on {WEEKDAYS[d % 7]} about {name}. Can't come? Notes will be shared afterwards.",
            )
            for d in days
        ]

    def trigger(self, model: CommunityModel, community: int, cfg: Secretary, last_act: int) -> str | None:
        """Attendance fell: today's meetup drew `attendance_drop` fewer than the one before."""
        history = model.meetup_history.get(community, [])
        if cfg.attendance_drop is None or len(history) < 2 or history[-1][0] != model.day:
            return None
        (_, before), (_, now) = history[-2], history[-1]
        return f"meetup attendance fell from {before} to {now}" if now < (1.0 - cfg.attendance_drop) * before else None

    def validate(self, decision: Meetup, snap: Snapshot, model: CommunityModel) -> str | None:
        d = decision.get("day")
        if not isinstance(d, int) or not model.day <= d < model.day + 14:
            return f"meetup day {d!r} is not within the next 14 days"
        return valid_topic(decision.get("topic"), snap)

    def act(self, model: CommunityModel, snap: Snapshot, decision: Meetup, cfg: Secretary) -> None:
        c, s, lv = snap.community, model.state, model.levers
        lv.meetings = [m for m in lv.meetings if m.day >= model.day]
        lv.meetings.append(
            Meeting(
                day=int(decision["day"]),
                community=c,
                topic=int(decision["topic"]),
                online=cfg.meetup_format == "online",
                reach=cfg.reach,
                attend_propensity=cfg.attend_propensity,
            )
        )
        lv.summary_share[c] = cfg.summary_share
        if decision.get("nudge"):
            low = np.flatnonzero(s.membership[:, c] & s.active & (s.motivation < model.params.dropout_threshold + 0.1))
            lv.add_boost(low, cfg.nudge)
