"""Reading scenario files: YAML in, a validated Scenario or a clear ScenarioError out.

Errors name the file, the field path, the line, and what was expected, so a
user can fix a file without reading a traceback.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from learncomm.sim.schema.extends import Layer, is_file, resolve_extends
from learncomm.sim.schema.scenario import Scenario


class ScenarioError(Exception):
    """A user mistake in a scenario file or its overrides; the CLI prints it without a traceback."""


def shipped_scenarios() -> dict[str, Path]:
    """Scenario files that come with learncomm, by name (sweep files, `sweep-*.yaml`, are not scenarios)."""
    folder = resources.files("learncomm.scenarios")
    files = (Path(str(p)) for p in folder.iterdir() if str(p).endswith(".yaml"))
    return {p.stem: p for p in files if not p.name.startswith("sweep-")}


def scenario_question(path: Path) -> str:
    """The first comment line of a scenario file: the question it answers."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return "(no description)"


def resolve_path(spec: str | Path) -> Path:
    """A path as given, else a shipped scenario of that name."""
    path = Path(spec)
    if is_file(path):
        return path
    if path.suffix == "" and not path.parent.parts:
        shipped = shipped_scenarios()
        if str(spec) in shipped:
            return shipped[str(spec)]
        raise ScenarioError(
            f"{spec}: no such file and no shipped scenario of that name; shipped: {', '.join(sorted(shipped))}"
        )
    raise ScenarioError(f"{spec}: no such file")


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest YAML node the error path reaches."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if getattr(k, "value", None) == str(key)]
            if not match:
                return line
            key_node = next(k for k, _ in node.value if getattr(k, "value", None) == str(key))
            line, node = key_node.start_mark.line + 1, match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _fields_at(loc: tuple[Any, ...], schema: type[BaseModel] = Scenario) -> list[str]:
    """The field names `schema` (the scenario's by default) allows in the mapping at `loc` (for "did you mean")."""
    model: Any = schema
    for key in loc:
        if isinstance(key, int):
            continue
        field = getattr(model, "model_fields", {}).get(key)
        if field is None:
            return []
        todo, model = [field.annotation], None
        while todo:  # the first pydantic model inside Optional[...], list[...], dict[str, ...], unions
            t = todo.pop(0)
            if isinstance(t, type) and issubclass(t, BaseModel):
                model = t
                break
            todo.extend(get_args(t))
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _override_of(loc: tuple[Any, ...], overrides: Iterable[str]) -> str | None:
    """The command line's --set path that put the value at `loc` there (the longest that is a prefix of it, or the
    one that passes through it)."""
    parts = [str(x) for x in loc]
    found = [o for o in overrides if parts[: len(o.split("."))] == o.split(".")]
    if not found and parts:  # --set a.b.c=1 where a.b is not a mapping: the problem is at a.b
        found = [o for o in overrides if o.split(".")[: len(parts)] == parts]
    return max(found, key=len) if found else None


