"""From a sweep file to a plan: the base scenario, every point's scenario (all checked up front), the seeds.

Every point's scenario is built and validated before anything runs, so a
value that makes an invalid scenario is reported at once, with the line of
its parameter, instead of as a thousand failed runs.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml
from pydantic import ValidationError

from learncomm import __version__
from learncomm.roles.trust import Trust
from learncomm.sim.runs.store import canonical_hash
from learncomm.sim.runs.subgroups import GroupSpec
from learncomm.sim.schema.extends import is_file
from learncomm.sim.schema.loading import (
    ScenarioError,
    format_validation,
    load_scenario,
    read_file,
    resolve_path,
    scenario_data,
    set_dotted,
    with_changes,
)
from learncomm.sim.schema.scenario import Scenario
from learncomm.sim.schema.sweep import MAX_RUNS, SweepFile, read_sweep_file, where
from learncomm.sim.sweeps.designs import Design, design_size, generate


@dataclass
class SweepPlan:
    """A validated sweep: what to run and how to name it."""

    spec: SweepFile
    source: Path
    base_source: str
    base_data: dict[str, Any]  # the base file's YAML data with `fixed` applied, before validation
    base: Scenario
    design: Design
    # the user's say on the command line (not the sweep file's): who may receive a key, and the LLM cache file
    trust: Trust | None = None
    llm_cache: Path | None = None
    groups: GroupSpec | None = None  # --by / --group: subgroups for groups.parquet (sim/sweeps/groups.py)

    @property
    def name(self) -> str:
        return self.spec.name or self.source.stem

    @property
    def parameters(self) -> list[str]:
        return list(self.spec.parameters)

    @property
    def outcomes(self) -> list[str]:
        return self.spec.selected_outcomes

    def runs(self) -> list[tuple[int, int, int]]:
        """(point, replicate, seed) for every run, point by point."""
        return [(i, r, s) for i in range(len(self.design.points)) for r, s in enumerate(self.design.seeds)]

    def scenario(self, point: int) -> Scenario:
        return build_scenario(self.base_data, self.design.points[point], self.base.communities != [])

    @cached_property
    def column_types(self) -> dict[str, pa.DataType]:
        """The Arrow type of each parameter's column in row.parquet and summary.parquet."""
        return {
            path: _column_type(self.spec.parameters[path], [pt[path] for pt in self.design.points])
            for path in self.parameters
        }

    def columns(self, point: int) -> dict[str, Any]:
        """The point's parameter values as column values (labels, JSON text for lists and mappings)."""
        types = self.column_types
        out: dict[str, Any] = {}
        for path, value in self.design.points[point].items():
            p = self.spec.parameters[path]
            if p.labels is not None:
                out[path] = p.labels[(p.values or []).index(value)]
            elif pa.types.is_string(types[path]):
                out[path] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            elif pa.types.is_floating(types[path]):
                out[path] = float(value)
            else:
                out[path] = value
        return out

    def design_record(self) -> dict[str, Any]:
        """What decides which runs exist and what they compute: a change here means different runs."""
        s = self.spec
        return {
            "base": self.base.model_dump(mode="json"),
            "parameters": {k: v.model_dump(exclude_none=True) for k, v in s.parameters.items()},
            "design": {
                "kind": s.design,
                "samples": s.samples,
                "second_order": s.second_order,
                "morris_levels": s.morris_levels,
            },
            "seed": s.seed,
            "seeds": self.design.seeds,
            "points": self.design.points,
        }

    def record(self) -> dict[str, Any]:
        """sweep.json: the resolved design, and what is needed to read the results back."""
        d = self.design_record()
        unit = self.design.unit
        return {
            "learncomm": __version__,
            "name": self.name,
            "description": self.spec.description,
            "source": str(self.source),
            "base": {"source": self.base_source, "scenario": d["base"]},
            "fixed": self.spec.fixed,
            "design": d["design"],
            "parameters": d["parameters"],
            # JSON objects are written with sorted keys; this is the design's column order
            "parameter_order": self.parameters,
            "replicates": self.spec.replicates,
            "seed": self.spec.seed,
            "seeds": d["seeds"],
            "points": [
                {"point": i, "values": v, **({"unit": [float(x) for x in unit[i]]} if unit is not None else {})}
                for i, v in enumerate(d["points"])
            ],
            "outcomes": self.outcomes,
            "llm_concurrency": self.spec.llm_concurrency,
            "design_hash": canonical_hash(d),
        }


