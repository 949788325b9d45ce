"""The sweep file schema: a base scenario, parameters by dotted path, a design, replicates, outcomes.

Sweep files are validated like scenario files: every mistake is reported as
`file:line: field: what was expected (got ...)`, so a researcher fixes the
file before thousands of runs start, not after the first one fails.
"""

from __future__ import annotations

import math
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from learncomm.sim.schema.base import PathText, Strict
from learncomm.sim.schema.loading import ScenarioError, format_validation, line_of, read_file, read_yaml
from learncomm.sim.schema.scenario import Scenario
from learncomm.sim.schema.vocab import LEARNER_OUTCOMES, SCOPES

DesignName = Literal["grid", "random", "latin_hypercube", "sobol", "morris"]
COMMUNITY_OUTCOMES = ("equity_gap", "active_learners", "posts_gini")
# Every outcome a run row carries: <learner outcome>_<scope>, then the community-wide ones.
ALL_OUTCOMES: tuple[str, ...] = tuple(f"{k}_{s}" for k in LEARNER_OUTCOMES for s in SCOPES) + COMMUNITY_OUTCOMES
DEFAULT_OUTCOMES: tuple[str, ...] = (
    "knowledge_gain_all",
    "knowledge_gain_low",
    "knowledge_gain_high",
    "confidence_change_low",
    "retained_all",
    "equity_gap",
)
MAX_RUNS = 100_000  # a plan this size is built and checked in about 17 s CPU and 0.2 GB (1,000,000: 170 s, 2 GB)
MAX_VALUES = 10_000
"""The most values (and labels) one swept parameter may list."""
MAX_PARAMETERS = 1_000
"""The most swept parameters, fixed fields and outcomes a sweep file may name (each)."""


class Parameter(Strict):
    """One swept field: a list of values, or a range {low, high} that the design samples."""

    values: Annotated[list[Any], Field(min_length=1, max_length=MAX_VALUES)] | None = None
    labels: Annotated[list[str], Field(max_length=MAX_VALUES)] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False
    levels: Annotated[int, Field(ge=2, le=10_000)] | None = None

    @model_validator(mode="after")
    def _kind(self) -> Parameter:
        ranged = self.low is not None or self.high is not None or self.integer or self.log or self.levels is not None
        if self.values is not None and ranged:
            raise ValueError("give either values: [...] or a range {low, high} (with integer, log, levels), not both")
        if self.values is None:
            if self.labels is not None:
                raise ValueError("labels name the items of values: [...]; a range has none")
            if self.low is None or self.high is None:
                raise ValueError("a parameter needs values: [...] or a range {low: ..., high: ...}")
            if not self.low < self.high:
                raise ValueError(f"low must be below high (got low={self.low:g}, high={self.high:g})")
            if self.log and self.low <= 0:
                raise ValueError(f"log: true needs low > 0 (got low={self.low:g})")
            if self.integer and not (float(self.low).is_integer() and float(self.high).is_integer()):
                raise ValueError(
                    f"integer: true needs whole-number low and high (got low={self.low:g}, high={self.high:g})"
                )
        elif self.labels is not None:
            if len(self.labels) != len(self.values):
                raise ValueError(f"labels must name each value: {len(self.values)} values, {len(self.labels)} labels")
            if len(set(self.labels)) != len(self.labels):
                raise ValueError("labels must be unique")
        return self

    @property
    def is_range(self) -> bool:
        return self.values is None


class SweepFile(Strict):
    """A whole sweep file (docs/sweeps.md describes each field)."""

    name: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")] | None = None
    description: str = ""
    base: Annotated[str, Field(min_length=1)]
    fixed: Annotated[dict[str, Any], Field(max_length=MAX_PARAMETERS)] = {}
    design: DesignName = "grid"
    samples: Annotated[int, Field(ge=1, le=MAX_RUNS)] | None = None
    second_order: bool = False
    morris_levels: Annotated[int, Field(ge=2, le=100)] = 4
    replicates: Annotated[int, Field(ge=1, le=100_000)] = 1
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    parameters: Annotated[dict[str, Parameter], Field(min_length=1, max_length=MAX_PARAMETERS)]
    outcomes: Annotated[list[str], Field(min_length=1, max_length=MAX_PARAMETERS)] | None = None
    llm_concurrency: Annotated[int, Field(ge=1, le=10_000)] = 2
    llm_cache: PathText | None = None

    @property
    def selected_outcomes(self) -> list[str]:
        return list(self.outcomes or DEFAULT_OUTCOMES)


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional so the walk sees the model or mapping underneath."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(tp) if a is not type(None)]
            if len(rest) != 1:
                return tp
            tp = rest[0]
        else:
            return tp


