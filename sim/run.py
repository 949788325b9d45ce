"""Running one scenario to the end and writing its run folder."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from learncomm import __version__
from learncomm.sim.model import CommunityModel
from learncomm.sim.outcomes import learners_table, summarise
from learncomm.sim.scenario import Scenario
from learncomm.sim.store import atomic_dir, canonical_hash, empty_interventions, git_revision, versions, write_json, write_table


@dataclass
class RunResult:
    manifest: dict[str, Any]
    timeseries: pd.DataFrame
    learners: pd.DataFrame
    summary: dict[str, Any]
    path: Path | None = None


def simulate(scenario: Scenario, seed: int | None = None, on_day: Callable[[int], None] | None = None, agents: bool = True) -> tuple[CommunityModel, pd.DataFrame]:
    """Run the model to its last day; `on_day(day)` is called after each day (progress bars)."""
    model = CommunityModel(scenario, seed=seed, agents=agents)
    while model.running:
        model.step()
        if on_day is not None:
            on_day(model.day)
    ts = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    ts.insert(0, "day", range(len(ts)))
    return model, ts


def run_scenario(scenario: Scenario, seed: int | None = None, out: Path | None = None, on_day: Callable[[int], None] | None = None, source: str | None = None, overwrite: bool = False) -> RunResult:
    """Run a scenario and, when `out` is given, write its run folder atomically."""
    started = time.perf_counter()
    model, ts = simulate(scenario, seed, on_day, agents=False)
    learners = learners_table(model)
    learners_df = learners.to_pandas()
    summary = summarise(learners_df, ts)
    resolved = scenario.model_dump(mode="json")
    manifest = {
        "learncomm": __version__,
        "scenario_name": scenario.name,
        "scenario_source": source,
        "scenario": resolved,
        "scenario_hash": canonical_hash(resolved),
        "seed": model.seed,
        "days": int(model.day),
        "learners": model.state.n,
        "communities": model.world.names,
        "topics": model.world.topic_names,
        "decider": None,
        "model": None,
        "versions": versions(),
        "git_revision": git_revision(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    result = RunResult(manifest=manifest, timeseries=ts, learners=learners_df, summary=summary)
    if out is not None:
        with atomic_dir(out, overwrite=overwrite) as tmp:
            write_table(pa.Table.from_pandas(ts, preserve_index=False), tmp / "timeseries.parquet")
            write_table(learners, tmp / "learners.parquet")
            write_table(empty_interventions(), tmp / "interventions.parquet")
            write_json(summary, tmp / "summary.json")
            write_json(manifest, tmp / "manifest.json")
        result.path = Path(out)
    return result


def default_run_dir(root: Path, scenario: Scenario, seed: int) -> Path:
    """results/<scenario>-seed<seed>-<UTC timestamp>: one folder per run, carrying its seed."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = root / f"{scenario.name}-seed{seed}-{stamp}"
    path, i = base, 1
    while path.exists():
        path, i = Path(f"{base}-{i}"), i + 1
    return path
