"""One day of every learner, vectorised over the learner arrays.

The steps follow MODEL.md: take part, pick a community and a topic, pick a
mode, learn, update confidence and motivation, drop out, forget, move towards
the core. All learners update synchronously from the state at the start of
the day; see docs/model.md for the equations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learncomm.agents.state import LearnerState
from learncomm.sim.engine import choices as ch
from learncomm.sim.engine.dynamics import advance_stages, drop_out, forget, update_confidence, update_motivation
from learncomm.sim.engine.learning import learn, zpd_gain
from learncomm.sim.engine.levers import Levers, benchmark_effect, meeting_summaries
from learncomm.sim.engine.world import World
from learncomm.sim.schema.scenario import Params
from learncomm.sim.schema.vocab import Mode


@dataclass
class DayResult:
    """What happened today, for metrics and for roles to observe."""

    present: np.ndarray  # (N,) bool
    mode: np.ndarray  # (N,) int8, -1 when absent
    topic: np.ndarray  # (N,) int64, -1 when absent
    community: np.ndarray  # (N,) int64
    gain: np.ndarray  # (N,) knowledge gained today, answers given to peers included
    exposed: np.ndarray  # (N,) bool
    answered: np.ndarray  # (N,) bool
    dropped: np.ndarray  # (N,) bool
    meetups: dict[int, int]  # community -> attendees


def tutoring_today(state: LearnerState, sessions_per_week: int, day: int, present: np.ndarray) -> np.ndarray:
    """Members of a tutoring pair who meet today: both present, on a session day."""
    if sessions_per_week == 0 or day % 7 >= sessions_per_week:
        return np.zeros(state.n, dtype=bool)
    paired = state.tutoring_partner >= 0
    both = paired & present
    both[paired] &= present[state.tutoring_partner[paired]]
    return both


def session_topics(
    state: LearnerState, world: World, p: Params, tutoring: np.ndarray, comm: np.ndarray, topic: np.ndarray
) -> None:
    """A tutoring pair works on the topic where the tutor can help most (ZPD gain), weighted by the tutee's interest."""
    tutee = np.flatnonzero(tutoring & (state.tutoring_role == 2))
    tutor = state.tutoring_partner[tutee]
    help_ = zpd_gain(state.knowledge[tutor] - state.knowledge[tutee], p.zpd_peak)
    fit = (help_ * state.interest[tutee] + 1e-12) * world.topic_mask[
        comm[tutee]
    ]  # floor: stay on the community's topics
    best = np.argmax(fit, axis=1)
    topic[tutee] = topic[tutor] = best
    comm[tutor] = comm[tutee]


def run_day(
    state: LearnerState, world: World, p: Params, day: int, u: np.ndarray, levers: Levers, sessions_per_week: int = 0
) -> DayResult:
    """Advance every learner by one day, using the uniforms `u` (N, N_UNIFORMS)."""
    n = state.n
    audience = ch.audience_knowledge(state, world)
    meet, comm, topic = ch.choose_meetings(state, world, p, day, u, levers)
    present = meet | (state.active & (u[:, ch.U_PART] < state.access * ch.drive(state, p)))
    if world.n_communities > 1:
        comm = np.where(meet, comm, ch.choose_categorical(world.choice_cdf, u[:, ch.U_COMM]))
    who = np.flatnonzero(present & ~meet)
    topic[who] = ch.choose_topics(state, world, p, day, who, comm[who], u[who], levers.pull)
    tutoring = tutoring_today(state, sessions_per_week, day, present & ~meet)
    if tutoring.any():
        session_topics(state, world, p, tutoring, comm, topic)

    idx = np.flatnonzero(present)
    ci, ti, ui = comm[idx], topic[idx], u[idx]
    mode, lead = ch.choose_modes(state, world, p, idx, ci, ti, ui, audience)
    mode[meet[idx]] = Mode.MEET
    mode[tutoring[idx]] = np.where(state.tutoring_role[idx][tutoring[idx]] == 2, Mode.ASK, Mode.EXPLAIN)
    private = tutoring[idx]

    meet_level = np.zeros_like(audience)
    meetups: dict[int, int] = {}
    meet_topic: dict[int, int] = {}
    for c in np.unique(comm[meet]):
        att = meet & (comm == c)
        meetups[int(c)] = int(att.sum())
        meet_topic[int(c)] = int(topic[att][0])
        meet_level[c, topic[att][0]] = state.knowledge[att, topic[att][0]].mean()

    g = learn(state, world, p, idx, mode, ti, ci, ui, meet_level, private, audience, levers)
    gain = meeting_summaries(state, levers, meet, meet_topic, meet_level, p.alpha_meet, p.zpd_peak)
    gain[idx] += g.own
    gain += np.bincount(g.helper, weights=g.helper_gain, minlength=n)
    k = state.knowledge
    k[idx, ti] = np.minimum(1.0, k[idx, ti] + g.own)
    np.add.at(k, (g.helper, g.helper_topic), g.helper_gain)  # a helper may answer several learners
    k[g.helper, g.helper_topic] = np.minimum(k[g.helper, g.helper_topic], 1.0)

    public_ask = (mode == Mode.ASK) & ~private
    cold_call = (ui[:, ch.U_EXPOSE] < world.per(world.exposure_rate, ci)) & (mode != Mode.MEET) & ~private
    exposed_gap = np.where(public_ask | cold_call, np.maximum(-lead, 0.0), 0.0)
    exposed_gap[mode == Mode.MEET] = 0.0
    success = g.answered | (mode == Mode.EXPLAIN) | ((mode == Mode.MEET) & (g.own > 0)) | private
    social = mode != Mode.STUDY
    power = np.where(private, 0.0, world.per(world.power_gap, ci))
    exposed_i = update_confidence(state, p, idx, success, social, exposed_gap, power)

    fit = state.interest[idx, ti] * world.topic_mask.sum(axis=1)[ci] - 1.0
    update_motivation(state, p, present, idx, gain[idx], fit, exposed_i, success, levers.boost)
    levers.boost = None
    benchmark_effect(state, levers, idx, ci, ti)

    counts = state.counts
    counts[idx, 0] += 1
    counts[idx, 1 + mode.astype(np.int64)] += 1  # idx has no repeats
    counts[:, 6] += np.bincount(g.helper, minlength=n).astype(counts.dtype)
    forget(state, p, idx, ti)
    patience = None if levers.welcomed is None else 1.0 + levers.welcome_patience * levers.welcomed
    dropped = drop_out(state, p, day + 1, patience)  # recorded as the timeseries' day number (1 = first day)
    advance_stages(state, p, counts[:, 0], counts[:, 4] + counts[:, 6])

    full_mode = np.full(n, -1, dtype=np.int8)
    full_mode[idx] = mode
    exposed = np.zeros(n, dtype=bool)
    exposed[idx] = exposed_i
    answered = np.zeros(n, dtype=bool)
    answered[idx] = g.answered
    return DayResult(present, full_mode, np.where(present, topic, -1), comm, gain, exposed, answered, dropped, meetups)
