"""Sweep files: clear file:line errors with nothing written, the shipped examples, paths and values checked up front."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from learncomm.sim.cli import app
from learncomm.sim.schema.loading import ScenarioError, shipped_scenarios
from learncomm.sim.sweeps.plan import load_sweep, shipped_sweeps

BAD = {
    "unknown-key": (
        "base: community\nparameters:\n  learners: {values: [10]}\nreplicate: 3\n",
        ["unknown-key.yaml:4", "replicate", "unknown field"],
    ),
    "scenario-field-at-the-top": (  # a scenario's field belongs under fixed: (not "did you mean learners?")
        "base: community\nlearners: 100\nparameters:\n  params.alpha_ask: {values: [0.1]}\n",
        ["scenario-field-at-the-top.yaml:2", "a field of a sweep file", "`learners` is a scenario field", "fixed:"],
    ),
    "bad-path": (
        "base: community\nparameters:\n  params.alpha_askk: {values: [0.1]}\n",
        ["bad-path.yaml:3", "params.alpha_askk", "not a field of params"],
    ),
    "bad-role-path": (
        "base: community\nparameters:\n  learners: {values: [10]}\n  roles.ideator.cadense: {values: [3]}\n",
        ["bad-role-path.yaml:4", "roles.ideator.cadense", "cadence"],
    ),
    "low-above-high": (
        "base: community\ndesign: random\nsamples: 4\nparameters:\n  params.alpha_ask: {low: 0.5, high: 0.1}\n",
        ["low-above-high.yaml:5", "params.alpha_ask", "low must be below high"],
    ),
    "sobol-without-ranges": (
        "base: community\ndesign: sobol\nsamples: 8\nparameters:\n  params.alpha_ask: {values: [0.1, 0.2]}\n",
        ["sobol-without-ranges.yaml:5", "params.alpha_ask", "needs every parameter as a range"],
    ),
    "unknown-outcome": (
        "base: community\nparameters:\n  learners: {values: [10]}\noutcomes:\n  - knowledge_gain_all\n  - "
        "knowledge_gain_lo\n",
        ["unknown-outcome.yaml:6", "knowledge_gain_lo", "valid: knowledge_gain_all"],
    ),
    "grid-range-without-levels": (
        "base: community\nparameters:\n  network.rewiring: {low: 0, high: 1}\n",
        ["grid-range-without-levels.yaml:3", "levels: N"],
    ),
    "sobol-not-power-of-2": (
        "base: community\ndesign: sobol\nsamples: 10\nparameters:\n  network.rewiring: {low: 0, high: 1}\n",
        ["sobol-not-power-of-2.yaml:3", "power of 2"],
    ),
    "invalid-point": (
        "base: community\nparameters:\n  days: {values: [5]}\n  learners: {values: [60, 1]}\n",
        ["invalid-point.yaml:4", "point 1", "learners=1", "greater than or equal to 2"],
    ),
    "no-base": (
        "base: no-such-scenario\nparameters:\n  learners: {values: [10]}\n",
        ["no-base.yaml:1", "no-such-scenario", "shipped"],
    ),
    "bad-fixed": (
        "base: community\nfixed: {params.alpha_ask: 3}\nparameters:\n  learners: {values: [10]}\n",
        ["bad-fixed.yaml:2", "fixed", "less than or equal to 1"],
    ),
    "swept-seed": (  # issue 12 item 4: the swept seed was ignored, then the summary crashed (two seed columns)
        "base: community\nparameters:\n  days: {values: [5]}\n  seed: {values: [1, 2]}\n",
        ["swept-seed.yaml:4", "parameters.seed", "cannot be swept", "replicates"],
    ),
    "fixed-seed": (
        "base: community\nfixed: {seed: 3}\nparameters:\n  days: {values: [5]}\n",
        ["fixed-seed.yaml:2", "fixed.seed", "cannot be swept or fixed"],
    ),
    "sampled-without-samples": (
        "base: community\ndesign: latin_hypercube\nparameters:\n  network.rewiring: {low: 0, high: 1}\n",
        ["sampled-without-samples.yaml", "samples"],
    ),
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_sweep_file_gives_clear_error_and_writes_nothing(tmp_path: Path, runner: CliRunner, name: str) -> None:
    text, expected = BAD[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    res = runner.invoke(app, ["sweep", str(path), "--no-dashboard", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    for piece in expected:
        assert piece in res.output, (piece, res.output)
    assert not (tmp_path / "out").exists()


def test_base_path_is_relative_to_the_sweep_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "club.yaml").write_text("name: club\nlearners: 30\ndays: 5\n")
    (tmp_path / "sub" / "s.yaml").write_text(
        "base: club.yaml\nparameters:\n  roles.ideator.cadence: {values: [2, 5]}\n  network.rewiring: {values: [0.0]}\n"
    )
    plan = load_sweep(tmp_path / "sub" / "s.yaml")
    assert plan.base.name == "club" and len(plan.runs()) == 2
    assert (
        plan.scenario(1).roles.ideator is not None and plan.scenario(1).roles.ideator.cadence == 5
    )  # roles addressed by path


def test_learners_scales_communities_like_the_run_command(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("base: band\nparameters:\n  learners: {values: [40, 400]}\n")
    plan = load_sweep(path)
    small, big = plan.scenario(0), plan.scenario(1)
    assert sum(c.members or 0 for c in big.communities) > 5 * sum(c.members or 0 for c in small.communities)


def test_shipped_sweeps_are_valid_and_not_listed_as_scenarios(runner: CliRunner) -> None:
    sweeps = shipped_sweeps()
    assert len(sweeps) >= 3
    assert not any(name.startswith("sweep-") for name in shipped_scenarios())
    for name, path in sweeps.items():
        first = path.read_text().splitlines()[0]
        assert first.startswith("# ") and first.endswith("?") or "?" in first, (name, first)
        plan = load_sweep(path)
        assert len(plan.runs()) > 1
    res = runner.invoke(app, ["scenarios"])
    assert "sweep" not in res.output and "community" in res.output
    res = runner.invoke(app, ["sweep", "network-rewiring", "--dry-run"])
    assert res.exit_code == 0 and "18 points" in res.output


def test_changed_sweep_file_is_refused_unless_forced(tmp_path: Path, runner: CliRunner) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "base: community\nfixed: {days: 3, learners: 20}\nparameters:\n  params.alpha_ask: {values: [0.1]}\n"
    )
    out = tmp_path / "out"
    assert (
        runner.invoke(app, ["sweep", str(path), "--no-dashboard", "--out", str(out), "--workers", "1"]).exit_code == 0
    )
    path.write_text(
        "base: community\nfixed: {days: 3, learners: 20}\nparameters:\n  params.alpha_ask: {values: [0.1, 0.2]}\n"
    )
    res = runner.invoke(app, ["sweep", str(path), "--no-dashboard", "--out", str(out), "--workers", "1"])
    assert res.exit_code == 2 and "different sweep" in res.output and "points" in res.output and "--force" in res.output
    assert len(list((out / "runs").glob("point=*/seed=*"))) == 1  # nothing ran, nothing removed
    res = runner.invoke(app, ["sweep", str(path), "--no-dashboard", "--out", str(out), "--workers", "1", "--force"])
    assert res.exit_code == 0, res.output
    assert len(list((out / "runs").glob("point=*/seed=*"))) == 2


def test_unrelated_existing_folder_is_refused(tmp_path: Path, runner: CliRunner) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "base: community\nfixed: {days: 3, learners: 20}\nparameters:\n  params.alpha_ask: {values: [0.1]}\n"
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious.txt").write_text("keep me")
    res = runner.invoke(app, ["sweep", str(path), "--no-dashboard", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "not a sweep folder" in res.output
    assert (tmp_path / "out" / "precious.txt").read_text() == "keep me"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["precious.txt"]


def test_scheduler_without_dask_gives_install_hint(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "base: community\nfixed: {days: 3, learners: 20}\nparameters:\n  params.alpha_ask: {values: [0.1]}\n"
    )
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    res = runner.invoke(
        app, ["sweep", str(path), "--no-dashboard", "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"]
    )
    assert res.exit_code == 2 and "pip install 'learncomm[dask]'" in res.output
    assert not (tmp_path / "out").exists()


def test_load_sweep_reports_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such sweep file"):
        load_sweep(tmp_path / "nope.yaml")
