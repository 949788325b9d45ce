"""The learners' choices of a day: meetups, taking part, community, topic, tutoring sessions, mode.

Each choice reads its own uniform of the day's `Draws` (one per purpose), so
two scenarios run with one seed share their random numbers learner by learner
(common random numbers).
"""

from __future__ import annotations

import numpy as np

from learncomm.agents.state import LearnerState
from learncomm.sim.engine.learning import zpd_gain
from learncomm.sim.engine.levers import Meeting
from learncomm.sim.engine.participation import enthusiasm, willing_to_post
from learncomm.sim.engine.streams import TakenDraws
from learncomm.sim.engine.today import Day, HeldMeetups, Plan, Turns
from learncomm.sim.engine.world import World
from learncomm.sim.schema.scenario import Params
from learncomm.sim.schema.vocab import Mode, Stage, TutoringRole

NONE = -1


def drive(state: LearnerState, p: Params, rows: np.ndarray | None = None) -> np.ndarray:
    """motivation ** participation_gamma (the power skipped at the default gamma of 1), of the learners `rows`
    (default: all)."""
    m = state.motivation if rows is None else state.motivation[rows]
    return m if p.participation_gamma == 1.0 else m**p.participation_gamma


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


def pick_by_weight(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Column-wise draw from unnormalised weights (T, P): the first t whose cumulative weight reaches
    `u * total`. Topic by topic over long rows, which is several times faster than a cumulative sum
    and a count along six-wide rows, and adds in the same order (so the same floats)."""
    cdf = np.empty(weights.shape)
    cdf[0] = weights[0]
    for t in range(1, len(cdf)):
        np.add(cdf[t - 1], weights[t], out=cdf[t])
    target = u * cdf[-1]
    chosen = np.zeros(target.size, dtype=np.int64)
    for t in range(len(cdf) - 1):  # at most the last topic: weights are >= 0, so cdf only rises
        chosen += cdf[t] < target
    return chosen


def meetup_topic(state: LearnerState, world: World, c: int) -> int:
    """The topic most wanted by a community's active members."""
    members = state.membership[:, c] & state.active
    want = state.interest[members].sum(axis=0) * world.topic_mask[c]
    return int(np.argmax(want))


def choose_meetings(day: Day) -> Plan:
    """Who attends a meetup today (the scenario's or a role's), in which community, on which topic."""
    state, world, levers, d = day.state, day.world, day.levers, day.number
    n = state.n
    plan = Plan(meet=np.zeros(n, dtype=bool), comm=np.zeros(n, dtype=np.int64), topic=np.full(n, NONE, dtype=np.int64))
    today = [
        Meeting(d, c, meetup_topic(state, world, c), mt.format == "online", mt.reach, mt.attend_propensity)
        for c, mt in enumerate(world.meetups)
        if mt is not None and d % mt.every_days == mt.weekday % mt.every_days
    ] + [m for m in levers.meetings if m.day == d]
    for m in today:
        p_go = (state.access if m.online else m.reach) * m.attend_propensity * drive(state, day.p)
        free = state.available[:, d % 7] & ~plan.meet
        go = state.membership[:, m.community] & state.active & free & (day.draws.meetup < p_go)
        plan.meet |= go
        plan.comm[go] = m.community
        plan.topic[go] = m.topic
    return plan


def meetups_held(state: LearnerState, plan: Plan) -> HeldMeetups:
    """Attendance, topic and the attendees' level of each meetup held today."""
    held = HeldMeetups(attendance={}, topic={}, level=np.zeros((state.membership.shape[1], state.knowledge.shape[1])))
    for c in np.unique(plan.comm[plan.meet]):
        att = plan.meet & (plan.comm == c)
        t = plan.topic[att][0]
        held.attendance[int(c)] = int(att.sum())
        held.topic[int(c)] = int(t)
        held.level[c, t] = state.knowledge[att, t].mean()
    return held


def take_part(day: Day, plan: Plan) -> None:
    """Meetup attendees, and the active learners who find the time and the drive while the novelty lasts:
    `P = access * m^gamma * enthusiasm`."""
    state = day.state
    rows = np.flatnonzero(state.active)  # only members take part: no pass over those who left or have not come
    chance = (
        state.access[rows] * drive(state, day.p, rows) * enthusiasm(state, day.p, day.world.fades, day.number, rows)
    )
    plan.present = plan.meet.copy()
    plan.present[rows[day.draws.participation[rows] < chance]] = True


def choose_places(day: Day, plan: Plan) -> None:
    """The community (of a member of several) and the topic of every present learner not at a meetup."""
    world = day.world
    if world.n_communities > 1:
        plan.comm = np.where(plan.meet, plan.comm, choose_categorical(world.choice_cdf, day.draws.community))
    who = np.flatnonzero(plan.present & ~plan.meet)
    plan.topic[who] = choose_topics(day, who, plan.comm[who])


def choose_topics(day: Day, who: np.ndarray, comm: np.ndarray) -> np.ndarray:
    """Topics of the learners `who` in the communities `comm`: by interest, resources and suggestions in a
    community; the day's curriculum topic in a classroom."""
    state, world, p = day.state, day.world, day.p
    factor = world.topic_mask * (1.0 + p.pull_resources * world.resources) * day.levers.pull  # (C, T), once a day
    by_topic = state.interest_by_topic  # (T, N): a topic's column gathered as one long row, not (P, T) rows
    weights = np.empty((by_topic.shape[0], who.size))
    for t, row in enumerate(by_topic):
        # the floor keeps a topic of no interest choosable (see world.choice_cdf)
        weights[t] = (row[who] + 1e-12) * (factor[0, t] if factor.shape[0] == 1 else factor[comm, t])
    topic = pick_by_weight(weights, day.draws.topic[who])
    for c, order in enumerate(world.curriculum):
        if order is not None:
            topic[comm == c] = order[(day.number // world.days_per_topic[c]) % len(order)]
    return topic


def pair_sessions(day: Day, plan: Plan) -> None:
    """Tutoring pairs meet when both are present (not at a meetup) on a session day, and work on the topic
    where the tutor can help most (ZPD gain), weighted by the tutee's interest."""
    if day.sessions_per_week == 0 or day.number % 7 >= day.sessions_per_week:
        return
    state = day.state
    free = plan.present & ~plan.meet
    paired = state.tutoring_partner >= 0
    both = paired & free
    both[paired] &= free[state.tutoring_partner[paired]]
    plan.tutoring = both
    if not both.any():
        return
    tutee = np.flatnonzero(both & (state.tutoring_role == TutoringRole.TUTEE))
    tutor = state.tutoring_partner[tutee]
    help_ = zpd_gain(state.knowledge[tutor] - state.knowledge[tutee], day.p.zpd_peak)
    fit = (help_ * state.interest[tutee] + 1e-12) * day.world.topic_mask[plan.comm[tutee]]  # floor: stay on topic
    best = np.argmax(fit, axis=1)
    plan.topic[tutee] = plan.topic[tutor] = best
    plan.comm[tutor] = plan.comm[tutee]


def present_turns(day: Day, plan: Plan) -> Turns:
    """The present learners' arrays, gathered once for the rest of the day."""
    idx = np.flatnonzero(plan.present)
    u = TakenDraws(day.draws, idx)
    return Turns.at(day.state, idx, plan.comm[idx], plan.topic[idx], u, plan.tutoring[idx])


def choose_modes(day: Day, turns: Turns, audience: np.ndarray) -> None:
    """Mode of each present learner, and its lead over the audience.

    Only a learner willing to post today (its lasting propensity, reinforced
    by responses; newcomers read first) asks or explains in public; the
    others read (observe) on a social turn: lurking. Ahead of the audience and
    confident enough: explain (only where the setting has social turns at all).
    Otherwise a social turn (with the setting's share) is a question asked in public only when confidence outweighs the
    perceived risk (power gap + knowledge gap), else the learner observes; the
    rest study alone (`fixed_modes` then seats meetup attendees and tutoring pairs).
    """
    state, world, p, u, comm = day.state, day.world, day.p, turns.u, turns.comm
    idx, topic = turns.idx, turns.topic
    conf = state.confidence[idx]
    lead = turns.known - audience[comm, topic]
    stage = state.stage[idx]
    poster = u.post < willing_to_post(state, p, idx)
    explain_p = p.explain_propensity * conf * np.asarray(p.stage_explain)[stage]
    share = world.per(world.social_share, comm)
    # a setting with no social turns (social_share 0: self-study) has no public exchange at all, so nobody
    # explains in public either; a share above 0 leaves every draw as it was
    explain = poster & (share > 0) & (lead > p.explain_margin) & (u.explain < explain_p)
    social = ~explain & (u.social < share)
    risk = (
        p.risk_base
        + world.per(world.power_gap, comm)
        + p.risk_gap_weight * np.maximum(-lead, 0.0)
        + p.newcomer_risk * (stage == Stage.NEWCOMER)
    )
    ask = social & poster & (u.ask < sigmoid((conf - risk) / p.ask_temperature))
    mode = np.full(idx.size, Mode.STUDY, dtype=np.int8)
    mode[social] = Mode.OBSERVE
    mode[ask] = Mode.ASK
    mode[explain] = Mode.EXPLAIN
    turns.mode, turns.lead = mode, lead


def fixed_modes(day: Day, plan: Plan, turns: Turns) -> None:
    """Meetup attendees meet; in a tutoring session the tutee asks and the tutor explains."""
    turns.mode[plan.meet[turns.idx]] = Mode.MEET
    private = turns.private
    tutee = day.state.tutoring_role[turns.idx][private] == TutoringRole.TUTEE
    turns.mode[private] = np.where(tutee, Mode.ASK, Mode.EXPLAIN)
