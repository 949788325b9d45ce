"""After a day: confidence, motivation, dropout, forgetting and stages."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_model, make_scenario, make_state, run

from learncomm.sim.engine.dynamics import (
    Exchange,
    Felt,
    advance_stages,
    drop_out,
    forget,
    update_confidence,
    update_motivation,
)
from learncomm.sim.schema.scenario import Params

# ---------------------------------------------------------------- confidence


def _params(**kw: object) -> Params:
    return make_scenario(**{f"params__{k}": v for k, v in kw.items()}).params


def _confidence(p: Params, conf, success, social, gap, power):
    n = len(conf)
    st = make_state(n, confidence=conf)
    ex = Exchange(
        success=np.asarray(success),
        social=np.asarray(social),
        exposed_gap=np.asarray(gap, dtype=float),
        power=np.asarray(power, dtype=float),
    )
    exposed = update_confidence(st, p, np.arange(n), ex)
    return st.confidence, exposed


def test_success_raises_confidence_and_nothing_leaves_it() -> None:
    p = _params(confidence_success=0.05, encouragement=0.0)
    c0 = np.array([0.1, 0.5, 0.9, 0.1, 0.5, 0.9])
    success = np.array([True, True, True, False, False, False])
    c, exposed = _confidence(p, c0, success, np.zeros(6, bool), np.zeros(6), np.full(6, 0.5))
    assert np.all(c[:3] > c0[:3]) and np.all(c[:3] <= 1.0)
    assert np.allclose(c[3:], c0[3:])
    assert not exposed.any()


def test_public_exposure_to_a_large_gap_lowers_confidence() -> None:
    p = _params(
        confidence_exposure=0.3, exposure_gap=0.1, confidence_success=0.0, encouragement=0.0, peer_judgement=0.2
    )
    c0 = np.full(4, 0.6)
    gaps = np.array([0.05, 0.1, 0.3, 0.6])
    c, exposed = _confidence(p, c0, np.zeros(4, bool), np.zeros(4, bool), gaps, np.full(4, 0.5))
    assert list(exposed) == [False, False, True, True]
    assert np.allclose(c[:2], c0[:2])
    assert c0[2] > c[2] > c[3] >= 0.0  # larger gap, larger drop
    # A larger power gap hurts more for the same exposure.
    c_hi, _ = _confidence(p, c0[2:], np.zeros(2, bool), np.zeros(2, bool), gaps[2:], np.full(2, 0.9))
    assert np.all(c_hi < c[2:])


def test_exposure_hurts_low_confidence_more_in_relative_terms() -> None:
    p = _params(
        confidence_exposure=0.3,
        exposure_gap=0.05,
        low_confidence_amplifier=1.0,
        confidence_success=0.0,
        encouragement=0.0,
        peer_judgement=0.2,
    )
    c0 = np.array([0.15, 0.85])
    c, exposed = _confidence(p, c0, np.zeros(2, bool), np.zeros(2, bool), np.full(2, 0.4), np.full(2, 0.8))
    assert exposed.all()
    rel = (c0 - c) / c0
    assert rel[1] > 0.0
    assert rel[0] - rel[1] > 1e-6  # not just rounding


def test_low_confidence_amplifier_deepens_the_drop_of_the_unconfident_most() -> None:
    kw = dict(confidence_exposure=0.2, exposure_gap=0.05, confidence_success=0.0, encouragement=0.0, peer_judgement=0.2)
    c0 = np.array([0.15, 0.85])

    def drop(amplifier: float) -> np.ndarray:
        c, _ = _confidence(
            _params(low_confidence_amplifier=amplifier, **kw),
            c0,
            np.zeros(2, bool),
            np.zeros(2, bool),
            np.full(2, 0.3),
            np.full(2, 0.5),
        )
        return c0 - c

    flat, amplified = drop(0.0), drop(2.0)
    assert np.all(flat > 0.0)
    assert np.all(amplified >= flat)
    ratio = amplified / flat
    assert ratio[0] - ratio[1] > 1e-6  # the amplifier weighs on the low-confidence learner more


def test_encouragement_raises_confidence_more_where_the_power_gap_is_small() -> None:
    p = _params(encouragement=0.05, confidence_success=0.0)
    c0 = np.full(3, 0.4)
    c, _ = _confidence(p, c0, np.zeros(3, bool), np.ones(3, bool), np.zeros(3), np.array([0.1, 0.5, 0.8]))
    assert c[0] > c[1] > c[2] > c0[2]
    # No social contact, no encouragement.
    c_alone, _ = _confidence(p, c0, np.zeros(3, bool), np.zeros(3, bool), np.zeros(3), np.array([0.1, 0.5, 0.8]))
    assert np.allclose(c_alone, c0)


# ---------------------------------------------------------------- motivation


def _motivation_params(**kw: object) -> Params:
    base = dict(
        motivation_progress=0.05,
        progress_scale=0.01,
        motivation_interest=0.0,
        motivation_exposure=0.0,
        motivation_success=0.0,
        motivation_fatigue=0.0,
        motivation_recovery=0.2,
        expectation_rate=0.1,
    )
    base.update(kw)
    return _params(**base)


def test_motivation_follows_progress_against_expectation() -> None:
    p = _motivation_params()
    st = make_state(3, motivation=0.5)
    st.expectation[:] = 0.01
    idx = np.arange(3)
    gain = np.array([0.03, 0.01, 0.002])
    update_motivation(st, p, idx, Felt(gain, np.zeros(3), np.zeros(3, bool), success=np.zeros(3, bool)))
    assert st.motivation[0] > 0.5
    assert st.motivation[1] == pytest.approx(0.5)
    assert st.motivation[2] < 0.5
    # The expectation moves towards the gain.
    assert st.expectation[0] > 0.01 and st.expectation[2] < 0.01 and st.expectation[1] == pytest.approx(0.01)


def test_motivation_interest_exposure_and_fatigue_push_the_right_way() -> None:
    p = _motivation_params(
        motivation_progress=0.0, motivation_interest=0.02, motivation_exposure=0.05, motivation_fatigue=0.01
    )
    st = make_state(4, motivation=0.5)
    update_motivation(
        st,
        p,
        np.arange(4),
        Felt(
            np.zeros(4),
            np.array([1.0, 0.0, 0.0, -1.0]),
            np.array([False, False, True, False]),
            success=np.zeros(4, bool),
        ),
    )
    m = st.motivation
    assert m[0] > m[1] > m[2]
    assert m[1] < 0.5  # fatigue alone
    assert m[3] < m[1]


def test_success_in_an_exchange_raises_motivation() -> None:
    p = _motivation_params(motivation_progress=0.0, motivation_success=0.02)
    st = make_state(2, motivation=0.5)
    update_motivation(
        st,
        p,
        np.arange(2),
        Felt(np.zeros(2), np.zeros(2), np.zeros(2, bool), success=np.array([True, False])),
    )
    assert st.motivation[0] > st.motivation[1]
    assert st.motivation[1] == pytest.approx(0.5)


def test_absent_learners_rest_towards_their_baseline() -> None:
    p = _motivation_params(motivation_recovery=0.25)
    st = make_state(4, motivation=0.5)
    st.motivation[:] = [0.2, 0.9, 0.2, 0.5]
    st.active[2] = False  # dropped: frozen
    # only learner 3 takes part
    update_motivation(
        st, p, np.array([3]), Felt(np.zeros(1), np.zeros(1), np.zeros(1, bool), success=np.zeros(1, bool))
    )
    assert st.motivation[0] == pytest.approx(0.2 + 0.25 * (0.5 - 0.2))
    assert st.motivation[1] == pytest.approx(0.9 + 0.25 * (0.5 - 0.9))
    assert st.motivation[2] == 0.2


def test_motivation_stays_in_unit_interval_under_extreme_updates() -> None:
    p = _motivation_params(motivation_progress=1.0, motivation_fatigue=1.0, motivation_exposure=1.0)
    st = make_state(2, motivation=[0.01, 0.99])
    update_motivation(
        st,
        p,
        np.arange(2),
        Felt(np.array([0.0, 1.0]), np.zeros(2), np.array([True, False]), success=np.array([False, True])),
        boost=np.array([-1.0, 1.0]),
    )
    assert np.all((st.motivation >= 0.0) & (st.motivation <= 1.0))


# ---------------------------------------------------------------- dropout


def test_dropout_after_patience_days_below_threshold_newcomers_sooner() -> None:
    p = _params(dropout_threshold=0.3, dropout_patience=4, newcomer_patience=0.5)
    st = make_state(3, motivation=0.1)
    st.stage[:] = [0, 1, 2]  # newcomer, regular, core
    st.motivation[2] = 0.5  # above the threshold: never drops
    days = {}
    for day in range(8):
        for i in np.flatnonzero(drop_out(st, p, day)):
            days[int(i)] = day
    newcomer_days = int(np.ceil(4 * 0.5))
    assert days == {0: newcomer_days - 1, 1: 4 - 1}
    assert list(st.leaving_day) == [newcomer_days - 1, 3, -1]
    assert list(st.active) == [False, False, True]


def test_dropout_streak_resets_when_motivation_recovers() -> None:
    p = _params(dropout_threshold=0.3, dropout_patience=3, newcomer_patience=1.0)
    st = make_state(1, motivation=0.1)
    st.stage[:] = 1
    for day in range(2):
        assert not drop_out(st, p, day).any()
    assert st.low_streak[0] == 2
    st.motivation[0] = 0.5
    assert not drop_out(st, p, 2).any()
    assert st.low_streak[0] == 0
    st.motivation[0] = 0.1
    for day in range(3, 5):
        assert not drop_out(st, p, day).any()
    assert drop_out(st, p, 5)[0]
    assert st.leaving_day[0] == 5 and not st.active[0]


def _dropout_scenario(**extra):
    return make_scenario(
        learners=60,
        days=30,
        params__motivation_fatigue=0.04,
        params__motivation_progress=0.0,
        params__motivation_interest=0.0,
        params__motivation_recovery=0.0,
        params__dropout_threshold=0.3,
        params__dropout_patience=3,
        params__newcomer_patience=1.0,
        params__forgetting=0.05,
        population__motivation={"mean": 0.4, "spread": 0.1},
        **extra,
    )


def test_dropped_learners_never_act_again_in_a_model_run() -> None:
    model = make_model(_dropout_scenario(), seed=2)
    st = model.state
    dropped_on: dict[int, int] = {}
    frozen: dict[int, tuple] = {}
    for _ in range(30):
        before = st.active.copy()
        model.step()
        d = model.last_day
        assert not d.present[~before].any()
        assert np.all(d.mode[~before] == -1) and np.all(d.topic[~before] == -1)
        assert np.all(d.gain[~before] == 0.0)
        assert np.array_equal(d.left, before & ~st.active)
        for i in np.flatnonzero(d.left):
            dropped_on[int(i)] = model.steps  # the timeseries day number: 1 = the first day
            frozen[int(i)] = (
                st.knowledge[i].copy(),
                st.counts[i].copy(),
                st.confidence[i],
                st.motivation[i],
                st.stage[i],
            )
    assert len(dropped_on) >= 5, "the scenario is meant to make learners drop out"
    for i, day in dropped_on.items():
        assert st.leaving_day[i] == day and not st.active[i]
        k, counts, conf, mot, stage = frozen[i]
        # No forgetting, no counts, no confidence or motivation change after leaving.
        assert np.array_equal(st.knowledge[i], k)
        assert np.array_equal(st.counts[i], counts)
        assert st.confidence[i] == conf and st.motivation[i] == mot and st.stage[i] == stage
    assert np.all(st.leaving_day[st.active] == -1)
    assert np.all(st.leaving_day[~st.active] >= 0)
    assert int(model.metrics["active_learners"]) == int(st.active.sum())


def test_newcomers_drop_out_sooner_than_regulars_in_a_model_run() -> None:
    def days_active(newcomer_patience: float) -> np.ndarray:
        scn = make_scenario(
            learners=60,
            days=30,
            params__motivation_fatigue=0.04,
            params__motivation_progress=0.0,
            params__motivation_interest=0.0,
            params__motivation_recovery=0.0,
            params__dropout_threshold=0.3,
            params__dropout_patience=6,
            params__newcomer_patience=newcomer_patience,
            params__regular_after_days=1000,
            population__motivation={"mean": 0.4, "spread": 0.1},
        )
        model = make_model(scn, seed=4, agents=False)
        run(model, 30)
        d = model.state.leaving_day
        assert (d >= 0).sum() >= 5
        return np.where(d >= 0, d, 30)

    impatient, patient = days_active(0.3), days_active(1.0)
    assert impatient.mean() < patient.mean()
    assert (impatient < 30).sum() >= (patient < 30).sum()


# ---------------------------------------------------------------- forgetting


def test_forgetting_decays_unpractised_topics_only_and_spares_dropouts() -> None:
    p = _params(forgetting=0.1)
    st = make_state(3, topics=3, knowledge=[0.5, 0.6, 0.7])
    st.active[2] = False
    k0 = st.knowledge.copy()
    forget(st, p, np.array([0, 1]), np.array([1, 2]))
    k = st.knowledge
    assert k[0, 1] == k0[0, 1] and k[1, 2] == k0[1, 2]  # practised today
    assert k[0, 0] == pytest.approx(0.9 * k0[0, 0]) and k[0, 2] == pytest.approx(0.9 * k0[0, 2])
    assert k[1, 0] == pytest.approx(0.9 * k0[1, 0]) and k[1, 1] == pytest.approx(0.9 * k0[1, 1])
    assert np.array_equal(k[2], k0[2])  # dropped out
    # No forgetting at rate 0.
    st2 = make_state(2, topics=2, knowledge=0.4)
    forget(st2, _params(forgetting=0.0), np.array([0]), np.array([0]))
    assert np.all(st2.knowledge == 0.4)


def test_absent_learners_forget_in_a_model_run() -> None:
    scn = make_scenario(
        learners=30, params__forgetting=0.05, population__access=[{"share": 1.0, "mean": 0.3, "spread": 0.05}]
    )
    model = make_model(scn, seed=1, agents=False)
    k0 = model.state.knowledge.copy()
    model.step()
    d = model.last_day
    absent = ~d.present & (d.gain == 0.0)  # not present and did not answer anyone's question
    assert absent.sum() >= 5
    assert np.allclose(model.state.knowledge[absent], 0.95 * k0[absent])


def test_forgetting_touches_exactly_the_members_unpractised_topics() -> None:
    """Few or many members: members' unpractised topics shrink by exactly (1 - forgetting), everything else is
    left bit for bit."""
    p = _params(forgetting=0.07)
    rng = np.random.default_rng(4)
    for members in (0.2, 0.9):
        st = make_state(500, topics=4, knowledge=0.5)
        st.knowledge[:] = rng.random((500, 4))
        st.active[:] = rng.random(500) < members
        k0 = st.knowledge.copy()
        practised, topic = np.flatnonzero(st.active)[:50], rng.integers(0, 4, 50)
        forget(st, p, practised, topic)
        expected = np.where(st.active[:, None], k0 * (1.0 - 0.07), k0)
        expected[practised, topic] = k0[practised, topic]
        assert np.array_equal(st.knowledge, expected)


# ---------------------------------------------------------------- stages


def test_stage_transitions_follow_days_present_and_explains() -> None:
    p = _params(regular_after_days=5, core_after_explains=3)
    st = make_state(5)
    st.stage[:] = [0, 0, 1, 1, 0]
    days = np.array([4, 5, 9, 9, 4])
    explains = np.array([0, 0, 2, 3, 7])
    advance_stages(st, p, days, explains)
    assert list(st.stage) == [0, 1, 1, 2, 0]


def test_stages_advance_only_over_the_rows_asked() -> None:
    """The day passes only the learners whose counts moved (`rows`): others keep their stage."""
    p = _params(regular_after_days=5, core_after_explains=3)
    st = make_state(4)
    st.stage[:] = [0, 0, 1, 1]
    rows = np.array([1, 3, 1])  # a repeat is harmless
    advance_stages(st, p, np.array([5, 9, 5]), np.array([0, 3, 0]), rows)
    assert list(st.stage) == [0, 1, 1, 2]


def test_stages_in_a_model_run_match_participation_counts() -> None:
    scn = make_scenario(
        learners=60,
        days=25,
        params__regular_after_days=6,
        params__core_after_explains=3,
        params__explain_propensity=1.0,
        params__explain_margin=0.0,
        params__stage_explain=[1.0, 1.0, 1.0],
        population__knowledge={"mean": 0.3, "spread": 0.2},
    )
    model = make_model(scn, seed=7, agents=False)
    for _ in range(25):
        model.step()
        st = model.state
        dp, ex = st.counts[:, 0], st.counts[:, 4] + st.counts[:, 6]
        regular = dp >= 6
        expected = regular.astype(int) + (regular & (ex >= 3))
        assert np.array_equal(st.stage, expected)
    assert (model.state.stage == 1).any() and (model.state.stage == 2).any()
