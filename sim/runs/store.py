"""The results store: a run is a folder of a manifest and Parquet tables, written atomically.

The target folder is claimed (created, holding only an `.in-progress` marker)
before the work starts, so a second writer fails at once; everything is
written to a hidden temporary folder beside it, which replaces the empty
claimed folder in one rename only when complete, so a crash never leaves a
half run that looks whole.
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
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from learncomm.roles.record import arrow_columns
from learncomm.sim.runs.claim import IN_PROGRESS, RESERVED, ResultsError, claim_dir, end_claim, release_dir, unwritable

INTERVENTIONS_SCHEMA = pa.schema([(name, getattr(pa, kind)()) for name, kind in arrow_columns()])  # one per decision
TABLES = ("timeseries", "learners", "interventions")


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


@contextmanager
def atomic_dir(target: Path, overwrite: bool = False, claimed: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes `target` only if the block finishes without error.

    Without `overwrite`, `target` is claimed on entry (`claim_dir`; `claimed`: the caller did already), so put the
    work inside the block: a second writer fails before it starts. At the end the claimed folder, empty but for its
    marker, is replaced by the finished one in one rename, which fails if anything else appeared in it: a folder
    is never replaced at the end. With `overwrite` (a sweep's own run folders, under the sweep's lock), an
    existing folder is replaced."""
    target = Path(target)
    if not overwrite and not claimed:
        claim_dir(target)
    # The temporary folder sits one level deeper (results/.tmp/...) so globs such as
    # results/*/learners.parquet never see a run that is still being written.
    staging = target.parent / RESERVED
    tmp = staging / f"{target.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    done = keep = False
    try:
        for attempt in range(10):  # another writer may remove the empty staging folder between our two mkdirs
            try:
                staging.mkdir(parents=True, exist_ok=True)
                tmp.mkdir()
                break
            except FileNotFoundError:
                if attempt == 9:
                    raise
            except OSError as exc:
                raise unwritable(target, exc) from None
        yield tmp
        _fsync_dir(tmp)
        if overwrite and target.exists():
            old = staging / f"{target.name}.old-{uuid.uuid4().hex[:8]}"
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        elif overwrite:
            tmp.rename(target)
        else:
            (target / IN_PROGRESS).unlink(missing_ok=True)
            end_claim(target)
            try:
                os.rename(tmp, target)  # replaces the claimed folder only while it is empty (POSIX rename)
            except OSError as exc:
                keep = True
                raise ResultsError(
                    f"{target}: something else wrote into the folder while this run was writing it; "
                    f"this run's results are kept in {tmp}"
                ) from exc
        done = True
        _fsync_dir(target.parent)
    finally:
        if not done:
            if tmp.exists() and not keep:
                shutil.rmtree(tmp, ignore_errors=True)
            if not overwrite:
                release_dir(target)
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
    """Parquet with zstd; dictionary encoding only for the text columns (groups, stages, names): tried on a
    million distinct floats it is thrown away after its first page, and skipping it cuts the CPU of writing
    a million-learner table by about 40 % (the values read back are the same)."""
    pq.write_table(table, path, compression="zstd", use_dictionary=text_columns(table.schema))


def text_columns(schema: pa.Schema) -> list[str]:
    """Parquet leaf paths of the string columns, and of lists of strings."""
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_dictionary)
    out = []
    for f in schema:
        if any(is_(f.type) for is_ in text):
            out.append(f.name)
        elif pa.types.is_list(f.type) and any(is_(f.type.value_type) for is_ in text):
            out.append(f"{f.name}.list.element")
    return out


def write_json(data: Any, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


MAX_SEED = 2**63 - 1  # the scenario schema's and --seed's bound


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object from a results file; a missing, truncated or hand-broken file is a ResultsError naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing; is the folder complete?") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError says the line and column
        raise ResultsError(f"{path}: damaged, cannot read it as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: damaged, expected a JSON object, got {type(data).__name__}")
    return data


def read_parquet_table(path: Path) -> pa.Table:
    """A Parquet table from a results file; a missing or damaged file is a ResultsError naming it."""
    if not path.is_file():
        raise ResultsError(f"{path}: missing; is the folder complete?")
    try:
        return pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types (ArrowInvalid, OSError) for a damaged file
        raise ResultsError(f"{path}: damaged, cannot read it as Parquet ({exc})") from None


def manifest_seed(manifest: dict[str, Any], path: Path) -> int:
    """The manifest's seed, checked as the command line checks --seed: a whole number from 0 to 2**63-1."""
    if "seed" not in manifest:
        raise ResultsError(f"{path}: seed: missing")
    seed = manifest["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        shown = json.dumps(seed, default=str)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise ResultsError(f"{path}: seed: expected a whole number from 0 to 2**63-1, got {shown}")
    return seed


def read_run(run_dir: Path) -> dict[str, Any]:
    """The manifest and tables of a run folder (tables as pyarrow Tables); any damaged file is a ResultsError."""
    run_dir = Path(run_dir)
    manifest = run_dir / "manifest.json"
    if not manifest.is_file():
        raise ResultsError(f"{run_dir}: not a learncomm run folder (no manifest.json)")
    out: dict[str, Any] = {"manifest": read_json_object(manifest)}
    for name in TABLES:
        out[name] = read_parquet_table(run_dir / f"{name}.parquet")
    summary = run_dir / "summary.json"
    if summary.is_file():
        out["summary"] = read_json_object(summary)
    return out
