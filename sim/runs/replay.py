"""Replaying a recorded run: the recorded role decisions instead of any LLM, then an exact comparison."""

from __future__ import annotations

from dataclasses import MISSING, fields
from pathlib import Path

import pandas as pd

from learncomm.roles.record import Intervention, replayed
from learncomm.roles.setup import DeciderFactory
from learncomm.sim.runs.run import run_scenario
from learncomm.sim.runs.store import INTERVENTIONS_SCHEMA, ResultsError, manifest_seed, read_run
from learncomm.sim.schema.scenario import Scenario


def _same_columns(path: Path, recorded: pd.DataFrame, replayed: pd.DataFrame) -> None:
    """A table whose columns differ from the replay's was not written by this version, or was edited: say which."""
    missing = [c for c in replayed.columns if c not in recorded.columns]
    extra = [c for c in recorded.columns if c not in replayed.columns]
    if missing or extra:
        parts = [f"lacks {', '.join(missing[:5])}" if missing else "", f"has {', '.join(extra[:5])}" if extra else ""]
        raise ResultsError(
            f"{path}: damaged or from another learncomm version: {'; '.join(p for p in parts if p)} "
            "(columns a replay does not write)"
        )


def replay_run(run_dir: Path, out: Path | None = None, claimed: bool = False) -> tuple[bool, str]:
    """(identical?, what was compared or what differs). Decisions, texts and fallbacks come from the record.

    A damaged folder (unreadable JSON or Parquet, a bad seed, tables of the wrong shape) is a ResultsError naming
    the file, before the simulation when it can be told then. `claimed`: the caller claimed `out` already."""
    run_dir = Path(run_dir)
    rec = read_run(run_dir)
    manifest, manifest_path = rec["manifest"], run_dir / "manifest.json"
    seed = manifest_seed(manifest, manifest_path)
    if not isinstance(manifest.get("scenario"), dict):
        raise ResultsError(f"{manifest_path}: scenario: missing or not a JSON object; is the file damaged?")
    try:
        scenario = Scenario.model_validate(manifest["scenario"])
    except Exception as exc:  # noqa: BLE001 - a manifest from another version, or edited
        raise ResultsError(f"{manifest_path}: the recorded scenario does not validate: {exc}") from None
    optional = {f.name for f in fields(Intervention) if f.default is not MISSING}  # newer columns, with defaults
    lacking = [
        n for n in INTERVENTIONS_SCHEMA.names if n not in rec["interventions"].column_names and n not in optional
    ]
    if lacking:
        raise ResultsError(
            f"{run_dir / 'interventions.parquet'}: damaged or from another learncomm version: lacks "
            f"{', '.join(lacking[:5])}"
        )
    rows = rec["interventions"].to_pylist()
    res = run_scenario(scenario, seed=seed, out=out, deciders=DeciderFactory(replay=rows), claimed=claimed)
    recorded_ts = rec["timeseries"].to_pandas()
    _same_columns(run_dir / "timeseries.parquet", recorded_ts, res.timeseries)
    if not res.timeseries.equals(recorded_ts):
        return False, "timeseries.parquet"
    recorded = rec["learners"].to_pandas()
    _same_columns(run_dir / "learners.parquet", recorded, res.learners)
    same_lists = [list(a) for a in res.learners["communities"]] == [list(b) for b in recorded["communities"]]
    if not same_lists or not res.learners.drop(columns="communities").equals(recorded.drop(columns="communities")):
        return False, "learners.parquet"
    mine = [replayed(r) for r in (res.interventions.to_dict("records") if res.interventions is not None else [])]
    theirs = [replayed(r) for r in rows]
    if mine != theirs:
        return False, "the role decisions"
    # days as `run` and manifest.json count them: days simulated, not timeseries rows (day 0 is the start)
    return True, f"{len(rows)} decisions, {res.manifest['days']} days, seed {seed}"
