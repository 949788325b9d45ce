"""The vectorised engine and the per-agent Mesa baseline (benchmarks/per_agent.py) run the same model.

Two checks:

1. Statistical agreement: both engines start from the same drawn learners and
   network for each seed (same named streams), draw their days independently,
   and must agree on the outcomes of a run (mean knowledge gain, confidence
   change, motivation, retention, shares of each mode). Because each seed gives
   both engines the same population, the runs are paired, so the test is a
   paired t-test per outcome, Bonferroni-corrected to a family-wise 1 %. The same
   test applied to a per-agent run with `alpha_ask` doubled must report a
   difference, which shows the test has power.

2. Exact agreement: fed the engine's own uniforms, the per-agent model
   reproduces the vectorised day to rounding error, learner by learner and day
   by day, in a scenario that exercises prerequisites, exposure, forgetting,
   dropout and stages.

No assertion depends on a default parameter value: whatever the defaults are,
the two engines must agree.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from learncomm.sim.engine import choices as ch
from learncomm.sim.engine.day import run_day
from learncomm.sim.engine.model import CommunityModel
from learncomm.sim.engine.streams import PURPOSES, Draws
from learncomm.sim.engine.today import Day
from learncomm.sim.schema.loading import parse_scenario
from learncomm.sim.schema.scenario import Params, Scenario


def _load_per_agent() -> Any:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "per_agent.py"
    spec = importlib.util.spec_from_file_location("learncomm_bench_per_agent", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


per_agent = _load_per_agent()

LEARNERS, DAYS, SEEDS = 150, 60, range(16)
FAMILY_ALPHA = 0.01

# One community, community setting, no experts, no meetups, no tutoring. Motivation starts
# a little above the dropout threshold (whatever its default) so that some learners drop
# out within 60 days and retention varies between runs.
START_MOTIVATION = round(min(0.85, Params().dropout_threshold + 0.12), 3)
AGREEMENT_YAML = f"""
name: agreement
setting: community
days: {DAYS}
population:
  motivation: {{mean: {START_MOTIVATION}, spread: 0.1}}
communities:
  - {{name: solo, members: {LEARNERS}, experts: 0}}
settings:
  community: {{experts: 0, expert_answer_rate: 0.0, curriculum: false}}
"""

OUTCOMES = (
    "gain",
    "confidence_change",
    "motivation",
    "retention",
    "share_study",
    "share_ask",
    "share_observe",
    "share_explain",
)


def vectorised_summary(model: CommunityModel) -> dict[str, float]:
    """The outcomes of a CommunityModel run, defined as PerAgentModel.summary defines them."""
    s = model.state
    counts = s.counts.sum(axis=0)
    out = {
        "gain": float((s.knowledge.mean(axis=1) - s.initial_knowledge.mean(axis=1)).mean()),
        "confidence_change": float((s.confidence - s.initial_confidence).mean()),
        "motivation": float(s.motivation[s.active].mean()) if s.active.any() else 0.0,
        "retention": float(s.active.mean()),
    }
    for i, m in enumerate(("study", "ask", "observe", "explain")):
        out[f"share_{m}"] = float(counts[1 + i] / max(counts[0], 1))
    return out


def run_vectorised(scenario: Scenario) -> dict[str, np.ndarray]:
    rows = []
    for seed in SEEDS:
        model = CommunityModel(scenario, seed=seed, agents=False)
        for _ in range(scenario.days):
            model.step()
        rows.append(vectorised_summary(model))
    return {k: np.array([r[k] for r in rows]) for k in OUTCOMES}


def run_per_agent(scenario: Scenario) -> dict[str, np.ndarray]:
    rows = []
    for seed in SEEDS:
        model = per_agent.PerAgentModel(scenario, seed=seed)
        for _ in range(scenario.days):
            model.step()
        rows.append(model.summary())
    return {k: np.array([r[k] for r in rows]) for k in OUTCOMES}


def paired_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided paired t-test p-value; 1 when the paired differences are all zero."""
    d = a - b
    if np.all(np.abs(d) < 1e-12):
        return 1.0
    if np.std(d, ddof=1) < 1e-12:  # identical non-zero shift: certainly different
        return 0.0
    return float(stats.ttest_rel(a, b).pvalue)


def disagreements(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, str]:
    """Outcomes whose paired difference is significant at the Bonferroni-corrected level."""
    level = FAMILY_ALPHA / len(OUTCOMES)
    out = {}
    for k in OUTCOMES:
        p = paired_p(a[k], b[k])
        if p <= level:
            out[k] = f"per-agent {a[k].mean():.5f} vs vectorised {b[k].mean():.5f} (paired p={p:.2g} <= {level:.2g})"
    return out


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return parse_scenario(AGREEMENT_YAML, "<agreement>")


