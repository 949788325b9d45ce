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
from learncomm.sim.engine.levers import Levers
from learncomm.sim.engine.participation import forum_responder
from learncomm.sim.engine.today import Day, Turns
from learncomm.sim.engine.world import World
from learncomm.sim.engine.zpd import zpd_gain
from learncomm.sim.schema.scenario import Params
from learncomm.sim.schema.vocab import Mode


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
    own: np.ndarray  # (P,) gain of each present learner on its topic
    answered: np.ndarray  # (P,) bool: a question that got a useful answer
    helper: np.ndarray  # learners who answered a peer's question
    helper_topic: np.ndarray
    helper_gain: np.ndarray
    responded: np.ndarray  # (P,) bool: a public question that got a response (useful or not)
    responders: np.ndarray  # peers who responded to a public question (one entry per response)


def learn(day: Day, turns: Turns, meet_level: np.ndarray, audience: np.ndarray) -> Gains:
    """Gains of the present learners, from the state at the start of the day.

    `meet_level` (C, T) is the mean knowledge of today's meetup attendees; private
    turns (tutoring sessions) carry no power gap and no audience.
    """
    state, world, p, levers = day.state, day.world, day.p, day.levers
    idx, mode, topic, comm, u, private = turns.idx, turns.mode, turns.topic, turns.comm, turns.u, turns.private
    per = world.per
    k = turns.known  # knowledge of the topic at the start of the day (choose_modes read it)
    room = 1.0 - k
    power = np.where(private, 0.0, per(world.power_gap, comm))
    recept = 1.0 - p.anxiety_weight * power * (1.0 - state.confidence[idx])
    study = mode == Mode.STUDY
    resources = world.resources[0][topic] if world.n_communities == 1 else world.resources[comm, topic]
    gain = np.where(study, p.study_rate * resources * room, 0.0)  # over every turn: cheaper than a masked gather
    lesson = study & per(world.is_curriculum, comm)
    if lesson.any():  # one pace for all: a lesson is pitched at the class average
        off = k[lesson] - audience[comm[lesson], topic[lesson]]
        gain[lesson] *= np.exp(-(off * off) / (2.0 * p.zpd_peak * p.zpd_peak))
    explain = mode == Mode.EXPLAIN
    gain[explain] = np.where(private, p.tutor_rate, p.protege_rate)[explain] * room[explain]

    social = ((mode == Mode.ASK) | (mode == Mode.OBSERVE)) & ~private
    expert = social & (u.expert < per(world.expert_answer, comm))
    reach = social & ~expert
    use = np.zeros(idx.size, dtype=bool)
    if levers.match_use > 0.0:  # the matchmaker's partner replaces the network for a share of social turns
        matched = levers.match[idx]
        use = reach & (matched >= 0) & (u.match < levers.match_use)
    partner = np.full(idx.size, -1, dtype=np.int64)
    for c, net in enumerate(world.networks):
        here = reach & ~use if world.n_communities == 1 else reach & ~use & (comm == c)
        read = np.flatnonzero(here & (mode == Mode.OBSERVE))  # a reader follows one neighbour's posts
        partner[read] = net.pick(idx[read], u.partner[read])
        q = np.flatnonzero(here & (mode == Mode.ASK))  # a question is read by every neighbour; a willing one answers
        partner[q] = forum_responder(state, p, net, idx[q], u.respond[q], u.partner[q])
    if use.any():
        partner[use] = levers.match[idx[use]]  # a matched partner answers whenever it is still a member
    peer = (partner >= 0) & state.active[partner]  # (-1 reads the last row; `partner >= 0` masks it)
    tutee = private & (mode == Mode.ASK)
    partner[tutee] = state.tutoring_partner[idx[tutee]]
    gap = np.zeros(idx.size)
    if expert.any():
        ce = comm[expert]
        expert_gap = per(world.expert_knowledge, ce) - k[expert]
        gap[expert] = np.where(per(world.expert_scaffolds, ce), np.minimum(expert_gap, p.zpd_peak), expert_gap)
    has = np.flatnonzero(peer | tutee)
    gap[has] = state.knowledge[partner[has], topic[has]] - k[has]
    asked = np.flatnonzero(social | tutee)
    rate = np.where(tutee[asked], p.alpha_tutor, np.where(mode[asked] == Mode.ASK, p.alpha_ask, p.alpha_observe))
    gain[asked] = rate * zpd_gain(gap[asked], p.zpd_peak) * recept[asked]

    meet = mode == Mode.MEET
    meet_gap = meet_level[comm[meet], topic[meet]] - k[meet]
    gain[meet] = np.where(
        meet_gap > 0, p.alpha_meet * zpd_gain(meet_gap, p.zpd_peak) * recept[meet], p.protege_rate * room[meet]
    )

    misled = ai = np.zeros(idx.size, dtype=bool)
    if levers.source.any():  # an AI source answers open questions somewhere
        ai, right = source_answers(levers, turns, gain)
        gain[ai & right] = (levers.source_cfg.alpha * zpd_gain(np.minimum(room, p.zpd_peak), p.zpd_peak) * recept)[
            ai & right
        ]
        misled = ai & ~right
    gain *= ease(state, world, p, idx, topic)
    gain = np.minimum(gain, room)
    if misled.any():  # a wrong answer plants a misconception
        gain[misled] = -levers.source_cfg.misconception * k[misled]
    answered = (mode == Mode.ASK) & (gain > 0)
    public_ask = (mode == Mode.ASK) & ~private
    helped = public_ask & peer & (gap > 0)
    helper, helper_topic = partner[helped], topic[helped]
    helper_gain = p.protege_rate * (1.0 - state.knowledge[helper, helper_topic])
    return Gains(
        own=gain,
        answered=answered,
        helper=helper,
        helper_topic=helper_topic,
        helper_gain=helper_gain,
        responded=public_ask & (expert | peer | ai),
        responders=partner[public_ask & peer],
    )


def source_answers(levers: Levers, turns: Turns, gain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Public questions nobody answered usefully that an AI source answers, and which answers are right."""
    cfg = levers.source_cfg
    open_q = (turns.mode == Mode.ASK) & ~turns.private & (gain <= 0) & levers.source[turns.comm]
    ai = open_q & (turns.u.source < cfg.answer_rate)
    return ai, turns.u.source_ok < cfg.accuracy
