"""Choices of a day: asking vs observing under a power gap, communities, topics, curriculum, tutoring."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import make_model, make_scenario, overrides, run

from learncomm.sim.engine.choices import audience_knowledge, choose_modes, pick_by_weight
from learncomm.sim.engine.streams import PURPOSES, Draws
from learncomm.sim.engine.today import Day, Turns
from learncomm.sim.schema.vocab import Mode

# ---------------------------------------------------------------- asking vs observing


def _mode_world(n: int = 300, **params: float):
    base = dict(
        explain_propensity=0.0,
        risk_base=0.0,
        risk_gap_weight=1.0,
        newcomer_risk=0.0,
        ask_temperature=0.1,
        stage_explain=[1.0, 1.0, 1.0],
    )
    scn = make_scenario(learners=n, topics=1, **overrides(base, params))
    model = make_model(scn, seed=11, agents=False)
    model.world.social_share[:] = 1.0
    return model


def _modes(model, u):
    state, world = model.state, model.world
    n = state.n
    idx = np.arange(n)
    zeros = np.zeros(n, dtype=np.int64)
    day = Day(state, world, model.params, model.levers, 0, u)
    turns = Turns.at(state, idx, zeros, zeros, u, np.zeros(n, dtype=bool))
    choose_modes(day, turns, audience_knowledge(state, world))
    return turns.mode


def _draws(seed: int, n: int) -> Draws:
    """Uniforms for `n` learners, one vector per purpose (the columns of one seeded block)."""
    block = np.random.default_rng(seed).random((n, len(PURPOSES)))
    return Draws(*block.T.copy())


def test_ask_share_falls_as_the_power_gap_rises() -> None:
    model = _mode_world()
    u = _draws(0, model.state.n)
    asked = []
    for gap in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        model.world.power_gap[:] = gap
        mode = _modes(model, u)
        assert set(np.unique(mode)) <= {Mode.ASK, Mode.OBSERVE}  # social turn, nobody explains
        asked.append(mode == Mode.ASK)
    shares = [a.mean() for a in asked]
    # With common random numbers, whoever asks under a larger power gap also asks under a smaller one.
    for lower, higher in itertools.pairwise(asked):
        assert np.all(higher <= lower)
    assert shares[0] > shares[-1]
    assert shares[0] - shares[-1] > 0.3


def test_low_confidence_learners_ask_less_than_high_confidence_ones() -> None:
    model = _mode_world()
    model.world.power_gap[:] = 0.4
    u = _draws(1, model.state.n)
    mode = _modes(model, u)
    g = model.state.group
    ask_low, ask_high = (mode[g == 0] == Mode.ASK).mean(), (mode[g == 2] == Mode.ASK).mean()
    assert ask_low < ask_high
    # Same learners, same random numbers: lower confidence never asks where higher did not.
    model.state.confidence[:] = 0.2
    low = _modes(model, u) == Mode.ASK
    model.state.confidence[:] = 0.8
    high = _modes(model, u) == Mode.ASK
    assert np.all(low <= high) and low.sum() < high.sum()


def test_learners_behind_their_audience_ask_less() -> None:
    model = _mode_world(risk_gap_weight=2.0)
    model.world.power_gap[:] = 0.2
    model.state.confidence[:] = 0.5
    u = _draws(2, model.state.n)
    model.state.knowledge[:, 0] = 0.5
    level = _modes(model, u) == Mode.ASK
    behind = np.arange(model.state.n) % 2 == 0
    model.state.knowledge[behind, 0] = 0.2
    mixed = _modes(model, u) == Mode.ASK
    assert mixed[behind].sum() < level[behind].sum()


def test_learners_ahead_may_explain_and_never_when_propensity_is_zero() -> None:
    model = _mode_world(explain_propensity=1.0, explain_margin=0.05)
    st = model.state
    st.knowledge[:, 0] = 0.2
    st.knowledge[: st.n // 2, 0] = 0.9
    st.confidence[:] = 0.9
    u = _draws(3, st.n)
    mode = _modes(model, u)
    ahead = np.arange(st.n) < st.n // 2
    assert (mode[ahead] == Mode.EXPLAIN).any()
    assert not (mode[~ahead] == Mode.EXPLAIN).any()


def test_classroom_low_group_asks_less_than_in_a_community() -> None:
    shares = {}
    for setting in ("classroom", "community"):
        scn = make_scenario(
            setting=setting,
            learners=150,
            days=20,
            params__risk_base=0.0,
            params__risk_gap_weight=0.5,
            params__newcomer_risk=0.0,
            params__ask_temperature=0.1,
            params__explain_propensity=0.2,
            settings__classroom__power_gap=0.8,
            settings__community__power_gap=0.1,
            settings__classroom__social_share=0.6,
            settings__community__social_share=0.6,
        )
        model = make_model(scn, seed=5, agents=False)
        run(model, 20)
        c, low = model.state.counts, model.state.group == 0
        shares[setting] = c[low, 2].sum() / c[low, 0].sum()
    assert shares["classroom"] < shares["community"]
    assert shares["community"] - shares["classroom"] > 0.1


# ---------------------------------------------------------------- communities and topics


def test_learners_act_only_in_their_communities_on_their_topics() -> None:
    """A learner works in a community it belongs to, on one of that community's topics.

    A very concentrated interest draw (valid: interest_concentration is any positive
    number) gives some learners zero interest in every topic of their community.
    """
    scn = make_scenario(
        """
        name: two
        days: 8
        topics: 8
        population: {interest_concentration: 0.003}
        communities:
          - {name: a, members: 40, topics: [topic-1, topic-2]}
          - {name: b, members: 40, topics: [topic-3, topic-4], include: {a: 0.5}}
        """
    )
    bad_member = bad_topic = 0
    for seed in range(4):
        model = make_model(scn, seed=seed, agents=False)
        st, w = model.state, model.world
        for _ in range(8):
            model.step()
            d = model.last_day
            i = np.flatnonzero(d.present)
            bad_member += int((~st.membership[i, d.community[i]]).sum())
            bad_topic += int((~w.topic_mask[d.community[i], d.topic[i]]).sum())
    assert bad_member == 0, f"{bad_member} learner-days in a community the learner is not a member of"
    assert bad_topic == 0, f"{bad_topic} learner-days on a topic outside the community's topics"


def test_topic_outside_a_single_community_topic_list_is_never_chosen() -> None:
    scn = make_scenario(
        """
        name: one
        days: 6
        topics: 8
        population: {interest_concentration: 0.003}
        communities:
          - {name: a, members: 60, topics: [topic-1, topic-2]}
        """
    )
    off = 0
    for seed in range(4):
        model = make_model(scn, seed=seed, agents=False)
        for _ in range(6):
            model.step()
            d = model.last_day
            off += int((d.present & ~np.isin(d.topic, [0, 1])).sum())
    assert off == 0, f"{off} learner-days on topics the community does not work on"


def test_classroom_follows_its_curriculum() -> None:
    scn = make_scenario(
        setting="classroom",
        learners=30,
        days=12,
        settings__classroom__days_per_topic=4,
        topics=[
            {"name": "b", "difficulty": 0.6, "requires": ["a"]},
            {"name": "a", "difficulty": 0.9},
            {"name": "c", "difficulty": 0.2},
        ],
    )
    model = make_model(scn, seed=0, agents=False)
    seen = []
    for _ in range(12):
        model.step()
        d = model.last_day
        topics = set(d.topic[d.present & (d.mode != 4)].tolist())
        assert len(topics) == 1
        seen.append(topics.pop())
    names = model.world.topic_names
    order = [names[seen[i]] for i in (0, 4, 8)]
    assert order.index("a") < order.index("b")  # prerequisite first
    assert set(order) == {"a", "b", "c"}
    assert seen[:4] == [seen[0]] * 4


def test_same_seed_same_run_different_seed_different_run() -> None:
    def trace(seed: int) -> np.ndarray:
        model = make_model(make_scenario(learners=40), seed=seed, agents=False)
        run(model, 8)
        return np.concatenate([model.state.knowledge.ravel(), model.state.confidence, model.state.motivation])

    assert np.array_equal(trace(3), trace(3))
    assert not np.array_equal(trace(3), trace(4))


def test_ask_uniform_columns_are_used_for_asking() -> None:
    """Sanity check of the common-random-number layout: ask iff the ask draw is below the ask chance."""
    model = _mode_world(n=60)
    model.world.power_gap[:] = 0.3
    u = _draws(5, 60)
    u.ask[:] = 0.0
    assert np.all(_modes(model, u) == Mode.ASK)
    u.ask[:] = 1.0 - 1e-12
    assert not np.any(_modes(model, u) == Mode.ASK)


# ---------------------------------------------------------------- peer tutoring


def _tutoring_scenario(topics_of_community: list[str] | None = None, days: int = 14):
    comm = {"name": "a", "members": 60}
    if topics_of_community is not None:
        comm["topics"] = topics_of_community
    return make_scenario(
        days=days,
        topics=4,
        tutoring={"tutor_share": 0.5, "sessions_per_week": 7},
        communities=[comm],
        learners=None,
        params__alpha_tutor=0.3,
        params__tutor_rate=0.02,
    )


def test_tutoring_pairs_meet_on_one_topic_tutee_asks_tutor_explains() -> None:
    model = make_model(_tutoring_scenario(), seed=0, agents=False)
    st = model.state
    assert (st.tutoring_role == 1).sum() == (st.tutoring_role == 2).sum() > 0
    tutees = np.flatnonzero(st.tutoring_role == 2)
    assert np.all(st.tutoring_partner[st.tutoring_partner[tutees]] == tutees)
    sessions = 0
    for _ in range(7):
        model.step()
        d = model.last_day
        tutors = st.tutoring_partner[tutees]
        both = d.present[tutees] & d.present[tutors] & (d.mode[tutees] != 4) & (d.mode[tutors] != 4)
        sessions += int(both.sum())
        assert np.all(d.mode[tutees[both]] == Mode.ASK)
        assert np.all(d.mode[tutors[both]] == Mode.EXPLAIN)
        assert np.array_equal(d.topic[tutees[both]], d.topic[tutors[both]])
        assert not d.exposed[tutees[both]].any()  # a private session exposes nobody
    assert sessions > 0


def test_tutoring_sessions_stay_on_the_community_topics() -> None:
    """A pair's session topic must be one the community works on, even when the tutor is not
    ahead of the tutee on any of them."""
    off = 0
    for seed in range(3):
        model = make_model(_tutoring_scenario(["topic-3", "topic-4"]), seed=seed, agents=False)
        for _ in range(14):
            model.step()
            d = model.last_day
            off += int((d.present & ~np.isin(d.topic, [2, 3])).sum())
    assert off == 0, f"{off} learner-days on topics outside the community's list"


def test_a_setting_without_social_turns_has_no_public_explaining() -> None:
    """social_share 0 means no public exchange: the same learners ahead who explain at share 1 never do."""
    model = _mode_world(explain_propensity=1.0, explain_margin=0.05)
    st = model.state
    st.knowledge[:, 0] = 0.2
    st.knowledge[: st.n // 2, 0] = 0.9
    st.confidence[:] = 0.9
    u = _draws(3, st.n)
    assert (_modes(model, u) == Mode.EXPLAIN).any()
    model.world.social_share[:] = 0.0
    assert set(np.unique(_modes(model, u))) == {Mode.STUDY}


def test_self_study_learners_never_ask_observe_or_explain() -> None:
    """The calibration baseline is what its file says: studying alone, every day present."""
    from learncomm.sim.runs.run import run_scenario
    from learncomm.sim.schema.loading import load_scenario

    learners = run_scenario(load_scenario("self-study"), seed=1).learners
    assert learners["days_present"].sum() > 0 and (learners["study"] > 0).all()
    assert (learners[["ask", "observe", "explain", "answers"]] == 0).all().all()


def test_pick_by_weight_matches_the_cumulative_sum_draw_exactly() -> None:
    """The topic draw topic by topic (issue 16) picks what a cumulative sum along each row picked, including
    zero weights (topics outside a community), u at 0 and just below 1, and ties at a boundary."""
    rng = np.random.default_rng(5)
    w = rng.random((2000, 7))
    w[rng.random(w.shape) < 0.3] = 0.0
    w[:, 3] = 0.0
    u = rng.random(2000, dtype=np.float32)
    u[:3] = [0.0, np.float32(1.0) - np.float32(2**-24), 0.5]
    w[2] = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # u * total lands exactly on the first boundary
    cdf = np.cumsum(w, axis=1)
    before = np.minimum((cdf < (u * cdf[:, -1])[:, None]).sum(axis=1), w.shape[1] - 1)
    after = pick_by_weight(w.T, u)
    assert np.array_equal(before, after)
    assert after[2] == 0 and after[0] == 0 and after[1] == np.flatnonzero(w[1])[-1]


def test_interests_are_read_only_once_the_days_begin() -> None:
    """Topics are chosen from a topic-by-topic copy of the interests, so changing them mid-run would go unseen:
    it raises instead."""
    model = make_model(make_scenario(learners=20, days=3), seed=1, agents=False)
    model.state.interest[0, 0] = model.state.interest[0, 0]  # before the first day: allowed (tests craft states)
    model.step()
    assert np.array_equal(model.state.interest_by_topic, model.state.interest.T)
    with pytest.raises(ValueError, match="read-only"):
        model.state.interest[0, 0] = 0.5
