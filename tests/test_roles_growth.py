"""The community manager (outreach, welcomes) and the matchmaker (complementary pairs): policies,
validation, and what they do to the model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from learncomm.agents.state import LearnerState
from learncomm.roles.manager import ManagerRole
from learncomm.roles.matchmaker import MatchmakerRole, match_pairs
from learncomm.roles.snapshot import observe
from learncomm.sim.engine.dynamics import drop_out
from learncomm.sim.engine.learning import zpd_gain
from learncomm.sim.engine.metrics import METRICS
from learncomm.sim.engine.model import CommunityModel
from learncomm.sim.runs.outcomes import learners_table
from learncomm.sim.schema.roles import Manager, Matchmaker
from learncomm.sim.schema.scenario import Params
from tests.test_roles import scenario, snap

MANAGER = "roles:\n  manager: {cadence: 7, reserve: 30, max_outreach: 10, max_newcomer_share: 1.0}\n"


def run_days(model: CommunityModel, days: int) -> CommunityModel:
    for _ in range(days):
        model.step()
    return model


# ---------------------------------------------------------------- community manager


def test_manager_pauses_outreach_while_newcomers_are_many() -> None:
    model = CommunityModel(scenario(""), seed=1)
    cfg = Manager(max_outreach=10, max_newcomer_share=0.4)
    calm = ManagerRole().candidates(snap(newcomers=3, active=30, prospects=20), model, cfg)
    assert [c.decision["outreach"] for c in calm] == [10, 10, 0]
    assert [c.decision["topic"] for c in calm] == [0, 2, None]  # the favourite topic, then the least covered
    crowded = ManagerRole().candidates(snap(newcomers=20, active=30, prospects=20), model, cfg)
    assert crowded[0].decision == {"outreach": 0, "topic": None, "welcome": True}
    few = ManagerRole().candidates(snap(newcomers=0, prospects=4), model, cfg)
    assert few[0].decision["outreach"] == 4  # never more than the prospects left
    assert [c.decision["outreach"] for c in ManagerRole().candidates(snap(prospects=0), model, cfg)] == [0]


def test_manager_validation_rejects_impossible_outreach() -> None:
    model, s = CommunityModel(scenario(""), seed=1), snap(prospects=5)
    role = ManagerRole()
    assert role.validate({"outreach": 6, "topic": 0, "welcome": True}, s, model)
    assert role.validate({"outreach": True, "topic": 0, "welcome": True}, s, model)
    assert role.validate({"outreach": 2, "topic": 9, "welcome": True}, s, model)
    assert role.validate({"outreach": 2, "topic": 0, "welcome": "yes"}, s, model)
    assert role.validate({"outreach": 0, "topic": None, "welcome": False}, s, model) is None


def test_outreach_brings_in_the_keenest_prospects_and_links_them_in() -> None:
    model = CommunityModel(scenario(MANAGER, learners=80, days=30), seed=4, agents=False)
    s = model.state
    assert s.n == 110 and s.joined.sum() == 80 and not s.active[80:].any()
    assert observe(model, 0).prospects == 30
    pool_interest = s.interest[80:].copy()
    assert model.world.networks[0].degree()[80:].sum() == 0  # prospects know nobody yet
    run_days(model, 7)
    row = model.interventions[-1]
    decision = json.loads(row["decision"])
    new = np.flatnonzero(s.joined_day == 7)
    assert decision["outreach"] == 10 and new.size == 10 and s.active[new].all()
    keenest = 80 + np.argsort(-pool_interest[:, decision["topic"]], kind="stable")[:10]
    assert set(new) == set(keenest)
    assert (model.world.networks[0].degree()[new] >= model.scenario.network.degree).all()
    assert model.metrics["joined_learners"] == 90 and model.metrics["active_learners"] <= 90
    assert learners_table(model).num_rows == 90
    joined = s.joined
    k = s.knowledge.mean(axis=1)
    assert model.metrics["knowledge_all"] == pytest.approx(k[joined].mean())
    assert model.metrics["retention_all"] == pytest.approx(s.active[joined].mean())


def test_the_prospect_pool_changes_nothing_until_the_manager_acts() -> None:
    """Prospects come after the members: same members, same network, same daily random numbers."""
    days = 10
    base = run_days(CommunityModel(scenario("", learners=80, days=30), seed=6, agents=False), days)
    managed = run_days(
        CommunityModel(
            scenario(MANAGER.replace("cadence: 7", f"cadence: 7, start_day: {days}"), learners=80, days=30),
            seed=6,
            agents=False,
        ),
        days,
    )
    a = base.datacollector.get_model_vars_dataframe().iloc[:days]
    b = managed.datacollector.get_model_vars_dataframe().iloc[:days]
    cols = [m for m in METRICS if m != "joined_learners"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert not a.equals(managed.datacollector.get_model_vars_dataframe().iloc[: days + 1])  # and then it acts


def test_welcomed_newcomers_stay_longer() -> None:
    p = Params()
    n = 4
    st = LearnerState(
        knowledge=np.zeros((n, 1)),
        interest=np.ones((n, 1)),
        confidence=np.full(n, 0.5),
        motivation=np.zeros(n),
        baseline_motivation=np.zeros(n),
        access=np.ones(n),
        access_class=np.zeros(n, dtype=np.int8),
        available=np.ones((n, 7), dtype=bool),
        group=np.zeros(n, dtype=np.int8),
        membership=np.ones((n, 1), dtype=bool),
        activity=np.ones(n),
    )
    factor = np.array([1.0, 1.0, 2.0, 2.0])
    left = np.full(n, -1)
    for day in range(1, 60):
        gone = drop_out(st, p, day, factor)
        left[gone] = day
    newcomer = int(round(p.dropout_patience * p.newcomer_patience))
    assert (left[:2] == newcomer).all() and (left[2:] == 2 * newcomer).all()


# ---------------------------------------------------------------- matchmaker


def crafted_pairs_model() -> CommunityModel:
    """Two complementary learners (0 wants topic 0, 1 wants topic 1, each 0.2 ahead on the other's)
    among distractors."""
    model = CommunityModel(scenario("", learners=40), seed=1, agents=False)
    s = model.state
    s.interest[:] = 1.0 / s.interest.shape[1]
    s.knowledge[:] = 0.9  # distractors: far ahead of everyone, outside the zone of proximal development
    s.interest[0] = s.interest[1] = 0.0
    s.interest[0, 0], s.interest[1, 1] = 1.0, 1.0
    s.knowledge[0, :2] = [0.2, 0.4]
    s.knowledge[1, :2] = [0.4, 0.2]
    s.confidence[:] = 0.9
    s.confidence[0] = 0.1  # served first under the low-confidence focus
    return model


def test_matchmaker_pairs_complementary_learners() -> None:
    a, b = match_pairs(crafted_pairs_model(), 0, "low_confidence", 1)
    assert (a.tolist(), b.tolist()) == ([0], [1])


def test_matched_partners_are_closer_to_the_zpd_peak_than_random_neighbours() -> None:
    model = CommunityModel(scenario("", learners=300), seed=2, agents=False)
    s, peak = model.state, model.params.zpd_peak
    a, b = match_pairs(model, 0, "behind", 60)
    assert a.size == 60 and len(set(a) | set(b)) == 120  # disjoint pairs
    fav = np.argmax(s.interest[a], axis=1)
    matched = zpd_gain(s.knowledge[b, fav] - s.knowledge[a, fav], peak).mean()
    rng = np.random.default_rng(0)
    neighbour = model.world.networks[0].pick(a, rng.random(a.size))
    random_ = zpd_gain(s.knowledge[neighbour, fav] - s.knowledge[a, fav], peak).mean()
    best = zpd_gain(np.array([peak]), peak)[0]  # a partner exactly zpd_peak ahead
    assert matched > 0.9 * best and matched > 1.5 * random_


def test_matchmaker_sets_mutual_matches_that_expire() -> None:
    roles = "roles:\n  matchmaker: {cadence: 30, start_day: 1, duration: 5, max_pairs: 20}\n"
    model = run_days(CommunityModel(scenario(roles, learners=80, days=30), seed=1, agents=False), 1)
    m = model.levers.match
    assert m is not None and model.levers.match_use == Matchmaker().use
    paired = np.flatnonzero(m >= 0)
    assert paired.size == 40 and (m[m[paired]] == paired).all()
    run_days(model, 5)
    assert (model.levers.match == -1).all()


def test_matchmaker_validation() -> None:
    model, s = CommunityModel(scenario(""), seed=1), snap(active=10)
    role = MatchmakerRole()
    assert role.validate({"focus": "friends", "pairs": 2}, s, model)
    assert role.validate({"focus": "behind", "pairs": 6}, s, model)
    assert role.validate({"focus": "behind", "pairs": 0}, s, model)
    assert role.validate({"focus": "behind", "pairs": 5}, s, model) is None
    cands = role.candidates(snap(active=10, newcomers=0), model, Matchmaker())
    assert cands[0].decision == {"focus": "low_confidence", "pairs": 5}
    assert role.candidates(snap(active=10, newcomers=8), model, Matchmaker())[0].decision["focus"] == "newcomers"


def test_matchmaker_raises_low_confidence_learners_gain_on_paired_seeds() -> None:
    diffs = []
    for seed in range(3):
        runs = [
            run_days(CommunityModel(scenario(extra, learners=150, days=120), seed=seed, agents=False), 120)
            for extra in ("", "roles:\n  matchmaker: {}\n")
        ]
        diffs.append(runs[1].metrics["gain_low"] - runs[0].metrics["gain_low"])
    assert min(diffs) > 0, diffs


def test_sharing_one_observation_a_day_changes_no_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    """Roles that declare their act changes nothing observed reuse the day's snapshot; the results
    must be identical to every role observing afresh (this guards those declarations)."""
    from learncomm.roles.registry import SPECS

    six = "roles:\n" + "".join(f"  {r}: {{cadence: 5}}\n" for r in SPECS)
    shared = run_days(CommunityModel(scenario(six, learners=120, days=40), seed=3, agents=False), 40)
    for spec in SPECS.values():
        monkeypatch.setattr(spec, "changes_observation", True)
    fresh = run_days(CommunityModel(scenario(six, learners=120, days=40), seed=3, agents=False), 40)
    assert [r["decision"] for r in shared.interventions] == [r["decision"] for r in fresh.interventions]
    pd.testing.assert_frame_equal(
        shared.datacollector.get_model_vars_dataframe(), fresh.datacollector.get_model_vars_dataframe()
    )


# ---------------------------------------------------------------- triggers


def test_a_trigger_makes_a_role_act_before_its_cadence_and_is_recorded(tmp_path) -> None:
    from learncomm.sim.runs.replay import replay_run
    from learncomm.sim.runs.run import run_scenario

    roles = "roles:\n  source: {cadence: 60, open_questions: 3, cooldown: 4}\n"
    res = run_scenario(scenario(roles, learners=120, days=30), seed=2, out=tmp_path / "run")
    rows = res.interventions
    assert len(rows) >= 3 and (rows["trigger"].str.contains("questions went unanswered")).all()
    assert (rows["day"] < 60).all() and (rows["day"].diff().dropna() >= 4).all()  # never more often than the cooldown
    same, detail = replay_run(tmp_path / "run")
    assert same, detail


def test_off_by_default_and_each_roles_trigger_fires_on_its_condition() -> None:
    from learncomm.roles.ideator import IdeatorRole
    from learncomm.roles.secretary import SecretaryRole
    from learncomm.sim.schema.roles import Ideator, Secretary

    stay = "params: {leave_rate: 0.0}\n"  # only the five made to leave below leave
    model = run_days(CommunityModel(scenario(stay, learners=80, days=30), seed=1, agents=False), 3)
    assert IdeatorRole().trigger(model, 0, Ideator(), -1) is None
    assert "stalled" in IdeatorRole().trigger(model, 0, Ideator(stagnation=1.0), -1)
    assert IdeatorRole().trigger(model, 0, Ideator(stagnation=0.0), -1) is None
    model.meetup_history[0] = [(1, 40), (model.day, 10)]
    assert "fell from 40 to 10" in SecretaryRole().trigger(model, 0, Secretary(attendance_drop=0.5), -1)
    model.meetup_history[0] = [(1, 40), (model.day, 30)]
    assert SecretaryRole().trigger(model, 0, Secretary(attendance_drop=0.5), -1) is None
    s = model.state
    s.active[:5], s.leaving_day[:5] = False, model.day
    assert "5 members left" in ManagerRole().trigger(model, 0, Manager(dropouts=5), 1)
    assert ManagerRole().trigger(model, 0, Manager(dropouts=5), model.day) is None  # left before the last decision
    model.levers.match = np.full(s.n, -1)
    model.levers.match[:4] = [1, 0, 3, 2]
    assert "4 matched learners" in MatchmakerRole().trigger(model, 0, Matchmaker(broken_pairs=4), 1)
    assert MatchmakerRole().trigger(model, 0, Matchmaker(broken_pairs=5), 1) is None
