"""One day of every learner, vectorised over the learner arrays.

`run_day` tells the day in the order of docs/model.md ("A day"): meetups,
taking part, community and topic, tutoring, mode, learning, how the day felt
(confidence, motivation), growing older in the community (forgetting,
dropout, stages). All learners update synchronously from the state at the
start of the day; see docs/model.md for the equations.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from learncomm.sim.engine import choices as ch
from learncomm.sim.engine.background import later
from learncomm.sim.engine.dynamics import (
    Exchange,
    Felt,
    advance_stages,
    drop_out,
    forget,
    update_confidence,
    update_motivation,
)
from learncomm.sim.engine.learning import Gains, learn
from learncomm.sim.engine.levers import benchmark_effect, meeting_summaries
from learncomm.sim.engine.participation import Posts, arrive, leave, record_posts, reinforce
from learncomm.sim.engine.today import Day, HeldMeetups, Plan, Turns, cells
from learncomm.sim.schema.vocab import Count, Mode


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
    left: np.ndarray  # (N,) bool: left today (burnt out or drifted away)
    meetups: dict[int, int]  # community -> attendees
    posts: np.ndarray  # (N,) int32 public posts today
    number: int  # the timeseries day number of this day (1 = the first)


def run_day(day: Day) -> DayResult:
    """Advance every learner by one day."""
    # whom a question is asked before, at the start of the day (the next phases change no knowledge or membership,
    # so a large run computes it on the second thread meanwhile)
    start = later(day.ahead, partial(ch.audience_knowledge, day.state, day.world))
    plan = ch.choose_meetings(day)  # 1. meetups
    ch.take_part(day, plan)  # 2. take part
    ch.choose_places(day, plan)  # 3. community and topic
    ch.pair_sessions(day, plan)  # tutoring pairs and their topics
    turns = ch.present_turns(day, plan)
    audience = start.result()
    ch.choose_modes(day, turns, audience)  # 4. mode
    ch.fixed_modes(day, plan, turns)
    meetups = ch.meetups_held(day.state, plan)
    gains = learn(day, turns, meetups.level, audience)  # 5. learn
    gain = take_in(day, plan, turns, gains, meetups)
    posts = feel(day, turns, gains, gain)  # 6. confidence, 7. motivation, reinforcement
    dropped = age(day, turns, posts)  # 8. counters, forgetting, 9. leaving, 10. stages
    members = Membership(left=dropped, posts=record_posts(day.state, turns.idx, posts, day.number + 1))
    arrive(day.state, day.number + 1)  # 11. tomorrow's newcomers join
    return record(plan, turns, gains, gain, meetups, members, day.number + 1)


def take_in(day: Day, plan: Plan, turns: Turns, gains: Gains, meetups: HeldMeetups) -> np.ndarray:
    """Apply the day's gains to knowledge (meeting notes, own gains, then answering peers); each learner's total."""
    state, idx = day.state, turns.idx
    gain = meeting_summaries(state, day.levers, day.p, plan.present & ~plan.meet, meetups.topic, meetups.level)
    gain[idx] += gains.own
    gain += np.bincount(gains.helper, weights=gains.helper_gain, minlength=state.n)
    k, flat = state.knowledge, cells(state.knowledge)  # meeting notes changed some: read again
    flat[turns.cell] = np.minimum(1.0, flat[turns.cell] + gains.own)
    np.add.at(k, (gains.helper, gains.helper_topic), gains.helper_gain)  # a helper may answer several learners
    k[gains.helper, gains.helper_topic] = np.minimum(k[gains.helper, gains.helper_topic], 1.0)
    return gain


def exchange(day: Day, turns: Turns, gains: Gains) -> Exchange:
    """Success, sociability and exposure of each turn: a public question, or a classroom cold call, shows
    the learner's gap to the audience."""
    world, mode, private, comm = day.world, turns.mode, turns.private, turns.comm
    public_ask = (mode == Mode.ASK) & ~private
    cold_call = (turns.u.exposure < world.per(world.exposure_rate, comm)) & (mode != Mode.MEET) & ~private
    exposed_gap = np.where(public_ask | cold_call, np.maximum(-turns.lead, 0.0), 0.0)
    exposed_gap[mode == Mode.MEET] = 0.0
    return Exchange(
        success=gains.answered | (mode == Mode.EXPLAIN) | ((mode == Mode.MEET) & (gains.own > 0)) | private,
        social=mode != Mode.STUDY,
        exposed_gap=exposed_gap,
        power=np.where(private, 0.0, world.per(world.power_gap, comm)),
    )


