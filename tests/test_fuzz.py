"""Issue 12's fuzzer: every shipped scenario and sweep file, mutated, gives a result or a clean error.

A mutation picks a random path through the parsed document and there deletes a key, replaces a value by one of
another type (text, list, mapping, null, boolean, 10**15, negative, .inf/.nan, deep nesting, huge sizes),
perturbs a number (x0, x-1, x1e9), inserts markup or odd text (`[/x]`, `[bold]`, `<script>`, `{{`, `%s`, NUL,
long strings, unicode), renames a key, adds an unknown one or repeats a subtree (written as a YAML alias); a few
examples also damage the YAML text itself. The outcome must be success or the project's clean error: exit 0 or 2,
the file named in the message, no traceback, within a time bound; the subprocess examples also run under a memory
limit. Runs are derandomized, so CI sees the same examples every time; LEARNCOMM_FUZZ_EXAMPLES and
LEARNCOMM_FUZZ_RUNS run more (docs/scenarios.md, "Limits").
"""

from __future__ import annotations

import copy
import os
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from learncomm.sim.cli import app
from learncomm.sim.cli.app import prepare
from learncomm.sim.schema.loading import ScenarioError

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
FILES = sorted(p.name for p in SCENARIOS.glob("*.yaml"))
DOCS = {name: yaml.safe_load((SCENARIOS / name).read_text(encoding="utf-8")) for name in FILES}

EXAMPLES = int(os.environ.get("LEARNCOMM_FUZZ_EXAMPLES", "250"))
RUNS = int(os.environ.get("LEARNCOMM_FUZZ_RUNS", "12"))
SECONDS = float(os.environ.get("LEARNCOMM_FUZZ_SECONDS", "10"))
"""The most CPU seconds one in-process example may take (CPU time, so a loaded machine does not fail the test)."""
RUN_CPU_SECONDS = 60.0
"""The most CPU seconds one subprocess run of 3 days and 50 learners (or a dry-run sweep) may take, start-up
included (about 3 s on an idle machine)."""
RUN_SECONDS = 600.0
"""The wall-clock timeout of one subprocess example: a hang, even on a loaded machine."""
MEMORY = 3 * 1024**3
"""The address-space limit of a subprocess example (RLIMIT_AS). A plain run already maps about 1.9 GB of address
space (mostly reserved, 0.2 GB resident), so 3 GiB leaves about 1 GB for what a file makes it allocate."""

MARKUP = ["[/x]", "[bold]", "[/]", "[link=http://x]", "<script>alert(1)</script>", "{{", "}}", "%s", "%(x)s", "{0}"]
ODD = ["\x00", "\t", "\r", "\u202e", "é", "😀", "\ufeff", "\\", '"', "'", "&a", "*a", ": ", "- ", "#", "!!python/x"]
BIG = 10**15
FIELDS = [  # optional fields the shipped files leave out, so that "add" reaches them too
    *(
        "extends",
        "llm",
        "llm_cache",
        "cache",
        "base_url",
        "labels",
        "fixed",
        "samples",
        "levels",
        "log",
        "integer",
        "outcomes",
    ),
    *("communities", "include", "requires", "experts", "members", "roles", "population", "confidence_groups", "access"),
]


def nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


# A value of another type, or a size or number chosen to break something.
other_values = st.one_of(
    st.sampled_from([None, True, False, "", "x", 0, 1, -1, BIG, -BIG, 2**63, 2**64, 0.5, -0.5, 1e308, -1e308]),
    st.sampled_from([float("inf"), float("-inf"), float("nan"), [], {}, [None], {"x": 1}, [1, "a", None]]),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(MARKUP + ODD),
    st.builds(nested, st.integers(1, 120), st.sampled_from([1, "x", None])),
    st.builds(lambda n, c: c * n, st.sampled_from([1_000, 100_000, 1_000_000]), st.sampled_from(["x", "[", "é"])),
    st.builds(lambda n: list(range(n)), st.sampled_from([1_000, 20_000, 200_000])),
    st.builds(lambda n: {f"k{i}": i for i in range(n)}, st.sampled_from([100, 5_000])),
    st.lists(st.integers(-3, 3) | st.text(max_size=3), max_size=5),
)


