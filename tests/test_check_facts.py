"""The stylised facts, the suite and `learncomm check`: statistics by hand on synthetic runs, the suite's caching,
intervals and check.json, the dashboard page, the command's exit codes, and the fast suite (the CI gate)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from learncomm.sim.check import facts as factmod
from learncomm.sim.check import suite as suitemod
from learncomm.sim.check.facts import (
    FACTS,
    Fact,
    Sample,
    early_leavers,
    hazard_falls,
    reply_reinforces,
    retention,
    tenure_hazard,
    tutoring_d,
)
from learncomm.sim.check.log import Activity, read_log
from learncomm.sim.check.suite import plan, run_check, write_report
from learncomm.sim.dashboard.check_page import build_check
from learncomm.sim.runs.compare import interval
from learncomm.sim.runs.run import RunResult

LEARNCOMM = [sys.executable, "-m", "learncomm"]


def learners(**cols: Any) -> pd.DataFrame:
    """A learners table with the spec's columns (docs/results.md); unspecified ones get harmless values."""
    n = len(next(iter(cols.values())))
    base: dict[str, Any] = {
        "learner_id": np.arange(n),
        "joined_day": np.zeros(n, dtype=np.int32),
        "posts": np.zeros(n, dtype=np.int32),
        "first_post_day": -np.ones(n, dtype=np.int32),
        "last_post_day": -np.ones(n, dtype=np.int32),
        "first_question_day": -np.ones(n, dtype=np.int32),
        "first_question_answered": pd.array([None] * n, dtype="boolean"),
        "leaving_day": -np.ones(n, dtype=np.int32),
        "retained": np.ones(n, dtype=bool),
        "tutoring_role": ["none"] * n,
        "knowledge_gain": np.zeros(n),
    }
    base.update(cols)
    if "tenure" not in cols:  # as sim/runs/outcomes.py computes it, with the tests' 100-day runs
        left = np.asarray(base["leaving_day"])
        base["tenure"] = (np.where(left >= 0, left, 100) - np.asarray(base["joined_day"])).astype(np.int32)
    return pd.DataFrame(base)


def run_of(lr: pd.DataFrame, days: int, daily: list[int] | None = None) -> RunResult:
    ts = pd.DataFrame({"day": range(days + 1), "posts": [0, *(daily or [0] * days)]})
    return RunResult(manifest={"days": days}, timeseries=ts, learners=lr, summary={})


def test_run_activity_uses_the_spec_day_numbering() -> None:
    lr = learners(
        posts=[3, 0, 1],
        first_post_day=[1, -1, 5],
        last_post_day=[10, -1, 5],
        joined_day=[0, 0, 4],
    )
    a = Activity.from_run(lr, run_of(lr, 10, [1, 0, 0, 0, 1, 0, 0, 0, 0, 2]).timeseries)
    assert list(a.posts) == [3, 0, 1] and a.horizon == 10.0
    assert a.first_post[0] == 0.0 and a.last_post[0] == 9.0 and math.isnan(a.first_post[1])  # day d at d - 1
    assert list(a.first_seen) == [0.0, 0.0, 4.0]
    assert list(a.daily_posts) == [1, 0, 0, 0, 1, 0, 0, 0, 0, 2]


def test_model_statistics_by_hand() -> None:
    lr = learners(
        retained=[True, False, False, False],
        leaving_day=[-1, 10, 50, 20],
        joined_day=[0, 0, 0, 15],
    )
    s = Sample(run_of(lr, 100))
    assert retention(s) == 0.25
    assert early_leavers(s) == pytest.approx(2 / 3)  # tenures 10, 50, 5
    # tenure days 1-30: events at tenures 10 and 5; at risk 30 (stayer) + 10 + 30 + 5 = 75 member-days
    assert tenure_hazard(lr, 100, (1, 30)) == (2, 75)
    # days 61-180: the stayer (tenure 100) is at risk 40 days, nobody leaves: counted as 0.5 leavers
    assert tenure_hazard(lr, 100, (61, 180)) == (0, 40)
    assert hazard_falls(s) == pytest.approx((2 / 75) / (0.5 / 40))
    assert math.isnan(early_leavers(Sample(run_of(learners(retained=[True, True]), 10))))


