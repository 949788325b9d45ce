"""Running sweeps: the folder layout, identical results with 1 worker, 2 workers and Dask, resume after
SIGKILL with nothing lost or doubled, failed runs recorded and retried."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from learncomm.sim.sweeps.plan import load_sweep
from learncomm.sim.sweeps.runner import run_sweep
from learncomm.sim.sweeps.store import RUN_FILES, run_state

LEARNCOMM = [sys.executable, "-m", "learncomm"]
SWEEP = """# Test sweep: 10 points x 4 paired replicates of a small community.
base: community
fixed: {days: 20, learners: 60}
design: grid
replicates: 4
seed: 4
parameters:
  params.alpha_ask: {values: [0.1, 0.2, 0.3, 0.4, 0.5]}
  network.rewiring: {low: 0, high: 1, levels: 2}
"""
RUNS = 40


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LEARNCOMM, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def frame(out: Path) -> pd.DataFrame:
    """summary.parquet without its wall-time column, the part that must be identical everywhere."""
    return pd.read_parquet(out / "summary.parquet").drop(columns=["wall_time_s"])


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sweep") / "sweep-test.yaml"
    path.write_text(SWEEP)
    return path


@pytest.fixture(scope="module")
def reference(sweep_file: Path) -> Path:
    """The sweep run uninterrupted with one worker."""
    out = sweep_file.parent / "one-worker"
    report = run_sweep(load_sweep(sweep_file), out, workers=1)
    assert report.done == RUNS and not report.failed
    return out


def test_layout_rows_and_sweep_json(reference: Path, sweep_file: Path) -> None:
    record = json.loads((reference / "sweep.json").read_text())
    plan = load_sweep(sweep_file)
    assert record["design_hash"] == plan.record()["design_hash"]
    assert record["learncomm"] and record["seed"] == 4 and record["replicates"] == 4 and len(record["points"]) == 10
    assert record["base"]["source"] == "community" and record["base"]["scenario"]["days"] == 20
    assert record["outcomes"][0] == "knowledge_gain_all" and record["parameter_order"] == [
        "params.alpha_ask",
        "network.rewiring",
    ]
    dirs = sorted((reference / "runs").glob("point=*/seed=*"))
    assert len(dirs) == RUNS and all(run_state(d) == "ok" for d in dirs)
    assert all(sorted(os.listdir(d)) == sorted(RUN_FILES) for d in dirs)
    summary = pd.read_parquet(reference / "summary.parquet")
    assert len(summary) == RUNS and set(summary["status"]) == {"ok"}
    assert list(summary.columns[:7]) == [
        "point",
        "replicate",
        "seed",
        "status",
        "error",
        "params.alpha_ask",
        "network.rewiring",
    ]
    # replicate r has the same seed at every point (common random numbers), different replicates differ
    seeds = summary.groupby("replicate")["seed"].nunique()
    assert (seeds == 1).all() and summary.groupby("point")["seed"].nunique().eq(4).all()
    # each run really ran its point's values with its seed
    row = summary.iloc[17]
    run = reference / "runs" / f"point={row['point']:05d}" / f"seed={row['seed']}"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["seed"] == row["seed"]
    assert manifest["scenario"]["params"]["alpha_ask"] == row["params.alpha_ask"]
    assert manifest["scenario"]["network"]["rewiring"] == row["network.rewiring"]
    one = pq.read_table(run / "row.parquet").to_pandas()
    assert one["knowledge_gain_all"].iloc[0] == pytest.approx(
        json.loads((run / "summary.json").read_text())["groups"]["all"]["knowledge_gain"]
    )
    assert "motivation_final_medium" in one.columns and "posts_gini" in one.columns  # every outcome in the row
    # the parameter matters: a higher alpha_ask gives a higher knowledge gain on the same seeds
    by_alpha = summary.groupby("params.alpha_ask")["knowledge_gain_all"].mean()
    assert by_alpha.is_monotonic_increasing


def test_two_workers_give_identical_summary(reference: Path, sweep_file: Path) -> None:
    out = sweep_file.parent / "two-workers"
    report = run_sweep(load_sweep(sweep_file), out, workers=2)
    assert report.done == RUNS and report.run_s > 0
    pd.testing.assert_frame_equal(frame(out), frame(reference))


def test_dask_cluster_gives_identical_summary(reference: Path, sweep_file: Path) -> None:
    distributed = pytest.importorskip("distributed")
    out = sweep_file.parent / "dask"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        res = cli(
            "sweep",
            str(sweep_file),
            "--no-dashboard",
            "--out",
            str(out),
            "--scheduler",
            cluster.scheduler_address,
            cwd=sweep_file.parent,
        )
    assert res.returncode == 0, res.stderr + res.stdout
    assert f"{RUNS} ran now" in res.stdout
    pd.testing.assert_frame_equal(frame(out), frame(reference))


def test_sigkill_then_resume_loses_and_doubles_nothing(reference: Path, sweep_file: Path) -> None:
    out = sweep_file.parent / "killed"
    proc = subprocess.Popen(
        [*LEARNCOMM, "sweep", str(sweep_file), "--no-dashboard", "--out", str(out), "--workers", "2"],
        cwd=sweep_file.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    done: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        done = [d for d in (out / "runs").glob("point=*/seed=*") if run_state(d) == "ok"]
        if len(done) >= 3:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, at once
    proc.wait()
    before = {d: (d / "manifest.json").read_bytes() for d in done}
    assert 3 <= len(before) < RUNS, "the kill should land mid-sweep"
    assert not (out / "summary.parquet").exists()
    # what a kill can leave: a half-written run in .tmp/ (never a run folder), and, defensively, a folder missing files
    (out / "runs" / "point=00009" / ".tmp" / "seed=1-123-abc").mkdir(parents=True)
    (out / "runs" / "point=00009" / ".tmp" / "seed=1-123-abc" / "manifest.json").write_text("{}")
    seed9 = pd.read_parquet(reference / "summary.parquet")["seed"].iloc[-1]
    partial = out / "runs" / "point=00009" / f"seed={seed9}"
    if run_state(partial) != "ok":
        partial.mkdir(parents=True, exist_ok=True)
        (partial / "manifest.json").write_text("{}")
    res = cli("sweep", str(sweep_file), "--no-dashboard", "--out", str(out), "--workers", "2", cwd=sweep_file.parent)
    assert res.returncode == 0, res.stderr + res.stdout
    assert f"{len(before)} already complete" in res.stdout or "already complete" in res.stdout
    dirs = sorted((out / "runs").glob("point=*/seed=*"))
    assert len(dirs) == RUNS and all(run_state(d) == "ok" for d in dirs)
    assert not list(out.rglob(".tmp"))
    for d, manifest in before.items():  # complete runs were kept, not redone
        assert (d / "manifest.json").read_bytes() == manifest
    summary = frame(out)
    assert not summary.duplicated(["point", "replicate"]).any()
    pd.testing.assert_frame_equal(summary, frame(reference))


FAILING = """# Two of four points decide with an LLM whose cache is not a database: those runs fail.
base: community
fixed:
  days: 10
  learners: 40
  llm.api_key_env: LEARNCOMM_TEST_SWEEP_KEY
  llm.max_retries: 0
  roles.ideator.cadence: 3
