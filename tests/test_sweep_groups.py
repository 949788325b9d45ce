"""Sweep summaries split by subgroup (`learncomm sweep --by ATTR --group NAME=EXPR`, groups.parquet): values
equal an independent pandas computation from the runs' learners.parquet; resume with the same, no or another --by;
bad --by/--group exit 2 with a clean error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_sweep_run import cli

from learncomm.sim.schema.vocab import LEARNER_OUTCOMES

SWEEP = """# 2 points x 2 replicates of a small low-access community.
base: low-access
fixed: {days: 10, learners: 60}
design: grid
replicates: 2
seed: 5
parameters:
  params.alpha_ask: {values: [0.1, 0.4]}
"""
BY = ["--by", "access_class", "--by", "confidence_group"]
PATCHY = ["--group", "patchy=access < 0.5 and confidence_initial < 0.5"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sweepgroups")
    (root / "sweep-groups.yaml").write_text(SWEEP)
    res = cli("sweep", "sweep-groups.yaml", "--out", "sw", "--workers", "2", *BY, *PATCHY, cwd=root, timeout=400)
    assert res.returncode == 0, res.stderr
    assert "Subgroups:" in res.stdout and "groups.parquet" in res.stdout
    return root


def expected(folder: Path, by: list[str], custom: dict[str, str]) -> pd.DataFrame:
    """The same table computed independently: pandas over every run's learners.parquet (the expression in pandas
    syntax), one row per (point, seed, group)."""
    rows = []
    for f in sorted((folder / "runs").glob("point=*/seed=*/learners.parquet")):
        point, seed = int(f.parent.parent.name.split("=")[1]), int(f.parent.name.split("=")[1])
        df = pd.read_parquet(f)
        df["retained"] = df["retained"].astype(float)
        parts = [("all", df)]
        for attr in by:
            parts += [(f"{attr}={v}", g) for v, g in df.groupby(attr)]
        if len(by) == 2:
            parts += [(f"{by[0]}={x} & {by[1]}={y}", g) for (x, y), g in df.groupby(by)]
        parts += [(name, df.query(q)) for name, q in custom.items()]
        for name, g in parts:
            if len(g):
                rows.append(
                    {"point": point, "seed": seed, "subgroup": name, "learners": len(g)}
                    | {o: float(g[o].mean()) for o in LEARNER_OUTCOMES}
                )
    return pd.DataFrame(rows).sort_values(["point", "seed", "subgroup"]).reset_index(drop=True)


def stored(folder: Path) -> pd.DataFrame:
    t = pd.read_parquet(folder / "groups.parquet")
    return t.sort_values(["point", "seed", "subgroup"]).reset_index(drop=True)


def test_groups_equal_an_independent_pandas_computation(swept: Path) -> None:
    folder = swept / "sw"
    got, want = (
        stored(folder),
        expected(folder, ["access_class", "confidence_group"], {"patchy": "access < 0.5 and confidence_initial < 0.5"}),
    )
    assert len(got) == len(want) > 4 * 8  # all, 2 classes, 3 groups, crossings, patchy per run
    assert list(got["subgroup"]) == list(want["subgroup"])
    assert (got["learners"].to_numpy() == want["learners"].to_numpy()).all()
    for o in LEARNER_OUTCOMES:
        np.testing.assert_allclose(got[o].to_numpy(float), want[o].to_numpy(float), rtol=1e-12, err_msg=o)
    assert set(got["subgroup"]) >= {
        "patchy",
        "access_class=low-access",
        "access_class=low-access & confidence_group=low",
    }
    # the parameters and the attribute values the group fixes are on the row
    runs = pd.read_parquet(folder / "summary.parquet")
    joined = got.merge(runs[["point", "seed", "params.alpha_ask"]], on=["point", "seed"], suffixes=("", "_runs"))
    assert (joined["params.alpha_ask"] == joined["params.alpha_ask_runs"]).all()
    cross = got[got["subgroup"] == "access_class=low-access & confidence_group=low"]
    assert (cross["access_class"] == "low-access").all() and (cross["confidence_group"] == "low").all()
    only = got[got["subgroup"] == "access_class=low-access"]
    assert only["confidence_group"].isna().all()
    assert json.loads((folder / "groups.json").read_text()) == {
        "by": ["access_class", "confidence_group"],
        "custom": {"patchy": "access < 0.5 and confidence_initial < 0.5"},
    }


def test_query_reads_the_groups_view(swept: Path) -> None:
    res = cli(
        "query", "sw",
        "select count(*) as n from groups where subgroup = 'patchy' and learners > 0", cwd=swept,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "4" in res.stdout.split("n", 1)[1]


def test_resume_keeps_recomputes_or_changes_the_groups(swept: Path, tmp_path: Path) -> None:
    folder = tmp_path / "sw"
    shutil.copytree(swept / "sw", folder)
    before = stored(folder)
    # the same --by: nothing runs, the same table
    same = cli(
        "sweep", str(swept / "sweep-groups.yaml"), "--out", str(folder), *BY, *PATCHY, "--no-dashboard", cwd=tmp_path
    )
    assert same.returncode == 0, same.stderr
    assert "4 complete runs kept" in same.stdout
    pd.testing.assert_frame_equal(stored(folder), before)
    # no --by: the groups asked for before are kept
    (folder / "groups.parquet").unlink()
    kept = cli("sweep", str(swept / "sweep-groups.yaml"), "--out", str(folder), "--no-dashboard", cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert "Subgroups (as the last --by/--group asked, groups.json)" in " ".join(kept.stdout.split())
    pd.testing.assert_frame_equal(stored(folder), before)
    # another --by: recomputed from the runs' learners.parquet, no run redone
    other = cli(
        "sweep", str(swept / "sweep-groups.yaml"), "--out", str(folder), "--by", "stage", "--no-dashboard", cwd=tmp_path
    )
    assert other.returncode == 0, other.stderr
    assert "0 ran now" in other.stdout
    got, want = stored(folder), expected(folder, ["stage"], {})
    assert list(got["subgroup"]) == list(want["subgroup"]) and "patchy" not in set(got["subgroup"])
    np.testing.assert_allclose(got["knowledge_gain"], want["knowledge_gain"], rtol=1e-12)
    assert "stage" in got.columns and "access_class" not in got.columns


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "shoe_size"], "--by shoe_size: not a learner attribute; expected one of confidence_group"),
        (["--by", "stage", "--by", "cohort", "--by", "community"], "at most 2 attributes"),
        (["--group", "lo"], "--group lo: a sweep defines groups"),
        (["--group", "x=select 1"], "'select' is not allowed"),
    ],
)
def test_bad_by_or_group_is_a_clean_error_before_any_run(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "s.yaml").write_text(SWEEP)
    res = cli("sweep", "s.yaml", "--out", "sw", *args, cwd=tmp_path)
    assert res.returncode == 2
    assert message in " ".join(res.stderr.split()) and "Traceback" not in res.stderr
    assert not (tmp_path / "sw").exists()


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ("none=access > 5", "--group none=access > 5: matches no learner in any run of the sweep"),
        ("bad=shoe_size > 1", "'shoe_size' is not a learners column"),
    ],
)
def test_a_group_nobody_is_in_or_a_bad_column_exits_2_and_keeps_the_runs(
    swept: Path, tmp_path: Path, group: str, message: str
) -> None:
    folder = tmp_path / "sw"
    shutil.copytree(swept / "sw", folder)
    before = stored(folder)
    res = cli(
        "sweep",
        str(swept / "sweep-groups.yaml"),
        "--out",
        str(folder),
        "--group",
        group,
        "--no-dashboard",
        cwd=tmp_path,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert message in " ".join(res.stderr.split())
    pd.testing.assert_frame_equal(stored(folder), before)  # nothing half-written
    assert len(list((folder / "runs").glob("point=*/seed=*/learners.parquet"))) == 4


def test_sweep_page_draws_each_groups_means_against_the_parameter(swept: Path) -> None:
    from learncomm.sim.dashboard.sweep_data import read_sweep_results
    from learncomm.sim.dashboard.sweep_groups_view import figure, groups_section

    folder = swept / "sw"
    html = (folder / "dashboard.html").read_text()
    assert 'id="subgroups"' in html and 'id="fig-subgroups"' in html
    d = read_sweep_results(folder)
    assert groups_section(d) is not None
    t = pd.read_parquet(folder / "groups.parquet")
    shown = ["all", "access_class=low-access", "patchy"]
    fig = figure(t, d, ["params.alpha_ask"], list(LEARNER_OUTCOMES), shown)
    want = t.groupby(["subgroup", "params.alpha_ask"])["knowledge_gain"].mean()
    for trace, g in zip(fig.data, shown, strict=True):
        assert trace.name == g and list(trace.x) == [0.1, 0.4]
        np.testing.assert_allclose(trace.y, [want[(g, 0.1)], want[(g, 0.4)]], atol=1e-5)
    # the menu's second outcome restyles every line to that outcome's means
    [menu] = fig.layout.updatemenus
    assert menu.buttons[1].label == "confidence change"
    ys = menu.buttons[1].args[0]["y"]
    conf = t.groupby(["subgroup", "params.alpha_ask"])["confidence_change"].mean()
    np.testing.assert_allclose(ys[0], [conf[("all", 0.1)], conf[("all", 0.4)]], atol=1e-5)


def test_sweep_page_without_groups_has_no_subgroup_panel(tmp_path: Path, swept: Path) -> None:
    from learncomm.sim.dashboard.sweep_data import read_sweep_results
    from learncomm.sim.dashboard.sweep_groups_view import groups_section

    folder = tmp_path / "sw"
    shutil.copytree(swept / "sw", folder)
    (folder / "groups.parquet").unlink()
    assert groups_section(read_sweep_results(folder)) is None
