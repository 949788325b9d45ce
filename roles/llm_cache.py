"""The LLM cache: LangChain's `BaseCache` on the standard library's `sqlite3`.

It replaces `langchain_community.cache.SQLiteCache` (that package is being sunset; the whole of it was
pulled in for one class). LangChain calls `lookup(prompt, llm_string)` before a chat model call and
`update(...)` after it: `prompt` is the serialized messages and `llm_string` the serialized model, which
names the model (`model_name`), the endpoint (`openai_api_base`), the sampling settings and the tools
(the key itself is never in it, only the name of its variable). A row is keyed by the SHA-256 of both, so a
different model, endpoint or temperature never answers for another.

Several processes (a sweep's workers) share one file: WAL journal, a busy timeout, and one short
transaction per lookup or update; the table is created with `IF NOT EXISTS`, so two processes opening a
new file at once do not race. Sizes are capped (issue 12): the prompt is stored only as its hash, a reply
whose serialized form is longer than `MAX_ENTRY_CHARS` is not stored (it is asked for again next time; a
role's message is cut to 400 characters anyway), and nothing more is added once the file is past
`MAX_DB_BYTES`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import sqlite3
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core._api import LangChainBetaWarning
from langchain_core.caches import BaseCache
from langchain_core.load import dumps, loads
from langchain_core.outputs import Generation

MAX_ENTRY_CHARS = 32_000  # one reply's serialized generations; a role's answer is 1,000-2,000
MAX_DB_BYTES = 256 * 1024 * 1024  # the whole file: past this, lookups still work but nothing is added
BUSY_TIMEOUT_S = 30.0
SQLITE_MAGIC = b"SQLite format 3\x00"


class CacheFileError(Exception):
    """The cache path is not an SQLite database (or cannot be opened); the message says which file."""


def cache_key(prompt: str, llm_string: str) -> str:
    """One key for a prompt sent to one model at one endpoint with one set of settings."""
    return hashlib.sha256(json.dumps([prompt, llm_string]).encode()).hexdigest()


class SQLiteLLMCache(BaseCache):
    """A process-safe SQLite cache of chat model replies that remembers whether the last lookup hit."""

    def __init__(self, path: str | Path, max_entry_chars: int = MAX_ENTRY_CHARS, max_db_bytes: int = MAX_DB_BYTES):
        self.path = Path(path)
        self.max_entry_chars = max_entry_chars
        self.max_db_bytes = max_db_bytes
        self.last_hit = False
        self.last_skipped = 0  # the size of the last reply left out (too long), 0 when it was stored
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(16)
        except FileNotFoundError:
            head = b""
        except OSError as exc:
            raise CacheFileError(f"{self.path}: cannot open the LLM cache: {exc}") from None
        if head and head != SQLITE_MAGIC:  # an empty or new file becomes a database
            raise CacheFileError(f"{self.path}: the LLM cache is not an SQLite database")
        # two workers opening a new file at once: switching it to WAL can fail with "database is locked" (the busy
        # timeout does not cover it), so creation is one process at a time, under a lock file beside it
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._create()

    def _create(self) -> None:
        try:
            db = self._connect()
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS llm_cache "
                    "(key TEXT PRIMARY KEY, llm TEXT NOT NULL, response TEXT NOT NULL, created REAL NOT NULL)"
                )
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            raise CacheFileError(f"{self.path}: the LLM cache is not an SQLite database ({exc})") from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        return db

    def lookup(self, prompt: str, llm_string: str) -> Sequence[Generation] | None:
        """The stored reply, or None (a damaged entry counts as a miss and is asked for again)."""
        self.last_hit = False
        self.last_skipped = 0
        db = self._connect()
        try:
            row = db.execute(
                "SELECT response FROM llm_cache WHERE key = ?", (cache_key(prompt, llm_string),)
            ).fetchone()
        finally:
            db.close()
        if row is None:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LangChainBetaWarning)  # `loads` is marked beta; the format is stable
                gens = [loads(g, allowed_objects="core") for g in json.loads(row[0])]
        except Exception:  # noqa: BLE001 - whatever a damaged or foreign row raises, it is a miss
            return None
        if not all(isinstance(g, Generation) for g in gens):
            return None
        self.last_hit = True
        return gens

    def update(self, prompt: str, llm_string: str, return_val: Sequence[Generation]) -> None:
        """Store a reply unless it is too long or the file is full (both only cost a call next time)."""
        response = json.dumps([dumps(g) for g in return_val])
        if len(response) > self.max_entry_chars:
            self.last_skipped = len(response)
            return
        db = self._connect()
        try:
            (pages,) = db.execute("PRAGMA page_count").fetchone()
            (size,) = db.execute("PRAGMA page_size").fetchone()
            if pages * size > self.max_db_bytes:
                return
            db.execute(
                "INSERT OR REPLACE INTO llm_cache (key, llm, response, created) VALUES (?, ?, ?, julianday('now'))",
                (cache_key(prompt, llm_string), llm_string[:2000], response),
            )
        finally:
            db.close()

    def clear(self, **kwargs: Any) -> None:
        """Remove every stored reply."""
        db = self._connect()
        try:
            db.execute("DELETE FROM llm_cache")
        finally:
            db.close()

    def __len__(self) -> int:
        db = self._connect()
        try:
            return int(db.execute("SELECT count(*) FROM llm_cache").fetchone()[0])
        finally:
            db.close()
