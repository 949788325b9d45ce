"""The command line as a user meets it: real `learncomm` processes, clear errors, nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

LEARNCOMM = [sys.executable, "-m", "learncomm"]

BAD_FILES = {
    "wrong-type.yaml": ("name: x\nlearners: many\n", ["wrong-type.yaml:2", "learners", "valid integer"]),
    "unknown-key.yaml": (
        "name: x\nlearners: 10\npopulation:\n  motivaton: {mean: 0.5}\n",
        ["unknown-key.yaml:4", "population.motivaton", "unknown field"],
    ),
    "out-of-range.yaml": (
        "name: x\nlearners: 10\nparams:\n  alpha_ask: 1.5\n",
        ["out-of-range.yaml:4", "params.alpha_ask", "less than or equal to 1"],
    ),
    "empty.yaml": ("", ["empty.yaml", "empty"]),
    "not-yaml.yaml": ("name: [unclosed\nlearners: 3\n", ["not-yaml.yaml", "not valid YAML"]),
    "list.yaml": ("- a\n- b\n", ["list.yaml", "expected a mapping"]),
    "shares.yaml": (
        "name: x\nlearners: 10\nconfidence_groups:\n  low: {share: 0.5, mean: 0.2}\n  medium: {share: 0.5, "
        "mean: 0.5}\n  high: {share: 0.5, mean: 0.8}\n",
        ["shares.yaml:3", "confidence_groups", "sum to 1"],
    ),
    "bad-topic.yaml": (
        "name: x\nlearners: 10\ntopics:\n  - {name: a, requires: [b]}\n",
        ["bad-topic.yaml:3", "topics", "unknown topics"],
    ),
}


def learncomm(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LEARNCOMM, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_scenario_gives_clear_error_and_no_output(tmp_path: Path, name: str) -> None:
    text, expected = BAD_FILES[name]
    (tmp_path / name).write_text(text)
    res = learncomm("run", name, "--out", "out", cwd=tmp_path)
    assert res.returncode == 2
    for piece in expected:
        assert piece in res.stderr, (piece, res.stderr)
    assert "Traceback" not in res.stderr + res.stdout
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "results").exists()
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_validate_reports_each_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: x\nlearners: 10\nbogus: 1\n")
    res = learncomm("validate", "community", "bad.yaml", cwd=tmp_path)
    assert res.returncode == 2
    assert "community" in res.stdout and "✓" in res.stdout
    assert "bad.yaml:3: bogus: unknown field" in res.stderr


def test_bad_command_line_values(tmp_path: Path) -> None:
    res = learncomm("run", "community", "--days", "0", cwd=tmp_path)
    assert res.returncode == 2 and "days" in res.stderr and "Traceback" not in res.stderr
    res = learncomm("run", "no-such-scenario", cwd=tmp_path)
    assert res.returncode == 2 and "shipped:" in res.stderr
    res = learncomm("run", "community", "--set", "params.alpha_ask", cwd=tmp_path)
    assert res.returncode == 2 and "FIELD=VALUE" in res.stderr
    assert not (tmp_path / "results").exists()


def test_run_writes_a_complete_run_folder(tmp_path: Path) -> None:
    res = learncomm("run", "community", "--days", "20", "--learners", "60", "--seed", "4", "--out", "run", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    run = tmp_path / "run"
    tables = ["interventions.parquet", "learners.parquet", "manifest.json", "summary.json", "timeseries.parquet"]
    assert sorted(p.name for p in run.iterdir()) == sorted(["dashboard.html", *tables])
    assert "dashboard.html" in res.stdout
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["seed"] == 4 and manifest["days"] == 20 and manifest["learners"] == 60
    assert manifest["scenario"]["learners"] == 60 and len(manifest["scenario_hash"]) == 64
    ts = pq.read_table(run / "timeseries.parquet")
    assert ts.num_rows == 21 and "knowledge_low" in ts.column_names and "equity_gap" in ts.column_names
    assert pq.read_table(run / "learners.parquet").num_rows == 60
    inter = pq.read_table(run / "interventions.parquet")
    assert inter.num_rows == 0 and {"day", "role", "decider", "prompt_hash", "text", "fallback", "reason"} <= set(
        inter.column_names
    )
    for group in ("low", "medium", "high"):
        assert group in res.stdout
    assert "knowledge gain" in res.stdout
    again = learncomm("run", "community", "--days", "5", "--out", "run", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_run_default_folder_carries_seed(tmp_path: Path) -> None:
    res = learncomm("run", "pottery", "--days", "5", "--seed", "9", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    (folder,) = [p for p in (tmp_path / "results").iterdir() if p.is_dir()]
    assert folder.name.startswith("pottery-seed9-")
    assert {p.name for p in (tmp_path / "results").iterdir() if p.is_file()} == {"index.html", "plotly.min.js"}


def test_killed_run_leaves_no_half_written_folder(tmp_path: Path) -> None:
    """A real process killed mid-run: the target folder holds only its in-progress claim (no manifest, no table),
    and no temp folder may look like a run."""
    proc = subprocess.Popen(
        [*LEARNCOMM, "run", "classroom", "--learners", "20000", "--days", "400", "--out", "run"],  # nobody leaves
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60  # a loaded machine takes seconds to import the engine and claim the folder
    while not (tmp_path / "run" / ".in-progress").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # into the simulation
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert {p.name for p in (tmp_path / "run").iterdir()} == {".in-progress"}  # claimed at the start, never filled
    assert not any((p / "manifest.json").exists() for p in tmp_path.iterdir() if p.name != "run")


def test_scenarios_lists_questions(tmp_path: Path) -> None:
    res = learncomm("scenarios", cwd=tmp_path)
    assert res.returncode == 0
    assert "classroom:" in res.stdout and "?" in res.stdout


def test_day_progress_says_setting_up_then_days_then_writing() -> None:
    """The run's bar names its stage (issue 16: at a million learners set-up and writing take a while)."""
    import io

    from rich.console import Console

    from learncomm.sim.cli.progress import day_progress

    def shown(days_done: list[int]) -> str:
        buf = io.StringIO()
        with day_progress(Console(file=buf, width=120, force_terminal=False), "run", 3) as advance:
            for d in days_done:
                advance(d)
        return buf.getvalue()

    assert "run: setting up" in shown([])
    assert "run: days" in shown([1]) and "1/3" in shown([1])
    assert "run: writing" in shown([1, 2, 3]) and "3/3" in shown([1, 2, 3])