def test_reply_reinforces_by_hand() -> None:
    # first post was a question for members 0-5; 6 asked after posting otherwise (not counted), 7 never asked
    lr = learners(
        first_question_day=[2, 2, 3, 3, 4, 4, 9, -1],
        first_post_day=[2, 2, 3, 3, 4, 4, 1, 1],
        last_post_day=[5, 2, 8, 9, 4, 4, 9, 1],
        first_question_answered=pd.array([True, True, True, False, False, False, True, None], dtype="boolean"),
    )
    # answered: posted again 2 of 3; unanswered: 1 of 3
    assert reply_reinforces(Sample(run_of(lr, 10))) == pytest.approx(2 / 3 - 1 / 3)


def test_tutoring_d_against_the_baseline_on_the_same_seed() -> None:
    role = ["tutee", "tutee", "tutee", "tutor"]
    base = run_of(learners(tutoring_role=role, knowledge_gain=[0.1, 0.2, 0.3, 5.0]), 10)
    treat = run_of(learners(tutoring_role=role, knowledge_gain=[0.2, 0.3, 0.4, 0.0]), 10)
    assert tutoring_d(Sample(treat, base)) == pytest.approx(0.1 / 0.1)  # pooled SD of tutees is 0.1
    assert math.isnan(tutoring_d(Sample(treat)))


def test_facts_table_is_well_formed() -> None:
    ids = [f.id for f in FACTS]
    assert len(ids) == len(set(ids))
    for f in FACTS:
        assert f.low <= f.high and f.statement and f.source and f.scenarios
    logged = {f.id for f in FACTS if f.log is not None}
    assert logged == {"posts_gini", "top10_share", "top1_share", "never_post", "activity_decay", "activity_peak"}
    assert FACTS[0].in_range(0.8) and not FACTS[0].in_range(0.95) and not FACTS[0].in_range(math.nan)


def test_plan_scenario_override_and_fast() -> None:
    pairs, skipped = plan(FACTS, fast=False, scenarios=["band"])
    assert {s for _, s in pairs} == {"band"}
    assert {f.id for f, _ in pairs} == {f.id for f in FACTS if f.scenarios in (factmod.OPEN, factmod.LONG)}
    assert any(s.startswith("classroom_stays") for s in skipped) and any(s.startswith("tutoring_d") for s in skipped)
    pairs, _ = plan(FACTS, fast=True, scenarios=None)
    assert {s for _, s in pairs} <= factmod.FAST_SCENARIOS


def synthetic(name: str, seed: int) -> RunResult:
    """A run whose statistics depend on the scenario and the seed in a known way."""
    n = 100
    rng = np.random.default_rng(seed)
    posts = np.where(np.arange(n) < 60, 0, rng.integers(1, 50, n))
    lr = learners(
        posts=posts,
        first_post_day=np.where(posts > 0, 1, -1),
        last_post_day=np.where(posts > 0, 20, -1),
        retained=np.arange(n) < (90 if name == "classroom" else 20 + seed),
        leaving_day=np.where(np.arange(n) < 20 + seed, -1, 10),
        tutoring_role=["tutee"] * n,
        knowledge_gain=rng.normal(0.5 if name == "peer-tutoring" else 0.0, 1.0, n),
    )
    daily = [100] * 20 + [1] * 40
    return run_of(lr, 60, daily)


@pytest.fixture
def fake_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    calls: list[tuple[str, int]] = []

    def fake(sc: Any, seed: int) -> RunResult:
        calls.append((sc.name, seed))
        return synthetic(sc.name, seed)

    monkeypatch.setattr(suitemod, "run_scenario", fake)  # run_one looks it up when it runs
    return calls


def test_suite_runs_each_scenario_and_seed_once_and_writes_check_json(
    tmp_path: Path, fake_runs: list[tuple[str, int]]
) -> None:
    report = run_check([1, 2, 3])
    assert sorted(fake_runs) == sorted(
        (s, seed)
        for s in ("community", "open-course", "video-game", "classroom", "pottery", "peer-tutoring", "self-study")
        for seed in (1, 2, 3)
    )
    by = {(r.fact.id, r.scenario): r for r in report.results}
    ret = by["retention", "community"]
    assert ret.values == [0.21, 0.22, 0.23]
    m, lo, hi = interval(np.array([0.21, 0.22, 0.23]))
    assert (ret.mean, ret.ci_low, ret.ci_high) == pytest.approx((m, lo, hi)) and ret.passed
    assert by["never_post", "community"].mean == pytest.approx(0.6) and by["never_post", "community"].passed
    assert by["classroom_stays", "classroom"].mean == pytest.approx(0.9) and by["classroom_stays", "classroom"].passed
    assert by["early_leavers", "community"].mean == pytest.approx(1.0) and not by["early_leavers", "community"].passed
    assert not report.passed
    path = write_report(report, tmp_path / "out")
    data = json.loads(path.read_text())
    assert data["passed"] is False and data["seeds"] == [1, 2, 3] and data["log"] is None
    row = next(r for r in data["facts"] if r["id"] == "retention" and r["scenario"] == "community")
    assert row["values"] == [0.21, 0.22, 0.23] and row["low"] == 0.08 and row["high"] == 0.45 and row["passed"]
    decay = next(r for r in data["facts"] if r["id"] == "activity_decay")
    assert decay["high"] is None and decay["target"] == ">= 4"  # an open end is null in JSON
    assert data["simulated_figures"]["community"]["never_post"] == pytest.approx(0.6)
    assert not list(tmp_path.glob("out/.check.json.part-*"))


