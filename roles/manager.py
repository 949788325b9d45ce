"""The community manager: reaches out to new members and welcomes newcomers so they stay.

Outreach brings in people from the community's pool of prospects (drawn with
the population, inactive until they join), chosen by their interest in the
topic the outreach is about. A welcome lifts a newcomer's motivation once, reinforces
its posting as a reply would (Joyce & Kraut 2006), and stretches its patience, because newcomers
leave soonest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import numpy as np
from typing_extensions import ReadOnly

from learncomm.roles.base import Candidate, RoleSpec, valid_topic
from learncomm.roles.snapshot import Snapshot
from learncomm.sim.engine.network import introduce
from learncomm.sim.schema.roles import Manager
from learncomm.sim.schema.vocab import Stage

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel


class Outreach(TypedDict):
    outreach: ReadOnly[int]  # people to bring in (0: a pause)
    topic: ReadOnly[int | None]  # what the outreach is about (None with no outreach)
    welcome: ReadOnly[bool]


class ManagerRole(RoleSpec[Manager, Outreach]):
    name = "manager"
    purpose = "you grow the community by outreach and welcome newcomers so they stay."

    def candidates(self, snap: Snapshot, model: CommunityModel, cfg: Manager) -> list[Candidate[Outreach]]:
        """Outreach about the most wanted topic, about the least covered one, or a pause that only welcomes.

        The pause comes first while newcomers are many: a community that grows faster than it can
        welcome loses its newcomers.
        """
        k = min(cfg.max_outreach, snap.prospects)
        pause: Candidate[Outreach] = Candidate(
            label=f"no outreach now; welcome the {snap.newcomers} newcomers and help them settle",
            decision={"outreach": 0, "topic": None, "welcome": True},
            text="Welcome to everyone who joined recently! Say hello and ask anything: no question is too basic here.",
        )
        if k == 0:
            return [pause]
        wanted = max(snap.topics, key=lambda t: (t.interest, -t.index))
        rare = min(snap.topics, key=lambda t: (t.interest, t.index))
        reach: list[Candidate[Outreach]] = [
            Candidate(
                label=f"reach out to {k} people interested in '{t.name}' ({why}) and welcome newcomers",
                decision={"outreach": k, "topic": t.index, "welcome": True},
                text=f"We're growing! If you know someone curious about {t.name}, bring them along. "
                "Newcomers: welcome, say hello!",
            )
            for t, why in ((wanted, "the members' favourite topic"), (rare, "a topic few members cover yet"))
        ]
        if rare.index == wanted.index:
            reach = reach[:1]
        crowded = snap.newcomers > cfg.max_newcomer_share * max(snap.active, 1)
        return [pause, *reach] if crowded else [*reach, pause]

    def trigger(self, model: CommunityModel, community: int, cfg: Manager, last_act: int) -> str | None:
        """Members are leaving: at least `dropouts` left since the manager's last decision."""
        if cfg.dropouts is None:
            return None
        s = model.state
        left = int((s.membership[:, community] & (s.leaving_day > max(last_act, 0))).sum())
        return f"{left} members left since the last decision" if left >= cfg.dropouts else None

    def validate(self, decision: Outreach, snap: Snapshot, model: CommunityModel) -> str | None:
        k = decision.get("outreach")
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k <= snap.prospects:
            return f"outreach {k!r} is not a number of people between 0 and the {snap.prospects} prospects left"
        if k > 0 and (err := valid_topic(decision.get("topic"), snap)):
            return err
        if not isinstance(decision.get("welcome"), bool):
            return f"welcome {decision.get('welcome')!r} is not true or false"
        return None

    def act(self, model: CommunityModel, snap: Snapshot, decision: Outreach, cfg: Manager) -> None:
        s, lv, c = model.state, model.levers, snap.community
        k, t = int(decision["outreach"]), decision["topic"]
        if k > 0 and t is not None:  # validated: outreach is about a topic
            pool = np.flatnonzero(s.membership[:, c] & s.prospect)
            keen = pool[np.lexsort((pool, -s.interest[pool, t]))[:k]]  # most interested first; ties by id
            w = model.world
            members = np.flatnonzero(s.membership[:, c] & s.active)
            w.networks[c] = introduce(
                w.networks[c], s.interest, keen, members, model.scenario.network.degree, w.topic_mask[c]
            )
            s.joined[keen] = True
            s.active[keen] = True
            s.joined_day[keen] = model.day
        if decision["welcome"]:
            newcomer = s.membership[:, c] & s.active & (s.stage == Stage.NEWCOMER)
            new = np.flatnonzero(newcomer & ~lv.welcomed)  # each newcomer once
            lv.welcomed[new] = True
            lv.add_boost(new, cfg.welcome)
            lv.add_reply(new, cfg.welcome_reply * model.params.reply_reinforcement)  # like a reply to a first post
            lv.welcome_patience = cfg.welcome_patience
