"""The sweep's limit on concurrent LLM calls: never more than N holders across processes, released on SIGKILL,
and wrapped around the chat model call (tested with a fake chat model, no real LLM)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from learncomm.roles import deciders
from learncomm.sim.sweeps import llm_limit
from learncomm.sim.sweeps.llm_limit import FileSemaphore, LLMLimit


def _hold(folder: str, n: int, log: str, rounds: int) -> None:
    sem = FileSemaphore(folder, n, poll_s=0.002)
    for _ in range(rounds):
        with sem.slot():
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.write(fd, b"+\n")  # logged after taking the slot ...
            time.sleep(0.03)
            os.write(fd, b"-\n")  # ... and before giving it back
            os.close(fd)


def _hold_forever(folder: str, ready: str) -> None:
    with FileSemaphore(folder, 1).slot():
        Path(ready).write_text("held")
        time.sleep(120)


def test_processes_never_hold_more_than_n_slots(tmp_path: Path) -> None:
    log = str(tmp_path / "log")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_hold, args=(str(tmp_path / "slots"), 2, log, 4)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    events = Path(log).read_text().split()
    assert len(events) == 6 * 4 * 2
    level, peak = 0, 0
    for e in events:
        level += 1 if e == "+" else -1
        peak = max(peak, level)
    assert peak == 2  # never more than N at once, and N at once is reached (it is not a plain mutex)


def test_a_killed_holder_frees_its_slot(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    ctx = multiprocessing.get_context("fork")
    holder = ctx.Process(target=_hold_forever, args=(str(tmp_path / "slots"), str(ready)))
    holder.start()
    deadline = time.monotonic() + 30
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    sem = FileSemaphore(tmp_path / "slots", 1)
    assert sem._try_take() is None  # taken by the holder
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    started = time.monotonic()
    with sem.slot():
        assert time.monotonic() - started < 2


class ToolFake(GenericFakeChatModel):
    """A fake chat model that notes whether the sweep's only slot is held while it answers."""

    held: list[bool] = []
    slots: str = ""

    def bind_tools(self, tools: Any, **kw: Any) -> Any:
        return self

    def _generate(self, *a: Any, **k: Any) -> Any:
        probe = FileSemaphore(self.slots, 1)._try_take()
        self.held.append(probe is None)
        if probe is not None:
            os.close(probe)
        return super()._generate(*a, **k)


def test_the_limit_wraps_the_chat_model_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from learncomm.roles.setup import DeciderFactory
    from learncomm.sim.engine.model import CommunityModel
    from learncomm.sim.schema.loading import parse_scenario
    from learncomm.sim.schema.roles import LLM

    slots = tmp_path / "slots"
    limit = llm_limit.call_slot(LLMLimit("file", str(slots), 1))  # as a sweep worker passes it to its factory
    reply = AIMessage(content="", tool_calls=[{"name": "Choice", "args": {"choice": 0, "message": "hi"}, "id": "c1"}])
    fake = ToolFake(messages=iter([reply] * 10), slots=str(slots), held=[])
    factory = DeciderFactory(override="openai", call_slot=limit)
    factory.built["openai"] = deciders.ChatDecider(
        LLM(cache=None, max_retries=0), chat=fake, call_slot=factory.call_slot
    )
    model = CommunityModel(
        parse_scenario("name: t\nlearners: 30\ndays: 7\nroles:\n  ideator: {cadence: 3}\n"), seed=1, deciders=factory
    )
    while model.running:
        model.step()
    assert len(fake.held) >= 2 and all(fake.held)
    assert FileSemaphore(slots, 1)._try_take() is not None  # released after each call


def _dask_hold(limit: LLMLimit, log: str) -> None:
    slot = limit.slot_factory()
    with slot():
        with open(log, "a") as fh:
            fh.write("+\n")
        time.sleep(0.05)
        with open(log, "a") as fh:
            fh.write("-\n")


def test_dask_semaphore_limit(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    log = str(tmp_path / "log")
    limit = LLMLimit("dask", "learncomm-test-llm", 1)
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=4, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        ex = client.get_executor(pure=False)
        futures = [ex.submit(_dask_hold, limit, log) for _ in range(6)]
        for f in futures:
            f.result(timeout=60)
    level, peak = 0, 0
    for e in Path(log).read_text().split():
        level += 1 if e == "+" else -1
        peak = max(peak, level)
    assert peak == 1 and Path(log).read_text().count("+") == 6
