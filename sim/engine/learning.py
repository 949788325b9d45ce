"""How much each present learner learns today, by mode.

Peer gains follow the zone of proximal development: the gain from someone
`g` ahead is `alpha * g * zpd(g) * receptivity * ease`, largest for a
moderate gap. Experts (a classroom teacher, a facilitator) scaffold: they
pitch an answer at most `zpd_peak` above the learner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learncomm.agents.state import LearnerState
from learncomm.sim.engine.choices import U_EXPERT, U_MATCH, U_PARTNER, U_SOURCE, U_SOURCE_OK
from learncomm.sim.engine.levers import Levers
from learncomm.sim.engine.world import World
from learncomm.sim.schema.scenario import Params
from learncomm.sim.schema.vocab import Mode


def zpd_gain(gap: np.ndarray, peak: float) -> np.ndarray:
    """g * zpd(g) with zpd(g) = exp(-g^2 / (2 peak^2)): largest at g = peak, small for big gaps, 0 if not behind."""
    g = np.maximum(gap, 0.0)
    return g * np.exp(-(g * g) / (2.0 * peak * peak))


def ease(state: LearnerState, world: World, p: Params, who: np.ndarray, topic: np.ndarray) -> np.ndarray:
    """1 - difficulty penalty: harder topics and unmet prerequisites slow learning."""
    base = 1.0 - p.difficulty_weight * world.difficulty[topic]
    if not world.has_prereq.any():
        return base
    prereq_k = np.einsum("it,ti->i", state.knowledge[who], world.prereq[:, topic])
    ready = np.where(world.has_prereq[topic], np.minimum(1.0, prereq_k / p.prerequisite_mastery), 1.0)
    return base * (p.prerequisite_floor + (1.0 - p.prerequisite_floor) * ready)


@dataclass
class Gains:
    own: np.ndarray  # (n,) gain of each present learner on its topic
    answered: np.ndarray  # (n,) bool: a question that got a useful answer
    helper: np.ndarray  # learners who answered a peer's question
    helper_topic: np.ndarray
    helper_gain: np.ndarray
    ai_answered: np.ndarray  # (n,) bool: an AI source answered (rightly or wrongly)
    misled: np.ndarray  # (n,) bool: the AI's answer was wrong


def learn(
    state: LearnerState,
    world: World,
    p: Params,
    idx: np.ndarray,
    mode: np.ndarray,
    topic: np.ndarray,
    comm: np.ndarray,
    u: np.ndarray,
    meet_level: np.ndarray,
    private: np.ndarray,
    audience: np.ndarray,
    levers: Levers | None = None,
) -> Gains:
    """Gains of the present learners `idx` (aligned arrays), from the state at the start of the day.

    `meet_level` (C, T) is the mean knowledge of today's meetup attendees; `private`
    marks tutoring sessions, which carry no power gap and no audience.
    """
    per = world.per
    k = state.knowledge[idx, topic]
    room = 1.0 - k
    power = np.where(private, 0.0, per(world.power_gap, comm))
    recept = 1.0 - p.anxiety_weight * power * (1.0 - state.confidence[idx])
    gain = np.zeros(idx.size)

    study = mode == Mode.STUDY
    gain[study] = p.study_rate * world.resources[comm[study], topic[study]] * room[study]
    lesson = study & per(world.is_curriculum, comm)
    if lesson.any():  # one pace for all: a lesson is pitched at the class average
        off = k[lesson] - audience[comm[lesson], topic[lesson]]
        gain[lesson] *= np.exp(-(off * off) / (2.0 * p.zpd_peak * p.zpd_peak))
    explain = mode == Mode.EXPLAIN
    gain[explain] = np.where(private, p.tutor_rate, p.protege_rate)[explain] * room[explain]

    social = ((mode == Mode.ASK) | (mode == Mode.OBSERVE)) & ~private
    expert = social & (u[:, U_EXPERT] < per(world.expert_answer, comm))
    partner = np.full(idx.size, -1, dtype=np.int64)
    for c, net in enumerate(world.networks):
        sel = social & ~expert if world.n_communities == 1 else social & ~expert & (comm == c)
        if sel.any():
            partner[sel] = net.pick(idx[sel], u[sel, U_PARTNER])
    if levers is not None and levers.match is not None:  # the matchmaker's partner replaces a random neighbour
        matched = levers.match[idx]
        use = social & ~expert & (matched >= 0) & (u[:, U_MATCH] < levers.match_use)
        partner[use] = matched[use]
    peer = partner >= 0
    peer[peer] = state.active[partner[peer]]
    tutee = private & (mode == Mode.ASK)
    partner[tutee] = state.tutoring_partner[idx[tutee]]
    gap = np.zeros(idx.size)
    if expert.any():
        ce = comm[expert]
        expert_gap = per(world.expert_knowledge, ce) - k[expert]
        gap[expert] = np.where(per(world.expert_scaffolds, ce), np.minimum(expert_gap, p.zpd_peak), expert_gap)
    has = peer | tutee
    gap[has] = state.knowledge[partner[has], topic[has]] - k[has]
    asked = np.flatnonzero(social | tutee)
    rate = np.where(tutee[asked], p.alpha_tutor, np.where(mode[asked] == Mode.ASK, p.alpha_ask, p.alpha_observe))
    gain[asked] = rate * zpd_gain(gap[asked], p.zpd_peak) * recept[asked]

    meet = mode == Mode.MEET
    meet_gap = meet_level[comm[meet], topic[meet]] - k[meet]
    gain[meet] = np.where(
        meet_gap > 0, p.alpha_meet * zpd_gain(meet_gap, p.zpd_peak) * recept[meet], p.protege_rate * room[meet]
    )

    ai = misled = np.zeros(idx.size, dtype=bool)
    if levers is not None and levers.source is not None and levers.source_cfg is not None:
        ai, right = source_answers(levers, mode, private, gain, comm, u)
        gain[ai & right] = (levers.source_cfg.alpha * zpd_gain(np.minimum(room, p.zpd_peak), p.zpd_peak) * recept)[
            ai & right
        ]
        misled = ai & ~right
    gain *= ease(state, world, p, idx, topic)
    gain = np.minimum(gain, room)
    if misled.any():  # a wrong answer plants a misconception
        gain[misled] = -levers.source_cfg.misconception * k[misled]  # type: ignore[union-attr]
    answered = (mode == Mode.ASK) & (gain > 0)
    helped = (mode == Mode.ASK) & peer & ~private & (gap > 0)
    helper, helper_topic = partner[helped], topic[helped]
    helper_gain = p.protege_rate * (1.0 - state.knowledge[helper, helper_topic])
    return Gains(
        own=gain,
        answered=answered,
        helper=helper,
        helper_topic=helper_topic,
        helper_gain=helper_gain,
        ai_answered=ai,
        misled=misled,
    )


def source_answers(
    levers: Levers, mode: np.ndarray, private: np.ndarray, gain: np.ndarray, comm: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Public questions nobody answered usefully that an AI source answers, and which answers are right."""
    cfg = levers.source_cfg
    assert cfg is not None and levers.source is not None
    open_q = (mode == Mode.ASK) & ~private & (gain <= 0) & levers.source[comm]
    ai = open_q & (u[:, U_SOURCE] < cfg.answer_rate)
    return ai, u[:, U_SOURCE_OK] < cfg.accuracy
