"""Issue 12 leftovers, LLM accounting and cache: token counts a server gets wrong are not kept (0, with a recorded
warning), and a huge reply is used (cut to 400 characters) but not stored whole in the LLM cache. Fake chat models
(tests/test_roles.py): these are parsing and error paths."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from learncomm.roles.base import MAX_TEXT
from learncomm.roles.deciders import MAX_CACHED_CHARS, ChatDecider, token_count
from learncomm.roles.setup import DeciderFactory
from learncomm.sim.runs.run import run_scenario
from learncomm.sim.schema.roles import LLM
from tests.test_roles import ToolFake, scenario, tool_reply

ONE_ROLE = "roles:\n  ideator: {cadence: 5}\n"


def with_usage(reply: AIMessage, usage: dict[str, Any]) -> AIMessage:
    """A reply whose usage is whatever a server sent (assigned after validation, as a lax client might pass it)."""
    reply.usage_metadata = usage  # type: ignore[assignment]
    return reply


def run_replies(replies: list[AIMessage], cache: str | None = None) -> Any:
    factory = DeciderFactory(override="openai")
    factory.built["openai"] = ChatDecider(LLM(cache=cache, max_retries=0), chat=ToolFake(messages=iter(replies)))
    return run_scenario(scenario(ONE_ROLE, days=11), seed=3, deciders=factory)


@pytest.mark.parametrize(
    ("usage", "bad"),
    [
        ({"input_tokens": -5, "output_tokens": 20, "total_tokens": 15}, "input_tokens"),
        ({"input_tokens": 100, "output_tokens": 10**15, "total_tokens": 10**15}, "output_tokens"),
        ({"input_tokens": 100.5, "output_tokens": 20, "total_tokens": 120}, "input_tokens"),
        ({"input_tokens": "lots", "output_tokens": 20, "total_tokens": 120}, "input_tokens"),
        ({"input_tokens": float("nan"), "output_tokens": 20, "total_tokens": 120}, "input_tokens"),
        ({"input_tokens": True, "output_tokens": 20, "total_tokens": 120}, "input_tokens"),
    ],
)
def test_bad_token_counts_count_as_zero_with_a_warning(usage: dict[str, Any], bad: str) -> None:
    res = run_replies([with_usage(tool_reply(1, "first"), usage), tool_reply(0, "second")])
    rows = res.interventions
    assert list(rows["text"]) == ["first", "second"] and not rows["fallback"].any()  # the decision still stands
    assert rows.loc[0, bad] == 0 and f"the server's {bad}" in rows.loc[0, "reason"]
    assert rows.loc[1, "reason"] == "" and rows.loc[1, "input_tokens"] == 100  # a good count is kept
    acct = res.summary["roles"]["ideator"]
    good_in = 0 if bad == "input_tokens" else 100
    assert acct["input_tokens"] == good_in + 100 and 0 <= acct["output_tokens"] <= 40
    assert acct["cost_usd"] >= 0


def test_token_count() -> None:
    assert token_count({"input_tokens": 7}, "input_tokens") == (7, "")
    assert token_count({"input_tokens": 7.0}, "input_tokens") == (7, "")
    assert token_count({}, "input_tokens") == (0, "")
    assert token_count({"input_tokens": -1}, "input_tokens")[0] == 0
    assert token_count(None, "input_tokens") == (0, "")


def test_a_huge_reply_is_used_cut_but_not_cached_whole(tmp_path: Path) -> None:
    cache = tmp_path / "llm.sqlite"
    huge = "Let's meet. " + "x" * 3_000_000
    res = run_replies([tool_reply(1, huge), tool_reply(2, "small")], cache=str(cache))
    rows = res.interventions
    assert list(rows["shown_position"]) == [1, 2] and len(rows.loc[0, "text"]) <= MAX_TEXT  # picks as shown
    assert "was not cached" in rows.loc[0, "reason"] and rows.loc[1, "reason"] == ""
    assert cache.stat().st_size < 10 * MAX_CACHED_CHARS  # not the 3 MB reply
    with sqlite3.connect(cache) as db:
        sizes = [n for (n,) in db.execute("select length(response) from llm_cache")]
    assert len(sizes) == 1 and sizes[0] <= MAX_CACHED_CHARS  # the small reply is cached, the huge one is not
    # the next run: the small reply comes from the cache, the huge one is asked again
    again = run_replies([tool_reply(1, huge)], cache=str(cache)).interventions
    assert list(again["cache_hit"]) == [False, True] and list(again["shown_position"]) == [1, 2]
    assert list(again["choice"]) == list(rows["choice"])  # the same situations, the same shown orders
