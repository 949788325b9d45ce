"""The matchmaker: pairs learners with complementary skills, inside each other's zone of proximal development.

A pair is good when each is moderately ahead of the other on the topic the other
cares about most, so both ask well and both explain. The decider picks whom to
serve first (the pairing itself is computed from the model, not written by a
language model); while a match lasts, a learner's social turn goes to the
partner with chance `use` instead of a random neighbour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import numpy as np
from typing_extensions import ReadOnly

from learncomm.roles.base import Candidate, RoleSpec
from learncomm.roles.rows import community_rows
from learncomm.roles.snapshot import Snapshot
from learncomm.sim.engine.learning import zpd_gain
from learncomm.sim.schema.roles import Matchmaker

if TYPE_CHECKING:
    from learncomm.agents.state import LearnerState
    from learncomm.sim.engine.model import CommunityModel

FOCUS = {
    "low_confidence": "the least confident learners first",
    "newcomers": "newcomers first",
    "behind": "the learners furthest behind on their favourite topic first",
}
MAX_TRIES = 4  # seekers examined per pair at most
WINDOW = 64  # partners scored per seeker: those nearest to the ideal level
SHORTLIST = 40  # partners come from a shortlist of SHORTLIST x pairs members (every k-th): cheap at 100,000 learners


def match_pairs(model: CommunityModel, community: int, focus: str, pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy pairs (a, b) of active members: each seeker, in `focus` order, gets the free member whose
    help on the seeker's favourite topic plus the seeker's help on theirs is largest.

    Partners come from a shortlist (every k-th member, at most SHORTLIST x pairs of them), and only
    the WINDOW whose knowledge of the seeker's favourite topic is nearest to `zpd_peak` above the
    seeker's are scored: the best helper is there by construction. Only the first MAX_TRIES x pairs
    seekers can be served, so only they are put in order, and knowledge and interest are read for
    them and the shortlist only: the same pairs as ordering and reading every member.
    """
    s, w, peak = model.state, model.world, model.params.zpd_peak
    members = community_rows(s, community).active
    topics = np.flatnonzero(w.topic_mask[community])
    short = np.arange(0, members.size, max(1, -(-members.size // (SHORTLIST * pairs))))
    if focus == "low_confidence":
        first = first_in_order([np.take(s.confidence, members)], MAX_TRIES * pairs)
    elif focus == "newcomers":
        first = first_in_order([np.take(s.stage, members), np.take(s.confidence, members)], MAX_TRIES * pairs)
    else:
        first = first_in_order([own_level(s, members, topics)], MAX_TRIES * pairs)
    used = np.union1d(first, short)  # positions among the members, ascending
    seekers, short = np.searchsorted(used, first), np.searchsorted(used, short)  # as positions in `used`
    ids = members[used]
    k = s.knowledge[np.ix_(ids, topics)]
    fav = np.argmax(s.interest[np.ix_(ids, topics)], axis=1)
    own = k[np.arange(ids.size), fav]
    rank = np.argsort(k[short], axis=0, kind="stable")
    levels = np.take_along_axis(k[short], rank, axis=0)  # (L, T): each topic's knowledge, sorted
    by_level = short[rank]  # the members in that order
    free = np.ones(ids.size, dtype=bool)
    a: list[int] = []
    b: list[int] = []
    half = WINDOW // 2
    for i in seekers:
        if len(a) >= pairs:
            break
        if not free[i]:
            continue
        t = fav[i]
        at = int(np.searchsorted(levels[:, t], own[i] + peak))
        near = by_level[max(0, at - half) : at + half, t]
        near = near[free[near] & (near != i)]
        if near.size == 0:
            continue
        score = zpd_gain(k[near, t] - own[i], peak) + zpd_gain(k[i, fav[near]] - own[near], peak)
        best = int(np.argmax(score))
        if score[best] <= 0.0:
            continue
        j = int(near[best])
        free[i] = free[j] = False
        a.append(int(ids[i]))
        b.append(int(ids[j]))
    return np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)


def own_level(s: LearnerState, members: np.ndarray, topics: np.ndarray) -> np.ndarray:
    """(M,) each member's knowledge of its favourite topic among `topics` (the most interesting, first on ties)."""
    interest = np.take(s.interest, members, axis=0)
    if topics.size < interest.shape[1]:
        interest = interest[:, topics]
    fav = topics[np.argmax(interest, axis=1)]
    if s.knowledge.flags.c_contiguous:  # one gather of single values, not of whole rows
        return np.take(s.knowledge, members * s.knowledge.shape[1] + fav)
    return np.asarray(s.knowledge[members, fav])


def first_in_order(keys: list[np.ndarray], m: int) -> np.ndarray:
    """The positions of the first `m` entries when sorting by keys[0], then keys[1], ..., then position:
    `np.lexsort((positions, *reversed(keys)))[:m]`, without sorting them all.

    A partition finds the m-th value of the first key; everything below it is in, and among the ties
    with it the next key (then the position) decides. Exact, ties at the boundary included.
    """
    n = keys[0].size
    pos = np.arange(n)
    unordered = any(np.isnan(k).any() for k in keys if k.dtype.kind == "f")  # NaN: no value to partition at
    chosen = pos if m >= n or unordered else _smallest(keys, pos, m)
    return chosen[np.lexsort((chosen, *(k[chosen] for k in reversed(keys))))][:m]


def _smallest(keys: list[np.ndarray], pos: np.ndarray, m: int) -> np.ndarray:
    """The m of `pos` (ascending) that come first by keys, then position (in no particular order)."""
    if m >= pos.size:
        return pos
    if m <= 0:
        return pos[:0]
    k0 = keys[0][pos]
    v = np.partition(k0, m - 1)[m - 1]  # the m-th smallest value of the first key
    below, tie = pos[k0 < v], pos[k0 == v]
    need = m - below.size
    rest = tie[:need] if len(keys) == 1 else _smallest(keys[1:], tie, need)
    return np.concatenate([below, rest])


class Matching(TypedDict):
    focus: ReadOnly[str]  # whom to serve first: a key of FOCUS
    pairs: ReadOnly[int]


class MatchmakerRole(RoleSpec[Matchmaker, Matching]):
    name = "matchmaker"
    purpose = (
        "you pair learners who can help each other: each a little ahead of the other on what the other wants to learn."
    )
    changes_observation = False  # partners used from tomorrow

    def candidates(self, snap: Snapshot, model: CommunityModel, cfg: Matchmaker) -> list[Candidate[Matching]]:
        """Whom to serve first: the least confident (who rarely ask in public) unless newcomers are many."""
        k = min(cfg.max_pairs, snap.active // 2)
        if k == 0:
            return []
        order = ["low_confidence", "behind", "newcomers"]
        if snap.newcomers > 0.3 * max(snap.active, 1):
            order = ["newcomers", "low_confidence", "behind"]
        return [
            Candidate(
                label=f"pair up to {k} learners with complementary partners, {FOCUS[f]}",
                decision={"focus": f, "pairs": k},
                text=f"New learning partners are out ({FOCUS[f]}): "
                "you each know something the other wants to learn. Say hi to your partner!",
            )
            for f in order
        ]

    def trigger(self, model: CommunityModel, community: int, cfg: Matchmaker, last_act: int) -> str | None:
        """Pairs broke: at least `broken_pairs` matched learners have left."""
        m, s = model.levers.match, model.state
        if cfg.broken_pairs is None:
            return None
        broken = int((s.membership[:, community] & (m >= 0) & ~s.active).sum())
        return f"{broken} matched learners have left" if broken >= cfg.broken_pairs else None

    def validate(self, decision: Matching, snap: Snapshot, model: CommunityModel) -> str | None:
        if decision.get("focus") not in FOCUS:
            return f"focus {decision.get('focus')!r} is not one of {sorted(FOCUS)}"
        k = decision.get("pairs")
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= snap.active // 2:
            return f"pairs {k!r} is not between 1 and half the {snap.active} active members"
        return None

    def act(self, model: CommunityModel, snap: Snapshot, decision: Matching, cfg: Matchmaker) -> None:
        lv, c = model.levers, snap.community
        self.reset(model, c)
        a, b = match_pairs(model, c, str(decision["focus"]), int(decision["pairs"]))
        lv.match[a], lv.match[b] = b, a
        lv.match_use = cfg.use
        self.hold(model, c, cfg.duration)

    def reset(self, model: CommunityModel, community: int) -> None:
        model.levers.match[model.state.membership[:, community]] = -1
