"""Participation mechanisms (sim/engine/participation.py): who posts, who is answered, who stays, who arrives.

BASE_YAML (conftest) switches these mechanisms off for the older tests; every test here switches on what it tests.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_model, make_scenario, make_state

from learncomm.agents.population import draw_arrivals
from learncomm.agents.state import LearnerState
from learncomm.sim.engine.model import CommunityModel
from learncomm.sim.engine.network import Csr
from learncomm.sim.engine.participation import (
    Posts,
    arrive,
    enthusiasm,
    forum_responder,
    leave,
    record_posts,
    reinforce,
    willing_to_post,
)
from learncomm.sim.runs.run import run_scenario
from learncomm.sim.schema.loading import load_scenario, parse_scenario
from learncomm.sim.schema.scenario import Params
from learncomm.sim.schema.vocab import Stage


def star(n: int) -> Csr:
    """Learner 0 linked to every other learner."""
    nb = np.arange(1, n)
    indptr = np.concatenate([[0, n - 1], n - 1 + np.arange(1, n)])
    indices = np.concatenate([nb, np.zeros(n - 1, dtype=np.int64)])
    return Csr(indptr=indptr.astype(np.int64), indices=indices.astype(np.int64))


def test_propensity_is_heavy_tailed_and_separate_from_confidence() -> None:
    model = make_model(make_scenario(learners=4000, params__activity_spread=1.6, params__post_rate=0.15))
    s = model.state
    a = np.sort(s.activity)[::-1]
    assert a[: a.size // 10].sum() / a.sum() > 0.45  # the top tenth holds about half of the propensity
    assert abs(np.corrcoef(s.activity, s.confidence)[0, 1]) < 0.05
    w = willing_to_post(s, model.params, np.arange(s.n))
    assert np.median(w) == pytest.approx(0.15, rel=0.1) and w.max() == 1.0


def test_newcomers_read_first() -> None:
    s, p = make_state(2), Params(stage_post=(0.5, 1.0, 1.5))
    s.stage[:] = [Stage.NEWCOMER, Stage.REGULAR]
    w = willing_to_post(s, p, np.arange(2))
    assert w[0] == pytest.approx(0.5 * w[1])


def test_a_question_is_answered_with_the_chance_that_some_neighbour_responds() -> None:
    n, trials = 5, 20000
    s, p = make_state(n), Params(respond_rate=0.25, stage_post=(1.0, 1.0, 1.0))
    s.active[4] = False  # a neighbour who left does not read
    net, rng = star(n), np.random.default_rng(0)
    askers = np.zeros(trials, dtype=np.int64)
    who = forum_responder(s, p, net, askers, rng.random(trials), rng.random(trials))
    assert (who >= 0).mean() == pytest.approx(1 - 0.75**3, abs=0.015)  # three willing readers at 0.25 each
    assert set(np.unique(who[who >= 0])) == {1, 2, 3}
    s.activity[1] = 3.0  # a keener neighbour answers more often (in proportion to its willingness)
    who = forum_responder(s, p, net, askers, rng.random(trials), rng.random(trials))
    share = np.bincount(who[who >= 0], minlength=4)[1:] / (who >= 0).sum()
    assert share[0] == pytest.approx(0.75 / 1.25, abs=0.02)


def test_a_response_reinforces_posting_and_silence_discourages_most_the_newcomer_and_unconfident() -> None:
    s = make_state(4, confidence=[0.8, 0.8, 0.8, 0.2])
    s.stage[:] = [Stage.REGULAR, Stage.REGULAR, Stage.NEWCOMER, Stage.REGULAR]
    p = Params(reinforcement_decay=0.0)
    asked = np.array([True, True, True, True])
    responded = np.array([True, False, False, False])
    cost = reinforce(s, p, np.arange(4), Posts(asked, responded, np.zeros(4, bool), np.array([1, 0, 0, 0], np.int32)))
    rho = s.reinforcement
    assert rho[0] == pytest.approx(2 * p.reply_reinforcement)  # answered, and thanked for an answer it gave
    assert rho[1] < 0 and rho[2] < rho[1] and rho[3] < rho[1]  # ignored: newcomer and unconfident lose more
    assert cost[0] == 0 and cost[2] > cost[1] > 0 and cost[3] > cost[1]
    for _ in range(200):  # bounded
        reinforce(s, p, np.arange(4), Posts(asked, responded, np.zeros(4, bool), np.array([1, 0, 0, 0], np.int32)))
    assert rho.max() == p.reinforcement_cap and rho.min() == -p.reinforcement_cap


def test_leaving_hazard_falls_with_tenure_and_bonds_and_is_zero_where_compulsory() -> None:
    n, p = 20000, Params(leave_rate=0.1)
    rng = np.random.default_rng(1)

    def share_left(joined_day: int, bonds: int, factor: float) -> float:
        s = make_state(n, motivation=0.5)
        s.joined_day[:], s.bonds[:] = joined_day, bonds
        return float(leave(s, p, np.full(n, factor), rng.random(n), day=101).mean())

    new, old, bonded = share_left(100, 0, 1.0), share_left(0, 0, 1.0), share_left(100, 60, 1.0)
    assert new == pytest.approx(0.1 * 0.5, rel=0.05)
    assert old == pytest.approx(0.05 / (1 + 100 / p.leave_tenure), rel=0.1)
    assert bonded == pytest.approx(0.05 / (1 + 60 / p.leave_bonds), rel=0.1)
    assert share_left(100, 0, 0.0) == 0.0


def test_a_leaver_is_recorded_and_stays_gone() -> None:
    s = make_state(3)
    left = leave(s, Params(leave_rate=1.0), np.ones(3), np.array([0.0, 0.99, 0.0]), day=5)
    assert left.tolist() == [True, False, True] and s.leaving_day.tolist() == [5, -1, 5]
    assert not leave(s, Params(leave_rate=1.0), np.ones(3), np.zeros(3), day=6)[[0, 2]].any()


def test_novelty_fades_only_where_taking_part_is_voluntary() -> None:
    s, p = make_state(3), Params(fade_floor=0.2, fade_days=10.0)
    s.joined_day[:] = [0, 0, 30]
    e = enthusiasm(s, p, np.array([True, False, True]), day=30)
    assert e[0] == pytest.approx(0.2 + 0.8 * np.exp(-3)) and e[1] == 1.0 and e[2] == 1.0


def test_arrivals_follow_the_founders_share_and_the_wave() -> None:
    scn = make_scenario(learners=20000, days=180, arrivals={"founders": 0.2, "wave_days": 20.0, "trickle": 0.0})
    model = make_model(scn, agents=False)
    s = model.state
    assert (s.joined_day == 0).mean() == pytest.approx(0.2, abs=0.01)
    later = s.joined_day[s.joined_day > 0]
    assert later.mean() == pytest.approx(20.5, rel=0.05)  # 1 + an exponential of mean 20, floored
    assert not s.active[s.joined_day > 0].any() and not s.joined[s.joined_day > 0].any()
    due = arrive(s, 1)
    assert due.sum() == (s.joined_day == 1).sum() and s.active[due].all() and s.joined[due].all()


@pytest.mark.parametrize("days", [2, 5, 30])
def test_a_slow_wave_is_truncated_to_the_run_and_makes_no_founders(days: int) -> None:
    scn = make_scenario(learners=500, days=days, arrivals={"founders": 0.0, "wave_days": 10000.0, "trickle": 0.0})
    s = make_model(scn, agents=False).state
    assert (s.joined_day >= 1).all() and (s.joined_day <= days - 1).all()
    if days > 2:
        assert len(np.unique(s.joined_day)) > 1  # spread over the run, not piled on one day


def test_who_fades_follows_each_communitys_fades_and_a_compulsory_class_wins() -> None:
    text = """
