"""Issue 12 leftover: `learncomm query` reads a sweep folder whose path holds glob characters (`[ ] * ?`), and only
that folder (DuckDB reads every path as a glob)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from learncomm.sim.cli import app
from learncomm.sim.cli.sweep import glob_escape

SWEEP = "base: community\nfixed: {days: 2, learners: 20}\nparameters:\n  params.alpha_ask: {values: [0.2, 0.3]}\n"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real sweep of 2 runs (20 learners each)."""
    root = tmp_path_factory.mktemp("q")
    (root / "s.yaml").write_text(SWEEP + "replicates: 1\n")
    res = CliRunner().invoke(
        app, ["sweep", str(root / "s.yaml"), "--out", str(root / "made"), "--workers", "1", "--no-dashboard"]
    )
    assert res.exit_code == 0, res.output
    return root / "made"


def query(folder: Path, sql: str) -> str:
    res = CliRunner().invoke(app, ["query", str(folder), sql])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    return res.output


@pytest.mark.parametrize("name", ["a[1]", "b*", "c?d", "e]f["])
def test_query_reads_a_folder_named_with_glob_characters(made: Path, tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    shutil.copytree(made, folder)
    # neighbours the unescaped pattern would match instead of, or as well as, the folder
    for twin in ("a1", "bx", "bxx", "cxd"):
        shutil.copytree(made, tmp_path / twin)
    out = query(folder, "select 'n=' || count(*) || ' points=' || count(distinct point) as r from learners")
    assert "n=40 points=2" in out  # 2 runs x 20 learners, the folder's own
    out = query(folder, "select 'n=' || count(*) as r from timeseries")
    assert "n=6" in out  # 2 runs x (day 0 + 2 days)
    assert "n=2" in query(folder, "select 'n=' || count(*) as r from runs")


def test_the_sandbox_still_holds_for_such_a_folder(made: Path, tmp_path: Path) -> None:
    folder = tmp_path / "a[1]"
    shutil.copytree(made, folder)
    shutil.copytree(made, tmp_path / "other")
    escaped = glob_escape(str(folder.resolve()))
    res = CliRunner().invoke(
        app, ["query", str(folder), f"select count(*) from read_parquet('{escaped}/../other/summary.parquet')"]
    )
    assert res.exit_code == 2 and "Permission Error" in res.output


def test_glob_escape() -> None:
    assert glob_escape("/r/a[1]/b*?/x") == "/r/a[[]1[]]/b[*][?]/x"
    assert glob_escape("/plain/path") == "/plain/path"
