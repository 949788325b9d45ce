"""What a role observes: a compact, typed snapshot of one community, never raw arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from learncomm.sim.schema.vocab import GROUPS, Mode, Stage

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel


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
    joined_last_week: int  # members who joined in the last 7 days
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
    day = model.last_day
    topics = []
    interest = s.interest[act].sum(axis=0)
    total_interest = float(interest[w.topic_mask[community]].sum()) or 1.0
    asked = np.zeros(len(w.topic_names), dtype=np.int64)
    if day is not None:
        q = (day.mode == Mode.ASK) & (day.community == community) & day.present
        asked = np.bincount(day.topic[q], minlength=len(w.topic_names))
    mine = np.flatnonzero(w.topic_mask[community])
    act_idx = np.flatnonzero(act)
    k_mine = s.knowledge[np.ix_(act_idx, mine)] if act_idx.size else np.zeros((1, mine.size))  # one copy, not two
    # one call for every topic: the reductions, not the Python loop, dominate at 100,000 learners
    means, best = k_mine.mean(axis=0), np.percentile(k_mine, 95, axis=0)
    for j, t in enumerate(mine):
        topics.append(
            TopicView(
                index=int(t),
                name=w.topic_names[t],
                mean_knowledge=round(float(means[j]), 4),
                best_knowledge=round(float(best[j]), 4),
                interest=round(float(interest[t]) / total_interest, 4),
                questions_today=int(asked[t]),
            )
        )
    row_k = np.einsum("it->i", s.knowledge) / s.knowledge.shape[1]
    g = s.group.astype(np.int64)
    n_g = np.bincount(g, weights=members, minlength=3)
    a_g = np.bincount(g, weights=act, minlength=3)
    k_g = np.bincount(g, weights=row_k * members, minlength=3)
    c_g = np.bincount(g, weights=s.confidence * members, minlength=3)
    groups: dict[str, GroupView] = {
        gn: GroupView(
            learners=int(n_g[gi]),
            active=int(a_g[gi]),
            mean_knowledge=round(float(k_g[gi] / n_g[gi]) if n_g[gi] else 0.0, 4),
            mean_confidence=round(float(c_g[gi] / n_g[gi]) if n_g[gi] else 0.0, 4),
        )
        for gi, gn in enumerate(GROUPS)
    }
    return Snapshot(
        day=model.day,
        community=community,
        community_name=w.names[community],
        members=int(members.sum()),
        active=int(act.sum()),
        newcomers=int((act & (s.stage == Stage.NEWCOMER)).sum()),
        prospects=int((enrolled & s.prospect).sum()),
        joined_last_week=int((members & (s.joined_day > model.day - 7)).sum()),
        present_today=int((day.present & members).sum()) if day is not None else 0,
        disengaged=int((act & (s.motivation < p.dropout_threshold + 0.1)).sum()),
        weekday_free=[int(x) for x in s.available[act].sum(axis=0)],
        last_meetup_attendance=int(day.meetups.get(community, 0)) if day is not None else 0,
        topics=topics,
        groups=groups,
    )
