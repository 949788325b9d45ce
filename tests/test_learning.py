"""Learning gains: the ZPD hump, peer, expert and study gains, lessons pitched at the class average."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import make_model, make_scenario, overrides

from learncomm.sim.engine.choices import audience_knowledge
from learncomm.sim.engine.learning import learn, zpd_gain
from learncomm.sim.engine.network import build_csr
from learncomm.sim.engine.streams import Draws
from learncomm.sim.engine.today import Day, Turns
from learncomm.sim.schema.vocab import Mode

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


def _peer_world(zpd_peak: float, power_gap: float = 0.3, **params: float):
    """Six learners on one topic; 0, 2, 4 each have exactly one neighbour: 1, 3, 5."""
    base = dict(
        zpd_peak=zpd_peak,
        alpha_ask=0.4,
        alpha_observe=0.1,
        anxiety_weight=0.5,
        difficulty_weight=0.5,
        protege_rate=0.01,
    )
    scn = make_scenario(learners=6, topics=1, **overrides(base, params))
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
    u = Draws.full(n, 0.5) if u is None else u
    day = Day(state, world, model.params, model.levers, 0, Draws.full(state.n, 0.5))
    zeros = np.zeros(n, dtype=np.int64)
    turns = Turns.at(state, idx, zeros, zeros, u, np.zeros(n, dtype=bool))
    turns.mode = mode
    return learn(day, turns, np.zeros((1, 1)), audience_knowledge(state, world))


@pytest.mark.parametrize("peak", [0.1, 0.2])
def test_peer_gain_in_learn_follows_the_zpd(peak: float) -> None:
    model, state, world = _peer_world(peak)
    base = 0.1
    state.knowledge[:, 0] = [base, base + peak, base, base + 4 * peak, base, base - 0.05]
    idx = np.array([0, 2, 4])
    g = _learn(model, idx, np.full(3, Mode.ASK, dtype=np.int8))
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
    g = _learn(model, np.array([0, 2]), np.array([Mode.ASK, Mode.OBSERVE], dtype=np.int8))
    p = model.params
    assert g.own[0] / g.own[1] == pytest.approx(p.alpha_ask / p.alpha_observe)
    assert list(g.answered) == [True, False]


def test_anxiety_under_a_power_gap_lowers_the_peer_gain_of_the_unconfident() -> None:
    model, state, world = _peer_world(0.2, power_gap=0.8)
    state.knowledge[:, 0] = [0.2, 0.4, 0.2, 0.4, 0.0, 0.0]
    state.confidence[[0, 2]] = [0.1, 0.9]
    g = _learn(model, np.array([0, 2]), np.full(2, Mode.ASK, dtype=np.int8))
    assert g.own[0] < g.own[1]
    world.power_gap[:] = 0.0
    g0 = _learn(model, np.array([0, 2]), np.full(2, Mode.ASK, dtype=np.int8))
    assert g0.own[0] == pytest.approx(g0.own[1])
    assert g0.own[0] > g.own[0]


def test_scaffolding_expert_pitches_answers_at_the_zpd_peak() -> None:
    model, state, world = _peer_world(0.15)
    state.knowledge[:, 0] = 0.1
    world.expert_answer[:] = 1.0
    world.expert_knowledge[:] = 1.0
    u = dataclasses.replace(Draws.full(1, 0.5), expert=np.zeros(1))
    world.expert_scaffolds[:] = True
    scaffolded = _learn(model, np.array([0]), np.array([Mode.ASK], dtype=np.int8), u).own[0]
    world.expert_scaffolds[:] = False
    lecture = _learn(model, np.array([0]), np.array([Mode.ASK], dtype=np.int8), u).own[0]
    assert scaffolded > lecture > 0.0


def test_study_mode_gain_grows_with_resources() -> None:
    model, state, world = _peer_world(0.2, study_rate=0.05)
    state.knowledge[:, 0] = 0.3
    world.resources[:] = 0.2
    low = _learn(model, np.array([0]), np.array([Mode.STUDY], dtype=np.int8)).own[0]
    world.resources[:] = 0.9
    high = _learn(model, np.array([0]), np.array([Mode.STUDY], dtype=np.int8)).own[0]
    assert high > low > 0.0


def test_a_lesson_is_pitched_at_the_class_average() -> None:
    """In a classroom, self-study follows the teacher's pace: it suits those near the class average."""
    scn = make_scenario(setting="classroom", learners=6, topics=1, params__study_rate=0.05, params__zpd_peak=0.1)
    model = make_model(scn, seed=0, agents=False)
    st, world = model.state, model.world
    assert world.is_curriculum.all()
    st.knowledge[:, 0] = [0.4, 0.4, 0.4, 0.4, 0.05, 0.75]  # class average 0.4
    g = _learn(model, np.array([0, 4, 5]), np.full(3, Mode.STUDY, dtype=np.int8)).own
    assert g[0] > g[1] > 0.0  # far behind the pace
    assert g[0] > g[2] > 0.0  # far ahead of the pace