name: t
days: 10
seed: 1
communities:
  - {name: class, members: 20, setting: classroom}
  - {name: forum, members: 30, include: {class: 0.5}}
  - {name: club, members: 10, fades: false}
"""
    model = CommunityModel(parse_scenario(text), seed=1, agents=False)
    m, fades = model.state.membership, model.world.fades
    in_class, in_club = m[:, 0], m[:, 2]
    only_forum = m[:, 1] & ~in_class & ~in_club
    assert not fades[in_class].any() and not fades[in_club].any()
    assert only_forum.any() and fades[only_forum].all()
    assert (in_class & m[:, 1]).any()  # the shared members do not fade: the class is compulsory


def test_arrivals_draw_from_their_own_stream() -> None:
    """Scheduling arrivals leaves every trait of the population as it was."""
    a = make_model(make_scenario(learners=50), seed=3, agents=False).state
    b = make_model(make_scenario(learners=50, arrivals={"founders": 0.3}), seed=3, agents=False).state
    for name in ("knowledge", "confidence", "motivation", "activity", "interest"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    scn = make_scenario(learners=50, arrivals={"founders": 0.3})
    again: LearnerState = make_model(scn, seed=3, agents=False).state
    draw_arrivals(scn, again, np.random.default_rng(0))  # a different stream moves only the schedule
    assert not np.array_equal(again.joined_day, b.joined_day)


def test_the_post_record_counts_first_and_last_posts_and_the_first_question() -> None:
    s = make_state(3)
    idx = np.array([0, 1])
    posts = Posts(
        np.array([True, False]), np.array([False, False]), np.array([False, True]), np.array([0, 0, 2], np.int32)
    )
    today = record_posts(s, idx, posts, day=4)
    assert today.tolist() == [1, 1, 2] and s.posts.tolist() == [1, 1, 2]
    assert s.first_post_day.tolist() == [4, 4, 4] and s.first_question_day.tolist() == [4, -1, -1]
    assert s.first_question_answered.tolist() == [0, -1, -1] and s.unanswered.tolist() == [1, 0, 0]
    # learner 2 was not present but answered two questions (read later): an active day
    assert s.last_active_day.tolist() == [4, 4, 4] and s.bonds.tolist() == [0, 0, 2]
    posts = Posts(np.array([True, False]), np.array([True, False]), np.array([False, False]), np.zeros(3, np.int32))
    record_posts(s, idx, posts, day=9)
    assert s.first_question_answered[0] == 0 and s.last_post_day.tolist() == [9, 4, 4]  # the first question stays


@pytest.mark.parametrize("name", ["community", "video-game"])
def test_counts_add_up_in_a_default_run(name: str) -> None:
    r = run_scenario(load_scenario(name, {"days": 120}), seed=2)
    ts, lt = r.timeseries, r.learners
    assert np.array_equal(ts["joined_learners"], ts["arrivals"].cumsum())
    active = ts["arrivals"].cumsum() - ts["leavers"].cumsum()
    assert np.array_equal(ts["active_learners"], active)
    assert ts["posts"].sum() == lt["posts"].sum() == (lt["ask"] + lt["explain"] + lt["answers"]).sum()
    assert ((lt["posts"] > 0) == (lt["first_post_day"] > 0)).all()
    assert (lt["last_post_day"] >= lt["first_post_day"]).all()
    left = lt["leaving_day"] >= 0
    assert (left == ~lt["retained"]).all() and (lt.loc[left, "tenure"] > 0).all()
    assert (lt["tenure"] == np.where(left, lt["leaving_day"], 120) - lt["joined_day"]).all()
    asked = lt["first_question_day"] >= 0
    assert lt["first_question_answered"].isna().eq(~asked).all()
    levels = lt["activity_level"].value_counts()
    assert levels["lurker"] == (lt["posts"] == 0).sum() and levels["superuser"] == max(1, round(0.01 * len(lt)))


def test_an_answered_first_question_keeps_newcomers_posting() -> None:
    """Joyce & Kraut (2006): a reply to a newcomer's first post raises the chance it posts again."""
    again = {True: [], False: []}
    for seed in range(4):
        lt = run_scenario(load_scenario("video-game", {"days": 120}), seed=seed).learners
        first_q = lt[(lt["first_question_day"] >= 0) & (lt["first_question_day"] == lt["first_post_day"])]
        for answered, grp in first_q.groupby(first_q["first_question_answered"].astype(bool)):
            again[bool(answered)].append((grp["posts"] > 1).mean())
    assert np.mean(again[True]) - np.mean(again[False]) > 0.05