def test_suite_with_a_log_and_the_dashboard_escapes_text(tmp_path: Path, fake_runs: list[tuple[str, int]]) -> None:
    log = tmp_path / "x<img src=x onerror=alert(1)>.txt"
    log.write_text("user,time\n<b>a</b>,1\nb,2\nb,90000\n", encoding="utf-8")
    report = run_check([1, 2], fast=True, scenarios=["community"], log=read_log(log))
    assert report.log is not None and report.log_check is not None
    assert report.log["facts"]["never_post"] == {"value": 0.0, "in_range": False}
    assert set(report.log["facts"]) == {f.id for f in FACTS if f.log is not None}
    write_report(report, tmp_path / "c")
    page = build_check(tmp_path / "c").read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Lorenz curve of posts" in page and "fig-weeks" in page and "retention" in page


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LEARNCOMM, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def test_check_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("src,dst,time\n1,2,100\n2,1,soon\n", encoding="utf-8")
    for args, words in (
        (["--log", str(bad)], [f"{bad}:3", "'time'", "'soon'"]),
        (["--log", str(tmp_path / "none.txt")], ["none.txt", "no such file"]),
        (["--members", str(bad)], ["--members needs --log"]),
        (["--scenario", "no-such-scenario"], ["no-such-scenario"]),
    ):
        res = cli("check", "--out", str(tmp_path / "out"), *args, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr and all(w in res.stderr for w in words), res.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("low", "high", "code"), [(2.0, 3.0, 1), (0.0, 1.0, 0)])
def test_check_exit_code_follows_the_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, low: float, high: float, code: int
) -> None:
    """A one-fact table: an impossible range fails (exit 1), a range that holds anything passes (exit 0)."""
    from learncomm.sim.cli import app

    tiny = Fact("stays", "retention in range", "test", ("classroom",), retention, low, high)
    monkeypatch.setattr(factmod, "FACTS", (tiny,))
    res = CliRunner().invoke(app, ["check", "--seeds", "2", "--out", str(tmp_path / "c"), "--no-dashboard"])
    assert res.exit_code == code, res.output
    data = json.loads((tmp_path / "c" / "check.json").read_text())
    assert [r["id"] for r in data["facts"]] == ["stays"] and data["passed"] is (code == 0)
    assert len(data["facts"][0]["values"]) == 2 and "stays" in res.output


def test_fast_model_check_passes(tmp_path: Path) -> None:
    """The CI gate: `learncomm check --fast` passes on the defaults, in under about 90 s."""
    started = time.perf_counter()
    res = cli("check", "--fast", "--out", str(tmp_path / "fast"), cwd=tmp_path, timeout=300)
    took = time.perf_counter() - started
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    data = json.loads((tmp_path / "fast" / "check.json").read_text())
    failed = [(r["id"], r["scenario"], r["mean"], r["target"]) for r in data["facts"] if not r["passed"]]
    assert not failed, failed  # (fact, scenario, mean, target) of each failing fact
    assert res.returncode == 0, res.stderr[-2000:]
    assert took < 90, took
    assert (tmp_path / "fast" / "dashboard.html").is_file()


def test_run_figures_agree_with_the_run_tables() -> None:
    """One code path: the figures of a real run match what the engine records (posts_gini, activity_level)."""
    from learncomm.sim.schema.loading import load_scenario

    r = suitemod.run_scenario(load_scenario("community"), seed=1)
    f = Sample(r).figures
    assert f.gini == pytest.approx(r.summary["community"]["posts_gini"])
    shares = r.learners["activity_level"].value_counts(normalize=True)
    assert (f.lurkers, f.contributors, f.superusers) == pytest.approx(
        (shares.get("lurker", 0), shares.get("contributor", 0), shares.get("superuser", 0))
    )
    assert f.posts == int(r.learners["posts"].sum()) == int(r.timeseries["posts"].sum())
    assert f.members == len(r.learners)
