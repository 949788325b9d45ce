"""The learners' choices of a day: meetups, community, topic, mode.

Every day draws the same fixed block of uniforms per learner (columns U_*),
whatever branch a learner takes, so two scenarios run with one seed share
their random numbers learner by learner (common random numbers).
"""

from __future__ import annotations

import numpy as np

from learncomm.agents.state import LearnerState
from learncomm.sim.engine.levers import Levers
from learncomm.sim.engine.world import World
from learncomm.sim.schema.scenario import Params
from learncomm.sim.schema.vocab import Mode

# Columns of the day's block of uniforms.
(
    U_PART,
    U_COMM,
    U_TOPIC,
    U_EXPLAIN,
    U_SOCIAL,
    U_ASK,
    U_PARTNER,
    U_EXPERT,
    U_EXPOSE,
    U_MEET,
    U_SOURCE,
    U_SOURCE_OK,
    U_MATCH,
) = range(13)
N_UNIFORMS = 13
NONE = -1


def drive(state: LearnerState, p: Params) -> np.ndarray:
    """motivation ** participation_gamma (the power skipped at the default gamma of 1)."""
    return state.motivation if p.participation_gamma == 1.0 else state.motivation**p.participation_gamma


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def audience_knowledge(state: LearnerState, world: World) -> np.ndarray:
    """(C, T) mean knowledge of each community's active members: the audience a question is asked before."""
    # einsum, not a matrix product: BLAS threads would spin after this small product and
    # double the CPU a day costs (a sweep's other worker would pay for it).
    m = (state.membership & state.active[:, None]).astype(float)
    return np.einsum("ic,it->ct", m, state.knowledge) / np.maximum(m.sum(axis=0), 1.0)[:, None]


def choose_categorical(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise draw from cumulative probabilities (last column must be 1)."""
    return np.minimum((cdf < u[:, None]).sum(axis=1), cdf.shape[1] - 1)


def meetup_topic(state: LearnerState, world: World, c: int, override: int | None) -> int:
    """The topic most wanted by a community's active members (or the one a role put on the agenda)."""
    if override is not None:
        return override
    members = state.membership[:, c] & state.active
    want = state.interest[members].sum(axis=0) * world.topic_mask[c]
    return int(np.argmax(want))


def choose_meetings(
    state: LearnerState, world: World, p: Params, day: int, u: np.ndarray, levers: Levers
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who attends a meetup today (the scenario's or a role's), in which community, on which topic."""
    n = state.n
    meet = np.zeros(n, dtype=bool)
    comm = np.zeros(n, dtype=np.int64)
    topic = np.full(n, NONE, dtype=np.int64)
    today: list[tuple[int, int, bool, float, float, np.ndarray | None]] = []
    for c, mt in enumerate(world.meetups):
        if mt is not None and day % mt.every_days == mt.weekday % mt.every_days:
            today.append(
                (
                    c,
                    meetup_topic(state, world, c, levers.agenda.get(c)),
                    mt.format == "online",
                    mt.reach,
                    mt.attend_propensity,
                    None,
                )
            )
    today += [
        (m.community, m.topic, m.online, m.reach, m.attend_propensity, m.invited)
        for m in levers.meetings
        if m.day == day
    ]
    for c, t, online, reach, propensity, invited in today:
        p_go = (state.access if online else reach) * propensity * drive(state, p)
        go = state.membership[:, c] & state.active & state.available[:, day % 7] & ~meet & (u[:, U_MEET] < p_go)
        if invited is not None:
            go &= invited
        meet |= go
        comm[go] = c
        topic[go] = t
    return meet, comm, topic


def choose_topics(
    state: LearnerState,
    world: World,
    p: Params,
    day: int,
    who: np.ndarray,
    comm: np.ndarray,
    u: np.ndarray,
    pull: np.ndarray,
) -> np.ndarray:
    """Topics of the learners `who` (with their communities and uniforms): by interest, resources and
    suggestions in a community; the day's curriculum topic in a classroom."""
    factor = world.topic_mask * (1.0 + p.pull_resources * world.resources) * pull  # (C, T), once a day
    weights = (state.interest[who] + 1e-12) * (
        factor[0] if factor.shape[0] == 1 else factor[comm]
    )  # floor: see world.choice_cdf
    cdf = np.cumsum(weights, axis=1)
    topic = np.minimum((cdf < (u[:, U_TOPIC] * cdf[:, -1])[:, None]).sum(axis=1), cdf.shape[1] - 1)
    for c, order in enumerate(world.curriculum):
        if order is not None:
            topic[comm == c] = order[(day // world.days_per_topic[c]) % len(order)]
    return topic


def choose_modes(
    state: LearnerState,
    world: World,
    p: Params,
    idx: np.ndarray,
    comm: np.ndarray,
    topic: np.ndarray,
    u: np.ndarray,
    audience: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Mode of each learner in `idx` (not at a meetup), and its lead over the audience.

    Ahead of the audience and confident enough: explain. Otherwise a social
    turn (with the setting's share) is a question asked in public only when
    confidence outweighs the perceived risk (power gap + knowledge gap), else
    the learner observes; the rest study alone.
    """
    conf = state.confidence[idx]
    lead = state.knowledge[idx, topic] - audience[comm, topic]
    stage = state.stage[idx]
    explain_p = p.explain_propensity * conf * np.asarray(p.stage_explain)[stage]
    explain = (lead > p.explain_margin) & (u[:, U_EXPLAIN] < explain_p)
    social = ~explain & (u[:, U_SOCIAL] < world.per(world.social_share, comm))
    risk = (
        p.risk_base
        + world.per(world.power_gap, comm)
        + p.risk_gap_weight * np.maximum(-lead, 0.0)
        + p.newcomer_risk * (stage == 0)
    )
    ask = social & (u[:, U_ASK] < sigmoid((conf - risk) / p.ask_temperature))
    mode = np.full(idx.size, Mode.STUDY, dtype=np.int8)
    mode[social] = Mode.OBSERVE
    mode[ask] = Mode.ASK
    mode[explain] = Mode.EXPLAIN
    return mode, lead
