"""Running one scenario to the end and writing its run folder."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from learncomm import __version__
from learncomm.roles.local_server import LocalModelError, LocalServer
from learncomm.roles.setup import DeciderFactory, uses_local
from learncomm.sim.engine.model import CommunityModel
from learncomm.sim.runs.claim import stamped_dir
from learncomm.sim.runs.outcomes import learners_table, summarise
from learncomm.sim.runs.run_warnings import run_warnings
from learncomm.sim.runs.store import (
    INTERVENTIONS_SCHEMA,
    atomic_dir,
    canonical_hash,
    git_revision,
    versions,
    write_json,
    write_table,
)
from learncomm.sim.runs.subgroups import GroupSpec, group_outcomes
from learncomm.sim.schema.loading import ScenarioError
from learncomm.sim.schema.roles import Prices
from learncomm.sim.schema.scenario import Scenario
from learncomm.sim.schema.vocab import ROLE_ACCOUNTING


@dataclass
class RunResult:
    manifest: dict[str, Any]
    timeseries: pd.DataFrame
    learners: pd.DataFrame
    summary: dict[str, Any]
    interventions: pd.DataFrame | None = None
    path: Path | None = None
    tables: tuple[pa.Table, pa.Table] | None = field(default=None, repr=False)  # learners, interventions as Arrow


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    on_day: Callable[[int], None] | None = None,
    agents: bool = True,
    deciders: DeciderFactory | None = None,
    observe: Callable[[CommunityModel], None] | None = None,
) -> tuple[CommunityModel, pd.DataFrame]:
    """Run the model to its last day; `on_day(day)` is called after each day (progress bars), `observe(model)`
    at the start and after each day (what `compare` records per learner and day).

    A local model server is started for the run when a role decides with `local`, and stopped after.
    """
    deciders = deciders or DeciderFactory()
    with ExitStack() as stack:
        if deciders.local_url is None and deciders.replay is None and uses_local(scenario, deciders.override):
            try:
                deciders.local_url = stack.enter_context(LocalServer())
            except LocalModelError as exc:
                raise ScenarioError(str(exc)) from None
        model = CommunityModel(scenario, seed=seed, agents=agents, deciders=deciders)
        if observe is not None:
            observe(model)
        while model.running:
            model.step()
            if observe is not None:
                observe(model)
            if on_day is not None:
                on_day(model.day)
    ts = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    ts.insert(0, "day", range(len(ts)))
    return model, ts


def run_scenario(  # noqa: PLR0913 - the last three are optional keywords of the CLI's run
    scenario: Scenario,
    seed: int | None = None,
    out: Path | None = None,
    on_day: Callable[[int], None] | None = None,
    source: str | None = None,
    deciders: DeciderFactory | None = None,
    claimed: bool = False,
    groups: GroupSpec | None = None,
) -> RunResult:
    """Run a scenario and, when `out` is given, write its run folder atomically.

    `out` is claimed before the simulation starts (an existing or unwritable folder fails at once, and is never
    replaced);
    `claimed`: the caller claimed it already (`claim_dir`, `stamped_dir(claim=True)`). `groups` (`run --by/--group`):
    outcomes per requested subgroup in summary.json's `subgroups.requested` (a group nobody is in: GroupError, nothing
    written)."""
    started = time.perf_counter()
    deciders = deciders or DeciderFactory()
    with ExitStack() as stack:
        tmp = None if out is None else stack.enter_context(atomic_dir(out, claimed=claimed))
        result = _run(scenario, seed, on_day, source, deciders, started)
        if groups is not None and (groups.by or groups.custom):
            result.summary["subgroups"]["requested"] = group_outcomes(result.learners, groups)
        if tmp is not None:
            _write(result, tmp)
    result.path = None if out is None else Path(out)
    return result


def run_observed(
    scenario: Scenario,
    seed: int,
    observe: Callable[[CommunityModel], None],
    deciders: DeciderFactory | None = None,
) -> RunResult:
    """Run a scenario with no folder, calling `observe(model)` at the start and after each day (what `compare`
    records per learner and day for its trajectories)."""
    return _run(scenario, seed, None, None, deciders or DeciderFactory(), time.perf_counter(), observe)


def _run(
    scenario: Scenario,
    seed: int | None,
    on_day: Callable[[int], None] | None,
    source: str | None,
    deciders: DeciderFactory,
    started: float,
    observe: Callable[[CommunityModel], None] | None = None,
) -> RunResult:
    model, ts = simulate(scenario, seed, on_day, agents=False, deciders=deciders, observe=observe)
    learners = learners_table(model)
    learners_df = learners.to_pandas()
    rows = model.interventions  # the roles' decisions, as rows of interventions.parquet (roles/record.py)
    interventions = pa.Table.from_pylist(rows, schema=INTERVENTIONS_SCHEMA)
    summary = summarise(learners_df, ts)
    summary["roles"] = role_accounting(rows, scenario.llm.prices)
    summary["warnings"] = run_warnings(scenario, rows, int(model.day), deciders.override)  # what did not happen
    from learncomm.roles.quality import model_asked, run_quality

    if any(model_asked(r) for r in rows):  # a language model decided: judge what it decided (roles/quality.py)
        summary["llm_quality"] = run_quality(rows, model.world.topic_names, scenario.llm.language)
        summary["warnings"] += [
            {"code": "llm_looks_like_noise", "message": w}
            for q in summary["llm_quality"].values()
            for w in q["warnings"]
        ]
    resolved = scenario.model_dump(mode="json")
    manifest = {
        "learncomm": __version__,
        "scenario_name": scenario.name,
        "scenario_source": source,
        "scenario": resolved,
        "scenario_hash": canonical_hash(resolved),
        "seed": model.seed,
        "days": int(model.day),
        "learners": int(model.state.joined.sum()),  # prospects a manager never reached are not learners
        "communities": model.world.names,
        "topics": model.world.topic_names,
        "decider": sorted({r["decider"] for r in rows}) or None,
        "model": sorted({r["model"] for r in rows}) or None,
        "base_url": deciders.base_url or scenario.llm.base_url,
        "versions": versions(),
        "git_revision": git_revision(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    result = RunResult(
        manifest=manifest, timeseries=ts, learners=learners_df, summary=summary, interventions=interventions.to_pandas()
    )
    result.tables = (learners, interventions)
    return result


def _write(result: RunResult, tmp: Path) -> None:
    assert result.tables is not None
    learners, interventions = result.tables
    write_table(pa.Table.from_pandas(result.timeseries, preserve_index=False), tmp / "timeseries.parquet")
    write_table(learners, tmp / "learners.parquet")
    write_table(interventions, tmp / "interventions.parquet")
    write_json(result.summary, tmp / "summary.json")
    write_json(result.manifest, tmp / "manifest.json")


def default_run_dir(root: Path, scenario: Scenario, seed: int, claim: bool = False) -> Path:
    """results/<scenario>-seed<seed>-<UTC timestamp>: one folder per run, carrying its seed (`claim`: created
    at once, with -1, -2, ... when another run took the name in the same second)."""
    return stamped_dir(root, f"{scenario.name}-seed{seed}", claim=claim)


def role_accounting(rows: list[dict[str, Any]], prices: Prices) -> dict[str, dict[str, float]]:
    """Per role: decisions, answered LLM calls (tokens spent, not from the cache), fallbacks, cache hits,
    tokens and estimated cost (cache hits are free)."""
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        # counts stay integers in summary.json; money and time are floats
        a = out.setdefault(r["role"], {k: 0.0 if k in ("cost_usd", "latency_s") else 0 for k in ROLE_ACCOUNTING})
        a["decisions"] += 1
        a["llm_calls"] += int(r["input_tokens"] > 0 and not r["cache_hit"])
        a["fallbacks"] += int(r["fallback"])
        a["cache_hits"] += int(r["cache_hit"])
        a["input_tokens"] += r["input_tokens"]
        a["output_tokens"] += r["output_tokens"]
        a["latency_s"] += r["latency_s"]
        if not r["cache_hit"]:
            a["cost_usd"] += (r["input_tokens"] * prices.input + r["output_tokens"] * prices.output) / 1e6
    return out
