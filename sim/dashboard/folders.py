"""Recognising results folders, reading what a dashboard needs from them, and telling when a page is stale.

A sweep has `sweep.json`, a model check `check.json`, a calibration `calibration.json`, an llm eval
`eval.json`, a comparison `comparison.parquet`, a run `manifest.json` and `timeseries.parquet`;
anything else that holds such folders is a results root (for example
`results/`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from learncomm.roles.trust import known_secrets, redact
from learncomm.sim.dashboard.common import DashboardError

Kind = Literal["run", "comparison", "sweep", "check", "calibration", "eval", "root"]


def kind_of(path: Path) -> Kind | None:
    """What a folder is, or None when it is none of the known kinds."""
    if (path / "sweep.json").is_file():
        return "sweep"
    if (path / "check.json").is_file():
        return "check"
    if (path / "calibration.json").is_file():
        return "calibration"
    if (path / "eval.json").is_file():
        return "eval"
    if (path / "comparison.parquet").is_file():
        return "comparison"
    if (path / "manifest.json").is_file() and (path / "timeseries.parquet").is_file():
        return "run"
    return None


def children(root: Path, depth: int = 3) -> Iterator[tuple[Path, Kind]]:
    """Runs, comparisons, sweeps and model checks under `root` (not the runs inside a sweep; hidden folders
    skipped)."""
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
            f"{path}: not a folder; give a run, comparison, sweep, model check, calibration or llm eval folder, or a "
            "folder of those (e.g. results/)"
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
            f"{path}: not a run, comparison, sweep, model check, calibration or llm eval folder, and holds none "
            "(looked for manifest.json + timeseries.parquet, comparison.parquet, sweep.json, check.json, "
            "calibration.json, eval.json)"
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


Siblings = list[tuple[Path, Any, int | None]]
"""The run folders in one parent: (folder, scenario hash, seed), read once per parent."""


def siblings(parent: Path) -> Siblings:
    """Every run folder in `parent` with its manifest's scenario hash and seed (unreadable manifests: None, None)."""
    out: Siblings = []
    try:
        entries = sorted(parent.iterdir())
    except OSError:
        return out
    for sib in entries:
        if not sib.is_dir() or sib.name.startswith(".") or kind_of(sib) != "run":
            continue
        try:
            m = json.loads((sib / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            m = None
        out.append((sib, m.get("scenario_hash"), seed_of(m)) if isinstance(m, dict) else (sib, None, None))
    return out


def replicate_dirs(path: Path, manifest: dict[str, Any], sibs: Siblings | None = None) -> list[tuple[int, Path]]:
    """(seed, folder) of every run beside `path` with the same scenario hash, this run first among equal seeds and
    one per seed, sorted by seed. `sibs` is `siblings(path.parent)` when the caller has it already."""
    own = seed_of(manifest)
    if own is None:
        raise DashboardError(
            f"{path / 'manifest.json'}: seed: expected a whole number ≥ 0, got {manifest.get('seed')!r}; "
            "is the file damaged?"
        )
    found: dict[int, Path] = {own: path}
    want = manifest.get("scenario_hash")
    if want:
        for sib, h, seed in siblings(path.parent) if sibs is None else sibs:
            if h == want and seed is not None and seed not in found:  # this run's own seed is in `found` already
                found[seed] = sib
    return sorted(found.items())


def replicates(run: Run) -> list[tuple[int, pd.DataFrame]]:
    """(seed, timeseries) of every run beside this one with the same scenario hash, this run included, one per seed.

    Runs of one scenario with different seeds are replicates: their spread is the band on the run page.
    """
    out = []
    for seed, folder in replicate_dirs(run.path, run.manifest):
        if folder == run.path:
            out.append((seed, run.timeseries))
            continue
        try:
            out.append((seed, pd.read_parquet(folder / "timeseries.parquet")))
        except Exception:  # a damaged sibling is skipped, not fatal
            continue
    return out


PAGE = "dashboard.html"
INPUTS_META = re.compile(rb'<meta name="learncomm-inputs" content="([0-9a-f]{16,64})">')


def input_names(folder: Path, kind: Kind, sibs: Siblings | None = None) -> list[str]:
    """The files a folder's page is built from, as 'folder/file' relative to its parent: its own files (not the page),
    and for a run also its replicates' manifests and timeseries (the bands), so a seed added or removed beside it
    makes its page stale. Plain strings: a results folder of a thousand replicates asks for a million of them."""
    try:
        with os.scandir(folder) as it:
            own = sorted(
                f"{folder.name}/{e.name}" for e in it if e.is_file() and e.name != PAGE and ".part-" not in e.name
            )
    except OSError:
        return []
    if kind != "run":
        return own
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        reps = replicate_dirs(folder, manifest, sibs) if isinstance(manifest, dict) else []
    except (OSError, ValueError, DashboardError):
        reps = []
    more = [f"{r.name}/{n}" for _, r in reps if r is not folder for n in ("manifest.json", "timeseries.parquet")]
    return own + more


def inputs_tag(folder: Path, kind: Kind, sibs: Siblings | None = None) -> str:
    """The page's record of its inputs (a hash of their names), kept first in the page's head so a later
    `learncomm dashboard ROOT` sees when the set changed."""
    return _tag(input_names(folder, kind, sibs))


def _tag(names: list[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(names)).encode("utf-8")).hexdigest()[:32]
    return f'<meta name="learncomm-inputs" content="{digest}">'


def stale(folder: Path, kind: Kind, sibs: Siblings | None = None, mtimes: dict[str, float] | None = None) -> bool:
    """Whether the folder's page must be (re)built: missing, older than any of its inputs, or built from another set
    of inputs (a replicate added or removed beside a run). `mtimes` caches modification times across calls: the
    runs of one scenario share their replicates' files, so each file is looked at once."""
    cache: dict[str, float] = {} if mtimes is None else mtimes
    page = folder / PAGE
    try:
        built = page.stat().st_mtime
        with page.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return True
    names = input_names(folder, kind, sibs)
    parent = str(folder.parent) + os.sep
    try:
        for n in names:
            f = parent + n
            if f not in cache:
                cache[f] = os.stat(f).st_mtime
            if cache[f] > built:
                return True
    except OSError:  # an input vanished while we looked: rebuild
        return True
    recorded = INPUTS_META.search(head)
    return recorded is not None and recorded.group(0).decode() != _tag(names)
