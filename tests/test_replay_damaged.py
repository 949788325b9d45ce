"""`learncomm replay` on damaged run folders: a clean error naming the file, exit 2, never a traceback (issue 12);
and its day count agrees with `run`'s."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

LEARNCOMM = [sys.executable, "-m", "learncomm"]


def learncomm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LEARNCOMM, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("replay")
    res = learncomm("run", "pottery", "--days", "7", "--out", "run", "--no-dashboard", cwd=root)
    assert res.returncode == 0, res.stderr
    return root / "run"


def _truncate(name: str, keep: int) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[:keep])

    return damage


def _manifest(**changes: object) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        m = json.loads((run / "manifest.json").read_text())
        for k, v in changes.items():
            if v is _DROP:
                del m[k]
            else:
                m[k] = v
        (run / "manifest.json").write_text(json.dumps(m))

    return damage


_DROP = object()

CASES = {
    "truncated manifest": (_truncate("manifest.json", 100), ["manifest.json: damaged, cannot read it as JSON", "line"]),
    "manifest not an object": (lambda r: (r / "manifest.json").write_text("[1, 2]"), ["expected a JSON object"]),
    "truncated summary": (_truncate("summary.json", 10), ["summary.json: damaged, cannot read it as JSON"]),
    "summary not UTF-8": (lambda r: (r / "summary.json").write_bytes(b"\xff\xfe{"), ["summary.json: damaged"]),
    "seed a string": (_manifest(seed="x"), ["manifest.json: seed: expected a whole number", 'got "x"']),
    "seed negative": (_manifest(seed=-3), ["manifest.json: seed: expected a whole number", "got -3"]),
    "seed huge": (_manifest(seed=10**30), ["manifest.json: seed: expected a whole number", "got 1000000000000"]),
    "seed a boolean": (_manifest(seed=True), ["manifest.json: seed: expected a whole number", "got true"]),
    "seed a float": (_manifest(seed=1.5), ["manifest.json: seed: expected a whole number", "got 1.5"]),
    "seed missing": (_manifest(seed=_DROP), ["manifest.json: seed: missing"]),
    "scenario missing": (_manifest(scenario=_DROP), ["manifest.json: scenario: missing"]),
    "truncated learners": (
        _truncate("learners.parquet", 300),
        ["learners.parquet: damaged, cannot read it as Parquet"],
    ),
    "truncated interventions": (
        _truncate("interventions.parquet", 300),
        ["interventions.parquet: damaged, cannot read it as Parquet"],
    ),
    "truncated timeseries": (
        _truncate("timeseries.parquet", 300),
        ["timeseries.parquet: damaged, cannot read it as Parquet"],
    ),
    "empty learners": (_truncate("learners.parquet", 0), ["learners.parquet: damaged"]),
    "learners missing": (lambda r: (r / "learners.parquet").unlink(), ["learners.parquet: missing"]),
    "learners of the wrong shape": (
        lambda r: shutil.copy(r / "timeseries.parquet", r / "learners.parquet"),
        ["learners.parquet: damaged or from another learncomm version: lacks"],
    ),
    "interventions of the wrong shape": (
        lambda r: shutil.copy(r / "timeseries.parquet", r / "interventions.parquet"),
        ["interventions.parquet: damaged or from another learncomm version: lacks"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_replay_of_a_damaged_folder_is_a_clean_error(recorded: Path, tmp_path: Path, case: str) -> None:
    damage, needles = CASES[case]
    run = tmp_path / "run"
    shutil.copytree(recorded, run)
    damage(run)
    res = learncomm("replay", "run", cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    flat = " ".join(res.stderr.split())  # the console wraps long messages
    assert flat.startswith("error: run/"), flat
    for n in needles:
        assert n in flat, flat


def test_replay_counts_days_as_run_does(recorded: Path) -> None:
    """`run --days 7` simulates 7 days (manifest.json `days`); replay says 7 days, not the 8 timeseries rows."""
    assert json.loads((recorded / "manifest.json").read_text())["days"] == 7
    res = learncomm("replay", recorded.name, cwd=recorded.parent)
    assert res.returncode == 0, res.stderr
    flat = " ".join(res.stdout.split())
    found = re.search(r"(\d+) days", flat)
    assert found is not None and found.group(1) == "7", flat


def test_replay_out_is_claimed_and_released_on_a_damaged_folder(recorded: Path, tmp_path: Path) -> None:
    """`replay --out` claims its folder as `run` does: taken already is an error; a damaged recording releases it."""
    run = tmp_path / "run"
    shutil.copytree(recorded, run)
    (tmp_path / "taken").mkdir()
    res = learncomm("replay", "run", "--out", "taken", cwd=tmp_path)
    assert res.returncode == 2 and "taken: already exists" in res.stderr, res.stderr
    (run / "summary.json").write_text("{")
    res = learncomm("replay", "run", "--out", "again", cwd=tmp_path)
    assert res.returncode == 2 and "summary.json: damaged" in res.stderr, res.stderr
    assert not (tmp_path / "again").exists()
