"""The vectorised engine and the per-agent Mesa baseline (benchmarks/per_agent.py) run the same model.

Two checks:

1. Statistical agreement: both engines start from the same drawn learners and
   network for each seed (same named streams), draw their days independently,
   and must agree on the outcomes of a run (mean knowledge gain, confidence
   change, motivation, retention, shares of each mode). Because each seed gives
   both engines the same population, the runs are paired, so the test is a
   paired t-test per outcome, Bonferroni-corrected to a family-wise 1 %. The same
   test applied to a per-agent run with `alpha_ask` doubled must report a
   difference in knowledge gain, and with `respond_rate` halved a difference in
   the share of questions that got a response, which shows the test has power.

2. Exact agreement: fed the engine's own uniforms, the per-agent model
   reproduces the vectorised day to rounding error, learner by learner and day
   by day, in a scenario that exercises prerequisites, exposure, forgetting,
   dropout and stages, and the participation mechanisms: a spread posting
   propensity (lurking), forum responses below certainty, reinforcement, the
   leaving hazard, fading novelty and arrivals over time.

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
from learncomm.sim.schema.vocab import Count


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
# out within 60 days and retention varies between runs. The participation mechanisms are
# set explicitly (not left to their defaults): a spread posting propensity, responses
# below certainty, reinforcement, a leaving hazard, fading novelty, and half the members
# arriving after the first day. Posting and responding are common enough that doubling
# alpha_ask or halving respond_rate is detected on any 16 seeds tried (p < 1e-4; the
# level is 8e-4), while the engines agree (smallest p over the outcomes 0.013 to 0.18).
START_MOTIVATION = round(min(0.85, Params().dropout_threshold + 0.12), 3)
PARTICIPATION = (
    "activity_spread: 1.0, post_rate: 0.6, respond_rate: 0.6, reply_reinforcement: 0.2, ignored_cost: 0.3,"
    " ignored_motivation: 0.02, reinforcement_decay: 0.03, reinforcement_cap: 1.5, leave_rate: 0.03,"
    " leave_tenure: 60.0, leave_bonds: 30.0, fade_days: 40.0, fade_floor: 0.6"
)
AGREEMENT_YAML = f"""
name: agreement
setting: community
days: {DAYS}
population:
  motivation: {{mean: {START_MOTIVATION}, spread: 0.1}}
arrivals: {{founders: 0.5, wave_days: 10, trickle: 0.3}}
communities:
  - {{name: solo, members: {LEARNERS}, experts: 0}}
settings:
  community: {{experts: 0, expert_answer_rate: 0.0, curriculum: false, leaving: 1.0}}
params: {{{PARTICIPATION}}}
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
    "posts",
    "posters",
    "responded",
    "reinforcement",
)


def vectorised_summary(model: CommunityModel) -> dict[str, float]:
    """The outcomes of a CommunityModel run, defined as PerAgentModel.summary defines them."""
    s = model.state
    counts = s.counts.sum(axis=0)
    joined = s.joined
    out = {
        "gain": float((s.knowledge.mean(axis=1) - s.initial_knowledge.mean(axis=1)).mean()),
        "confidence_change": float((s.confidence - s.initial_confidence).mean()),
        "motivation": float(s.motivation[s.active].mean()) if s.active.any() else 0.0,
        "retention": float(s.active[joined].sum() / max(joined.sum(), 1)),
    }
    for i, m in enumerate(("study", "ask", "observe", "explain")):
        out[f"share_{m}"] = float(counts[1 + i] / max(counts[0], 1))
    out["posts"] = float(s.posts[joined].sum() / max(joined.sum(), 1))
    out["posters"] = float((s.posts[joined] > 0).sum() / max(joined.sum(), 1))
    out["responded"] = float(1.0 - s.unanswered.sum() / max(counts[Count.ASK], 1))
    out["reinforcement"] = float(s.reinforcement[joined].sum() / max(joined.sum(), 1))
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


