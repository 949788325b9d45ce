"""Subgroups and per-learner paired effects of `compare`: numbers from a small real comparison checked against an
independent pandas computation from the stored Parquet, identical scenarios, a known harm, pairing, CLI errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from learncomm.sim.runs.compare import Comparison, compare, save_comparison
from learncomm.sim.runs.paired import TOLERANCE
from learncomm.sim.runs.run import run_scenario
from learncomm.sim.runs.subgroups import GroupError, check_expression, evaluate, parse_spec
from learncomm.sim.schema.loading import load_scenario, with_changes
from learncomm.sim.schema.scenario import Scenario
from learncomm.sim.schema.vocab import LEARNER_OUTCOMES

LEARNCOMM = [sys.executable, "-m", "learncomm"]
SEEDS = [0, 1, 2]


def learncomm(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LEARNCOMM, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def clean_error(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    for n in needles:
        assert n in res.stderr, res.stderr


def scenarios() -> tuple[Scenario, Scenario]:
    """A: the low-access community with in-person meetups; B: the same with online meetups, which the low-access
    learners (online one day in three) miss: a known harm to one access class."""
    b = with_changes(load_scenario("low-access"), days=30, learners=150)
    a = b.model_copy(update={"meetups": b.meetups.model_copy(update={"format": "in_person"}), "name": "in-person"})
    return a, b


@pytest.fixture(scope="module")
def harm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Comparison, Path]:
    a, b = scenarios()
    spec = parse_spec(["access_class", "confidence_group"], ["shy=confidence_initial < 0.3"])
    result = compare(a, b, SEEDS, spec=spec)
    folder = tmp_path_factory.mktemp("cmp") / "harm"
    save_comparison(result, folder, {"a": "in-person", "b": "low-access"})
    return result, folder


def test_per_learner_differences_are_the_runs_differences(harm: tuple[Comparison, Path]) -> None:
    """per_learner.parquet against two separate runs joined by learner id in pandas."""
    _, folder = harm
    pl = pd.read_parquet(folder / "per_learner.parquet")
    a, b = scenarios()
    la, lb = run_scenario(a, seed=1).learners, run_scenario(b, seed=1).learners
    joined = la.merge(lb, on="learner_id", suffixes=("_a", "_b"))
    mine = pl[pl["seed"] == 1].set_index("learner_id").loc[joined["learner_id"]]
    assert len(mine) == 150 and mine["paired"].all()
    for o in LEARNER_OUTCOMES:
        want = joined[f"{o}_b"].astype(float).to_numpy() - joined[f"{o}_a"].astype(float).to_numpy()
        np.testing.assert_allclose(mine[f"{o}_diff"].to_numpy(), want, rtol=0, atol=1e-12)
    assert (mine["access_class"].to_numpy() == joined["access_class_a"].to_numpy()).all()


def test_shares_and_intervals_match_pandas(harm: tuple[Comparison, Path]) -> None:
    """comparison.parquet and per_seed.parquet recomputed from per_learner.parquet with pandas and scipy."""
    _, folder = harm
    pl = pd.read_parquet(folder / "per_learner.parquet")
    table = pd.read_parquet(folder / "comparison.parquet")
    per_seed = pd.read_parquet(folder / "per_seed.parquet")
    o, tol = "days_present", TOLERANCE["days_present"]
    checks = {
        "access_class=low-access": pl["access_class"] == "low-access",
        "access_class=low-access & confidence_group=low": (pl["access_class"] == "low-access")
        & (pl["confidence_group"] == "low"),
        "shy": pl["groups"].map(lambda g: "shy" in list(g)),
    }
    for group, mask in checks.items():
        sub = pl[mask & pl["paired"]]
        worse = sub.groupby("seed")[f"{o}_diff"].apply(lambda d: float((d < -tol - 1e-12).mean()))
        better = sub.groupby("seed")[f"{o}_diff"].apply(lambda d: float((d > tol + 1e-12).mean()))
        seeds = per_seed[(per_seed["group"] == group) & (per_seed["outcome"] == o)].set_index("seed")
        np.testing.assert_allclose(seeds.loc[worse.index, "share_worse"], worse.to_numpy())
        np.testing.assert_allclose(seeds.loc[better.index, "share_better"], better.to_numpy())
        assert (seeds["paired"] == sub.groupby("seed").size()).all()
        row = table[(table["group"] == group) & (table["outcome"] == o)].iloc[0]
        lo, hi = stats.t.interval(0.95, len(worse) - 1, loc=worse.mean(), scale=stats.sem(worse))
        assert row["share_worse"] == pytest.approx(worse.mean())
        assert row["share_worse_low"] == pytest.approx(max(lo, 0.0)) and row["share_worse_high"] == pytest.approx(
            min(hi, 1.0)
        )
        q = np.quantile(sub[f"{o}_diff"], [0.1, 0.5, 0.9])
        assert [row["diff_q10"], row["diff_q50"], row["diff_q90"]] == pytest.approx(list(q))
        assert row["paired"] == pytest.approx(sub.groupby("seed").size().mean())
        assert row["learners_a"] == pytest.approx(mask.groupby(pl["seed"]).sum().mean())


def test_a_known_harm_shows_in_the_harmed_group(harm: tuple[Comparison, Path]) -> None:
    """Online meetups leave the low-access learners behind (fewer meetups, fewer days), not the connected ones."""
    result, _ = harm
    t = result.table.set_index(["group", "outcome"])
    low, conn = t.loc[("access_class=low-access", "meet")], t.loc[("access_class=connected", "meet")]
    assert low["share_worse"] > 0.05 and low["share_worse_low"] > 0, low.to_dict()
    assert conn["share_worse"] < low["share_worse"] / 3, conn.to_dict()
    ranked = result.table[result.table["outcome"] == "meet"].sort_values("share_worse", ascending=False)
    assert ranked.iloc[0]["group"].startswith("access_class=low-access")


def test_trajectories_agree_with_the_timeseries(harm: tuple[Comparison, Path]) -> None:
    """The per-group trajectory of a confidence group is the run's own knowledge_<group> and motivation_<group>."""
    _, folder = harm
    tr = pd.read_parquet(folder / "trajectories.parquet")
    a, b = scenarios()
    ts = run_scenario(b, seed=2).timeseries
    for group, scope in (("all", "all"), ("confidence_group=low", "low")):
        mine = tr[(tr["seed"] == 2) & (tr["scenario"] == "B") & (tr["group"] == group)].sort_values("day")
        np.testing.assert_allclose(mine["knowledge"], ts[f"knowledge_{scope}"], rtol=1e-12)
        np.testing.assert_allclose(mine["motivation"], ts[f"motivation_{scope}"], rtol=1e-12)
    assert set(tr["group"]) >= {"shy", "access_class=low-access & confidence_group=high"}


