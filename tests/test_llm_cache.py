"""The SQLite LLM cache (roles/llm_cache.py): keys, size caps, damaged rows, and two processes at once."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration
from pydantic import SecretStr

from learncomm.roles.llm_cache import CacheFileError, SQLiteLLMCache


def reply(text: str) -> list[ChatGeneration]:
    return [
        ChatGeneration(message=AIMessage(content=text, tool_calls=[{"name": "Choice", "args": {"c": 1}, "id": "i"}]))
    ]


def test_a_stored_reply_comes_back_whole_and_counts_as_a_hit(tmp_path: Path) -> None:
    cache = SQLiteLLMCache(tmp_path / "c.sqlite")
    assert cache.lookup("p", "m") is None and not cache.last_hit
    cache.update("p", "m", reply("hello"))
    got = cache.lookup("p", "m")
    assert cache.last_hit and got is not None and isinstance(got[0], ChatGeneration)
    assert got[0].message.content == "hello" and got[0].message.tool_calls[0]["args"] == {"c": 1}
    assert cache.lookup("p", "m2") is None and not cache.last_hit  # the last lookup's answer, not any earlier one


def test_the_key_is_the_prompt_the_model_and_the_endpoint() -> None:
    """What LangChain passes as llm_string names the model and the endpoint (never the key itself)."""
    from langchain_openai import ChatOpenAI

    def llm_string(model: str, url: str) -> str:
        chat = ChatOpenAI(model=model, base_url=url, api_key=SecretStr("sk-do-not-store"), max_retries=0)
        return str(chat._get_llm_string())

    a, b, c = llm_string("m1", "http://a/v1"), llm_string("m2", "http://a/v1"), llm_string("m1", "http://b/v1")
    assert len({a, b, c}) == 3 and "sk-do-not-store" not in a


def test_the_key_separates_models_endpoints_and_prompts(tmp_path: Path) -> None:
    cache = SQLiteLLMCache(tmp_path / "c.sqlite")
    cache.update("p", "model=a endpoint=x", reply("ax"))
    cache.update("p", "model=b endpoint=x", reply("bx"))
    cache.update("q", "model=a endpoint=x", reply("qax"))
    assert len(cache) == 3
    assert [cache.lookup(p, m)[0].text for p, m in [("p", "model=a endpoint=x"), ("p", "model=b endpoint=x")]] == [  # type: ignore[index]
        "ax",
        "bx",
    ]
    assert cache.lookup("p", "model=a endpoint=y") is None


def test_a_huge_reply_is_not_stored_and_a_prompt_is_stored_only_as_its_hash(tmp_path: Path) -> None:
    cache = SQLiteLLMCache(tmp_path / "c.sqlite", max_entry_chars=10_000)
    cache.update("secret prompt " * 10, "m", reply("x" * 3_000_000))  # a multi-MB reply
    assert cache.lookup("secret prompt " * 10, "m") is None and len(cache) == 0
    cache.update("secret prompt " * 10, "m", reply("small"))
    assert len(cache) == 1
    assert b"secret prompt" not in (tmp_path / "c.sqlite").read_bytes() + _wal(tmp_path / "c.sqlite")
    assert (tmp_path / "c.sqlite").stat().st_size < 100_000


def _wal(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_a_full_file_keeps_answering_but_stores_no_more(tmp_path: Path) -> None:
    cache = SQLiteLLMCache(tmp_path / "c.sqlite", max_db_bytes=1)
    cache.update("p", "m", reply("x"))
    assert len(cache) == 0 and cache.lookup("p", "m") is None


def test_a_damaged_row_is_a_miss_not_an_error(tmp_path: Path) -> None:
    cache = SQLiteLLMCache(tmp_path / "c.sqlite")
    cache.update("p", "m", reply("x"))
    db = sqlite3.connect(tmp_path / "c.sqlite")
    db.execute("UPDATE llm_cache SET response = '[\"{not json\"]'")
    db.commit()
    db.close()
    assert cache.lookup("p", "m") is None and not cache.last_hit


@pytest.mark.parametrize("content", [b"plain text\n", b"SQLite format 3\x00" + b"garbage" * 20], ids=["text", "bad-db"])
def test_a_file_that_is_not_a_database_is_a_clean_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(content)
    with pytest.raises(CacheFileError, match="not an SQLite database"):
        SQLiteLLMCache(path)
    assert path.read_bytes() == content  # left as it was


def _writer(path: str, who: str, n: int, start: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    cache = SQLiteLLMCache(path)
    start.wait()
    for i in range(n):
        cache.update(f"prompt {i}", f"model {who}", reply(f"{who} {i}"))
        cache.lookup(f"prompt {i}", "model a")


def test_two_processes_create_and_write_one_cache_at_once(tmp_path: Path) -> None:
    """Two sweep workers on one new file: both create it, both write at once, nothing is lost or locked out."""
    path = str(tmp_path / "shared.sqlite")
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(path, who, 150, start)) for who in ("a", "b")]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    cache = SQLiteLLMCache(path)
    assert len(cache) == 300
    assert cache.lookup("prompt 149", "model b")[0].text == "b 149"  # type: ignore[index]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
