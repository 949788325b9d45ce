"""Variants without copying (issue 13, item 4): `extends`, its merge rule and errors, and compare's --set-a/--set-b."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from test_cli import learncomm

from learncomm.sim.schema.extends import MAX_DEPTH, merge
from learncomm.sim.schema.loading import ScenarioError, load_scenario


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_mappings_merge_and_everything_else_replaces() -> None:
    base = {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "topics": [1, 2, 3], "tutoring": {"active": True}, "n": 5}
    variant = {"a": {"y": {"q": 9}}, "topics": [7], "tutoring": None, "new": "z"}
    before = copy.deepcopy((base, variant))
    assert merge(base, variant) == {
        "a": {"x": 1, "y": {"p": 1, "q": 9}},
        "topics": [7],
        "tutoring": None,
        "n": 5,
        "new": "z",
    }
    assert (base, variant) == before  # the inputs are left as they were
    assert merge({"a": {"x": 1}}, {"a": 3}) == {"a": 3} and merge({"a": 3}, {"a": {"x": 1}}) == {"a": {"x": 1}}


def test_a_variant_of_a_shipped_scenario_equals_the_scenario_with_its_changes(tmp_path: Path) -> None:
    path = write(
        tmp_path / "v.yaml",
        "# community with an ideator\nextends: community\nname: with-ideator\nroles:\n  ideator: {cadence: 14}\n"
        "params:\n  alpha_ask: 0.3\n",
    )
    variant = load_scenario(path)
    expected = load_scenario(
        "community", {"name": "with-ideator", "roles.ideator": {"cadence": 14}, "params.alpha_ask": 0.3}
    )
    assert variant.model_dump() == expected.model_dump()
    base = load_scenario("community")
    assert variant.params.alpha_observe == base.params.alpha_observe and variant.params.alpha_ask == 0.3
    assert variant.roles.ideator is not None and base.roles.ideator is None


def test_a_relative_base_is_found_beside_the_file_and_chains_merge_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "bases" / "root.yaml", "name: root\nlearners: 40\ndays: 10\nparams: {alpha_ask: 0.3}\n")
    write(tmp_path / "bases" / "mid.yaml", "extends: root.yaml\ndays: 20\nparams: {alpha_observe: 0.01}\n")
    leaf = write(tmp_path / "variants" / "leaf.yaml", "extends: ../bases/mid.yaml\nname: leaf\ndays: 30\n")
    monkeypatch.chdir(tmp_path / "bases")  # not the variant's folder: the path is relative to the file
    sc = load_scenario(leaf)
    assert (sc.name, sc.learners, sc.days, sc.params.alpha_ask, sc.params.alpha_observe) == ("leaf", 40, 30, 0.3, 0.01)
    assert load_scenario(leaf, {"days": 5}).days == 5  # --set applies after the merge


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"v.yaml": "extends: v.yaml\nname: v\n"}, ["v.yaml:1", "cycle"]),
        ({"v.yaml": "extends: w.yaml\nname: v\n", "w.yaml": "extends: v.yaml\n"}, ["w.yaml:1", "cycle", "v.yaml"]),
        ({"v.yaml": "name: v\n\nextends: nowhere\n"}, ["v.yaml:3", "extends: nowhere", "no such file", "community"]),
        ({"v.yaml": "extends: /etc/hostname\nname: v\n"}, ["v.yaml:1", "relative"]),
        ({"v.yaml": "extends: [community]\nname: v\n"}, ["v.yaml:1", "extends: expected the name"]),
        ({"v.yaml": "extends: b.yaml\nname: v\n", "b.yaml": "- 1\n- 2\n"}, ["b.yaml", "mapping"]),
        ({"v.yaml": "extends: b.yaml\nname: v\n", "b.yaml": "name: [oops\n"}, ["b.yaml", "not valid YAML"]),
    ],
    ids=["self", "two-file-cycle", "missing", "absolute", "not-text", "base-not-mapping", "base-not-yaml"],
)
def test_bad_extends_are_clean_errors_naming_file_and_line(
    tmp_path: Path, files: dict[str, str], expected: list[str]
) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    res = learncomm("run", "v.yaml", "--out", "out", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    for piece in expected:
        assert piece in res.stderr, (piece, res.stderr)
    assert not (tmp_path / "out").exists()


def test_a_chain_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "f0.yaml", "name: f0\nlearners: 10\n")
    for i in range(1, MAX_DEPTH + 1):
        write(tmp_path / f"f{i}.yaml", f"extends: f{i - 1}.yaml\n")
    assert load_scenario(tmp_path / f"f{MAX_DEPTH - 1}.yaml").name == "f0"  # exactly the limit: fine
    with pytest.raises(ScenarioError, match=f"more than {MAX_DEPTH} files"):
        load_scenario(tmp_path / f"f{MAX_DEPTH}.yaml")


def test_an_error_is_reported_in_the_file_and_line_that_gave_the_field(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", "name: base\nlearners: 40\nparams:\n  alpha_ask: 3\n")
    write(tmp_path / "v.yaml", "extends: base.yaml\nname: v\nparams:\n  alpha_observe: 0.1\n\n  alpha_meet: 7\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(tmp_path / "v.yaml")
    msg = str(err.value)
    assert f"{tmp_path / 'base.yaml'}:4: params.alpha_ask" in msg
    assert f"{tmp_path / 'v.yaml'}:6: params.alpha_meet" in msg


def test_compare_set_a_and_set_b_change_one_side_and_are_recorded(tmp_path: Path) -> None:
    res = learncomm(
        "compare", "community", "community", "--seeds", "2", "--days", "15", "--learners", "40",
        "--set", "params.alpha_ask=0.3", "--set-b", "roles.ideator={cadence: 5}", "--set-a", "params.alpha_ask=0.2",
        "--out", "cmp", "--no-dashboard", cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "A: community with params.alpha_ask=0.3 params.alpha_ask=0.2" in res.stdout
    assert "B: community with params.alpha_ask=0.3 roles.ideator={cadence: 5}" in res.stdout
    request = json.loads((tmp_path / "cmp" / "manifest.json").read_text())["request"]
    assert request["sets"] == ["params.alpha_ask=0.3"]
    assert request["sets_a"] == ["params.alpha_ask=0.2"] and request["sets_b"] == ["roles.ideator={cadence: 5}"]
    import pandas as pd

    table = pd.read_parquet(tmp_path / "cmp" / "comparison.parquet")
    gain = table[(table.group == "all") & (table.outcome == "knowledge_gain")].iloc[0]
    assert gain["diff"] != 0  # the sides differ, so the overrides reached them
    bad = learncomm("compare", "community", "community", "--set-b", "params.nope=1", "--out", "c2", cwd=tmp_path)
    assert bad.returncode == 2 and "params.nope" in bad.stderr and not (tmp_path / "c2").exists()


def test_shipped_variants_extend_community_and_sweeps_see_the_merged_base() -> None:
    """community-roles.yaml gives only its roles; a sweep on it sets parameters on the merged fields."""
    from learncomm.sim.schema.loading import shipped_scenarios
    from learncomm.sim.sweeps.plan import load_sweep

    text = shipped_scenarios()["community-roles"].read_text()
    assert "extends: community" in text and "learners:" not in text
    variant, base = load_scenario("community-roles"), load_scenario("community")
    assert variant.model_dump(exclude={"name", "description", "roles"}) == base.model_dump(
        exclude={"name", "description", "roles"}
    )
    plan = load_sweep("role-cadence")
    assert "extends" not in plan.base_data and plan.base_data["learners"] == base.learners
    assert plan.base.roles.model_dump() == variant.roles.model_dump()