def children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node)
    if isinstance(node, list):
        return list(range(len(node)))
    return []


def pick_path(data: st.DataObject, doc: Any, to_leaf: bool) -> list[Any]:
    """A random path from the root: at each mapping or list, stop (unless to_leaf) or go into one of its items."""
    path: list[Any] = []
    node = doc
    while children(node) and (not path or to_leaf or data.draw(st.booleans(), label="deeper")):
        key = data.draw(st.sampled_from(children(node)), label="key")
        path.append(key)
        node = node[key]
    return path


def insert(text: str, token: str, data: st.DataObject) -> str:
    at = data.draw(st.integers(0, len(text)), label="at")
    return text[:at] + token + text[at:]


def mutate(doc: Any, data: st.DataObject) -> Any:
    """One mutation at a random path of a copy of doc."""
    doc = copy.deepcopy(doc)
    kind = data.draw(
        st.sampled_from(["perturb", "markup", "delete", "replace", "rename", "add", "alias"]), label="mutation"
    )
    path = pick_path(data, doc, to_leaf=kind in ("perturb", "markup"))  # numbers and text are leaves
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    node = parent[path[-1]] if path else doc
    if not path:
        return data.draw(other_values) if kind == "replace" else doc
    key = path[-1]
    if kind == "delete":
        del parent[key]
    elif kind == "perturb" and isinstance(node, int | float) and not isinstance(node, bool):
        parent[key] = data.draw(
            st.sampled_from([node * 0, node * -1, node * 1e9, node * 10**9, node + 1, node - 1, -node - 1, node / 3])
        )
    elif kind == "markup" and isinstance(node, str):
        parent[key] = insert(node, data.draw(st.sampled_from(MARKUP + ODD)), data)
    elif kind == "rename" and isinstance(parent, dict):
        new = insert(str(key), data.draw(st.sampled_from(MARKUP + ODD + ["_", "s", "."])), data)
        parent[new] = parent.pop(key)
    elif kind == "add" and isinstance(parent, dict):
        new_key = data.draw(st.sampled_from(FIELDS + ["extra", "[/x]", "<b>", "%s", "x" * 1000]), label="new key")
        parent[new_key] = node if data.draw(st.booleans()) else data.draw(other_values, label="value")
    elif kind == "add" and isinstance(parent, list):
        parent.extend([node] * data.draw(st.sampled_from([1, 10, 1_000])))
    elif kind == "alias":  # the same object twice: written as &id001 ... *id001
        parent[key] = [node, node] if data.draw(st.booleans()) else {"a": node, "b": node}
    else:
        parent[key] = data.draw(other_values, label="value")
    return doc


def fuzzed_text(data: st.DataObject, names: list[str]) -> tuple[str, str]:
    """A shipped file's name and a mutated text of it (mostly well-formed YAML, sometimes damaged text)."""
    name = data.draw(st.sampled_from(names), label="file")
    doc = DOCS[name]
    for _ in range(data.draw(st.sampled_from([1, 1, 1, 2, 3]), label="mutations")):
        doc = mutate(doc, data)
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
    if data.draw(st.integers(0, 9), label="damage text") == 0:
        text = insert(text, data.draw(st.sampled_from(MARKUP + ODD + ["\n  x:", "{", "]", "&a [*a]", "?"])), data)
    return name, text


