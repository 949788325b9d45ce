"""One call on a second thread, for the work of a large run that can overlap the day (sim/engine/streams.py,
sim/engine/model.py): NumPy releases the global interpreter lock inside its loops, so on two cores tomorrow's
draws and yesterday's outcomes cost no wall time next to the day.

A thread per call, not a pool: a pool's worker does not survive `fork` (sweep workers are forked), a fresh
thread does not need to, and starting one costs about 0.1 ms against tens of milliseconds of work.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

AHEAD_MIN = 20_000
"""Learners from which a run moves work to the second thread (below it a thread costs more than it saves).
The results are the same either way: the same calls on the same numbers, only on another thread."""


SECOND_THREAD = "LEARNCOMM_SECOND_THREAD"
"""Environment variable: "0" keeps every run on one thread. A sweep's process pool sets it for its workers when
they are as many as the cores: there is no idle core for the second thread then, and it only adds its copies."""


def second_thread(learners: int) -> bool:
    """Whether a run of `learners` (members and prospects) moves work to a second thread."""
    return learners >= AHEAD_MIN and os.environ.get(SECOND_THREAD, "1") != "0"


class Done(Generic[T]):
    """A call made in line, with the same `result()` as `Ahead` (small runs)."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._value = call()

    def result(self) -> T:
        return self._value


def _settled(value: T) -> Done[T]:
    """A `Done` holding `value` (what an `Ahead` pickles as)."""
    done: Done[T] = Done.__new__(Done)
    done._value = value
    return done


def later(ahead: bool, call: Callable[[], T]) -> Ahead[T] | Done[T]:
    """`call` on the second thread when `ahead` (a large run), else now; `.result()` either way."""
    return Ahead(call) if ahead else Done(call)


class Ahead(Generic[T]):
    """`call()` started on a daemon thread; `result()` waits for it and re-raises what it raised.

    It waits on an Event, not `Thread.join`: Python 3.11's join, interrupted by Ctrl-C while the thread runs,
    marks it stopped (threading.py's bpo-45274 clean-up), so the next join returns at once, before the value."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(call,), name="learncomm-ahead", daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], T]) -> None:
        try:
            self._value = call()
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread by result()
            self._error = e
        finally:
            self._done.set()

    def __reduce__(self) -> tuple[Callable[[T], Done[T]], tuple[T]]:
        """Pickled (or deep-copied, with the model that holds it) as its value, once the call is done."""
        return _settled, (self.result(),)

    def result(self) -> T:
        self._done.wait()  # a Ctrl-C here leaves it to be waited for again
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
