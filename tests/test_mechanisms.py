"""Unit tests of the model's mechanisms (MODEL.md steps 1-7), one mechanism at a time.

Every constant a test relies on is set explicitly; assertions are relations that
follow from the equations (monotonic, greater than, equal to the formula), never
numbers that depend on the defaults being tuned.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_model, make_scenario, make_state, run

from learncomm.sim.choices import (
    MODE_ASK, MODE_EXPLAIN, MODE_OBSERVE, MODE_STUDY, N_UNIFORMS, U_ASK, U_EXPERT,
    audience_knowledge, choose_modes,
)
from learncomm.sim.dynamics import advance_stages, drop_out, forget, update_confidence, update_motivation
from learncomm.sim.learning import learn, zpd_gain
from learncomm.sim.network import build_csr
from learncomm.sim.scenario import Params

# ---------------------------------------------------------------- ZPD hump


@pytest.mark.parametrize("peak", [0.05, 0.2, 0.25, 0.6])
def test_zpd_gain_is_zero_when_not_behind(peak: float) -> None:
    gaps = np.array([-1.0, -0.3, -1e-9, 0.0])
    assert np.all(zpd_gain(gaps, peak) == 0.0)


@pytest.mark.parametrize("peak", [0.05, 0.2, 0.25, 0.6])
def test_zpd_gain_is_a_hump_peaking_at_zpd_peak(peak: float) -> None:
    gaps = np.linspace(0.0, 1.0, 20001)
    g = zpd_gain(gaps, peak)
    assert abs(gaps[np.argmax(g)] - peak) <= 1e-4
    # Rises up to the peak, falls after it.
    below, above = g[gaps <= peak], g[gaps >= peak]
    assert np.all(np.diff(below) >= 0.0)
    assert np.all(np.diff(above) <= 0.0)
    assert np.all(g[gaps > 0] > 0.0)


@pytest.mark.parametrize("peak", [0.05, 0.1, 0.2, 0.25])
def test_zpd_gain_far_beyond_the_peak_is_lower(peak: float) -> None:
    at_peak = zpd_gain(np.array([peak]), peak)[0]
    for far in (2.0 * peak, 4.0 * peak):
        assert zpd_gain(np.array([far]), peak)[0] < at_peak
    # Far beyond the peak the gain is below what a partner a quarter of the peak ahead gives.
    assert zpd_gain(np.array([4.0 * peak]), peak)[0] < zpd_gain(np.array([0.25 * peak]), peak)[0]


def _overrides(base: dict, extra: dict) -> dict:
    return {f"params__{k}": v for k, v in {**base, **extra}.items()}


def _peer_world(zpd_peak: float, power_gap: float = 0.3, **params: float):
    """Six learners on one topic; 0, 2, 4 each have exactly one neighbour: 1, 3, 5."""
    base = dict(zpd_peak=zpd_peak, alpha_ask=0.4, alpha_observe=0.1, anxiety_weight=0.5, difficulty_weight=0.5,
                protege_rate=0.01)
    scn = make_scenario(learners=6, topics=1, **_overrides(base, params))
    model = make_model(scn, seed=0, agents=False)
    state, world = model.state, model.world
    world.power_gap[:] = power_gap
    world.expert_answer[:] = 0.0
    world.networks = [build_csr(6, np.arange(6), np.array([[0, 1], [2, 3], [4, 5]]))]
    state.confidence[:] = 0.5
    return model, state, world


def _learn(model, idx, mode, u=None):
    state, world = model.state, model.world
    n = idx.size
    u = np.full((n, N_UNIFORMS), 0.5) if u is None else u
    return learn(
        state, world, model.params, idx, mode, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
        u, np.zeros((1, 1)), np.zeros(n, dtype=bool), audience=audience_knowledge(state, world),
    )


@pytest.mark.parametrize("peak", [0.1, 0.2])
def test_peer_gain_in_learn_follows_the_zpd(peak: float) -> None:
    model, state, world = _peer_world(peak)
    base = 0.1
    state.knowledge[:, 0] = [base, base + peak, base, base + 4 * peak, base, base - 0.05]
    idx = np.array([0, 2, 4])
    g = _learn(model, idx, np.full(3, MODE_ASK, dtype=np.int8))
    near, far, behind = g.own
    assert near > far > 0.0
    assert behind == 0.0
    # gain = alpha * g * zpd(g) * receptivity * ease: same learner state and topic, so the two gains
    # stand in the ratio of g * zpd(g), and each is at most alpha * g * zpd(g).
    z_near, z_far = zpd_gain(np.array([peak, 4 * peak]), peak)
    assert near / far == pytest.approx(z_near / z_far)
    assert near <= model.params.alpha_ask * z_near
    # Questions answered by a peer ahead; the peers ahead get a protege gain, the one behind does not.
    assert list(g.answered) == [True, True, False]
    assert sorted(g.helper.tolist()) == [1, 3]
    assert np.all(g.helper_gain > 0)


def test_peer_gain_of_asking_exceeds_observing_by_the_alpha_ratio() -> None:
    model, state, _ = _peer_world(0.2)
    state.knowledge[:, 0] = [0.2, 0.4, 0.2, 0.4, 0.0, 0.0]
    g = _learn(model, np.array([0, 2]), np.array([MODE_ASK, MODE_OBSERVE], dtype=np.int8))
    p = model.params
    assert g.own[0] / g.own[1] == pytest.approx(p.alpha_ask / p.alpha_observe)
    assert list(g.answered) == [True, False]


def test_anxiety_under_a_power_gap_lowers_the_peer_gain_of_the_unconfident() -> None:
    model, state, world = _peer_world(0.2, power_gap=0.8)
    state.knowledge[:, 0] = [0.2, 0.4, 0.2, 0.4, 0.0, 0.0]
    state.confidence[[0, 2]] = [0.1, 0.9]
    g = _learn(model, np.array([0, 2]), np.full(2, MODE_ASK, dtype=np.int8))
    assert g.own[0] < g.own[1]
    world.power_gap[:] = 0.0
    g0 = _learn(model, np.array([0, 2]), np.full(2, MODE_ASK, dtype=np.int8))
    assert g0.own[0] == pytest.approx(g0.own[1])
    assert g0.own[0] > g.own[0]


def test_scaffolding_expert_pitches_answers_at_the_zpd_peak() -> None:
    model, state, world = _peer_world(0.15)
    state.knowledge[:, 0] = 0.1
    world.expert_answer[:] = 1.0
    world.expert_knowledge[:] = 1.0
    u = np.full((1, N_UNIFORMS), 0.5)
    u[:, U_EXPERT] = 0.0
    world.expert_scaffolds[:] = True
    scaffolded = _learn(model, np.array([0]), np.array([MODE_ASK], dtype=np.int8), u).own[0]
    world.expert_scaffolds[:] = False
    lecture = _learn(model, np.array([0]), np.array([MODE_ASK], dtype=np.int8), u).own[0]
    assert scaffolded > lecture > 0.0


# ---------------------------------------------------------------- asking vs observing


def _mode_world(n: int = 300, **params: float):
    base = dict(explain_propensity=0.0, risk_base=0.0, risk_gap_weight=1.0, newcomer_risk=0.0, ask_temperature=0.1,
                stage_explain=[1.0, 1.0, 1.0])
    scn = make_scenario(learners=n, topics=1, **_overrides(base, params))
    model = make_model(scn, seed=11, agents=False)
    model.world.social_share[:] = 1.0
    return model


def _modes(model, u):
    state, world = model.state, model.world
    n = state.n
    idx = np.arange(n)
    zeros = np.zeros(n, dtype=np.int64)
    mode, _ = choose_modes(state, world, model.params, idx, zeros, zeros, u, audience_knowledge(state, world))
    return mode


def test_ask_share_falls_as_the_power_gap_rises() -> None:
    model = _mode_world()
    u = np.random.default_rng(0).random((model.state.n, N_UNIFORMS))
    asked = []
    for gap in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        model.world.power_gap[:] = gap
        mode = _modes(model, u)
        assert set(np.unique(mode)) <= {MODE_ASK, MODE_OBSERVE}  # social turn, nobody explains
        asked.append(mode == MODE_ASK)
    shares = [a.mean() for a in asked]
    # With common random numbers, whoever asks under a larger power gap also asks under a smaller one.
    for lower, higher in zip(asked, asked[1:]):
        assert np.all(higher <= lower)
    assert shares[0] > shares[-1]
    assert shares[0] - shares[-1] > 0.3


def test_low_confidence_learners_ask_less_than_high_confidence_ones() -> None:
    model = _mode_world()
    model.world.power_gap[:] = 0.4
    u = np.random.default_rng(1).random((model.state.n, N_UNIFORMS))
    mode = _modes(model, u)
    g = model.state.group
    ask_low, ask_high = (mode[g == 0] == MODE_ASK).mean(), (mode[g == 2] == MODE_ASK).mean()
    assert ask_low < ask_high
    # Same learners, same random numbers: lower confidence never asks where higher did not.
    model.state.confidence[:] = 0.2
    low = _modes(model, u) == MODE_ASK
    model.state.confidence[:] = 0.8
    high = _modes(model, u) == MODE_ASK
    assert np.all(low <= high) and low.sum() < high.sum()


def test_learners_behind_their_audience_ask_less() -> None:
    model = _mode_world(risk_gap_weight=2.0)
    model.world.power_gap[:] = 0.2
    model.state.confidence[:] = 0.5
    u = np.random.default_rng(2).random((model.state.n, N_UNIFORMS))
    model.state.knowledge[:, 0] = 0.5
    level = _modes(model, u) == MODE_ASK
    behind = np.arange(model.state.n) % 2 == 0
    model.state.knowledge[behind, 0] = 0.2
    mixed = _modes(model, u) == MODE_ASK
    assert mixed[behind].sum() < level[behind].sum()


def test_learners_ahead_may_explain_and_never_when_propensity_is_zero() -> None:
    model = _mode_world(explain_propensity=1.0, explain_margin=0.05)
    st = model.state
    st.knowledge[:, 0] = 0.2
    st.knowledge[: st.n // 2, 0] = 0.9
    st.confidence[:] = 0.9
    u = np.random.default_rng(3).random((st.n, N_UNIFORMS))
    mode = _modes(model, u)
    ahead = np.arange(st.n) < st.n // 2
    assert (mode[ahead] == MODE_EXPLAIN).any()
    assert not (mode[~ahead] == MODE_EXPLAIN).any()


def test_classroom_low_group_asks_less_than_in_a_community() -> None:
    shares = {}
    for setting in ("classroom", "community"):
        scn = make_scenario(
            setting=setting, learners=150, days=20, params__risk_base=0.0, params__risk_gap_weight=0.5,
            params__newcomer_risk=0.0, params__ask_temperature=0.1, params__explain_propensity=0.2,
            settings__classroom__power_gap=0.8, settings__community__power_gap=0.1,
            settings__classroom__social_share=0.6, settings__community__social_share=0.6,
        )
        model = make_model(scn, seed=5, agents=False)
        run(model, 20)
        c, low = model.state.counts, model.state.group == 0
        shares[setting] = c[low, 2].sum() / c[low, 0].sum()
    assert shares["classroom"] < shares["community"]
    assert shares["community"] - shares["classroom"] > 0.1


# ---------------------------------------------------------------- confidence


def _params(**kw: object) -> Params:
    return make_scenario(**{f"params__{k}": v for k, v in kw.items()}).params


def _confidence(p: Params, conf, success, social, gap, power):
    n = len(conf)
    st = make_state(n, confidence=conf)
    exposed = update_confidence(st, p, np.arange(n), np.asarray(success), np.asarray(social),
                                np.asarray(gap, dtype=float), np.asarray(power, dtype=float))
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
    p = _params(confidence_exposure=0.3, exposure_gap=0.1, confidence_success=0.0, encouragement=0.0, peer_judgement=0.2)
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
    p = _params(confidence_exposure=0.3, exposure_gap=0.05, low_confidence_amplifier=1.0, confidence_success=0.0,
                encouragement=0.0, peer_judgement=0.2)
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
        c, _ = _confidence(_params(low_confidence_amplifier=amplifier, **kw), c0, np.zeros(2, bool), np.zeros(2, bool),
                           np.full(2, 0.3), np.full(2, 0.5))
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
    base = dict(motivation_progress=0.05, progress_scale=0.01, motivation_interest=0.0, motivation_exposure=0.0,
                motivation_success=0.0, motivation_fatigue=0.0, motivation_recovery=0.2, expectation_rate=0.1)
    base.update(kw)
    return _params(**base)


def test_motivation_follows_progress_against_expectation() -> None:
    p = _motivation_params()
    st = make_state(3, motivation=0.5)
    st.expectation[:] = 0.01
    idx = np.arange(3)
    gain = np.array([0.03, 0.01, 0.002])
    update_motivation(st, p, np.ones(3, bool), idx, gain, np.zeros(3), np.zeros(3, bool), success=np.zeros(3, bool))
    assert st.motivation[0] > 0.5
    assert st.motivation[1] == pytest.approx(0.5)
    assert st.motivation[2] < 0.5
    # The expectation moves towards the gain.
    assert st.expectation[0] > 0.01 and st.expectation[2] < 0.01 and st.expectation[1] == pytest.approx(0.01)


def test_motivation_interest_exposure_and_fatigue_push_the_right_way() -> None:
    p = _motivation_params(motivation_progress=0.0, motivation_interest=0.02, motivation_exposure=0.05, motivation_fatigue=0.01)
    st = make_state(4, motivation=0.5)
    update_motivation(st, p, np.ones(4, bool), np.arange(4), np.zeros(4), np.array([1.0, 0.0, 0.0, -1.0]),
                      np.array([False, False, True, False]), success=np.zeros(4, bool))
    m = st.motivation
    assert m[0] > m[1] > m[2]
    assert m[1] < 0.5  # fatigue alone
    assert m[3] < m[1]


def test_success_in_an_exchange_raises_motivation() -> None:
    p = _motivation_params(motivation_progress=0.0, motivation_success=0.02)
    st = make_state(2, motivation=0.5)
    update_motivation(st, p, np.ones(2, bool), np.arange(2), np.zeros(2), np.zeros(2), np.zeros(2, bool),
                      success=np.array([True, False]))
    assert st.motivation[0] > st.motivation[1]
    assert st.motivation[1] == pytest.approx(0.5)


def test_absent_learners_rest_towards_their_baseline() -> None:
    p = _motivation_params(motivation_recovery=0.25)
    st = make_state(4, motivation=0.5)
    st.motivation[:] = [0.2, 0.9, 0.2, 0.5]
    st.active[2] = False  # dropped: frozen
    present = np.array([False, False, False, True])
    update_motivation(st, p, present, np.array([3]), np.zeros(1), np.zeros(1), np.zeros(1, bool), success=np.zeros(1, bool))
    assert st.motivation[0] == pytest.approx(0.2 + 0.25 * (0.5 - 0.2))
    assert st.motivation[1] == pytest.approx(0.9 + 0.25 * (0.5 - 0.9))
    assert st.motivation[2] == 0.2


def test_motivation_stays_in_unit_interval_under_extreme_updates() -> None:
    p = _motivation_params(motivation_progress=1.0, motivation_fatigue=1.0, motivation_exposure=1.0)
    st = make_state(2, motivation=[0.01, 0.99])
    update_motivation(st, p, np.ones(2, bool), np.arange(2), np.array([0.0, 1.0]), np.zeros(2), np.array([True, False]),
                      success=np.array([False, True]), boost=np.array([-1.0, 1.0]))
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
    assert list(st.dropout_day) == [newcomer_days - 1, 3, -1]
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
    assert st.dropout_day[0] == 5 and not st.active[0]


def _dropout_scenario(**extra):
    return make_scenario(
        learners=60, days=30, params__motivation_fatigue=0.04, params__motivation_progress=0.0,
        params__motivation_interest=0.0, params__motivation_recovery=0.0, params__dropout_threshold=0.3,
        params__dropout_patience=3, params__newcomer_patience=1.0, params__forgetting=0.05,
        population__motivation={"mean": 0.4, "spread": 0.1}, **extra,
    )


def test_dropped_learners_never_act_again_in_a_model_run() -> None:
    model = make_model(_dropout_scenario(), seed=2)
    st = model.state
    dropped_on: dict[int, int] = {}
    frozen: dict[int, tuple] = {}
    for day in range(30):
        before = st.active.copy()
        model.step()
        d = model.last_day
        assert not d.present[~before].any()
        assert np.all(d.mode[~before] == -1) and np.all(d.topic[~before] == -1)
        assert np.all(d.gain[~before] == 0.0)
        assert np.array_equal(d.dropped, before & ~st.active)
        for i in np.flatnonzero(d.dropped):
            dropped_on[int(i)] = model.steps  # the timeseries day number: 1 = the first day
            frozen[int(i)] = (st.knowledge[i].copy(), st.counts[i].copy(), st.confidence[i], st.motivation[i], st.stage[i])
    assert len(dropped_on) >= 5, "the scenario is meant to make learners drop out"
    for i, day in dropped_on.items():
        assert st.dropout_day[i] == day and not st.active[i]
        k, counts, conf, mot, stage = frozen[i]
        # No forgetting, no counts, no confidence or motivation change after leaving.
        assert np.array_equal(st.knowledge[i], k)
        assert np.array_equal(st.counts[i], counts)
        assert st.confidence[i] == conf and st.motivation[i] == mot and st.stage[i] == stage
    assert np.all(st.dropout_day[st.active] == -1)
    assert np.all(st.dropout_day[~st.active] >= 0)
    assert int(model.metrics["active_learners"]) == int(st.active.sum())


def test_newcomers_drop_out_sooner_than_regulars_in_a_model_run() -> None:
    def days_active(newcomer_patience: float) -> np.ndarray:
        scn = make_scenario(
            learners=60, days=30, params__motivation_fatigue=0.04, params__motivation_progress=0.0,
            params__motivation_interest=0.0, params__motivation_recovery=0.0, params__dropout_threshold=0.3,
            params__dropout_patience=6, params__newcomer_patience=newcomer_patience, params__regular_after_days=1000,
            population__motivation={"mean": 0.4, "spread": 0.1},
        )
        model = make_model(scn, seed=4, agents=False)
        run(model, 30)
        d = model.state.dropout_day
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
    scn = make_scenario(learners=30, params__forgetting=0.05, population__access=[{"share": 1.0, "mean": 0.3, "spread": 0.05}])
    model = make_model(scn, seed=1, agents=False)
    k0 = model.state.knowledge.copy()
    model.step()
    d = model.last_day
    absent = ~d.present & (d.gain == 0.0)  # not present and did not answer anyone's question
    assert absent.sum() >= 5
    assert np.allclose(model.state.knowledge[absent], 0.95 * k0[absent])


# ---------------------------------------------------------------- stages


def test_stage_transitions_follow_days_present_and_explains() -> None:
    p = _params(regular_after_days=5, core_after_explains=3)
    st = make_state(5)
    st.stage[:] = [0, 0, 1, 1, 0]
    days = np.array([4, 5, 9, 9, 4])
    explains = np.array([0, 0, 2, 3, 7])
    advance_stages(st, p, days, explains)
    assert list(st.stage) == [0, 1, 1, 2, 0]


def test_stages_in_a_model_run_match_participation_counts() -> None:
    scn = make_scenario(learners=60, days=25, params__regular_after_days=6, params__core_after_explains=3,
                        params__explain_propensity=1.0, params__explain_margin=0.0,
                        params__stage_explain=[1.0, 1.0, 1.0], population__knowledge={"mean": 0.3, "spread": 0.2})
    model = make_model(scn, seed=7, agents=False)
    for _ in range(25):
        model.step()
        st = model.state
        dp, ex = st.counts[:, 0], st.counts[:, 4] + st.counts[:, 6]
        regular = dp >= 6
        expected = regular.astype(int) + (regular & (ex >= 3))
        assert np.array_equal(st.stage, expected)
    assert (model.state.stage == 1).any() and (model.state.stage == 2).any()


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
    scn = make_scenario(setting="classroom", learners=30, days=12, settings__classroom__days_per_topic=4,
                        topics=[{"name": "b", "difficulty": 0.6, "requires": ["a"]}, {"name": "a", "difficulty": 0.9},
                                {"name": "c", "difficulty": 0.2}])
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


def test_study_mode_gain_grows_with_resources() -> None:
    model, state, world = _peer_world(0.2, study_rate=0.05)
    state.knowledge[:, 0] = 0.3
    world.resources[:] = 0.2
    low = _learn(model, np.array([0]), np.array([MODE_STUDY], dtype=np.int8)).own[0]
    world.resources[:] = 0.9
    high = _learn(model, np.array([0]), np.array([MODE_STUDY], dtype=np.int8)).own[0]
    assert high > low > 0.0


def test_a_lesson_is_pitched_at_the_class_average() -> None:
    """In a classroom, self-study follows the teacher's pace: it suits those near the class average."""
    scn = make_scenario(setting="classroom", learners=6, topics=1, params__study_rate=0.05, params__zpd_peak=0.1)
    model = make_model(scn, seed=0, agents=False)
    st, world = model.state, model.world
    assert world.is_curriculum.all()
    st.knowledge[:, 0] = [0.4, 0.4, 0.4, 0.4, 0.05, 0.75]  # class average 0.4
    g = _learn(model, np.array([0, 4, 5]), np.full(3, MODE_STUDY, dtype=np.int8)).own
    assert g[0] > g[1] > 0.0  # far behind the pace
    assert g[0] > g[2] > 0.0  # far ahead of the pace


def test_ask_uniform_columns_are_used_for_asking() -> None:
    """Sanity check of the common-random-number layout: ask iff U_ASK is below the ask chance."""
    model = _mode_world(n=60)
    model.world.power_gap[:] = 0.3
    u = np.random.default_rng(5).random((60, N_UNIFORMS))
    u[:, U_ASK] = 0.0
    assert np.all(_modes(model, u) == MODE_ASK)
    u[:, U_ASK] = 1.0 - 1e-12
    assert not np.any(_modes(model, u) == MODE_ASK)


# ---------------------------------------------------------------- peer tutoring


def _tutoring_scenario(topics_of_community: list[str] | None = None, days: int = 14):
    comm = {"name": "a", "members": 60}
    if topics_of_community is not None:
        comm["topics"] = topics_of_community
    return make_scenario(days=days, topics=4, tutoring={"tutor_share": 0.5, "sessions_per_week": 7},
                         communities=[comm], learners=None, params__alpha_tutor=0.3, params__tutor_rate=0.02)


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
        assert np.all(d.mode[tutees[both]] == MODE_ASK)
        assert np.all(d.mode[tutors[both]] == MODE_EXPLAIN)
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
