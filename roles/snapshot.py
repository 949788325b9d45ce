"""What a role observes: a compact, typed snapshot of one community, never raw arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from learncomm.roles.rows import column_counts, column_sums, community_rows
from learncomm.sim.schema.vocab import GROUPS, Mode, Stage

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel

# best_knowledge, a 95th percentile, is taken on every k-th active member, at most SAMPLE of them (all of them up
# to SAMPLE): its standard error is sqrt(0.95 * 0.05 / SAMPLE) / density = 0.0015 / (density of knowledge there),
# about 0.003 for knowledge spread 0.2, far below what a mark or a prompt tells apart (docs/roles.md)
SAMPLE = 20_000


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
    """Aggregates over the community's members, built with a few array reductions over its rows (roles/rows.py).

    Every sum adds the same rows in the same order as a 0/1-weighted sum over all learners would (the
    others only added +0.0), so the snapshot is the same to the last bit; but `best_knowledge` in a community
    of more than SAMPLE active members is taken on every k-th of them (docs/roles.md, "What a role sees").
    """
    s, w, p = model.state, model.world, model.params
    rows = community_rows(s, community)
    mem, act = rows.members, rows.active
    day = model.last_day
    topics = []
    interest = column_sums(np.take(s.interest, act, axis=0))
    total_interest = float(interest[w.topic_mask[community]].sum()) or 1.0
    asked = np.zeros(len(w.topic_names), dtype=np.int64)
    present = 0
    if day is not None:  # those who took part today are joined members (of the community they worked in)
        here = mem[np.take(day.present, mem)]
        present = here.size
        q = here[(np.take(day.mode, here) == Mode.ASK) & (np.take(day.community, here) == community)]
        asked = np.bincount(np.take(day.topic, q), minlength=len(w.topic_names))
    mine = np.flatnonzero(w.topic_mask[community])
    k_mine = np.take(s.knowledge, act, axis=0)  # one copy of the active members' knowledge
    if mine.size < k_mine.shape[1]:
        k_mine = np.ascontiguousarray(k_mine[:, mine])
    if not act.size:
        k_mine = np.zeros((1, mine.size))
    # one call for every topic: the reductions, not the Python loop, dominate at 100,000 learners
    means, best = column_sums(k_mine) / k_mine.shape[0], np.percentile(k_mine[:: sample_stride(act.size)], 95, axis=0)
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
    row_k = np.einsum("it->i", np.take(s.knowledge, mem, axis=0)) / s.knowledge.shape[1]
    g = np.take(s.group, mem).astype(np.int64)
    n_g = np.bincount(g, minlength=3).astype(float)
    a_g = np.bincount(np.take(s.group, act).astype(np.int64), minlength=3)
    k_g = np.bincount(g, weights=row_k, minlength=3)
    c_g = np.bincount(g, weights=np.take(s.confidence, mem), minlength=3)
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
        members=int(mem.size),
        active=int(act.size),
        newcomers=int(np.count_nonzero(np.take(s.stage, act) == Stage.NEWCOMER)),
        prospects=int(np.count_nonzero(np.take(s.joined_day, rows.waiting) < 0)),
        joined_last_week=int(np.count_nonzero(np.take(s.joined_day, mem) > model.day - 7)),
        present_today=present,
        disengaged=int(np.count_nonzero(np.take(s.motivation, act) < p.dropout_threshold + 0.1)),
        weekday_free=[int(x) for x in column_counts(np.take(s.available, act, axis=0))],
        last_meetup_attendance=int(day.meetups.get(community, 0)) if day is not None else 0,
        topics=topics,
        groups=groups,
    )


def sample_stride(active: int) -> int:
    """k for `best_knowledge`'s sample, every k-th active member: at most SAMPLE rows, all of them up to SAMPLE."""
    return max(1, -(-active // SAMPLE))