def feel(day: Day, turns: Turns, gains: Gains, gain: np.ndarray) -> Posts:
    """Confidence (noting who was exposed), then what responses and silence teach about posting, then
    motivation (with the roles' one-off boosts, taken once), then a benchmark's pull. Returns the day's posts."""
    state, p, levers, idx = day.state, day.p, day.levers, turns.idx
    ex = exchange(day, turns, gains)
    turns.exposed = update_confidence(state, p, idx, ex)
    public = ~turns.private
    posts = Posts(
        asked=(turns.mode == Mode.ASK) & public,
        responded=gains.responded,
        explained=(turns.mode == Mode.EXPLAIN) & public,
        answers=np.bincount(gains.responders, minlength=state.n).astype(np.int32),  # once for the whole day
    )
    ignored = reinforce(state, p, idx, posts, levers.take_reply())
    state.bonds[idx] += ex.success | gains.responded
    fit = cells(state.interest)[turns.cell] * day.world.per(day.world.topic_mask.sum(axis=1), turns.comm) - 1.0
    felt = Felt(gain[idx], fit, turns.exposed, ex.success, ignored)
    update_motivation(state, p, idx, felt, levers.take_boost())
    benchmark_effect(state, levers, idx, turns.comm, turns.topic)
    return posts


def age(day: Day, turns: Turns, posts: Posts) -> np.ndarray:
    """Count the day, forget what was not practised, drop out, move towards the core. Returns who dropped out."""
    state, p = day.state, day.p
    counts = state.counts
    flat, width = cells(counts), counts.shape[1]
    here = turns.idx * width
    flat[here + Count.DAYS_PRESENT] += 1  # idx has no repeats
    flat[here + (Count.STUDY + turns.mode.astype(np.int64))] += 1
    helpers = np.flatnonzero(posts.answers)  # a few: who answered a peer's question today
    flat[helpers * width + Count.ANSWERS] += posts.answers[helpers]
    # forgetting changes only knowledge, which leaving and stages do not read: a large run overlaps them
    # on the second thread it reads who was a member before leaving: a copy (in line it runs first anyway)
    was_member = state.active.copy() if day.ahead else None
    forgetting = later(day.ahead, partial(forget, state, p, turns.idx, turns.topic, was_member))
    try:
        dropped = drop_out(state, p, day.number + 1, day.levers.patience())  # the timeseries' day number (1 = first)
        dropped |= leave(state, p, day.world.leaving, day.draws.leave, day.number + 1)
        changed = np.concatenate([turns.idx, helpers])  # only their counts moved today (a repeat is harmless)
        at = changed * width
        advance_stages(
            state, p, flat[at + Count.DAYS_PRESENT], flat[at + Count.EXPLAIN] + flat[at + Count.ANSWERS], changed
        )
    finally:  # never leave the second thread writing knowledge behind the day's back
        forgetting.result()
    return dropped


@dataclass
class Membership:
    """Who left today, and everyone's posts: (N,) arrays."""

    left: np.ndarray  # bool
    posts: np.ndarray  # int32


def record(
    plan: Plan, turns: Turns, gains: Gains, gain: np.ndarray, meetups: HeldMeetups, members: Membership, number: int
) -> DayResult:
    """The day's outcomes over every learner (absent learners: mode and topic -1)."""
    n, idx = plan.present.size, turns.idx
    full_mode = np.full(n, -1, dtype=np.int8)
    full_mode[idx] = turns.mode
    full_exposed = np.zeros(n, dtype=bool)
    full_exposed[idx] = turns.exposed
    answered = np.zeros(n, dtype=bool)
    answered[idx] = gains.answered
    return DayResult(
        present=plan.present,
        mode=full_mode,
        topic=np.where(plan.present, plan.topic, -1),
        community=plan.comm,
        gain=gain,
        exposed=full_exposed,
        answered=answered,
        left=members.left,
        meetups=meetups.attendance,
        posts=members.posts,
        number=number,
    )
