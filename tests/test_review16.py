"""Review of issue 16 (a large run's second thread, sim/engine/background.py): a Ctrl-C while waiting for the
second thread's work loses nothing, and a model with work pending still pickles and deep-copies."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator

import pytest
from conftest import make_model, make_scenario

from learncomm.sim.engine import model as model_module

WAIT_S = 10.0  # at most this long the second thread waits to be released (the interrupt comes first)


@pytest.fixture
def alarm_interrupt() -> Iterator[None]:
    """SIGALRM raises KeyboardInterrupt in the main thread, as Ctrl-C would (restored after the test)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_while_waiting_for_a_days_outcomes_loses_no_day(
    monkeypatch: pytest.MonkeyPatch, alarm_interrupt: None
) -> None:
    """Reading `model.metrics` waits for the day's outcomes when a large run computes them on the second thread.
    A Ctrl-C during that wait (a notebook's interrupt, a progress display's read) must leave the day's row to be
    taken later: the timeseries of the finished run has a row for every day, the same as computed in line."""
    scn = make_scenario(learners=60, days=4)
    inline, ahead = make_model(scn, seed=5, agents=False), make_model(scn, seed=5, agents=False)
    ahead.day_streams.ahead = True
    real, release = model_module.frozen_metrics, threading.Event()

    def slow(*args: object) -> dict[str, float]:
        release.wait(WAIT_S)  # the outcomes of a large day take a while on the second thread
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(model_module, "frozen_metrics", slow)
    inline.step()
    ahead.step()
    assert ahead._pending is not None  # day 1's outcomes are still on the other thread
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    with pytest.raises(KeyboardInterrupt):
        _ = ahead.metrics  # interrupted while it waits
    monkeypatch.setattr(model_module, "frozen_metrics", real)
    threading.Timer(0.1, release.set).start()  # the outcomes are done a moment after the next wait begins
    while inline.running:
        inline.step()
    while ahead.running:
        ahead.step()
    a, b = inline.datacollector.get_model_vars_dataframe(), ahead.datacollector.get_model_vars_dataframe()
    assert len(a) == 5
    assert len(b) == len(a)  # no day's row lost to the interrupt
    assert a.equals(b)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ahead_result_after_an_interrupted_wait_is_the_calls_value(alarm_interrupt: None) -> None:
    """A Ctrl-C while `Ahead.result()` waits must not make the next `result()` return before the call is done.
    (Python 3.11's Thread.join, interrupted, marks a running thread as stopped: the next join returns at once.)"""
    from learncomm.sim.engine.background import Ahead

    release = threading.Event()

    def call() -> str:
        release.wait(5.0)
        return "done"

    pending = Ahead(call)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    with pytest.raises(KeyboardInterrupt):
        pending.result()
    threading.Timer(0.2, release.set).start()
    assert pending.result() == "done"


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_tomorrows_draws_survive_a_ctrl_c_while_waiting_for_them(alarm_interrupt: None) -> None:
    """DayStreams.today() interrupted while it waits for the draws made on the second thread: the next call
    gives that day's draws, the same numbers as drawn in line."""
    import numpy as np

    from learncomm.sim.engine.streams import DayStreams

    inline, ahead = DayStreams(3, 500, ahead=False), DayStreams(3, 500, ahead=True)
    real, release = ahead._draw_all, threading.Event()
    calls = []

    def slow() -> dict[str, np.ndarray]:
        calls.append(1)
        if len(calls) == 2:  # day 2's, on the second thread: a large run's draws take a while
            release.wait(WAIT_S)
        return real()

    ahead._draw_all = slow  # type: ignore[method-assign]
    inline.today(), ahead.today()  # day 1; day 2's draws start on the second thread
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    with pytest.raises(KeyboardInterrupt):
        ahead.today()
    threading.Timer(0.1, release.set).start()
    a, b = inline.today(), ahead.today()
    assert b is not None
    for name in ("topic", "leave", "post"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_a_large_run_pickles_mid_run_and_goes_on_with_the_same_numbers() -> None:
    """A model pickles (and deep-copies) as before issue 16 although a large run has work on the second thread
    (tomorrow's draws, the day's outcomes): the copy waits for it and goes on exactly as the run in line."""
    import copy
    import pickle

    scn = make_scenario(learners=60, days=6)
    inline, ahead = make_model(scn, seed=8, agents=False), make_model(scn, seed=8, agents=False)
    ahead.day_streams.ahead = True
    for _ in range(3):
        inline.step()
        ahead.step()
    assert ahead._pending is not None and ahead.day_streams._next is not None  # work on the second thread
    copies = [pickle.loads(pickle.dumps(ahead)), copy.deepcopy(ahead)]
    while inline.running:
        inline.step()
    expected = inline.datacollector.get_model_vars_dataframe()
    for other in [ahead, *copies]:
        while other.running:
            other.step()
        assert other.datacollector.get_model_vars_dataframe().equals(expected)