def reach(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """How many keys of the error path the node tree holds (0: not even the first)."""
    depth = 0
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
        depth += 1
    return depth


def format_validation(
    err: ValidationError,
    source: str,
    root: yaml.Node | None,
    overrides: Iterable[str] = (),
    overrides_from: str = "(command line) --set",
    layers: list[Layer] | None = None,
    schema: tuple[type[BaseModel], str, Callable[[str], str]] | None = None,
) -> str:
    """One line per problem: file:line: field.path: what was expected (got what). A problem in a value set by
    `overrides` (dotted paths) names it instead of the file: `(command line) --set params.alpha_ask: ...`.

    `layers` (a variant and its bases, `extends`): each problem is reported in the file that gave the field
    (the one whose tree reaches deepest along its path; the variant first on a tie). `schema`: another file
    kind's (model, its name, a hint for a top-level key it does not know), for its "unknown field" lines."""
    lines = []
    errors = err.errors()
    for e in errors:
        # `topics` is a list or a count: report only the branch that matches what the user wrote
        branch = next((x for x in e["loc"] if x in ("int", "constrained-int", "list[Topic]")), None)
        if branch is not None and len(errors) > 1:
            wrote_int = any(
                isinstance(o.get("input"), int) for o in errors if o["loc"][:1] == ("topics",) and len(o["loc"]) == 2
            )
            if (branch == "list[Topic]") == wrote_int:
                continue
        loc = tuple(
            x
            for x in e["loc"]
            if not (isinstance(x, str) and (x.startswith("function-") or x in ("list[Topic]", "int")))
        )
        loc = tuple(x for x in loc if x not in ("constrained-int",))
        path = ".".join(str(x) for x in loc) or "(top level)"
        m = re.match(r"communities\[(\d+)\]", e["msg"].removeprefix("Value error, "))
        if not loc and m:  # a whole-scenario check about one community: point at that community
            loc = ("communities", int(m.group(1)))
        override = _override_of(loc, overrides)
        if override is not None:  # the value came from the command line, not from a line of the file
            where = f"{overrides_from} {override}"
            if path.startswith(override):
                path = path.removeprefix(override).lstrip(".")
        else:
            src, node = source, root
            if layers:
                src, node = max(layers, key=lambda layer: reach(layer[1], loc))  # max keeps the first on a tie
            line = line_of(node, loc)
            where = f"{src}:{line}" if line else src
        msg = e["msg"].removeprefix("Value error, ")
        got = e.get("input")
        shown = "" if e["type"] in ("missing", "model_type") or isinstance(got, dict | list) else f" (got {got!r})"
        if e["type"] == "extra_forbidden":
            model, kind, top_hint = schema or (Scenario, "a scenario", lambda key: "")
            known = _fields_at(loc[:-1], model)
            close = difflib.get_close_matches(str(loc[-1]), known, n=3) if loc else []
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            if len(loc) == 1 and (top := top_hint(str(loc[0]))):
                hint = top
            parent = ".".join(str(x) for x in loc[:-1]) or kind
            msg = f"unknown field: expected a field of {parent} ({hint}docs/scenarios.md lists the fields)"
            shown = ""
        lines.append(f"{where}: {path}: {msg}{shown}" if path else f"{where}: {msg}{shown}")
    return "\n".join(dict.fromkeys(lines))


MAX_FILE_BYTES = 20_000_000
"""A scenario or sweep file larger than this is refused before it is parsed."""
MAX_YAML_NODES = 1_000_000
"""The most values a YAML document may hold with every alias expanded (a small file of nested aliases can stand
for billions of values)."""


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader, refusing a key given twice in one mapping (YAML says keys are unique; PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                try:
                    seen = first.get(key)
                except TypeError:  # an unhashable key: PyYAML reports it itself
                    continue
                if seen is not None:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"the key {str(key)[:80]!r} is given twice in one mapping (lines {seen} and {line}); keep one",
                        key_node.start_mark,
                    )
                first[key] = line
        return super().construct_mapping(node, deep=deep)


def _expanded_size(text: str, source: str) -> None:
    """Refuse a document whose alias expansion exceeds MAX_YAML_NODES, or that contains itself.

    Counted on the parser's event stream, before any node is built: composing first would hold the whole node
    tree in memory (a 20 MB flow list of ten million values needs gigabytes) before it could be refused. Linear in
    the events, stops at the limit, no recursion: an anchored value's expanded size is kept for its aliases."""
    loader = _StrictLoader(text)
    sizes: dict[str, int | None] = {}  # anchor -> expanded size of its value; None while the value is still open
    open_: list[tuple[str | None, int]] = []  # open sequences and mappings: (anchor, count at their start)
    count = 0  # values so far, every alias expanded
    try:
        while (event := loader.get_event()) is not None:
            line = event.start_mark.line + 1 if event.start_mark is not None else "?"
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, at = open_.pop()
                if anchor is not None:
                    sizes[anchor] = count - at
                continue
            if isinstance(event, yaml.AliasEvent):
                size = sizes.get(event.anchor or "", 1)  # an unknown anchor: the composer reports it
                if size is None:
                    raise ScenarioError(
                        f"{source}:{line}: an alias (*name) refers to a value that contains it; "
                        "a value cannot contain itself"
                    )
                count += size
            elif isinstance(event, yaml.CollectionStartEvent):
                if event.anchor is not None:
                    sizes[event.anchor] = None
                open_.append((event.anchor, count))
                count += 1
            elif isinstance(event, yaml.ScalarEvent):
                if event.anchor is not None:
                    sizes[event.anchor] = 1
                count += 1
            if count > MAX_YAML_NODES:
                raise ScenarioError(
                    f"{source}:{line}: the document holds more than {MAX_YAML_NODES:,} values "
                    "once its aliases (*name) are expanded; refused (use fewer or less nested aliases)"
                )
    finally:
        loader.dispose()


def read_yaml(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The YAML node tree (for line numbers in later errors) and the data; a syntax error names its line.

    Refused with a clear error: a file over MAX_FILE_BYTES, a key given twice in one mapping, nesting too deep
    for the parser, and aliases that expand to more than MAX_YAML_NODES values (checked before anything is
    expanded)."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(f"{source}: the file has {len(text):,} characters, more than {MAX_FILE_BYTES:,}")
    try:
        _expanded_size(text, source)
        loader = _StrictLoader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
        return root, data
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: the YAML is nested too deeply to read") from None


def parse_scenario(
    text: str,
    source: str = "<scenario>",
    overrides: dict[str, Any] | None = None,
    overrides_from: str = "(override)",
    path: Path | None = None,
) -> Scenario:
    """Validate YAML text; overrides are dotted paths (`params.alpha_ask`) set on top of the file, and a problem in
    one is reported as `<overrides_from> <path>` (the CLI: "(command line) --set"), not as a line of the file.

    `extends: <base>` merges the file over its base (sim/schema/extends.py); a relative base is found beside
    `path`, the file the text came from (the working folder for text from elsewhere)."""
    data, root, layers = scenario_data(text, source, path)
    for dotted, value in (overrides or {}).items():
        try:
            set_dotted(data, dotted, value)
        except ScenarioError as exc:
            raise ScenarioError(f"{overrides_from} {dotted}: {exc}".replace(f"override {dotted}: ", "")) from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(format_validation(err, source, root, overrides or (), overrides_from, layers)) from None


def scenario_data(
    text: str, source: str, path: Path | None = None
) -> tuple[dict[str, Any], yaml.Node | None, list[Layer] | None]:
    """A scenario file's fields, with its `extends` chain merged (not yet validated; a sweep sets its parameters
    on them), its node tree, and the chain's layers for error lines (None without `extends`)."""
    root, data = read_yaml(text, source)
    if data is None:
        raise ScenarioError(f"{source}: the file is empty; a scenario needs at least a name and learners")
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{source}: expected a mapping of fields (name: ..., learners: ...), got a {type(data).__name__}"
        )
    layers: list[Layer] | None = None
    if "extends" in data:
        folder = path.parent if path is not None else Path.cwd()
        try:
            data, layers = resolve_extends(
                data, source, root, folder, lambda p: read_yaml(read_file(p), str(p)), shipped_scenarios(), path
            )
        except ValueError as exc:
            raise ScenarioError(str(exc)) from None
    return data, root, layers


def read_file(path: Path) -> str:
    """A scenario or sweep file's text; a file over MAX_FILE_BYTES is refused after reading only that much (a
    file of gigabytes would otherwise exhaust memory before its size is checked), and a read that would wait is
    refused (a sweep file's `base` and a scenario's `extends` may name any path)."""
    try:  # non-blocking: a path such as /proc/kmsg, which passes is_file(), would otherwise block the read forever
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the file: {exc}") from None
    if raw is None:  # nothing to read yet: a device or kernel log, not a file
        raise ScenarioError(f"{path}: cannot read the file: reading it would wait (it is not a plain file)")
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}: the file is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: cannot read the file: not UTF-8 text ({exc})") from None