def test_the_leaving_hazard_is_exact_at_a_known_tenure_and_bond_count() -> None:
    """A uniform just below the hazard leaves, just above stays: tenure counts the days already behind."""
    p = Params(leave_rate=0.1, leave_tenure=60.0, leave_bonds=30.0)
    s = make_state(2, motivation=0.4)
    s.joined_day[:], s.bonds[:] = 10, 15
    h = 0.1 * (1 - 0.4) / (1 + 20 / 60 + 15 / 30)  # on timeseries day 31: days 11..30 behind it, tenure 20
    left = leave(s, p, np.ones(2), np.array([h * 0.999, h * 1.001]), day=31)
    assert left.tolist() == [True, False]


def test_a_managers_prospects_leave_the_members_arrival_schedule_as_it_was() -> None:
    text = "name: t\nlearners: 120\ndays: 30\nseed: 2\nllm: {cache: null}\n"
    plain = CommunityModel(parse_scenario(text), seed=5, agents=False)
    managed = CommunityModel(parse_scenario(text + "roles:\n  manager: {reserve: 40}\n"), seed=5, agents=False)
    n = plain.state.n
    assert (plain.state.joined_day > 0).any()  # the community setting's arrivals are on
    for name in ("joined_day", "joined", "active"):
        assert np.array_equal(getattr(plain.state, name), getattr(managed.state, name)[:n])
    assert not managed.state.joined[n:].any() and (managed.state.joined_day[n:] == -1).all()


