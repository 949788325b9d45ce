"""A limit on concurrent LLM calls across every worker of a sweep, so a sweep cannot flood a server.

Local process pool: N lock files in the sweep folder; holding an `fcntl.flock`
on one of them is holding a slot. The kernel drops a process's flocks when it
exits, even on SIGKILL, so a killed sweep never leaves a slot taken.
Dask: `distributed.Semaphore`, whose leases the scheduler expires when a
worker dies. The worker passes `call_slot(limit)` to its DeciderFactory, and
the chat decider holds a slot around each model call.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from learncomm.roles.deciders import CallSlot


class FileSemaphore:
    """At most `n` holders at once across processes on one machine (one shared folder)."""

    def __init__(self, folder: str | Path, n: int, poll_s: float = 0.01) -> None:
        if n < 1:
            raise ValueError("a semaphore needs at least one slot")
        self.folder, self.n, self.poll_s = Path(folder), n, poll_s

    def _try_take(self) -> int | None:
        self.folder.mkdir(parents=True, exist_ok=True)
        start = os.getpid() % self.n  # spread holders over the files (no unseeded random draws)
        for k in range(self.n):
            fd = os.open(self.folder / f"slot-{(start + k) % self.n}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for a free slot, hold it for the block."""
        fd = self._try_take()
        while fd is None:
            time.sleep(self.poll_s)
            fd = self._try_take()
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


@dataclass(frozen=True)
class LLMLimit:
    """What a worker needs to join the sweep's limit: `file` (a folder) or `dask` (a semaphore name)."""

    kind: str
    where: str
    n: int

    def slot_factory(self) -> CallSlot:
        if self.kind == "file":
            return FileSemaphore(self.where, self.n).slot
        from distributed import Semaphore

        sem = Semaphore(max_leases=self.n, name=self.where)
        return lambda: sem


@cache  # one semaphore per limit and process: a worker runs many runs
def call_slot(limit: LLMLimit | None) -> CallSlot:
    """What a chat model call holds while it runs: a slot of `limit`, or nothing without one."""
    return nullcontext if limit is None else limit.slot_factory()