@pytest.mark.parametrize(
    ("field", "factor", "outcome"),
    [("alpha_ask", 2.0, "gain"), ("respond_rate", 0.5, "responded")],
)
def test_the_agreement_test_detects_a_changed_parameter(
    scenario: Scenario, vectorised: dict[str, np.ndarray], field: str, factor: float, outcome: str
) -> None:
    changed = factor * getattr(scenario.params, field)
    found = disagreements(
        run_per_agent(parse_scenario(AGREEMENT_YAML, "<agreement>", {f"params.{field}": changed})), vectorised
    )
    assert outcome in found, f"{field} x {factor} in one engine went undetected on {outcome}: {found}"


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
arrivals: {founders: 0.4, wave_days: 15, trickle: 0.3}
communities:
  - {name: solo, members: 200, experts: 0}
settings:
  community: {power_gap: 0.3, social_share: 0.7, exposure_rate: 0.2, resources: 0.4, experts: 0,
    expert_answer_rate: 0.0, curriculum: false, leaving: 0.8}
params: {dropout_threshold: 0.5, dropout_patience: 5, forgetting: 0.01, exposure_gap: 0.0,
  regular_after_days: 5, core_after_explains: 3, activity_spread: 1.2, post_rate: 0.5, respond_rate: 0.4,
  stage_post: [0.6, 1.0, 1.3], reply_reinforcement: 0.25, ignored_cost: 0.4, ignored_motivation: 0.03,
  newcomer_sensitivity: 1.0, reinforcement_decay: 0.05, reinforcement_cap: 1.0, leave_rate: 0.2,
  leave_tenure: 30.0, leave_bonds: 10.0, fade_days: 30.0, fade_floor: 0.2}
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


# the learners' state compared every day: (per-agent attribute, engine array, tolerance: None for exact)
COMPARED = (
    ("knowledge", "knowledge", 1e-12),
    ("confidence", "confidence", 1e-12),
    ("motivation", "motivation", 1e-12),
    ("reinforcement", "reinforcement", 1e-12),
    ("active", "active", None),
    ("joined", "joined", None),
    ("stage", "stage", None),
    ("bonds", "bonds", None),
    ("leaving_day", "leaving_day", None),
    ("posts", "posts", None),
    ("first_post_day", "first_post_day", None),
    ("last_post_day", "last_post_day", None),
    ("first_question_day", "first_question_day", None),
    ("first_question_answered", "first_question_answered", None),
    ("unanswered", "unanswered", None),
    ("last_active_day", "last_active_day", None),
)


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
    np.testing.assert_array_equal([a.joined_day for a in per.learners], s.joined_day)
    np.testing.assert_array_equal([a.activity for a in per.learners], s.activity)
    for day in range(scenario.days):
        draws = Draws(*rng.random((s.n, len(PURPOSES))).T.copy())
        run_day(Day(s, vec.world, vec.params, vec.levers, day, draws))
        for a in per.learners:
            a._uniforms.new_day(draws)
        per.step()
        for name, engine, tol in COMPARED:
            mine, theirs = [getattr(a, name) for a in per.learners], getattr(s, engine)
            if tol is None:
                np.testing.assert_array_equal(mine, theirs, err_msg=f"{name}, day {day}")
            else:
                np.testing.assert_allclose(mine, theirs, rtol=0, atol=tol, err_msg=f"{name}, day {day}")
        counts = [[a.days_present, *(a.mode_counts[m] for m in per_agent.MODES), 0, a.answers] for a in per.learners]
        np.testing.assert_array_equal(counts, s.counts, err_msg=f"counts, day {day}")
    # The scenario did exercise the branches it is meant to: stages, answers, dropout (burning out) and the
    # leaving hazard, arrivals, lurkers, questions with and without a response, reinforcement both ways.
    how = [a.left_by for a in per.learners]
    present = s.counts[:, Count.DAYS_PRESENT] > 0
    assert (s.stage == 2).any() and s.counts[:, Count.ANSWERS].sum() > 0
    assert how.count("dropout") > 0 and how.count("hazard") > 0
    assert (s.joined & (s.joined_day > 0)).sum() > 0
    assert (present & (s.posts == 0)).any() and (s.posts > 0).any()
    assert (s.first_question_answered == 0).any() and (s.first_question_answered == 1).any()
    assert (s.reinforcement > 0).any() and (s.reinforcement < 0).any()