def test_a_welcome_reinforces_newcomers_posting_like_part_of_a_reply() -> None:
    text = "name: t\nlearners: 60\ndays: 20\nseed: 2\nllm: {cache: null}\narrivals: {founders: 1.0}\n"
    roles = "roles:\n  manager: {reserve: 0, welcome_reply: 0.5, start_day: 0}\nparams: {reinforcement_decay: 0.0}\n"
    model = CommunityModel(parse_scenario(text + roles), seed=1, agents=False)
    model.roles.step()  # the manager decides before the first day: everyone is a newcomer and gets a welcome
    welcomed = model.levers.welcomed
    assert welcomed.all()
    expected = 0.5 * model.params.reply_reinforcement
    assert np.allclose(model.levers.reply, expected)
    before = model.state.reinforcement.copy()
    model.step()  # the day takes the welcome in (reinforce), besides what the day's own posts taught
    silent = model.last_day is not None and (model.last_day.posts == 0)
    quiet = silent & ~model.last_day.present  # no post, no turn: only the welcome moved their reinforcement
    assert quiet.any()
    assert np.allclose(model.state.reinforcement[quiet] - before[quiet], expected)
    assert model.levers.take_reply() is None  # taken once


def test_an_ideators_resources_last_its_duration_then_go() -> None:
    text = "name: t\nlearners: 60\ndays: 30\nseed: 2\nllm: {cache: null}\narrivals: {founders: 1.0}\n"
    roles = "roles:\n  ideator: {cadence: 30, duration: 5, resource_boost: 0.2}\n"
    model = CommunityModel(parse_scenario(text + roles), seed=1, agents=False)
    before = model.world.resources.copy()
    model.roles.step()  # the ideator decides before the first day (day 0 is on its cadence)
    lifted = model.world.resources - before
    assert lifted.max() == pytest.approx(0.2 * (1 - before.max())) and (lifted > 0).sum() == 1
    for _ in range(4):
        model.step()
    assert np.allclose(model.world.resources - before, lifted)  # still there on its last day
    model.step()
    assert np.allclose(model.world.resources, before)  # no experts: back exactly where it was