def check_clean(result: Any, name: str, seconds: float, what: str, text: str) -> None:
    """Exit 0, or exit 2 with a message naming the file; never an exception; within SECONDS."""
    shown = text if len(text) < 3_000 else text[:3_000] + f"... ({len(text):,} characters)"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"{what} {name} raised:\n{tb}\n--- file:\n{shown}")
    assert result.exit_code in (0, 2), f"{what} {name}: exit {result.exit_code}\n{result.output}\n--- file:\n{shown}"
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert name in result.output.replace("\n", ""), f"{what}: the error does not name {name}:\n{result.output}"
    assert seconds < SECONDS, f"{what} {name} took {seconds:.1f} s\n--- file:\n{shown}"


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(st.data())
def test_fuzzed_files_validate_cleanly_in_process(data: st.DataObject) -> None:
    """`validate` (scenarios) and `sweep --dry-run` (sweep files), and the run command's preparation with
    --days 3 --learners 50: a result or a clean error naming the file."""
    name, text = fuzzed_text(data, FILES)
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        start = time.process_time()
        if name.startswith("sweep-"):
            result = runner.invoke(app, ["sweep", str(path), "--dry-run", "--out", str(Path(tmp) / "out")])
            check_clean(result, name, time.process_time() - start, "sweep --dry-run", text)
            return
        result = runner.invoke(app, ["validate", str(path)])
        check_clean(result, name, time.process_time() - start, "validate", text)
        start = time.process_time()
        try:  # what `learncomm run FILE --days 3 --learners 50` does before it simulates
            prepare(str(path), 3, 50, None)
        except ScenarioError as exc:
            assert name in str(exc), f"run: the error does not name {name}: {exc}"
        assert time.process_time() - start < SECONDS


def test_the_check_catches_a_traceback_and_passes_the_shipped_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzzer's check is not a stub: every shipped file passes it unmutated (exit 0), and a command that
    raises fails it."""
    runner = CliRunner()
    for name in FILES:
        args = ["sweep", name, "--dry-run", "--out", "unused"] if name.startswith("sweep-") else ["validate", name]
        result = runner.invoke(app, [args[0], str(SCENARIOS / name), *args[2:]])
        check_clean(result, name, 0.0, args[0], "")
        assert result.exit_code == 0, result.output

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("learncomm.sim.cli.run.load_scenario", broken)
    result = runner.invoke(app, ["validate", str(SCENARIOS / "community.yaml")])
    with pytest.raises(AssertionError, match="RuntimeError: a bug"):
        check_clean(result, "community.yaml", 0.0, "validate", "")


def limited() -> None:
    """In the child, before exec: at most MEMORY of address space."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


@settings(
    max_examples=RUNS,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(st.data())
def test_fuzzed_files_run_in_a_real_process_within_bounds(data: st.DataObject) -> None:
    """A real `learncomm run FILE --days 3 --learners 50` (or `sweep FILE --dry-run`) under a 3 GiB address-space
    limit and a timeout: exit 0, 1 or 2, no traceback on stderr."""
    name, text = fuzzed_text(data, FILES)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        if name.startswith("sweep-"):
            args = ["sweep", str(path), "--dry-run", "--out", str(Path(tmp) / "out")]
        else:
            args = ["run", str(path), "--days", "3", "--learners", "50", "--results", tmp, "--no-dashboard"]
        shown = text if len(text) < 3_000 else text[:3_000] + f"... ({len(text):,} characters)"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "learncomm", *args],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=RUN_SECONDS,
                preexec_fn=limited,
                env={**os.environ, "COLUMNS": "200"},
            )
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{args[0]} {name}: no exit within {RUN_SECONDS:.0f} s\n--- file:\n{shown}") from None
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert proc.returncode in (0, 1, 2), f"{args[0]} {name}: exit {proc.returncode}\n{proc.stderr}\n--- file:\n{shown}"
    assert "Traceback" not in proc.stderr, f"{args[0]} {name}:\n{proc.stderr}\n--- file:\n{shown}"
    assert cpu < RUN_CPU_SECONDS, f"{args[0]} {name}: {cpu:.1f} CPU seconds\n--- file:\n{shown}"
