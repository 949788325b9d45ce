"""Damaged results (issue 12 item 5): completeness is checked by content, so a truncated run file is redone on
resume; `query` and `dashboard` skip a damaged folder with a warning; damaged JSON files and an LLM cache that is
not SQLite give clean errors, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from learncomm.sim.cli import app
from learncomm.sim.schema.loading import ScenarioError
from learncomm.sim.sweeps.plan import load_sweep
from learncomm.sim.sweeps.runner import run_sweep
from learncomm.sim.sweeps.store import run_state

SWEEP = """base: community
fixed: {days: 4, learners: 30}
replicates: 2
seed: 3
parameters:
  network.rewiring: {values: [0.0, 0.5]}
"""


def truncate(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) // 2)


def clean(res: Result, code: int) -> None:
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output


def frame(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "summary.parquet").drop(columns=["wall_time_s"])


@pytest.fixture
def sweep(tmp_path: Path) -> tuple[Path, Path]:
    """A finished 4-run sweep: (sweep file, folder)."""
    path = tmp_path / "s.yaml"
    path.write_text(SWEEP)
    out = tmp_path / "out"
    report = run_sweep(load_sweep(path), out, workers=1)
    assert report.done == 4
    return path, out


def run_dirs(out: Path) -> list[Path]:
    return sorted((out / "runs").glob("point=*/seed=*"))


@pytest.mark.parametrize("name", ["row.parquet", "learners.parquet", "summary.json", "manifest.json"])
def test_truncated_run_file_is_redone_on_resume(sweep: tuple[Path, Path], name: str) -> None:
    path, out = sweep
    before = frame(out)
    bad = run_dirs(out)[1]
    truncate(bad / name)
    assert run_state(bad) == "incomplete"
    report = run_sweep(load_sweep(path), out, workers=1)
    assert (report.skipped, report.done, report.failed) == (3, 1, [])
    assert run_state(bad) == "ok"
    pd.testing.assert_frame_equal(frame(out), before)


def test_query_leaves_out_a_damaged_run_with_a_warning(sweep: tuple[Path, Path]) -> None:
    _, out = sweep
    truncate(run_dirs(out)[0] / "learners.parquet")
    res = CliRunner().invoke(app, ["query", str(out), "select count(distinct seed) as n from learners"])
    clean(res, 0)
    assert "warning" in res.output and "left out" in res.output
    res = CliRunner().invoke(app, ["query", str(out), "select count(*) from timeseries"])
    clean(res, 0)


def test_query_on_a_damaged_summary_is_a_clean_error(sweep: tuple[Path, Path]) -> None:
    _, out = sweep
    truncate(out / "summary.parquet")
    res = CliRunner().invoke(app, ["query", str(out), "select * from runs"])
    clean(res, 2)
    assert "summary.parquet" in res.output and "damaged" in res.output


def test_truncated_sweep_json_is_a_clean_error_and_force_starts_over(sweep: tuple[Path, Path]) -> None:
    path, out = sweep
    truncate(out / "sweep.json")
    res = CliRunner().invoke(app, ["sweep", str(path), "--out", str(out), "--no-dashboard"])
    clean(res, 2)
    assert "sweep.json" in res.output and "--force" in res.output
    res = CliRunner().invoke(app, ["sensitivity", str(out)])
    clean(res, 2)
    assert "sweep.json" in res.output
    report = run_sweep(load_sweep(path), out, workers=1, force=True)
    assert report.done == 4


def _runs(root: Path, runner: CliRunner) -> list[Path]:
    dirs = []
    for seed in (1, 2, 3):
        d = root / f"r{seed}"
        res = runner.invoke(
            app,
            ["run", "community", "--days", "3", "--learners", "30", "--seed", str(seed), "--out", str(d)]
            + ["--no-dashboard"],
        )
        clean(res, 0)
        dirs.append(d)
    return dirs


def test_dashboard_of_a_results_folder_skips_damaged_manifests(tmp_path: Path) -> None:
    runner = CliRunner()
    root = tmp_path / "results"
    a, b, c = _runs(root, runner)
    m = json.loads((a / "manifest.json").read_text())
    m["seed"] = "x"
    (a / "manifest.json").write_text(json.dumps(m))
    truncate(b / "manifest.json")
    res = runner.invoke(app, ["dashboard", str(root)])
    clean(res, 0)
    assert (root / "index.html").is_file() and (c / "dashboard.html").is_file()
    assert res.output.count("warning") == 2
    index = (root / "index.html").read_text()
    assert all(f"r{i}" in index for i in (1, 2, 3))
    res = runner.invoke(app, ["dashboard", str(a)])  # alone: a clean error naming the field
    clean(res, 2)
    assert "manifest.json" in res.output and "seed" in res.output


def test_index_survives_manifests_of_the_wrong_shape(tmp_path: Path) -> None:
    from learncomm.sim.dashboard import write_index

    runner = CliRunner()
    root = tmp_path / "results"
    a, b, _ = _runs(root, runner)
    (a / "manifest.json").write_text("[1, 2]")
    (b / "manifest.json").write_text('{"created": 5, "decider": [1], "seed": {}}')
    (b / "summary.json").write_text('{"groups": [], "community": 3}')
    assert write_index(root).is_file()


@pytest.mark.parametrize(
    "content", [b"not a database, just text\n", b"SQLite format 3\x00" + b"garbage" * 20], ids=["text", "bad-db"]
)
def test_llm_cache_that_is_not_sqlite_is_a_clean_error(tmp_path: Path, content: bytes) -> None:
    from learncomm.roles.deciders import _counting_cache

    cache = tmp_path / "cache.sqlite"
    cache.write_bytes(content)
    with pytest.raises(ScenarioError, match="not an SQLite database"):
        _counting_cache(str(cache))
    assert _counting_cache(str(tmp_path / "new.sqlite")) is not None  # a new file is fine


def test_force_never_empties_a_folder_that_is_not_a_sweep(tmp_path: Path) -> None:
    """--force starts a sweep folder over; a folder of the user's is left as it was, with a clean error."""
    path = tmp_path / "s.yaml"
    path.write_text(SWEEP)
    mine = tmp_path / "documents"
    (mine / "sub").mkdir(parents=True)
    (mine / "a.txt").write_text("precious")
    (mine / "sub" / "b.txt").write_text("p2")
    res = CliRunner().invoke(app, ["sweep", str(path), "--out", str(mine), "--force"])
    clean(res, 2)
    assert "not a sweep folder" in res.output
    assert (mine / "a.txt").read_text() == "precious" and (mine / "sub" / "b.txt").read_text() == "p2"
    assert sorted(p.name for p in mine.iterdir()) == ["a.txt", "sub"]


@pytest.mark.parametrize("sql", ["", ";", "   ", " ; ; "])
def test_an_empty_query_is_a_clean_error(sweep: tuple[Path, Path], sql: str) -> None:
    res = CliRunner().invoke(app, ["query", str(sweep[1]), sql])
    clean(res, 2)
    assert "empty" in res.output
