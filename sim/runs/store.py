"""The results store: a run is a folder of a manifest and Parquet tables, written atomically.

Everything goes to a hidden temporary folder beside the target, which is
renamed into place only when complete, so a crash never leaves a half run
that looks whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from learncomm.roles.record import arrow_columns

INTERVENTIONS_SCHEMA = pa.schema([(name, getattr(pa, kind)()) for name, kind in arrow_columns()])  # one per decision
TABLES = ("timeseries", "learners", "interventions")


class ResultsError(Exception):
    """A problem with a results folder that the user can fix (exists already, not a run, ...)."""


def canonical_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


@lru_cache(maxsize=1)  # once per process: a sweep worker runs thousands of runs
def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("learncomm", "mesa", "numpy", "pandas", "pyarrow", "pydantic"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


@lru_cache(maxsize=1)  # a git subprocess: once per process
def git_revision() -> str | None:
    """The source checkout's commit, when learncomm runs from one."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def stamped_dir(root: Path, prefix: str) -> Path:
    """results/<prefix>-<UTC timestamp>, with -1, -2, ... when that folder exists: one folder per run."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{prefix}-{stamp}"
    path, i = base, 1
    while path.exists():
        path, i = Path(f"{base}-{i}"), i + 1
    return path


@contextmanager
def atomic_dir(target: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes `target` only if the block finishes without error."""
    target = Path(target)
    if target.exists() and not overwrite:
        raise ResultsError(f"{target}: already exists; choose another --out or remove it")
    # The temporary folder sits one level deeper (results/.tmp/...) so globs such as
    # results/*/learners.parquet never see a run that is still being written.
    staging = target.parent / ".tmp"
    tmp = staging / f"{target.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    for attempt in range(10):  # another writer may remove the empty staging folder between our two mkdirs
        try:
            staging.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
            break
        except FileNotFoundError:
            if attempt == 9:
                raise
    try:
        yield tmp
        _fsync_dir(tmp)
        if target.exists():
            old = staging / f"{target.name}.old-{uuid.uuid4().hex[:8]}"
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
        _fsync_dir(target.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.rmdir()  # only when empty: another run may be writing


def _fsync_dir(path: Path) -> None:
    for f in path.iterdir():
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_file(path: Path, write: Any) -> None:
    """`write(tmp_path)` beside `path`, then rename over it: readers see the old file or the new one, never half.
    A hard kill can leave a `.<name>.part-*` file, which no reader looks for."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_table(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")


def write_json(data: Any, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def read_run(run_dir: Path) -> dict[str, Any]:
    """The manifest and tables of a run folder (tables as pyarrow Tables)."""
    run_dir = Path(run_dir)
    manifest = run_dir / "manifest.json"
    if not manifest.is_file():
        raise ResultsError(f"{run_dir}: not a learncomm run folder (no manifest.json)")
    out: dict[str, Any] = {"manifest": json.loads(manifest.read_text(encoding="utf-8"))}
    for name in TABLES:
        out[name] = pq.read_table(run_dir / f"{name}.parquet")
    summary = run_dir / "summary.json"
    if summary.is_file():
        out["summary"] = json.loads(summary.read_text(encoding="utf-8"))
    return out
