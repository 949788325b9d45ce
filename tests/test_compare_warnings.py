"""A comparison shows its overrides (--set, --set-a, --set-b) and its runs' warnings: on screen, in the manifest, on
the page (issue 13, items 4 and 5)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_cli import learncomm

from learncomm.sim.dashboard.compare_page import build_comparison, changes_facts


@pytest.fixture(scope="module")
def cmp(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """B has an ideator that starts after the run ends (role_never_acted on every seed); A changes a parameter."""
    root = tmp_path_factory.mktemp("cmpwarn")
    res = learncomm(
        "compare", "community", "community", "--seeds", "2", "--days", "6", "--learners", "30",
        "--set-a", "params.alpha_ask=0.2", "--set-b", "roles.ideator={start_day: 99}", "--out", "cmp",
        cwd=root, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return root / "cmp", res.stderr


def test_compare_prints_each_sides_run_warnings_with_their_seeds(cmp: tuple[Path, str]) -> None:
    _, stderr = cmp
    line = " ".join(stderr.split())  # the console may wrap
    assert "warning: B (community), 2 of 2 seeds: the ideator role never acted" in line
    assert "(role_never_acted)" in line
    assert "A (community)" not in line  # A has no roles, nothing to warn about


def test_compare_manifest_holds_the_distinct_warnings_per_side(cmp: tuple[Path, str]) -> None:
    m = json.loads((cmp[0] / "manifest.json").read_text())
    assert m["warnings"]["A"] == []
    [w] = m["warnings"]["B"]
    assert w["code"] == "role_never_acted" and w["seeds"] == 2 and "before its first decision" in w["message"]
    assert m["request"]["sets_a"] == ["params.alpha_ask=0.2"]


def test_compare_page_shows_overrides_and_warnings(cmp: tuple[Path, str]) -> None:
    html = (cmp[0] / "dashboard.html").read_text()
    assert "<dt>A changes</dt><dd>community with params.alpha_ask=0.2</dd>" in html
    assert "<dt>B changes</dt><dd>community with roles.ideator={start_day: 99}</dd>" in html
    assert 'id="warnings"' in html
    assert "B (community), 2 of 2 seeds: the ideator role never acted" in html


def test_compare_page_escapes_overrides_and_warnings(cmp: tuple[Path, str], tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(cmp[0], folder)
    m = json.loads((folder / "manifest.json").read_text())
    m["request"]["sets"] = ["params.x=<script>alert(1)</script>"]
    m["warnings"]["A"] = [{"code": "role_never_acted", "message": "<img src=x onerror=alert(2)>", "seeds": 1}]
    (folder / "manifest.json").write_text(json.dumps(m))
    html = build_comparison(folder).read_text()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "A (community), 1 of 2 seeds:" in html


def test_changes_facts_name_each_side_or_none() -> None:
    assert changes_facts({"a": "x", "b": "y", "request": {}}) == [("changes (--set)", "none")]
    m = {"a": "x", "b": "y", "request": {"sets": ["p=1"], "sets_a": [], "sets_b": ["q=2"]}}
    assert changes_facts(m) == [("A changes", "x with p=1"), ("B changes", "y with p=1 q=2")]
