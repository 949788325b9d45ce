"""Property tests: invariants that must hold for any valid scenario (hypothesis).

Small models (20-75 learners, 5-15 days), at most 30 examples per test, so the
whole file stays within a few seconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import yaml
from conftest import SETTINGS_YAML
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from learncomm.agents.learner import Learner
from learncomm.sim.engine.metrics import METRICS, SCOPES
from learncomm.sim.engine.model import CommunityModel
from learncomm.sim.schema.loading import ScenarioError, parse_scenario
from learncomm.sim.schema.vocab import MODES

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, allow_subnormal=False)
inner = st.floats(min_value=0.05, max_value=0.95, allow_nan=False, allow_subnormal=False)


@st.composite
def shares(draw: st.DrawFn, k: int) -> list[float]:
    w = draw(st.lists(st.integers(min_value=0, max_value=10), min_size=k, max_size=k))
    w[draw(st.integers(min_value=0, max_value=k - 1))] += 1  # never all zero
    return [x / sum(w) for x in w]


@st.composite
def meetups(draw: st.DrawFn) -> dict[str, Any] | None:
    if not draw(st.booleans()):
        return None
    every = draw(st.integers(min_value=1, max_value=7))
    return {
        "every_days": every,
        "weekday": draw(st.integers(min_value=0, max_value=6)),
        "format": draw(st.sampled_from(["online", "in_person"])),
        "reach": draw(unit),
        "attend_propensity": draw(unit),
    }


@st.composite
def scenario_data(draw: st.DrawFn) -> dict[str, Any]:
    n_topics = draw(st.integers(min_value=1, max_value=6))
    names = [f"topic-{i + 1}" for i in range(n_topics)]
    data: dict[str, Any] = yaml.safe_load(SETTINGS_YAML)
    for s in ("classroom", "community"):
        data["settings"][s]["power_gap"] = draw(unit)
        data["settings"][s]["social_share"] = draw(unit)
        data["settings"][s]["expert_answer_rate"] = draw(unit)
        data["settings"][s]["exposure_rate"] = draw(unit)
        data["settings"][s]["expert_resource_rate"] = draw(st.floats(min_value=0.0, max_value=1.0))
        data["settings"][s]["days_per_topic"] = draw(st.integers(min_value=1, max_value=5))
    data.update(
        name="prop",
        days=draw(st.integers(min_value=5, max_value=15)),
        seed=draw(st.integers(0, 2**16)),
        topics=n_topics,
        setting=draw(st.sampled_from(["classroom", "community"])),
    )
    sh = draw(shares(3))
    data["confidence_groups"] = {
        g: {"share": sh[i], "mean": draw(inner), "spread": 0.03} for i, g in enumerate(("low", "medium", "high"))
    }
    n_access = draw(st.integers(min_value=1, max_value=2))
    a_sh = draw(shares(n_access))
    data["population"] = {
        "knowledge": {"mean": draw(inner), "spread": 0.04},
        "motivation": {"mean": draw(inner), "spread": 0.04},
        # Down to very concentrated interests, where a Dirichlet draw can be exactly 0 on every topic of a community.
        "interest_concentration": draw(
            st.one_of(st.floats(min_value=0.05, max_value=5.0), st.floats(min_value=0.001, max_value=0.01))
        ),
        "access": [{"name": f"a{i}", "share": a_sh[i], "mean": draw(inner), "spread": 0.03} for i in range(n_access)],
        "available_days_per_week": draw(st.integers(min_value=0, max_value=7)),
    }
    data["params"] = {
        "alpha_ask": draw(unit),
        "alpha_observe": draw(unit),
        "alpha_meet": draw(unit),
        "alpha_tutor": draw(unit),
        "study_rate": draw(unit),
        "protege_rate": draw(unit),
        "tutor_rate": draw(unit),
        "zpd_peak": draw(st.floats(min_value=0.02, max_value=1.0)),
        "forgetting": draw(st.floats(min_value=0.0, max_value=0.2)),
        "confidence_exposure": draw(unit),
        "confidence_success": draw(unit),
        "encouragement": draw(unit),
        "low_confidence_amplifier": draw(st.floats(min_value=0.0, max_value=3.0)),
        "exposure_gap": draw(unit),
        "explain_propensity": draw(unit),
        "motivation_fatigue": draw(st.floats(min_value=0.0, max_value=0.2)),
        "motivation_progress": draw(unit),
        "motivation_exposure": draw(unit),
        "dropout_threshold": draw(st.floats(min_value=0.0, max_value=0.6)),
        "dropout_patience": draw(st.integers(min_value=1, max_value=5)),
        "regular_after_days": draw(st.integers(min_value=1, max_value=6)),
        "core_after_explains": draw(st.integers(min_value=1, max_value=4)),
    }
    data["network"] = {"degree": draw(st.integers(min_value=2, max_value=10)), "rewiring": draw(unit)}
    n_comm = draw(st.integers(min_value=1, max_value=3))
    if n_comm == 1 and draw(st.booleans()):  # tutoring pairs learners within one community
        data["tutoring"] = {
            "tutor_share": draw(st.floats(min_value=0.1, max_value=0.9)),
            "sessions_per_week": draw(st.integers(min_value=0, max_value=7)),
        }
    if n_comm == 1 and draw(st.booleans()):
        data["learners"] = draw(st.integers(min_value=20, max_value=60))
        data["meetups"] = draw(meetups())
    else:
        comms = []
        for j in range(n_comm):
            c: dict[str, Any] = {"name": f"c{j}", "members": draw(st.integers(min_value=10, max_value=25))}
            if draw(st.booleans()):
                c["topics"] = draw(st.lists(st.sampled_from(names), min_size=1, max_size=n_topics, unique=True))
            if draw(st.booleans()):
                c["setting"] = draw(st.sampled_from(["classroom", "community"]))
            if j > 0 and draw(st.booleans()):
                other = draw(st.integers(min_value=0, max_value=j - 1))
                # An include may not take more learners than the community has.
                share = min(draw(unit), c["members"] / comms[other]["members"])
                c["include"] = {f"c{other}": share}
            if draw(st.booleans()):
                c["experts"] = draw(st.integers(min_value=0, max_value=2))
            if (m := draw(meetups())) is not None:
                c["meetups"] = m
            comms.append(c)
        data["communities"] = comms
    return {k: v for k, v in data.items() if v is not None}


def _model(data: dict[str, Any]) -> CommunityModel:
    scenario = parse_scenario(yaml.safe_dump(data), "<hypothesis>")
    return CommunityModel(scenario, seed=data["seed"])


def _in_unit(x: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(x)) and np.all(x >= 0.0) and np.all(x <= 1.0))


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_data())
def test_invariants_hold_for_any_valid_scenario(data: dict[str, Any]) -> None:
    model = _model(data)
    st_ = model.state
    n = st_.n
    n_agents = len(model.agents_by_type[Learner])
    assert n_agents == n
    days = data["days"]
    for _ in range(days):
        before_active = st_.active.copy()
        before_k = st_.knowledge.copy()
        before_counts = st_.counts.copy()
        before_stage = st_.stage.copy()
        model.step()
        d = model.last_day
        gone = ~before_active
        # Bounds.
        assert _in_unit(st_.knowledge)
        assert _in_unit(st_.confidence)
        assert _in_unit(st_.motivation)
        assert np.all(d.gain >= 0.0)
        # Nobody acts after dropping out (not present, no mode, no answers, no forgetting).
        assert not d.present[gone].any()
        assert np.all(d.mode[gone] == -1) and np.all(d.topic[gone] == -1)
        assert np.all(d.gain[gone] == 0.0)
        assert np.array_equal(st_.counts[gone], before_counts[gone])
        assert np.array_equal(st_.knowledge[gone], before_k[gone])
        assert not st_.active[gone].any()
        assert np.array_equal(d.left, before_active & ~st_.active)
        assert np.all(st_.leaving_day[d.left] == model.steps)
        # Counts add up.
        assert int(d.present.sum()) == sum(int((d.mode == i).sum()) for i in range(len(MODES)))
        assert np.array_equal(d.mode >= 0, d.present)
        assert np.all(d.mode < len(MODES))
        assert np.array_equal(st_.counts[:, 0], st_.counts[:, 1:6].sum(axis=1))
        assert np.array_equal(st_.counts[:, 0] - before_counts[:, 0], d.present.astype(np.int32))
        assert np.all(st_.stage >= before_stage)
        # A learner outside a tutoring pair works in its own community on one of that community's topics.
        i = np.flatnonzero(d.present & (st_.tutoring_role == 0))
        assert np.all(st_.membership[i, d.community[i]])
        assert np.all(model.world.topic_mask[d.community[i], d.topic[i]])
        # Constant population.
        assert st_.n == n and st_.knowledge.shape[0] == n
        assert len(model.agents_by_type[Learner]) == n_agents
        assert set(model.metrics) == set(METRICS)
    assert np.all(st_.leaving_day[st_.active] == -1)
    assert np.all(st_.leaving_day[~st_.active] >= 0)
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == days + 1
    assert df["active_learners"].iloc[-1] == st_.active.sum()
    assert df["active_learners"].is_monotonic_decreasing
    # leaving_day is the timeseries day number: row r (after r days) counts those not yet dropped by day r.
    gone_by = [int(((st_.leaving_day >= 1) & (st_.leaving_day <= r)).sum()) for r in range(days + 1)]
    assert df["active_learners"].tolist() == [n - g for g in gone_by]


@settings(deadline=None, max_examples=10, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(scenario_data())
def test_mode_shares_of_present_learners_sum_to_one(data: dict[str, Any]) -> None:
    """For each day and scope with someone present, the five mode shares cover the present learners."""
    model = _model(data)
    g = model.state.group
    for _ in range(data["days"]):
        model.step()
        d, row = model.last_day, model.metrics
        for gi, scope in enumerate(SCOPES):
            sel = np.ones(model.state.n, bool) if gi == 0 else g == gi - 1
            if (d.present & sel).any():
                assert abs(sum(row[f"share_{m}_{scope}"] for m in MODES) - 1.0) < 1e-9, (scope, model.steps)


EDGE_CASES = {
    # A rate is applied as r += rate * share * (1 - r): above 1 it overshoots 1 and then swings negative.
    "expert resource rate above 1": """
        name: edge
        days: 8
        topics: 1
        learners: 30
        setting: community
        settings:
          community: {experts: 1, expert_resource_rate: 3.0, expert_answer_rate: 0.1}
    """,
    # An empty topic list for a community.
    "community with no topics": """
        name: edge
        days: 3
        topics: 3
        communities:
          - {name: a, members: 20, topics: []}
    """,
}


@pytest.mark.parametrize("text", EDGE_CASES.values(), ids=list(EDGE_CASES))
def test_edge_scenarios_are_rejected_or_keep_the_invariants(text: str) -> None:
    """A scenario the schema accepts must run and keep knowledge and resources in [0, 1];
    otherwise validation must reject it with a ScenarioError (not a crash mid-run)."""
    import textwrap

    try:
        scenario = parse_scenario(textwrap.dedent(text), "<edge>")
    except ScenarioError:
        return
    model = CommunityModel(scenario, seed=0, agents=False)
    for _ in range(scenario.days):
        model.step()
        assert _in_unit(model.state.knowledge)
        assert _in_unit(model.world.resources)
        d = model.last_day
        i = np.flatnonzero(d.present)
        assert np.all(model.world.topic_mask[d.community[i], d.topic[i]])
