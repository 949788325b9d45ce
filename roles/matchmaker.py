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
from learncomm.roles.snapshot import Snapshot
from learncomm.sim.engine.learning import zpd_gain
from learncomm.sim.schema.roles import Matchmaker

if TYPE_CHECKING:
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
    seeker's are scored: the best helper is there by construction.
    """
    s, w, peak = model.state, model.world, model.params.zpd_peak
    members = np.flatnonzero(s.membership[:, community] & s.active)
    topics = np.flatnonzero(w.topic_mask[community])
    k = s.knowledge[np.ix_(members, topics)]
    fav = np.argmax(s.interest[np.ix_(members, topics)], axis=1)
    own = k[np.arange(members.size), fav]
    short = np.arange(0, members.size, max(1, -(-members.size // (SHORTLIST * pairs))))
    rank = np.argsort(k[short], axis=0, kind="stable")
    levels = np.take_along_axis(k[short], rank, axis=0)  # (L, T): each topic's knowledge, sorted
    by_level = short[rank]  # the members in that order
    if focus == "low_confidence":
        order = np.lexsort((members, s.confidence[members]))
    elif focus == "newcomers":
        order = np.lexsort((members, s.confidence[members], s.stage[members]))
    else:
        order = np.lexsort((members, own))
    free = np.ones(members.size, dtype=bool)
    a: list[int] = []
    b: list[int] = []
    half = WINDOW // 2
    for i in order[: MAX_TRIES * pairs]:
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
        a.append(int(members[i]))
        b.append(int(members[j]))
    return np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)


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
