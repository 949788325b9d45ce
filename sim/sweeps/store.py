"""The sweep folder: sweep.json, hive-partitioned run folders, and summary.parquet.

    DIR/sweep.json                                 the resolved design
    DIR/summary.parquet                            one row per run (rewritten at the end of every invocation)
    DIR/runs/point=00012/seed=123456/              one run folder: the usual run files + row.parquet
    DIR/runs/point=00012/seed=123456/error.json    instead of the run files, when the run raised

A run folder appears by an atomic rename, so it is either complete or absent;
anything half-written sits in a `.tmp/` folder, which is removed on resume.
Completeness is checked by content, not names: every Parquet file must have a
readable footer and every JSON file must parse, so a file truncated or damaged
afterwards (a full disk, a bad copy) makes the run `incomplete`, and it is redone.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from learncomm.sim.runs.store import atomic_file, write_json, write_table
from learncomm.sim.schema.sweep import ALL_OUTCOMES, COMMUNITY_OUTCOMES
from learncomm.sim.schema.vocab import LEARNER_OUTCOMES, SCOPES

RUN_FILES = (
    "manifest.json",
    "timeseries.parquet",
    "learners.parquet",
    "interventions.parquet",
    "summary.json",
    "row.parquet",
)
FAILED_FILES = ("error.json", "row.parquet")
KEY_COLUMNS = ("point", "replicate", "seed", "status", "error")
WALL_COLUMNS = ("wall_time_s",)


class SweepStoreError(Exception):
    """A sweep folder that cannot be used as asked (a different design, another sweep running in it)."""


def point_width(n_points: int) -> int:
    """Zero-padded width of `point=` folder names, so they sort in order."""
    return max(5, len(str(max(n_points - 1, 0))))


def run_dir(out: Path, point: int, seed: int, width: int) -> Path:
    return out / "runs" / f"point={point:0{width}d}" / f"seed={seed}"


def file_intact(path: Path) -> bool:
    """Whether a run file is readable as what its name says: a Parquet footer (a truncated file has none),
    a JSON document. Cheap: the Parquet data pages are not read."""
    try:
        if path.suffix == ".parquet":
            pq.read_metadata(path)
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        return False
    return True


def run_state(path: Path) -> str:
    """`ok`, `failed` (retried on resume), `incomplete` (redone: files missing or damaged) or `missing`."""
    try:
        names = set(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    for state, files in (("ok", RUN_FILES), ("failed", FAILED_FILES)):
        if all(f in names for f in files):
            return state if all(file_intact(path / f) for f in files) else "incomplete"
    return "incomplete"


def corrupt_runs(out: Path) -> list[Path]:
    """Run folders of a sweep whose files are missing or damaged (what `query` leaves out)."""
    return [d for d in sorted((out / "runs").glob("point=*/seed=*")) if run_state(d) == "incomplete"]


def clean_leftovers(out: Path) -> int:
    """Remove temporary folders left by a killed sweep (never a complete run); returns how many."""
    removed = 0
    runs = out / "runs"
    for tmp in [out / ".tmp", runs / ".tmp", *runs.glob("*/.tmp")]:
        if tmp.is_dir():
            removed += sum(1 for _ in tmp.iterdir())
            shutil.rmtree(tmp, ignore_errors=True)
    for stray in out.glob(".*.part-*"):
        stray.unlink(missing_ok=True)
    return removed


def write_json_atomic(data: Any, path: Path) -> None:
    atomic_file(path, lambda p: write_json(data, p))


def read_sweep_json(out: Path) -> dict[str, Any] | None:
    """The folder's sweep.json, None when there is none; a damaged one is a SweepStoreError."""
    path = out / "sweep.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SweepStoreError(
            f"{path}: damaged, cannot read it as JSON ({exc}); use --force to delete the folder's runs and start "
            "over, or choose another --out"
        ) from None
    if not isinstance(data, dict):
        raise SweepStoreError(f"{path}: damaged, expected a JSON object; use --force to start over")
    return data


def row_schema(column_types: dict[str, pa.DataType]) -> pa.Schema:
    """row.parquet: who the run is, its parameters (named by dotted path), every outcome, its time."""
    fields = [
        ("point", pa.int64()),
        ("replicate", pa.int64()),
        ("seed", pa.int64()),
        ("status", pa.string()),
        ("error", pa.string()),
    ]
    fields += list(column_types.items())
    fields += [(o, pa.float64()) for o in ALL_OUTCOMES] + [(w, pa.float64()) for w in WALL_COLUMNS]
    return pa.schema(fields)


def outcome_values(summary: dict[str, Any]) -> dict[str, float]:
    """A run's outcomes from its summary.json: <outcome>_<scope> and the community outcomes."""
    out: dict[str, float] = {}
    for key in LEARNER_OUTCOMES:
        for scope in SCOPES:
            v = summary["groups"].get(scope, {}).get(key)
            out[f"{key}_{scope}"] = float("nan") if v is None else float(v)
    for key in COMMUNITY_OUTCOMES:
        out[key] = float(summary["community"][key])
    return out


def write_row(row: dict[str, Any], schema: pa.Schema, path: Path) -> None:
    pq.write_table(pa.Table.from_pylist([row], schema=schema), path)


def read_rows(paths: list[Path], schema: pa.Schema) -> pa.Table:
    """The row.parquet of the given run folders as one table."""
    files = [str(p / "row.parquet") for p in paths]
    if not files:
        return schema.empty_table()
    return pads.dataset(files, format="parquet", schema=schema).to_table()


def write_summary(out: Path, rows: pa.Table, parameters: list[str], outcomes: list[str]) -> Path:
    """summary.parquet: one row per run, ordered by point and replicate, the selected outcomes only."""
    columns = [*KEY_COLUMNS, *parameters, *outcomes, *WALL_COLUMNS]
    table = rows.select(columns).sort_by([("point", "ascending"), ("replicate", "ascending")])
    path = out / "summary.parquet"
    atomic_file(path, lambda p: write_table(table, p))
    return path


def lock_sweep_folder(out: Path) -> int:
    """An exclusive lock on the folder for this sweep process, so two sweeps never write one folder.
    The kernel releases it when the process ends, however it ends."""
    import fcntl

    fd = os.open(out / ".sweep.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SweepStoreError(
            f"{out}: another sweep is running in this folder; wait for it or choose another --out"
        ) from None
    return fd
