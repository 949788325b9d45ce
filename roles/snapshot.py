"""What a role observes: a compact, typed snapshot of one community, never raw arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from learncomm.sim.choices import MODE_ASK
from learncomm.sim.scenario import GROUPS

if TYPE_CHECKING:
    from learncomm.sim.model import CommunityModel


class TopicView(BaseModel):
    index: int
    name: str
    mean_knowledge: float
    best_knowledge: float  # the community's 95th percentile
    interest: float  # share of the members' interest
    questions_today: int


class GroupView(BaseModel):
    learners: int
    active: int
    mean_knowledge: float
    mean_confidence: float


class Snapshot(BaseModel):
    day: int
    community: int
    community_name: str
    members: int  # joined members, dropped out included
    active: int
    newcomers: int
    prospects: int  # people a community manager's outreach has not reached yet
    joined_last_cadence: int  # members who joined in the last 7 days
    present_today: int
    disengaged: int  # active members with motivation below the dropout threshold + 0.1
    weekday_free: list[int]  # active members free on each weekday
    last_meetup_attendance: int
    topics: list[TopicView]
    groups: dict[str, GroupView]


def observe(model: CommunityModel, community: int) -> Snapshot:
    """Aggregates over the community's members, built with a few array reductions."""
    s, w, p = model.state, model.world, model.params
    enrolled = s.membership[:, community]
    members = enrolled & s.joined
    act = members & s.active
    k = s.knowledge[act]
    day = model.last_day
    topics = []
    interest = s.interest[act].sum(axis=0)
    total_interest = float(interest[w.topic_mask[community]].sum()) or 1.0
    asked = np.zeros(len(w.topic_names), dtype=np.int64)
    if day is not None:
        q = (day.mode == MODE_ASK) & (day.community == community) & day.present
        asked = np.bincount(day.topic[q], minlength=len(w.topic_names))
    for t in np.flatnonzero(w.topic_mask[community]):
        col = k[:, t] if len(k) else np.zeros(1)
        topics.append(TopicView(
            index=int(t), name=w.topic_names[t], mean_knowledge=round(float(col.mean()), 4),
            best_knowledge=round(float(np.percentile(col, 95)), 4),
            interest=round(float(interest[t]) / total_interest, 4), questions_today=int(asked[t]),
        ))
    groups = {}
    for gi, g in enumerate(GROUPS):
        sel = members & (s.group == gi)
        a = sel & s.active
        groups[g] = GroupView(
            learners=int(sel.sum()), active=int(a.sum()),
            mean_knowledge=round(float(s.knowledge[sel].mean()) if sel.any() else 0.0, 4),
            mean_confidence=round(float(s.confidence[sel].mean()) if sel.any() else 0.0, 4),
        )
    return Snapshot(
        day=model.day, community=community, community_name=w.names[community],
        members=int(members.sum()), active=int(act.sum()), newcomers=int((act & (s.stage == 0)).sum()),
        prospects=int((enrolled & ~s.joined).sum()), joined_last_cadence=int((members & (s.joined_day > model.day - 7)).sum()),
        present_today=int((day.present & members).sum()) if day is not None else 0,
        disengaged=int((act & (s.motivation < p.dropout_threshold + 0.1)).sum()),
        weekday_free=[int((act & s.available[:, d]).sum()) for d in range(7)],
        last_meetup_attendance=int(day.meetups.get(community, 0)) if day is not None else 0,
        topics=topics, groups=groups,
    )