def schema_path_error(path: str) -> str | None:
    """Why `path` is not a settable scenario field (None when it is)."""
    node: Any = Scenario
    done: list[str] = []
    for key in path.split("."):
        node = _unwrap(node)
        where = ".".join(done) or "a scenario"
        if isinstance(node, type) and issubclass(node, BaseModel):
            if key not in node.model_fields:
                return f"{key!r} is not a field of {where}; fields: {', '.join(node.model_fields)}"
            node = node.model_fields[key].annotation
        elif get_origin(node) is dict:
            key_type, node = get_args(node)
            allowed = get_args(_unwrap(key_type)) if get_origin(_unwrap(key_type)) is Literal else None
            if allowed and key not in allowed:
                return f"{key!r} is not a key of {where}; keys: {', '.join(map(str, allowed))}"
        else:
            return f"{where} is a single value (or a list), so {path} cannot be set; set {where} whole"
        done.append(key)
    return None


def _scenario_key_hint(key: str) -> str:
    """A scenario's field written at a sweep file's top level belongs under `fixed:` (or in the base)."""
    if key in Scenario.model_fields:
        return f"`{key}` is a scenario field: set it for every run under `fixed:` ({key}: ...), or in the base; "
    return ""


def read_sweep_file(path: Path) -> tuple[SweepFile, yaml.Node | None]:
    """Parse and validate a sweep file; its YAML node tree is kept to put lines on later errors."""
    source = str(path)
    root, data = read_yaml(read_file(path), source)
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{source}: expected a mapping of fields (base: ..., parameters: ...), got "
            f"{type(data).__name__ if data is not None else 'an empty file'}"
        )
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(
            format_validation(err, source, root, schema=(SweepFile, "a sweep file", _scenario_key_hint)).replace(
                "docs/scenarios.md", "docs/sweeps.md"
            )
        ) from None
    check_sweep(spec, source, root)
    return spec, root


def where(source: str, root: yaml.Node | None, *loc: Any) -> str:
    line = line_of(root, loc)
    return f"{source}:{line}" if line else source


def check_sweep(spec: SweepFile, source: str, root: yaml.Node | None) -> None:
    """The checks that involve several fields: design against parameters, paths, outcomes."""
    problems: list[str] = []

    def bad(loc: tuple[Any, ...], msg: str) -> None:
        problems.append(f"{where(source, root, *loc)}: {'.'.join(map(str, loc))}: {msg}")

    for group in ("parameters", "fixed"):
        for path in getattr(spec, group):
            why = schema_path_error(path)
            if why:
                bad((group, path), f"not a scenario field: {why} (docs/scenarios.md lists the fields)")
    for group in ("parameters", "fixed"):
        if "seed" in getattr(spec, group):
            bad(
                (group, "seed"),
                "the seed cannot be swept or fixed: each run's seed comes from the sweep file's top-level "
                "`seed` and `replicates` (docs/sweeps.md); for more seeds raise `replicates`, for other seeds "
                "change the top-level `seed`",
            )
    both = sorted(set(spec.parameters) & set(spec.fixed))
    for path in both:
        bad(("fixed", path), "is also a swept parameter; keep it in one place")
    kind = spec.design
    if kind == "grid":
        if spec.samples is not None:
            bad(
                ("samples",),
                "a grid has no samples: its points are every combination of the parameters' values (or levels)",
            )
        for path, p in spec.parameters.items():
            if p.is_range and p.levels is None:
                bad(
                    ("parameters", path),
                    f"a grid over a range needs levels: N (how many values from {p.low:g} to {p.high:g})",
                )
    else:
        if spec.samples is None:
            what = {
                "sobol": "the base sample size N (a power of 2; points = N x (parameters + 2))",
                "morris": "the number of trajectories (points = trajectories x (parameters + 1))",
            }.get(kind, "the number of points")
            bad(("samples",), f"design {kind} needs samples: {what}")
        for path, p in spec.parameters.items():
            if p.levels is not None:
                bad(
                    ("parameters", path, "levels"),
                    f"levels is for grid designs; design {kind} samples the range itself",
                )
    if kind in ("sobol", "morris"):
        for path, p in spec.parameters.items():
            if not p.is_range:
                bad(
                    ("parameters", path),
                    f"design {kind} needs every parameter as a range {{low, high}} (add integer: true for "
                    "counts); this one is a values list",
                )
        if kind == "sobol" and spec.samples is not None and spec.samples & (spec.samples - 1):
            bad(
                ("samples",),
                f"sobol needs a power of 2 (Sobol' sequences are balanced only then), got {spec.samples}; try "
                f"{2 ** round(math.log2(spec.samples))}",
            )
    for i, o in enumerate(spec.outcomes or []):
        if o in ALL_OUTCOMES:
            continue
        bad(("outcomes", i), f"unknown outcome {o!r}; valid: {', '.join(ALL_OUTCOMES)}")
    if problems:
        raise ScenarioError("\n".join(problems))