@pytest.fixture(scope="module")
def vectorised(scenario: Scenario) -> dict[str, np.ndarray]:
    return run_vectorised(scenario)


def test_engines_agree_statistically(scenario: Scenario, vectorised: dict[str, np.ndarray]) -> None:
    per = run_per_agent(scenario)
    assert disagreements(per, vectorised) == {}


def test_the_agreement_test_detects_a_changed_parameter(scenario: Scenario, vectorised: dict[str, np.ndarray]) -> None:
    doubled = parse_scenario(AGREEMENT_YAML, "<agreement>", {"params.alpha_ask": 2.0 * scenario.params.alpha_ask})
    found = disagreements(run_per_agent(doubled), vectorised)
    assert "gain" in found, f"alpha_ask doubled in one engine went undetected: {found}"


# ------------------------------------------------------------------------------ exact check

EXACT_YAML = """
name: exact
setting: community
days: 80
topics:
  - {name: a, difficulty: 0.3}
  - {name: b, difficulty: 0.5, requires: [a]}
  - {name: c, difficulty: 0.8, requires: [a, b]}
  - {name: d}
communities:
  - {name: solo, members: 200, experts: 0}
settings:
  community: {power_gap: 0.3, social_share: 0.7, exposure_rate: 0.2, resources: 0.4, experts: 0,
    expert_answer_rate: 0.0, curriculum: false}
params: {dropout_threshold: 0.5, dropout_patience: 5, forgetting: 0.01, exposure_gap: 0.0,
  regular_after_days: 5, core_after_explains: 3}
"""


class EngineUniforms:
    """Stands in for a learner's `random`, serving the engine's draws of the day: each purpose
    from the engine's uniform for that purpose (`draw`), a topic and a partner as the engine picks them."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    def new_day(self, draws: Draws) -> None:
        self.u = draws.take(self.agent.index)

    def draw(self, purpose: str) -> float:
        return float(getattr(self.u, purpose))

    def choices(self, population: list[int], weights: list[float]) -> list[int]:
        cdf = np.cumsum(weights)
        cdf /= cdf[-1]
        return [population[int(ch.choose_categorical(cdf[None, :], np.array([self.u.topic]))[0])]]

    def choice(self, seq: list[Any]) -> Any:
        return seq[min(int(self.u.partner * len(seq)), len(seq) - 1)]


def test_same_uniforms_give_identical_days(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = parse_scenario(EXACT_YAML, "<exact>")
    vec = CommunityModel(scenario, seed=5, agents=False)
    monkeypatch.setattr(per_agent.PerAgentLearner, "random", property(lambda self: self._uniforms))
    monkeypatch.setattr(per_agent.PerAgentLearner, "draw", lambda self, purpose: self._uniforms.draw(purpose))
    per = per_agent.PerAgentModel(scenario, seed=5)
    for a in per.learners:
        a._uniforms = EngineUniforms(a)
    rng = np.random.default_rng(11)
    s = vec.state
    dropped = 0
    for day in range(scenario.days):
        draws = Draws(*rng.random((s.n, len(PURPOSES))).T.copy())
        run_day(Day(s, vec.world, vec.params, vec.levers, day, draws))
        for a in per.learners:
            a._uniforms.new_day(draws)
        per.step()
        np.testing.assert_allclose(
            [a.knowledge for a in per.learners], s.knowledge, rtol=0, atol=1e-12, err_msg=f"day {day}"
        )
        np.testing.assert_allclose(
            [a.confidence for a in per.learners], s.confidence, rtol=0, atol=1e-12, err_msg=f"day {day}"
        )
        np.testing.assert_allclose(
            [a.motivation for a in per.learners], s.motivation, rtol=0, atol=1e-12, err_msg=f"day {day}"
        )
        np.testing.assert_array_equal([a.active for a in per.learners], s.active, err_msg=f"day {day}")
        np.testing.assert_array_equal([a.stage for a in per.learners], s.stage, err_msg=f"day {day}")
        counts = [[a.days_present, *(a.mode_counts[m] for m in per_agent.MODES), 0, a.answers] for a in per.learners]
        np.testing.assert_array_equal(counts, s.counts, err_msg=f"day {day}")
        dropped = int((~s.active).sum())
    # The scenario did exercise the branches it is meant to.
    assert dropped > 0 and (s.stage == 2).any() and s.counts[:, 6].sum() > 0