def _column_type(p: Any, values: list[Any]) -> pa.DataType:
    if p.labels is not None:
        return pa.string()
    if p.is_range:
        return pa.int64() if p.integer else pa.float64()
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


def build_scenario(base_data: dict[str, Any], values: dict[str, Any], has_communities: bool) -> Scenario:
    """The base data with the dotted values set, validated. `learners` on a scenario with several
    communities scales their sizes, as `learncomm run --learners` does."""
    data = copy.deepcopy(base_data)
    learners = None
    for path, value in values.items():
        if path == "learners" and has_communities:
            learners = value
        else:
            set_dotted(data, path, copy.deepcopy(value))
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(format_validation(err, "", None).lstrip(": ").replace("\n: ", "; ")) from None
    if learners is not None:
        sc = with_changes(sc, source="", learners=learners)
    return sc


def _resolve_base(spec: SweepFile, path: Path, root: yaml.Node | None) -> Path:
    beside = path.parent / spec.base
    if is_file(beside):
        return beside
    try:
        return resolve_path(spec.base)
    except ScenarioError as exc:
        raise ScenarioError(
            f"{where(str(path), root, 'base')}: base: {exc} (a path is read relative to the sweep file)"
        ) from None


def _blame(spec: SweepFile, message: str) -> str:
    """The parameter a scenario error is about (the longest path the message names), else the first."""
    named = [p for p in spec.parameters if p in message or p.split(".")[0] + ":" in message]
    return max(named, key=len) if named else next(iter(spec.parameters))


def shipped_sweeps() -> dict[str, Path]:
    """Sweep files that come with learncomm (scenarios/sweep-*.yaml), by name without `sweep-`."""
    folder = resources.files("learncomm.scenarios")
    files = (Path(str(p)) for p in folder.iterdir() if str(p).endswith(".yaml"))
    return {p.stem.removeprefix("sweep-"): p for p in files if p.name.startswith("sweep-")}


def shipped_sweep(spec: str | Path) -> Path:
    """A path as given, else a shipped sweep of that name (`role-cadence` or `sweep-role-cadence`)."""
    path = Path(spec)
    if is_file(path):
        return path
    shipped = shipped_sweeps()
    name = str(spec).removeprefix("sweep-")
    if path.suffix == "" and not path.parent.parts and name in shipped:
        return shipped[name]
    raise ScenarioError(f"{spec}: no such sweep file; shipped sweeps: {', '.join(sorted(shipped))}")


def load_sweep(path: str | Path) -> SweepPlan:
    """Read, validate and expand a sweep file; every point's scenario is checked before returning."""
    path = shipped_sweep(path)
    spec, root = read_sweep_file(path)
    source = str(path)
    base_path = _resolve_base(spec, path, root)
    load_scenario(base_path)  # the base alone, with its own file:line errors
    base_data = scenario_data(read_file(base_path), str(base_path), base_path)[0]  # its `extends` merged
    has_communities = bool(base_data.get("communities"))
    try:
        base = build_scenario(base_data, spec.fixed, has_communities)
    except ScenarioError as exc:
        raise ScenarioError(
            f"{where(source, root, 'fixed')}: fixed: the base scenario with these values is not valid: {exc}"
        ) from None
    fixed_data = copy.deepcopy(base_data)
    for key, value in spec.fixed.items():
        if not (key == "learners" and has_communities):
            set_dotted(fixed_data, key, value)
    if "learners" in spec.fixed and has_communities:
        fixed_data = base.model_dump(mode="python")  # scaled communities are the new base
    size = design_size(spec) * spec.replicates
    if size > MAX_RUNS:
        raise ScenarioError(
            f"{where(source, root, 'parameters')}: parameters: the design has {size:,} runs, more than "
            f"{MAX_RUNS:,}; use fewer values or levels, or a sampled design"
        )
    design = generate(spec)
    plan = SweepPlan(spec=spec, source=path, base_source=spec.base, base_data=fixed_data, base=base, design=design)
    for i, values in enumerate(design.points):
        try:
            build_scenario(fixed_data, values, bool(fixed_data.get("communities")))
        except ScenarioError as exc:
            blame = _blame(spec, str(exc))
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
            raise ScenarioError(
                f"{where(source, root, 'parameters', blame)}: parameters.{blame}: point {i} ({shown}) is not a "
                f"valid scenario: {exc}"
            ) from None
    return plan
