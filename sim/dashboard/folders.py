"""Recognising results folders and reading what a dashboard needs from them.

A sweep has `sweep.json`, a comparison `comparison.parquet`, a run
`manifest.json` and `timeseries.parquet`; anything else that holds such
folders is a results root (for example `results/`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from learncomm.roles.trust import known_secrets, redact
from learncomm.sim.dashboard.common import DashboardError

Kind = Literal["run", "comparison", "sweep", "root"]


def kind_of(path: Path) -> Kind | None:
    """What a folder is, or None when it is none of the known kinds."""
    if (path / "sweep.json").is_file():
        return "sweep"
    if (path / "comparison.parquet").is_file():
        return "comparison"
    if (path / "manifest.json").is_file() and (path / "timeseries.parquet").is_file():
        return "run"
    return None


def children(root: Path, depth: int = 3) -> Iterator[tuple[Path, Kind]]:
    """Runs, comparisons and sweeps under `root` (not the runs inside a sweep; hidden folders skipped)."""
    try:
        entries = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return
    for p in entries:
        k = kind_of(p)
        if k is not None:
            yield p, k
        elif depth > 1:
            yield from children(p, depth - 1)


def detect(path: Path) -> Kind:
    """The kind of PATH for `learncomm dashboard`, with a clear error when it is no results folder."""
    path = Path(path)
    if not path.exists():
        raise DashboardError(f"{path}: no such folder")
    if not path.is_dir():
        raise DashboardError(
            f"{path}: not a folder; give a run folder, a comparison folder, a sweep folder or a folder of "
            "those (e.g. results/)"
        )
    k = kind_of(path)
    if k is not None:
        return k
    if (path / "manifest.json").is_file():
        raise DashboardError(
            f"{path}: has manifest.json but no timeseries.parquet or comparison.parquet; is the folder complete?"
        )
    if next(children(path), None) is None:
        raise DashboardError(
            f"{path}: not a run, comparison or sweep folder, and holds none (looked for manifest.json + "
            "timeseries.parquet, comparison.parquet, sweep.json)"
        )
    return "root"


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DashboardError(f"{path}: missing") from None
    except (OSError, ValueError) as exc:
        raise DashboardError(f"{path}: cannot read it as JSON, damaged or truncated? ({exc})") from None
    if not isinstance(data, dict):
        raise DashboardError(f"{path}: expected a JSON object, got {type(data).__name__}; is the file damaged?")
    return data


def seed_of(manifest: dict[str, Any]) -> int | None:
    """A manifest's seed as an int (a missing one is 0, as before), None when it is not a whole number ≥ 0."""
    seed = manifest.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        return None
    return seed


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    try:
        return pd.read_parquet(path, columns=columns)
    except FileNotFoundError:
        raise DashboardError(f"{path}: missing") from None
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DashboardError(f"{path}: cannot read it as Parquet ({exc})") from None


@dataclass
class Run:
    """One run folder's contents."""

    path: Path
    manifest: dict[str, Any]
    timeseries: pd.DataFrame
    learners: pd.DataFrame
    interventions: pd.DataFrame
    summary: dict[str, Any]


def redacted_reasons(inter: pd.DataFrame) -> pd.DataFrame:
    """The interventions with anything key-like in `reason` replaced by [redacted] (roles/trust.py): a run recorded
    before reasons were redacted, or with a key this machine does not know, never puts a key in a page."""
    if "reason" not in inter.columns or inter.empty:
        return inter
    secrets = known_secrets()
    out = inter.copy()
    out["reason"] = [redact(r, secrets) if isinstance(r, str) and r else r for r in inter["reason"]]
    return out


def load_run(path: Path) -> Run:
    path = Path(path)
    inter = path / "interventions.parquet"
    summary = path / "summary.json"
    return Run(
        path=path,
        manifest=read_json(path / "manifest.json"),
        timeseries=read_parquet(path / "timeseries.parquet"),
        learners=read_parquet(path / "learners.parquet"),
        interventions=redacted_reasons(read_parquet(inter)) if inter.is_file() else pd.DataFrame(),
        summary=read_json(summary) if summary.is_file() else {},
    )


def replicates(run: Run) -> list[tuple[int, pd.DataFrame]]:
    """(seed, timeseries) of every run beside this one with the same scenario hash, this run included, one per seed.

    Runs of one scenario with different seeds are replicates: their spread is the band on the run page.
    """
    want = run.manifest.get("scenario_hash")
    own = seed_of(run.manifest)
    if own is None:
        raise DashboardError(
            f"{run.path / 'manifest.json'}: seed: expected a whole number ≥ 0, got {run.manifest.get('seed')!r}; "
            "is the file damaged?"
        )
    found: dict[int, pd.DataFrame] = {own: run.timeseries}
    if not want:
        return list(found.items())
    for sib in sorted(run.path.parent.iterdir()):
        if sib == run.path or not sib.is_dir() or sib.name.startswith(".") or kind_of(sib) != "run":
            continue
        try:
            m = json.loads((sib / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        seed = seed_of(m) if isinstance(m, dict) else None
        if m.get("scenario_hash") == want and seed is not None and seed not in found:
            try:
                found[seed] = pd.read_parquet(sib / "timeseries.parquet")
            except Exception:  # a damaged sibling is skipped, not fatal
                continue
    return sorted(found.items())
