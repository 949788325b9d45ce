"""Issue 12, items 3, 8 and 9: sizes are bounded, numbers are strict, seeds are >= 0.

Each case was a traceback, a MemoryError, a RecursionError, a long wait or a silently accepted value; now each is
a clear `file:line: field: problem` error (or a fast success), within a time bound where it used to be slow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import make_model, make_scenario, run

from learncomm.sim.engine.world import curriculum_order
from learncomm.sim.schema.loading import MAX_YAML_NODES, ScenarioError, parse_scenario
from learncomm.sim.schema.scenario import MAX_LEARNERS, MAX_TOPICS, Topic
from learncomm.sim.schema.sweep import read_sweep_file

LEARNCOMM = [sys.executable, "-m", "learncomm"]


def learncomm(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LEARNCOMM, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )


def error_of(text: str, seconds: float = 2.0, **kw: object) -> str:
    """The ScenarioError message for a scenario text, which must come within `seconds`."""
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "s.yaml", **kw)  # type: ignore[arg-type]
    assert time.perf_counter() - start < seconds
    return str(exc.value)


def chain(n: int, deepest_first: bool = False) -> str:
    """A prerequisite chain t0 <- t1 <- ... <- t(n-1), as a scenario's topics (listed from t0, or from t(n-1): a
    recursive walk in list order then goes n deep)."""
    lines = [f"  - {{name: t{i}, requires: [t{i - 1}]}}" if i else "  - {name: t0}" for i in range(n)]
    return "\n".join(["topics:", *(lines[::-1] if deepest_first else lines)]) + "\n"


# --- item 3: sizes -------------------------------------------------------------------------------------------


def test_community_members_share_the_learners_cap() -> None:
    msg = error_of("name: x\ncommunities:\n  - {name: a, members: 1000000000000}\n")
    assert "s.yaml:3: communities.0.members: Input should be less than or equal to 10000000" in msg


def test_total_members_over_communities_are_capped() -> None:
    half = MAX_LEARNERS // 2 + 1
    msg = error_of(f"name: x\ncommunities:\n  - {{name: a, members: {half}}}\n  - {{name: b, members: {half}}}\n")
    assert "members in all, more than 10,000,000" in msg


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("settings:\n  classroom: {experts: 1000000000000}\n", "settings.classroom.experts"),
        ("settings:\n  community: {experts: 10001}\n", "settings.community.experts"),
        ("communities:\n  - {name: a, members: 10, experts: 1000000000000}\n", "communities.0.experts"),
    ],
)
def test_experts_are_capped_per_setting_and_community(text: str, field: str) -> None:
    learners = "" if "communities" in text else "learners: 10\n"
    msg = error_of(f"name: x\n{learners}{text}")
    assert f"{field}: Input should be less than or equal to 10000" in msg


def test_experts_over_all_communities_are_capped() -> None:
    comms = "".join(f"  - {{name: c{i}, members: 2, experts: 10000}}\n" for i in range(11))
    msg = error_of(f"name: x\ncommunities:\n{comms}")
    assert "experts in all, more than 100,000" in msg


def test_communities_and_topics_lists_are_capped() -> None:
    comms = "".join(f"  - {{name: c{i}, members: 2}}\n" for i in range(1001))
    assert "communities: List should have at most 1000 items" in error_of(f"name: x\ncommunities:\n{comms}")
    topics = "".join(f"  - {{name: t{i}}}\n" for i in range(MAX_TOPICS + 1))
    assert "topics: List should have at most 1000 items" in error_of(f"name: x\nlearners: 5\ntopics:\n{topics}")


def test_validate_on_20000_topics_is_fast(tmp_path: Path) -> None:
    """It took 10.5 s (quadratic checks); now refused by the cap, and the largest allowed list validates fast."""
    topics = "".join(f"  - {{name: t{i}, requires: [t{i - 1}]}}\n" if i else "  - {name: t0}\n" for i in range(20_000))
    (tmp_path / "many.yaml").write_text(f"name: x\nlearners: 5\ntopics:\n{topics}")
    start = time.perf_counter()
    res = learncomm("validate", "many.yaml", cwd=tmp_path)
    assert time.perf_counter() - start < 10  # the interpreter's start included
    assert res.returncode == 2
    assert "many.yaml:3: topics: List should have at most 1000 items" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    start = time.perf_counter()
    sc = parse_scenario(f"name: x\nlearners: 5\n{chain(MAX_TOPICS, deepest_first=True)}")
    assert len(sc.topic_list) == MAX_TOPICS
    assert time.perf_counter() - start < 2


def test_unique_and_known_topic_checks_are_linear_and_short() -> None:
    topics = "".join(f"  - {{name: t{i}}}\n" for i in range(MAX_TOPICS - 1)) + "  - {name: t0}\n"
    msg = error_of(f"name: x\nlearners: 5\ntopics:\n{topics}", seconds=1)
    assert "topic names must be unique, repeated: t0" in msg
    topics = "".join(f"  - {{name: t{i}}}\n" for i in range(MAX_TOPICS - 1)) + "  - {name: z, requires: [nope]}\n"
    msg = error_of(f"name: x\nlearners: 5\ntopics:\n{topics}", seconds=1)
    assert "requires unknown topics nope; known: t0, t1" in msg and "more)" in msg
    assert len(msg) < 500  # the known topics are not all listed


def test_prerequisite_chain_of_1000_topics_has_no_recursion_error() -> None:
    """A chain of 1,000 topics was a RecursionError (in validation and in curriculum_order)."""
    sc = parse_scenario(f"name: x\nsetting: classroom\nlearners: 20\ndays: 2\n{chain(1000, deepest_first=True)}")
    order = curriculum_order(sc.topic_list, np.ones(1000, dtype=bool))
    assert list(order) == list(range(999, -1, -1))  # t0 (listed last) first: each topic after its prerequisite
    model = make_model(sc)
    run(model, 2)


def test_curriculum_order_by_depth_then_difficulty() -> None:
    topics = [
        Topic(name="c", difficulty=0.1, requires=["b"]),
        Topic(name="a", difficulty=0.9),
        Topic(name="b", difficulty=0.2, requires=["a"]),
        Topic(name="d", difficulty=0.3),
        Topic(name="e", difficulty=0.5, requires=["a", "d"]),
    ]
    order = curriculum_order(topics, np.ones(5, dtype=bool))
    assert [topics[i].name for i in order] == ["d", "a", "b", "e", "c"]


def test_long_prerequisite_cycle_is_found_without_recursion() -> None:
    text = chain(2000).replace("  - {name: t0}", "  - {name: t0, requires: [t1999]}")
    sc_text = f"name: x\nlearners: 5\n{text}"
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(sc_text, "s.yaml")
    assert "topics: List should have at most 1000 items" in str(exc.value)
    text = chain(MAX_TOPICS).replace("  - {name: t0}", f"  - {{name: t0, requires: [t{MAX_TOPICS - 1}]}}")
    msg = error_of(f"name: x\nlearners: 5\n{text}")
    assert "prerequisites form a cycle: t0 -> t999 -> t998" in msg and msg.rstrip().endswith("t1 -> t0")
    msg = error_of("name: x\nlearners: 5\ntopics:\n  - {name: a, requires: [b]}\n  - {name: b, requires: [a]}\n")
    assert "prerequisites form a cycle: a -> b -> a" in msg


def alias_bomb(levels: int = 9) -> str:
    """A small YAML document whose aliases expand to 10**levels values."""
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_sweep_file_of_nested_aliases_is_refused_quickly(tmp_path: Path) -> None:
    """A 557-byte sweep file of nested aliases ran 38 s into a MemoryError, its error message expanding the point."""
    text = alias_bomb() + "base: community\nparameters:\n  learners:\n    values: [*a8]\n"
    assert len(text) < 1000
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as exc:
        read_sweep_file(path)
    assert time.perf_counter() - start < 2
    msg = str(exc.value)
    assert f"more than {MAX_YAML_NODES:,} values once its aliases (*name) are expanded" in msg
    assert len(msg) < 300
    res = learncomm("sweep", str(path), "--dry-run", cwd=tmp_path, timeout=30)
    assert res.returncode == 2 and "Traceback" not in res.stderr + res.stdout
    assert "aliases" in res.stderr and len(res.stderr) < 500


def test_scenario_alias_limits() -> None:
    assert "aliases (*name) are expanded" in error_of(alias_bomb() + "name: x\nlearners: 5\n")
    assert parse_scenario("name: a\nlearners: &n 7\ndays: *n\n", "s.yaml").days == 7  # aliases as such are fine
    assert "a value cannot contain itself" in error_of("name: x\nlearners: 5\ndescription: &d [*d]\n")
    msg = error_of("name: x\nlearners: 5\ndescription: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deeply" in msg or "maximum nesting depth" in msg


def test_swept_values_are_capped(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("base: community\nparameters:\n  days:\n    values: [" + ", ".join(["5"] * 10_001) + "]\n")
    with pytest.raises(ScenarioError) as exc:
        read_sweep_file(path)
    assert "many.yaml:4: parameters.days.values: List should have at most 10000 items" in str(exc.value)


# --- item 8: strict numbers ----------------------------------------------------------------------------------


def test_set_days_true_is_refused(tmp_path: Path) -> None:
    """`--set days=true` ran 1 day."""
    res = learncomm("run", "community", "--set", "days=true", "--out", "out", cwd=tmp_path)
    assert res.returncode == 2
    assert "days: expected a number, got a boolean (true/false)" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("learners: 5\ndays: true\n", "s.yaml:3: days"),
        ("learners: yes\n", "s.yaml:2: learners"),  # YAML 1.1's yes is a boolean
        ("learners: 5\nparams: {alpha_ask: false}\n", "s.yaml:3: params.alpha_ask"),
        ("learners: 5\nparams: {stage_post: [0.5, true, 1.0]}\n", "s.yaml:3: params.stage_post"),
        ("communities:\n  - {name: a, members: 5}\n  - {name: b, members: 5, include: {a: true}}\n", "communities.1"),
        ("learners: 5\nsettings: {classroom: {experts: true}}\n", "s.yaml:3: settings.classroom.experts"),
    ],
)
def test_booleans_are_not_numbers(text: str, where: str) -> None:
    msg = error_of(f"name: x\n{text}")
    assert where in msg and "expected a number, got a boolean" in msg


def test_booleans_stay_booleans_where_a_switch_is_expected() -> None:
    sc = parse_scenario("name: x\nlearners: 5\nsettings: {classroom: {fades: true, expert_scaffolds: false}}\n")
    assert sc.settings.classroom.fades and not sc.settings.classroom.expert_scaffolds
    assert make_scenario(days=3).days == 3


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("population: {interest_concentration: .inf}\n", "s.yaml:3: population.interest_concentration"),
        ("params: {fade_days: .nan}\n", "s.yaml:3: params.fade_days"),
        ("params: {risk_gap_weight: .Inf}\n", "s.yaml:3: params.risk_gap_weight"),
        ("arrivals: {wave_days: -.inf}\n", "s.yaml:3: arrivals.wave_days"),
        ("params: {stage_post: [0.5, .inf, 1.0]}\n", "s.yaml:3: params.stage_post"),
    ],
)
def test_floats_must_be_finite(text: str, field: str) -> None:
    msg = error_of(f"name: x\nlearners: 5\n{text}")
    assert field in msg and ("finite number" in msg or "greater than" in msg)


def test_swept_range_must_be_finite_and_numeric(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("base: community\nparameters:\n  params.fade_days: {low: 1, high: .inf, levels: 3}\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:3: parameters.params.fade_days.high: Input should be a finite"):
        read_sweep_file(path)
    path.write_text("base: community\nparameters:\n  days: {low: true, high: 9, levels: 3}\n")
    with pytest.raises(ScenarioError, match=r"parameters.days.low: expected a number, got a boolean"):
        read_sweep_file(path)


def test_duplicate_keys_are_refused_with_their_lines(tmp_path: Path) -> None:
    msg = error_of("name: x\nlearners: 5\ndays: 30\nparams:\n  alpha_ask: 0.2\ndays: 60\n")
    assert "s.yaml:6:" in msg and "the key 'days' is given twice in one mapping (lines 3 and 6)" in msg
    msg = error_of("name: x\nlearners: 5\nparams:\n  alpha_ask: 0.2\n  alpha_ask: 0.3\n")
    assert "(lines 4 and 5)" in msg
    msg = error_of("name: x\nlearners: 5\ncommunities: []\npopulation: {knowledge: {mean: 0.2, mean: 0.3}}\n")
    assert "the key 'mean' is given twice in one mapping (lines 4 and 4)" in msg
    path = tmp_path / "sweep.yaml"
    path.write_text("base: community\nparameters:\n  days: {values: [5]}\nbase: classroom\n")
    with pytest.raises(ScenarioError, match=r"sweep.yaml:4: .*'base' is given twice .*\(lines 1 and 4\)"):
        read_sweep_file(path)
    res = learncomm("validate", "dup.yaml", cwd=_write(tmp_path, "dup.yaml", "name: x\nlearners: 5\nlearners: 6\n"))
    assert res.returncode == 2 and "dup.yaml:3:" in res.stderr and "(lines 2 and 3)" in res.stderr


def test_merge_keys_may_still_override() -> None:
    text = "name: x\nlearners: 5\npopulation:\n  knowledge: &k {mean: 0.2, spread: 0.1}\n  motivation:\n"
    text += "    <<: *k\n    mean: 0.6\n"
    assert parse_scenario(text, "s.yaml").population.motivation.mean == 0.6


def _write(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text)
    return folder


# --- item 9: seeds -------------------------------------------------------------------------------------------


def test_negative_seed_is_a_clean_error(tmp_path: Path) -> None:
    res = learncomm("run", "community", "--seed", "-1", "--out", "out", cwd=tmp_path)
    assert res.returncode == 2
    assert "--seed" in res.stderr and "greater than or equal to 0" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert not (tmp_path / "out").exists()


def test_seed_in_a_file_is_bounded() -> None:
    assert "seed: Input should be greater than or equal to 0" in error_of("name: x\nlearners: 5\nseed: -1\n")
    assert "seed: Input should be less than or equal to" in error_of(f"name: x\nlearners: 5\nseed: {2**64}\n")