def test_identical_scenarios_leave_everyone_unchanged() -> None:
    sc = with_changes(load_scenario("community"), days=20, learners=80)
    t = compare(sc, sc, [0, 1], spec=parse_spec(["cohort"], ["askers=ask > 0"])).table
    rows = t[t["kind"] == "learners"]
    assert set(rows["group"]) >= {"all", "cohort=founder", "askers"}
    assert (rows["share_unchanged"] == 1.0).all() and (rows["share_worse"] == 0).all()
    assert (rows[["diff_q10", "diff_q50", "diff_q90"]].to_numpy() == 0).all()


def test_a_changed_population_is_not_paired() -> None:
    """Another access mean changes the population's later draws: learner i is someone else in B, so only learners
    whose drawn attributes are the same in both runs are paired (counted here independently, by a pandas join)."""
    a = with_changes(load_scenario("low-access"), days=10, learners=60)
    acc = [a.population.access[0], a.population.access[1].model_copy(update={"mean": 0.1})]
    b = a.model_copy(update={"population": a.population.model_copy(update={"access": acc})})
    result = compare(a, b, [0, 1])
    same = 0
    for seed in (0, 1):
        j = run_scenario(a, seed=seed).learners.merge(run_scenario(b, seed=seed).learners, on="learner_id")
        same += int(
            (
                (j["confidence_group_x"] == j["confidence_group_y"])
                & (j["access_class_x"] == j["access_class_y"])
                & (j["knowledge_initial_x"] == j["knowledge_initial_y"])
                & (j["confidence_initial_x"] == j["confidence_initial_y"])
                & (j["motivation_initial_x"] == j["motivation_initial_y"])
            ).sum()
        )
    assert result.pairing["paired"] == same and result.pairing["unpaired"] == 120 - same > 0
    row = result.table.set_index(["group", "outcome"]).loc[("all", "knowledge_gain")]
    assert row["paired"] == pytest.approx(same / 2)


def test_group_expressions_are_checked_before_they_run() -> None:
    frame = pd.DataFrame(
        {
            "access": [0.2, 0.9, 0.5],
            "knowledge_final:a b": [0.1, 0.5, 0.9],
            "communities": [np.array(["x", "y"]), np.array(["y"]), np.array([], dtype=object)],
        }
    )
    assert evaluate("access < 0.6", frame, "t").tolist() == [True, False, True]
    assert evaluate("\"knowledge_final:a b\" > 0.3 and list_contains(communities, 'y')", frame, "t").tolist() == [
        False,
        True,
        False,
    ]
    assert evaluate("access > 2 or null", frame, "t").tolist() == [False, False, False]
    for bad, needle in (
        ("access < 0.5; select 1", "';'"),
        ("(select 1) = 1", "'select'"),
        ("read_csv('/etc/passwd') is null", "read_csv"),
        ("access -- comment", "comments"),
        ("nosuch > 1", "'nosuch' is not a learners column"),
        ("access + 1", "true/false"),
        ("", "empty"),
    ):
        with pytest.raises(GroupError, match=needle.replace("(", r"\(")):
            evaluate(bad, frame, "--group g")
    check_expression("nosuch > 1", None, "t")  # columns are only known once a run exists


