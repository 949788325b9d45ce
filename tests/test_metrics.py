"""Outcomes (sim/engine/metrics.py): the Gini of posts and the per-group daily metrics."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_model, make_scenario, run
from hypothesis import given, settings
from hypothesis import strategies as st

from learncomm.sim.engine.metrics import METRICS, SCOPES, day_metrics, gini_of_counts
from learncomm.sim.runs import inequality
from learncomm.sim.schema.vocab import MODES


def gini_direct(x: np.ndarray) -> float:
    """Mean absolute difference over twice the mean, O(n^2)."""
    x = np.asarray(x, dtype=float)
    n, total = x.size, x.sum()
    if n == 0 or total == 0:
        return 0.0
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2.0 * n * total))


@settings(deadline=None, max_examples=30)
@given(st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=80))
def test_gini_of_counts_matches_the_direct_formula(values: list[int]) -> None:
    x = np.array(values, dtype=np.int32)
    assert gini_of_counts(x) == pytest.approx(gini_direct(x), abs=1e-9)
    assert gini_of_counts(x) == pytest.approx(inequality.gini(x), abs=1e-9)  # the timeseries' fast O(N) form


@settings(deadline=None, max_examples=15)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=200))
def test_gini_of_equal_counts_is_zero(value: int, n: int) -> None:
    assert gini_of_counts(np.full(n, value, dtype=np.int64)) == pytest.approx(0.0, abs=1e-12)


def test_gini_extremes_and_range() -> None:
    assert gini_of_counts(np.zeros(0, dtype=np.int64)) == 0.0
    assert gini_of_counts(np.zeros(7, dtype=np.int64)) == 0.0
    for n in (2, 5, 50):
        one = np.zeros(n, dtype=np.int64)
        one[n // 2] = 9
        assert gini_of_counts(one) == pytest.approx((n - 1) / n)
    x = np.random.default_rng(0).integers(0, 20, size=500)
    assert 0.0 <= gini_of_counts(x) < 1.0
    # Moving a post from a poorer to a richer learner raises inequality.
    y = np.array([1, 2, 3, 4], dtype=np.int64)
    assert gini_of_counts(np.array([0, 2, 3, 5])) > gini_of_counts(y)


def _ran_model(days: int = 12, seed: int = 2):
    scn = make_scenario(
        learners=60,
        days=days,
        params__explain_propensity=0.5,
        meetups={"every_days": 3, "weekday": 1, "format": "online", "attend_propensity": 0.8},
    )
    model = make_model(scn, seed=seed)
    run(model, days)
    return model


def test_metrics_before_the_first_day(small_model) -> None:
    model = small_model
    row = model.metrics
    assert set(row) == set(METRICS)
    for s in SCOPES:
        assert row[f"present_{s}"] == 0.0
        assert row[f"gain_{s}"] == pytest.approx(0.0)
        assert row[f"retention_{s}"] == 1.0
        for m in MODES:
            assert row[f"share_{m}_{s}"] == 0.0
    assert row["active_learners"] == model.state.n
    assert row["posts_gini"] == 0.0
    assert row["stage_newcomer"] == 1.0


def test_daily_metrics_agree_with_the_state_and_the_day() -> None:
    model = _ran_model()
    st_, d, row = model.state, model.last_day, model.metrics
    assert row == day_metrics(st_, d)
    g = st_.group
    for gi, scope in enumerate(SCOPES):
        sel = np.ones(st_.n, bool) if gi == 0 else g == gi - 1
        assert row[f"knowledge_{scope}"] == pytest.approx(st_.knowledge[sel].mean())
        assert row[f"gain_{scope}"] == pytest.approx(
            (st_.knowledge[sel] - st_.initial_knowledge[sel]).mean(axis=1).mean()
        )
        assert row[f"confidence_{scope}"] == pytest.approx(st_.confidence[sel].mean())
        assert row[f"confidence_change_{scope}"] == pytest.approx((st_.confidence - st_.initial_confidence)[sel].mean())
        assert row[f"retention_{scope}"] == pytest.approx(st_.active[sel].mean())
        present = d.present & sel
        assert present.any()
        assert row[f"daily_gain_{scope}"] == pytest.approx(d.gain[present].mean())
        assert row[f"present_{scope}"] == pytest.approx(present.sum() / (sel & (st_.active | d.present)).sum())
    assert row["equity_gap"] == pytest.approx(row["gain_high"] - row["gain_low"])
    assert row["active_learners"] == st_.active.sum()
    posts = st_.counts[:, 2] + st_.counts[:, 4] + st_.counts[:, 6]
    assert row["posts_gini"] == pytest.approx(gini_direct(posts))
    assert row["meetup_attendance"] == sum(d.meetups.values())
    stages = [row[f"stage_{s}"] for s in ("newcomer", "regular", "core")]
    assert sum(stages) == pytest.approx(1.0)


def test_mode_shares_are_shares_of_the_learners_present() -> None:
    """share_<mode>_<scope> is the share of the day's present learners in that mode, so the five
    shares sum to 1 on any day someone of the scope took part (as the per-agent reference
    model in benchmarks/per_agent.py and the 'share of days' labels in sim/runs/compare.py define it)."""
    model = _ran_model()
    d, row, g = model.last_day, model.metrics, model.state.group
    for gi, scope in enumerate(SCOPES):
        sel = np.ones(model.state.n, bool) if gi == 0 else g == gi - 1
        present = d.present & sel
        assert present.any()
        for i, m in enumerate(MODES):
            assert row[f"share_{m}_{scope}"] == pytest.approx((d.mode[present] == i).mean()), (m, scope)
        assert sum(row[f"share_{m}_{scope}"] for m in MODES) == pytest.approx(1.0)
        assert row[f"exposed_{scope}"] == pytest.approx(d.exposed[present].mean())


def test_meetups_are_counted_on_meetup_days_only() -> None:
    scn = make_scenario(
        learners=60, days=9, meetups={"every_days": 3, "weekday": 1, "format": "online", "attend_propensity": 1.0}
    )
    model = make_model(scn, seed=4, agents=False)
    for day in range(9):
        model.step()
        d, row = model.last_day, model.metrics
        met = int((d.mode == 4).sum())
        assert row["meetup_attendance"] == met
        if day % 3 != 1:
            assert met == 0
    df = model.datacollector.get_model_vars_dataframe()
    assert df["meetup_attendance"].iloc[1:].sum() > 0


def test_equity_gap_is_positive_when_only_the_high_group_learns() -> None:
    model = make_model(make_scenario(learners=30), seed=0, agents=False)
    st_ = model.state
    st_.knowledge[st_.group == 2] += 0.1
    row = day_metrics(st_)
    assert row["equity_gap"] == pytest.approx(0.1)
    assert row["gain_high"] > row["gain_medium"] == pytest.approx(0.0)


def test_datacollector_has_every_metric_and_a_row_per_day() -> None:
    model = _ran_model(days=7)
    df = model.datacollector.get_model_vars_dataframe()
    assert list(df.columns) == list(METRICS)
    assert len(df) == 8
    assert df.iloc[-1].to_dict() == pytest.approx(model.metrics, nan_ok=True)


def test_sparse_and_dense_sums_give_the_same_outcomes_to_the_last_bit(monkeypatch) -> None:
    """A mask covering few learners is summed over its rows, a dense one through a product over every learner:
    the same numbers in the same order, so every outcome is identical (an open community: most not arrived)."""
    from learncomm.sim.engine import metrics

    scn = make_scenario(learners=400, days=60, arrivals={"founders": 0.1, "wave_days": 60.0})
    model = make_model(scn, seed=3, agents=False)
    run(model, 6)
    assert 0 < model.state.joined.sum() < 0.5 * model.state.n  # the joined are a sparse mask
    rows = {}
    for share in (0.0, 1.1):  # every mask dense, every mask sparse
        monkeypatch.setattr(metrics, "SPARSE", share)
        rows[share] = day_metrics(model.state, model.last_day)
    assert rows[0.0] == rows[1.1]
    assert rows[0.0]["posts"] > 0 and rows[0.0]["present_all"] > 0


def test_a_large_run_computing_outcomes_on_a_second_thread_records_the_same_rows() -> None:
    """From AHEAD_MIN learners a day's outcomes are computed on a second thread while the next day runs, and the
    day overlaps its own independent phases: every row, `model.metrics` after every day and the final state equal
    the ones computed in line."""
    scn = make_scenario(
        learners=300,
        days=15,
        arrivals={"founders": 0.3, "wave_days": 5.0},
        params__leave_rate=0.2,
        settings__community__leaving=1.0,
    )
    inline, ahead = make_model(scn, seed=9, agents=False), make_model(scn, seed=9, agents=False)
    ahead.day_streams.ahead = True  # as a run of 20,000 learners or more does
    for _ in range(15):
        inline.step()
        ahead.step()
        assert ahead._pending is not None or ahead.day == 0  # the outcomes really are on the other thread
        assert ahead.metrics == inline.metrics
    a, b = inline.datacollector.get_model_vars_dataframe(), ahead.datacollector.get_model_vars_dataframe()
    assert len(a) == 16 and a.equals(b)
    assert a["arrivals"].iloc[1:].sum() > 0 and a["leavers"].sum() > 0  # learners came and went meanwhile
    # the day's own overlaps (the audience, forgetting) leave every learner's state as in line, to the bit
    for name, value in vars(inline.state).items():
        assert np.array_equal(value, getattr(ahead.state, name)), name
    assert ahead.params.forgetting > 0


def test_frozen_inputs_copy_everything_day_metrics_reads_that_a_day_changes() -> None:
    """`day_metrics` on the frozen copy must not see tomorrow's changes: every field it reads is either copied
    (CHANGING) or fixed from the start (group, initial knowledge and confidence)."""
    from learncomm.agents.state import LearnerState
    from learncomm.sim.engine import metrics

    model = make_model(make_scenario(learners=40, days=3), seed=1, agents=False)
    run(model, 2)
    read: set[str] = set()

    class Spy:
        def __getattr__(self, name: str):
            read.add(name)
            return getattr(model.state, name)

    fixed = {"group", "initial_mean_knowledge", "initial_confidence"}

    def fields_read(*row_means: np.ndarray) -> set[str]:
        read.clear()
        metrics.day_metrics(Spy(), model.last_day, *row_means)  # type: ignore[arg-type]
        return {name for name in read if not isinstance(getattr(LearnerState, name, None), property)} - fixed

    assert fields_read() == {*metrics.CHANGING, "knowledge"}
    assert fields_read(np.zeros(model.state.n)) == set(metrics.CHANGING)  # knowledge only as the row means given
    frozen = metrics.frozen_inputs(model.state)
    for name in metrics.CHANGING:
        assert np.array_equal(getattr(frozen.state, name), getattr(model.state, name))
        assert not np.shares_memory(getattr(frozen.state, name), getattr(model.state, name))
    day = model.last_day
    before = metrics.day_metrics(model.state, day)
    assert metrics.frozen_metrics(frozen, day) == before
    model.step()  # the day changes the state, not the frozen moment
    assert metrics.frozen_metrics(frozen, day) == before
    assert metrics.day_metrics(model.state, day) != before
