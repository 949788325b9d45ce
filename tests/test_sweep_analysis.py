"""`learncomm query` over a sweep folder and `learncomm sensitivity` on small Sobol and Morris sweeps.

The sensitivity checks use a parameter with no effect at all on a community
scenario (`settings.classroom.power_gap`: there is no classroom), next to one
with a large effect (`params.alpha_ask`), so the ranking is robust.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from learncomm.sim.cli import app

BASE = "base: community\nfixed: {days: 20, learners: 60}\nseed: 2\n"
PARAMS = (
    "parameters:\n  params.alpha_ask: {low: 0.05, high: 0.6}\n  settings.classroom.power_gap: {low: 0.0, high: 1.0}\n"
)


def make(tmp: Path, name: str, body: str) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(BASE + body)
    out = tmp / name
    res = CliRunner().invoke(app, ["sweep", str(path), "--no-dashboard", "--out", str(out), "--workers", "2"])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def sobol_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make(
        tmp_path_factory.mktemp("sobol"),
        "sobol",
        "design: sobol\nsamples: 16\n" + PARAMS + "outcomes: [knowledge_gain_all, knowledge_gain_low, equity_gap]\n",
    )


@pytest.fixture(scope="module")
def morris_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make(tmp_path_factory.mktemp("morris"), "morris", "design: morris\nsamples: 8\nreplicates: 2\n" + PARAMS)


def test_sobol_indices_rank_the_effective_parameter(sobol_dir: Path) -> None:
    res = CliRunner().invoke(app, ["sensitivity", str(sobol_dir)])
    assert res.exit_code == 0, res.output
    assert "S1" in res.output and "ST" in res.output and "params.alpha_ask" in res.output
    saved = json.loads((sobol_dir / "sensitivity.json").read_text())
    assert saved["method"] == "sobol" and saved["points"] == 16 * 4
    assert set(saved["outcomes"]) == {"knowledge_gain_all", "knowledge_gain_low", "equity_gap"}
    for outcome in ("knowledge_gain_all", "knowledge_gain_low"):
        per = saved["outcomes"][outcome]
        for p in per.values():
            assert all(p[k] is not None and math.isfinite(p[k]) for k in ("S1", "S1_conf", "ST", "ST_conf"))
        big, none = per["params.alpha_ask"], per["settings.classroom.power_gap"]
        assert big["ST"] > 0.5 and abs(none["ST"]) < 0.01 and big["ST"] > 50 * abs(none["ST"])
    # the numbers printed are the numbers saved
    assert f"{saved['outcomes']['knowledge_gain_all']['params.alpha_ask']['ST']:.4g}" in res.output


def test_morris_indices_and_outcome_option(morris_dir: Path) -> None:
    res = CliRunner().invoke(app, ["sensitivity", str(morris_dir), "--outcome", "knowledge_gain_all"])
    assert res.exit_code == 0, res.output
    assert "mu*" in res.output and "sigma" in res.output
    saved = json.loads((morris_dir / "sensitivity.json").read_text())
    assert (
        saved["method"] == "morris" and list(saved["outcomes"]) == ["knowledge_gain_all"] and saved["runs"] == 8 * 3 * 2
    )
    per = saved["outcomes"]["knowledge_gain_all"]
    assert all(v is not None and math.isfinite(v) for p in per.values() for v in p.values())
    assert (
        per["params.alpha_ask"]["mu_star"] > 0
        and per["settings.classroom.power_gap"]["mu_star"] < 1e-3 * per["params.alpha_ask"]["mu_star"]
    )


def test_sensitivity_errors_are_clear(morris_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["sensitivity", str(morris_dir), "--outcome", "knowledge_gain_lo"])
    assert res.exit_code == 2 and "unknown outcome" in res.output and "knowledge_gain_low" in res.output
    res = runner.invoke(app, ["sensitivity", str(morris_dir), "--outcome", "posts_gini"])  # valid, but not summarised
    assert res.exit_code == 2 and "not among this sweep's outcomes" in res.output
    grid = make(tmp_path, "grid", "parameters:\n  params.alpha_ask: {values: [0.1, 0.2]}\n")
    res = runner.invoke(app, ["sensitivity", str(grid)])
    assert res.exit_code == 2 and "needs a sobol or morris design" in res.output
    assert not (grid / "sensitivity.json").exists()
    res = runner.invoke(app, ["sensitivity", str(tmp_path)])
    assert res.exit_code == 2 and "not a sweep folder" in res.output


def test_query_runs_and_hive_partitioned_tables(sobol_dir: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "query",
            str(sobol_dir),
            "select count(*) as n, count(distinct point) as points from runs where status = 'ok'",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "64" in res.output
    sql = (
        "select count(*) as n from timeseries t join runs r using (point, seed) "
        "where t.day = 20 and abs(t.gain_all - r.knowledge_gain_all) < 1e-9"
    )
    res = runner.invoke(app, ["query", str(sobol_dir), sql])
    assert res.exit_code == 0, res.output
    assert " 64 " in res.output  # every run's last day matches its summary row
    res = runner.invoke(
        app, ["query", str(sobol_dir), 'select point, "params.alpha_ask" from runs order by point', "--max-rows", "3"]
    )
    assert res.exit_code == 0 and "first 3 rows" in res.output
    res = runner.invoke(app, ["query", str(sobol_dir), "select count(*) from learners where point = 0"])
    assert res.exit_code == 0 and "60" in res.output
    res = runner.invoke(app, ["query", str(sobol_dir), "select nope from runs"])
    assert res.exit_code == 2 and "SQL" in res.output and "nope" in res.output and "Traceback" not in res.output


def test_samples_needed_follows_the_stated_rule() -> None:
    from learncomm.sim.sweeps.sensitivity import TARGET_CONF, samples_needed

    # intervals shrink as 1/sqrt(N): the shipped role-cadence sweep's ± 0.90 at N = 16 needs 16 * 18^2 = 5184 -> 8192
    assert TARGET_CONF == 0.05 and samples_needed(16, 0.90) == 8192
    assert samples_needed(64, 0.05) == 128  # already narrow enough (S1 > ST by chance): at least double
    assert samples_needed(4, 0.1) == 16


def test_an_outcome_that_does_not_vary_is_null_and_too_small_a_sample_is_flagged(tmp_path: Path) -> None:
    import pandas as pd
    from test_dashboard_data import noisy_sobol

    from learncomm.sim.sweeps.sensitivity import samples_needed

    out = noisy_sobol(tmp_path)
    printed = (out / "sensitivity.out").read_text()
    summary = pd.read_parquet(out / "summary.parquet")
    assert summary["retained_all"].nunique() == 1  # nobody leaves in 8 days: the outcome does not vary
    saved = json.loads((out / "sensitivity.json").read_text())
    assert saved["does_not_vary"] == ["retained_all"]
    assert all(v is None for p in saved["outcomes"]["retained_all"].values() for v in p.values())  # not 0 ± 0
    assert "retained_all: does not vary" in printed and "retained_all: sobol indices" not in printed
    warned = {o: w for o, w in saved["warnings"].items() if o != "retained_all"}
    assert warned  # four base samples: some S1 lands above its ST
    for o, w in warned.items():
        per = saved["outcomes"][o]
        assert w["parameters"] == [p for p, v in per.items() if v["S1"] > v["ST"]]
        widest = max(v[k] for v in per.values() for k in ("S1_conf", "ST_conf"))
        assert w["samples"] == 4 and w["samples_needed"] == samples_needed(4, widest) > 4
        assert f"samples: {w['samples_needed']}" in " ".join(printed.split())
    for o in set(saved["outcomes"]) - set(saved["warnings"]):  # no warning: no S1 above its ST
        assert all(v["S1"] <= v["ST"] for v in saved["outcomes"][o].values())
