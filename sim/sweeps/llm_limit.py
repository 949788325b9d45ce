"""A limit on concurrent LLM calls across every worker of a sweep, so a sweep cannot flood a server.

Local process pool: N lock files in the sweep folder; holding an `fcntl.flock`
on one of them is holding a slot. The kernel drops a process's flocks when it
exits, even on SIGKILL, so a killed sweep never leaves a slot taken.
Dask: `distributed.Semaphore`, whose leases the scheduler expires when a
worker dies. Either is installed as `learncomm.roles.deciders.call_slot`,
which wraps the chat model call.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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

    def slot_factory(self) -> Any:
        if self.kind == "file":
            return FileSemaphore(self.where, self.n).slot
        from distributed import Semaphore

        sem = Semaphore(max_leases=self.n, name=self.where)
        return lambda: sem


_installed: LLMLimit | None = None


def install(limit: LLMLimit | None) -> None:
    """Make every chat model call in this process hold a slot of `limit` (once per process)."""
    global _installed
    from learncomm.roles import deciders

    if limit is None or _installed == limit:
        return
    factory = limit.slot_factory()

    def call_slot() -> AbstractContextManager[Any]:
        return factory()

    deciders.call_slot = call_slot
    _installed = limit