def set_dotted(data: dict[str, Any], path: str, value: Any) -> None:
    """Set data['a']['b'] for path 'a.b', creating mappings on the way."""
    keys = path.split(".")
    node = data
    for k in keys[:-1]:
        nxt = node.get(k)
        if nxt is None:
            nxt = node[k] = {}
        if not isinstance(nxt, dict):
            raise ScenarioError(f"override {path}: {k} is not a mapping in the scenario")
        node = nxt
    node[keys[-1]] = value


def load_scenario(
    spec: str | Path, overrides: dict[str, Any] | None = None, overrides_from: str = "(override)"
) -> Scenario:
    """A scenario from a file path or a shipped scenario's name (overrides: see parse_scenario)."""
    path = resolve_path(spec)
    return parse_scenario(read_file(path), str(path), overrides, overrides_from, path)


def with_changes(scenario: Scenario, source: str = "<command line>", **changes: Any) -> Scenario:
    """The scenario with top-level fields changed, validated again (so --days 0 is an error, not a crash).

    `learners` on a scenario with several communities scales their sizes in proportion.
    """
    data = scenario.model_dump(mode="python")
    learners = changes.pop("learners", None)
    if learners is not None and scenario.communities:
        total = sum(c.members or 0 for c in scenario.communities)
        for c in data["communities"]:
            c["members"] = max(1, round(c["members"] * learners / total))
    elif learners is not None:
        data["learners"] = learners
    data.update({k: v for k, v in changes.items() if v is not None})
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(format_validation(err, source, None)) from None
