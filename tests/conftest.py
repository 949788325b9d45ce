"""Shared fixtures and builders for the mechanism, property, metric and network tests.

The lead engineer is still tuning the default parameter values, so every
builder here spells out the settings a test relies on: the two settings
(classroom, community) are given in full, and tests pass the mechanism
constants they depend on as dotted overrides (`params.alpha_ask=...`).
Nothing here asserts a default value.

The participation mechanisms (a heavy-tailed propensity to post, neighbours who may not respond, arrivals,
leaving and fading; sim/engine/participation.py) are switched off in BASE_YAML: everyone who takes a social
turn may post, every neighbour still a member is willing to answer, everyone is there from the first day and
nobody drifts away. The older mechanism tests so isolate their own mechanism; tests/test_participation.py
switches the participation mechanisms on.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pytest

from learncomm.agents.state import LearnerState
from learncomm.sim.engine.model import CommunityModel
from learncomm.sim.schema.loading import parse_scenario
from learncomm.sim.schema.scenario import Scenario

# Both settings written out in full so that tests do not lean on the defaults of
# CLASSROOM / COMMUNITY in sim/schema/scenario.py.
SETTINGS_YAML = """
settings:
  classroom:
    power_gap: 0.8
    social_share: 0.5
    expert_answer_rate: 1.0
    expert_scaffolds: true
    exposure_rate: 0.1
    curriculum: true
    days_per_topic: 10
    resources: 0.8
    experts: 1
    expert_knowledge: 1.0
    expert_resource_rate: 0.0
    leaving: 0.0
    fades: false
    arrivals: {founders: 1.0}
  community:
    power_gap: 0.1
    social_share: 0.6
    expert_answer_rate: 0.0
    expert_scaffolds: true
    exposure_rate: 0.0
    curriculum: false
    days_per_topic: 10
    resources: 0.5
    experts: 0
    expert_knowledge: 0.95
    expert_resource_rate: 0.0
    leaving: 0.0
    fades: false
    arrivals: {founders: 1.0}
"""

BASE_YAML = (
    """
name: test
learners: 40
days: 10
seed: 1
topics: 3
confidence_groups:
  low: {share: 0.34, mean: 0.25, spread: 0.05}
  medium: {share: 0.33, mean: 0.5, spread: 0.05}
  high: {share: 0.33, mean: 0.75, spread: 0.05}
population:
  knowledge: {mean: 0.3, spread: 0.1}
  motivation: {mean: 0.7, spread: 0.1}
  interest_concentration: 1.0
  access:
    - {share: 1.0, mean: 0.8, spread: 0.05}
  available_days_per_week: 3
network: {degree: 4, rewiring: 0.1}
params:
  post_rate: 1.0
  activity_spread: 0.0
  stage_post: [1.0, 1.0, 1.0]
  respond_rate: 1.0
"""
    + SETTINGS_YAML
)


def make_scenario(text: str | None = None, **overrides: Any) -> Scenario:
    """A validated scenario from YAML text (BASE_YAML if None) plus overrides.

    Overrides use `__` for dots: `params__alpha_ask=0.3` sets `params.alpha_ask`.
    """
    body = textwrap.dedent(BASE_YAML if text is None else text)
    return parse_scenario(body, "<test>", {k.replace("__", "."): v for k, v in overrides.items()})


def make_model(
    scenario: Scenario | None = None, seed: int = 0, agents: bool = True, **overrides: Any
) -> CommunityModel:
    """A CommunityModel on `scenario` (or BASE_YAML with overrides)."""
    if scenario is None:
        scenario = make_scenario(**overrides)
    elif overrides:
        raise TypeError("give either a scenario or overrides")
    return CommunityModel(scenario, seed=seed, agents=agents)


def make_state(
    n: int = 4,
    topics: int = 2,
    *,
    confidence: Any = 0.5,
    motivation: Any = 0.6,
    knowledge: Any = 0.3,
    communities: int = 1,
) -> LearnerState:
    """A hand-made LearnerState (every learner in every community) for direct mechanism tests."""

    def col(v: Any) -> np.ndarray:
        return np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()

    return LearnerState(
        knowledge=np.broadcast_to(np.asarray(knowledge, dtype=float), (n, topics)).copy(),
        interest=np.full((n, topics), 1.0 / topics),
        confidence=col(confidence),
        motivation=col(motivation),
        baseline_motivation=col(motivation),
        access=np.ones(n),
        access_class=np.zeros(n, dtype=np.int8),
        available=np.ones((n, 7), dtype=bool),
        group=np.zeros(n, dtype=np.int8),
        membership=np.ones((n, communities), dtype=bool),
        activity=np.ones(n),
    )


def run(model: CommunityModel, days: int) -> list:
    """Step `days` days; return the DayResults with the state snapshots a test may need."""
    out = []
    for _ in range(days):
        model.step()
        out.append(model.last_day)
    return out


@pytest.fixture
def small_scenario() -> Scenario:
    """BASE_YAML: 40 learners, 10 days, 3 topics, both settings given in full."""
    return make_scenario()


@pytest.fixture
def small_model(small_scenario: Scenario) -> CommunityModel:
    """A fresh model of `small_scenario` (seed 3), before its first day."""
    return make_model(small_scenario, seed=3)


def overrides(base: dict, extra: dict) -> dict:
    """`params__` field overrides from two dicts of mechanism constants (the second wins)."""
    return {f"params__{k}": v for k, v in {**base, **extra}.items()}
