"""Replaying a recorded run: the recorded role decisions instead of any LLM, then an exact comparison."""

from __future__ import annotations

import json
from pathlib import Path

from learncomm.roles.record import replayed
from learncomm.roles.setup import DeciderFactory
from learncomm.sim.runs.run import run_scenario
from learncomm.sim.runs.store import ResultsError, read_run
from learncomm.sim.schema.scenario import Scenario


def replay_run(run_dir: Path, out: Path | None = None) -> tuple[bool, str]:
    """(identical?, what was compared or what differs). Decisions, texts and fallbacks come from the record."""
    rec = read_run(run_dir)
    manifest = rec["manifest"]
    try:
        scenario = Scenario.model_validate(manifest["scenario"])
    except Exception as exc:  # a manifest from another version
        raise ResultsError(f"{run_dir}/manifest.json: the recorded scenario does not validate: {exc}") from None
    rows = rec["interventions"].to_pylist()
    res = run_scenario(scenario, seed=manifest["seed"], out=out, deciders=DeciderFactory(replay=rows))
    if not res.timeseries.equals(rec["timeseries"].to_pandas()):
        return False, "timeseries.parquet"
    recorded = rec["learners"].to_pandas()
    same_lists = [list(a) for a in res.learners["communities"]] == [list(b) for b in recorded["communities"]]
    if not same_lists or not res.learners.drop(columns="communities").equals(recorded.drop(columns="communities")):
        return False, "learners.parquet"
    mine = [replayed(r) for r in (res.interventions.to_dict("records") if res.interventions is not None else [])]
    theirs = [replayed(r) for r in rows]
    if mine != theirs:
        return False, "the role decisions"
    return True, f"{len(rows)} decisions, {len(res.timeseries)} days, {json.dumps(manifest['seed'])} seed"