def test_run_summary_splits_by_confidence_group_and_access_class(tmp_path: Path) -> None:
    sc = with_changes(load_scenario("low-access"), days=10, learners=80)
    run_scenario(sc, seed=3, out=tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    rows = pd.DataFrame(summary["subgroups"]["confidence_group x access_class"])
    learners = pd.read_parquet(tmp_path / "run" / "learners.parquet")
    want = learners.groupby(["confidence_group", "access_class"]).agg(
        learners=("learner_id", "size"), knowledge_gain=("knowledge_gain", "mean"), retained=("retained", "mean")
    )
    got = rows.set_index(["confidence_group", "access_class"]).loc[want.index]
    assert (got["learners"] == want["learners"]).all() and got["learners"].sum() == len(learners)
    np.testing.assert_allclose(got["knowledge_gain"], want["knowledge_gain"])
    np.testing.assert_allclose(got["retained"], want["retained"].astype(float))


# ---- the command --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--group", "lo"], ["--group lo: no such group", "low"]),
        (["--by", "shoe_size"], ["--by shoe_size", "access_class"]),
        (["--by", "stage", "--by", "cohort", "--by", "community"], ["at most 2"]),
        (["--group", "x=(select 42) > 1"], ["'select' is not allowed"]),
        (["--group", "x=read_parquet('y') is null"], ["function 'read_parquet' is not allowed"]),
        (["--group", "x=access < 0.5; drop table t"], ["';' is not allowed"]),
        (["--outcome", "happiness"], ["--outcome happiness"]),
        (["--group", "low=access < 0.5"], ["the name low is taken"]),
    ],
)
def test_cli_group_errors_before_any_run(tmp_path: Path, args: list[str], needles: list[str]) -> None:
    res = learncomm(
        "compare",
        "community",
        "classroom",
        "--seeds",
        "2",
        "--out",
        str(tmp_path / "c"),
        *args,
        cwd=tmp_path,
        timeout=60,
    )
    clean_error(res, *needles)
    assert not (tmp_path / "c").exists()


def test_cli_group_matching_nobody_fails_and_leaves_no_folder(tmp_path: Path) -> None:
    args = ["--seeds", "2", "--days", "5", "--learners", "30", "--out", str(tmp_path / "c")]
    res = learncomm("compare", "community", "community", *args, "--group", "nobody=learner_id < 0", cwd=tmp_path)
    clean_error(res, "--group nobody=learner_id < 0: matches no learner")
    assert not (tmp_path / "c").exists()
    res = learncomm("compare", "community", "community", *args, "--group", "ghost=nosuch > 1", cwd=tmp_path)
    clean_error(res, "'nosuch' is not a learners column")


def test_cli_prints_group_sizes_and_who_is_left_behind_and_query_reads_it(tmp_path: Path) -> None:
    out = tmp_path / "c"
    res = learncomm(
        "compare",
        "community",
        "community",
        "--seeds",
        "2",
        "--days",
        "8",
        "--learners",
        "40",
        "--by",
        "confidence_group",
        "--group",
        "confidence_group=low",
        "--out",
        str(out),
        "--no-dashboard",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "low (n =" in res.stdout and "Whom does community leave behind" in res.stdout
    assert "medium (n =" not in res.stdout  # --group NAME prints that group's table only
    for name in ("comparison", "per_seed", "per_learner", "trajectories"):
        assert (out / f"{name}.parquet").is_file()
    res = learncomm("query", str(out), "select count(*) as n, sum(paired::int) as p from per_learner", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "80" in res.stdout.split("┃")[-1] or " 80 " in res.stdout


def test_a_comparison_folder_from_before_gets_a_note_not_an_error(
    harm: tuple[Comparison, Path], tmp_path: Path
) -> None:
    from learncomm.sim.dashboard.compare_page import build_comparison

    _, folder = harm
    old = tmp_path / "old"
    old.mkdir()
    t = pd.read_parquet(folder / "comparison.parquet")
    t[["group", "outcome", "kind", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "d", "d_kind", "seeds"]].to_parquet(
        old / "comparison.parquet"
    )
    html = build_comparison(old).read_text()
    assert "was written before per-learner effects were stored" in html and 'id="fig-left-behind"' not in html
    html = build_comparison(folder).read_text()
    for fig in ("fig-left-behind", "fig-individual", "fig-trajectories", "fig-trajectories-motivation"):
        assert f'id="{fig}"' in html


def test_numbers_that_round_to_zero_print_without_a_sign() -> None:
    from learncomm.sim.cli.tables import _fmt

    assert (_fmt(-0.0001), _fmt(-0.004, 2), _fmt(-1.25, 1), _fmt(float("nan"))) == ("0.000", "0.00", "-1.2", "–")
