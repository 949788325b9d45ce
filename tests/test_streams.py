"""Random streams by purpose: common random numbers between paired scenarios, and new draws that shift nothing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import make_model, make_scenario, run

from learncomm.sim.engine.background import Ahead
from learncomm.sim.engine.model import CommunityModel
from learncomm.sim.engine.streams import PURPOSES, DayStreams, Draws, TakenDraws


def recorded(model: CommunityModel, days: int) -> list[Draws]:
    """Run `days` days and return each day's draws."""
    seen: list[Draws] = []
    today = model.day_streams.today

    def spy(tomorrow: bool = True) -> Draws:
        seen.append(today(tomorrow))
        return seen[-1]

    model.day_streams.today = spy  # type: ignore[method-assign]
    run(model, days)
    return seen


def same_draws(a: list[Draws], b: list[Draws]) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(getattr(x, f), getattr(y, f)) for x, y in zip(a, b, strict=True) for f in PURPOSES
    )


def test_each_purpose_draws_from_its_own_stream() -> None:
    d = DayStreams(seed=1, members=200).today()
    columns = [getattr(d, f) for f in PURPOSES]
    assert all(c.shape == (200,) and c.dtype == np.float32 for c in columns)
    assert len({c.tobytes() for c in columns}) == len(PURPOSES)


def test_prospects_leave_the_members_draws_unchanged() -> None:
    alone, with_prospects = DayStreams(3, 50).today(), DayStreams(3, 50, prospects=20).today()
    for f in PURPOSES:
        assert np.array_equal(getattr(alone, f), getattr(with_prospects, f)[:50])
        assert getattr(with_prospects, f).shape == (70,)


def test_paired_scenarios_share_their_draws_learner_by_learner() -> None:
    """Common random numbers: a parameter that changes what learners do does not change what they draw."""
    a = make_model(make_scenario(learners=60, days=12, params__alpha_ask=0.1), seed=4, agents=False)
    b = make_model(make_scenario(learners=60, days=12, params__alpha_ask=0.6), seed=4, agents=False)
    assert same_draws(recorded(a, 12), recorded(b, 12))
    assert not np.array_equal(a.state.knowledge, b.state.knowledge)  # and the parameter did matter


def test_a_new_purpose_drawn_every_day_changes_no_other_draw_and_not_the_run() -> None:
    base = make_model(make_scenario(learners=60, days=12), seed=5, agents=False)
    extended = make_model(make_scenario(learners=60, days=12), seed=5, agents=False)
    purposes = (*PURPOSES[:4], "a-new-purpose", *PURPOSES[4:])  # drawn every day, before half of the others
    extended.day_streams = DayStreams(extended.seed, extended.state.n, purposes=purposes)
    assert same_draws(recorded(base, 12), recorded(extended, 12))
    pd.testing.assert_frame_equal(
        base.datacollector.get_model_vars_dataframe(), extended.datacollector.get_model_vars_dataframe()
    )
    assert np.array_equal(base.state.knowledge, extended.state.knowledge)


def test_draws_of_present_learners_keep_their_rows() -> None:
    d = DayStreams(seed=2, members=10).today()
    rows = np.array([7, 2])
    taken = d.take(rows)
    assert all(np.array_equal(getattr(taken, f), getattr(d, f)[rows]) for f in PURPOSES)
    assert dataclasses.fields(taken) == dataclasses.fields(d)


def test_taken_draws_gather_each_purpose_on_use_as_take_does() -> None:
    """The present learners' draws (TakenDraws) equal Draws.take purpose by purpose, and a purpose never
    read is never gathered."""
    n = 50
    rng = np.random.default_rng(2)
    draws = Draws(*(rng.random(n, dtype=np.float32) for _ in PURPOSES))
    rows = np.array([3, 7, 7, 49, 0])
    taken, lazy = draws.take(rows), TakenDraws(draws, rows)
    assert np.array_equal(lazy.post, taken.post)
    assert "post" in vars(lazy) and "leave" not in vars(lazy)
    for name in PURPOSES:
        assert np.array_equal(getattr(lazy, name), getattr(taken, name))
    try:
        lazy.nonsense  # noqa: B018
    except AttributeError:
        pass
    else:
        raise AssertionError("an unknown purpose must raise AttributeError")


def test_drawing_ahead_on_a_second_thread_gives_the_same_numbers_day_after_day() -> None:
    """Tomorrow's draws made on a thread while today runs (large runs) are the numbers drawn in line."""
    inline, ahead = DayStreams(7, 300, prospects=40, ahead=False), DayStreams(7, 300, prospects=40, ahead=True)
    days = [(inline.today(), ahead.today()) for _ in range(5)]
    assert same_draws([a for a, _ in days], [b for _, b in days])
    assert not np.array_equal(days[0][0].topic, days[1][0].topic)  # and the days differ
    assert DayStreams(1, 10).ahead is False and DayStreams(1, 20_000).ahead is True  # AHEAD_MIN learners


def test_a_failure_on_the_drawing_thread_is_raised_in_the_caller() -> None:
    """A MemoryError drawing tomorrow's numbers is not lost on the thread: the day that needs them raises it."""

    def broken() -> dict[str, np.ndarray]:
        raise MemoryError("no room for tomorrow's draws")

    d = DayStreams(8, 30, ahead=True)
    d.today()
    d._next = Ahead(broken)  # as if drawing tomorrow's numbers had failed
    with pytest.raises(MemoryError, match="no room"):
        d.today()


def test_a_pool_with_a_worker_per_core_keeps_each_run_on_one_thread(monkeypatch) -> None:
    """A sweep with as many workers as cores leaves no core idle for a run's second thread: its workers
    inherit LEARNCOMM_SECOND_THREAD=0 and draw in line (the same numbers either way)."""
    import os

    from learncomm.sim.sweeps.runner import local_executor

    monkeypatch.setenv("LEARNCOMM_SECOND_THREAD", "1")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    local_executor(1).shutdown()
    assert os.environ["LEARNCOMM_SECOND_THREAD"] == "1" and DayStreams(1, 20_000).ahead  # one worker, two cores
    local_executor(2).shutdown()
    assert os.environ["LEARNCOMM_SECOND_THREAD"] == "0"
    assert DayStreams(1, 20_000).ahead is False


def test_the_last_day_draws_nothing_ahead() -> None:
    """A large run's last day starts no draws for a day that will not come."""
    model = make_model(make_scenario(learners=30, days=3), seed=2, agents=False)
    model.day_streams.ahead = True
    run(model, 2)
    assert model.day_streams._next is not None  # day 3 is coming: drawn ahead
    run(model, 1)
    assert model.day_streams._next is None and not model.running