parameters:
  roles.ideator.decider: {values: [policy, openai]}
  params.alpha_ask: {values: [0.2, 0.3]}
llm_concurrency: 1
"""


def test_failed_runs_are_recorded_counted_and_retried(tmp_path: Path) -> None:
    path = tmp_path / "sweep-failing.yaml"
    path.write_text(FAILING)
    out = tmp_path / "out"
    bad = tmp_path / "not-a-database.sqlite"
    bad.write_text("not SQLite")  # found by each run's decider, in the worker: the run fails, the sweep goes on
    # the key set and allowed (the up-front check passes), and a local address that refuses connections: the roles
    # fall back to their policy (roles/trust.py)
    env = {
        "LEARNCOMM_TEST_SWEEP_KEY": "test",
        "LEARNCOMM_TRUSTED_KEY_ENVS": "LEARNCOMM_TEST_SWEEP_KEY",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    }
    args = ("sweep", str(path), "--no-dashboard", "--out", str(out), "--workers", "2")
    res = cli(*args, "--llm-cache", str(bad), cwd=tmp_path, env=env)
    assert res.returncode == 1, res.stderr + res.stdout
    output = res.stderr + res.stdout
    assert "2 runs failed" in output and "error.json" in output and "not an SQLite database" in output
    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary["status"]) == ["ok", "ok", "failed", "failed"]  # the sweep went on past the failures
    assert summary.loc[2, "error"].startswith("ScenarioError") and summary["knowledge_gain_all"].isna().tolist() == [
        False,
        False,
        True,
        True,
    ]
    failed = out / "runs" / "point=00002" / f"seed={summary.loc[2, 'seed']}"
    assert run_state(failed) == "failed"
    assert "not an SQLite database" in json.loads((failed / "error.json").read_text())["error"]
    # resumed with the sweep's own cache: the failed runs are retried and now finish, the role falling back to its
    # policy; every call went through the sweep's limit and shared cache
    res2 = cli(*args, cwd=tmp_path, env=env)
    assert res2.returncode == 0, res2.stderr + res2.stdout
    assert "2 already complete, 2 ran now, 0 failed" in res2.stdout
    summary = pd.read_parquet(out / "summary.parquet")
    assert set(summary["status"]) == {"ok"} and run_state(failed) == "ok"
    interventions = pq.read_table(failed / "interventions.parquet").to_pandas()
    assert len(interventions) > 0 and interventions["fallback"].all()
    assert (out / "llm-cache.sqlite").is_file() and list((out / ".llm-slots").glob("slot-*.lock"))
