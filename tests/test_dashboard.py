"""Dashboards built from real runs, a comparison and a sweep: what each page holds, escaping, the CLI.

What the pages do in a browser is tested in test_dashboard_browser.py.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_dashboard_data import EVIL_TOPIC, PWNED, learncomm, results_root

from learncomm.roles.setup import DeciderFactory
from learncomm.sim.dashboard import DashboardError, participation_view, write_dashboard, write_index
from learncomm.sim.dashboard.common import esc_wrapped
from learncomm.sim.dashboard.folders import detect
from learncomm.sim.dashboard.run_figures import Bands
from learncomm.sim.runs.run import run_scenario
from learncomm.sim.schema.loading import load_scenario, shipped_scenarios, with_changes


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = results_root(tmp_path_factory.mktemp("dash"))
    write_dashboard(root)
    return root


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_every_kind_is_detected(built: Path) -> None:
    assert detect(built / "roles-seed1") == "run"
    assert detect(built / "cmp") == "comparison"
    assert detect(built / "sweep") == "sweep"
    assert detect(built) == "root"


def test_results_root_gets_every_dashboard_one_plotly_and_an_index(built: Path) -> None:
    for name in ("roles-seed1", "roles-seed2", "roles-seed3", "evil", "cmp", "sweep"):
        assert (built / name / "dashboard.html").is_file(), name
    assert (built / "plotly.min.js").stat().st_size > 1_000_000
    assert not list(built.rglob("*.tmp")) and not list(built.glob("*/plotly.min.js"))  # shared once, no leftovers
    index = text(built / "index.html")
    design = json.loads(text(built / "sweep" / "sweep.json"))["design"]["kind"]
    for name in (
        "roles-seed1/dashboard.html",
        "cmp/dashboard.html",
        "sweep/dashboard.html",
        "community-roles",
        "classroom",
        design,
    ):
        assert name in index, name
    assert "cdn.plot.ly" not in index


def test_run_page_has_every_section_bands_and_no_cdn(built: Path) -> None:
    html = text(built / "roles-seed1" / "dashboard.html")
    assert (
        '<script src="../plotly.min.js"></script>' in html
        and "cdn.plot.ly" not in html
        and "https://" not in html.split("<main>")[0]
    )
    for div in (
        "fig-over-time",
        "fig-equity",
        "fig-participation",
        "fig-retention",
        "fig-lorenz",
        "fig-survival",
        "fig-flow",
        "fig-distributions",
        "fig-topics",
        "fig-network",
        "fig-interventions",
        "fig-llm-cost",
    ):
        assert f'id="{div}"' in html, div
    assert "mean over 3 runs of this scenario (seeds 1, 2, 3)" in html  # the replicates beside it make the bands
    assert "95% band" in html
    assert "All 80 learners" in html  # the network is small enough to show whole
    for field in ("community-roles", "created", "learners", "days", "seed"):
        assert field in html.split("<nav>")[0]


def test_participation_panels_agree_with_the_run_tables(built: Path) -> None:
    """The numbers the panels show, recomputed here from the Parquet tables by other means."""
    run = built / "roles-seed1"
    learners = pd.read_parquet(run / "learners.parquet")
    html = text(run / "dashboard.html")
    head = html.split('id="participation"')[1]
    assert head.index("fig-lorenz") < head.index("fig-survival") < head.index("fig-flow")
    assert html.count("How to read") >= 1 and "Kaplan-Meier curves" in head and "Lorenz curves of public posts" in head
    fig = participation_view.lorenz_figure(learners)
    assert fig is not None
    bands = [t for t in fig.data if t.mode == "markers+text"][-1]  # the 'all learners' panel
    counts = learners["activity_level"].value_counts()
    posts = learners.groupby("activity_level")["posts"].sum()
    expected = [
        f"{counts[lv] / len(learners):.0%} / {posts[lv] / learners['posts'].sum():.0%}"
        for lv in ("lurker", "contributor", "superuser")
        if counts.get(lv, 0)
    ]
    assert list(bands.text) == expected
    assert (learners.loc[learners["activity_level"] == "lurker", "posts"] == 0).all()
    # the survival panel counts the same leavers as the arrivals-and-leavers panel
    surv = participation_view.survival_figure(learners)
    everyone = next(t for t in surv.data if t.name.startswith("all learners"))
    left = int((learners["leaving_day"] >= 0).sum())
    assert f"n={len(learners):,}, {left:,} left" in everyone.name
    flow = participation_view.flow_figure(Bands([pd.read_parquet(run / "timeseries.parquet")]))
    bars = next(t for t in flow.data if t.name == "leavers per day")
    assert sum(v for v in bars.y if v is not None) == pytest.approx(left) and left > 0


def test_llm_and_scenario_text_is_escaped(built: Path) -> None:
    html = text(built / "roles-seed1" / "dashboard.html")
    assert PWNED not in html and "window.__pwned=1</script>" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html  # in the table and (JSON-encoded) in the hover text
    assert html.count("&lt;script&gt;window.__pwned=1") >= 2
    evil = text(built / "evil" / "dashboard.html")
    assert EVIL_TOPIC not in evil and "&lt;img src=x onerror=window.__pwned=2&gt;" in evil
    assert "plain &amp; simple" in evil
    assert esc_wrapped("<b>" * 400).count("&lt;b&gt;") < 400  # long texts are cut in hover labels


def test_one_run_alone_has_no_band_and_a_large_run_is_sampled(tmp_path: Path, built: Path) -> None:
    alone = tmp_path / "alone"
    shutil.copytree(built / "roles-seed2", alone)
    html = text(write_dashboard(alone))
    assert "One run of this scenario, so no band" in html
    res = learncomm("run", "community", "--learners", "3000", "--days", "5", "--out", "big", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Dashboard: big/dashboard.html" in res.stdout
    big = text(tmp_path / "big" / "dashboard.html")
    assert "A sample: 500 of 3,000 learners" in big
    assert "No AI role acted in this run" in big


def test_comparison_page_has_forest_plots_per_group(built: Path) -> None:
    html = text(built / "cmp" / "dashboard.html")
    for div in ("fig-forest-learners", "fig-d", "fig-forest-mechanisms", "fig-forest-community"):
        assert f'id="{div}"' in html
    assert "community − classroom" in html and "3 (0–2)" in html
    for group in ("low confidence", "medium confidence", "high confidence"):
        assert group in html


def sweep_data(page: Path) -> dict:
    return json.loads(
        re.search(r'<script type="application/json" id="sweep-data">(.*?)</script>', text(page), re.S).group(1)
    )


def test_sweep_page_stores_every_choice_once(built: Path) -> None:
    data = sweep_data(built / "sweep" / "dashboard.html")
    runs = pd.read_parquet(built / "sweep" / "summary.parquet")
    ok = runs[runs["status"] == "ok"]
    assert set(data["options"]["knowledge_gain"]) == {"all", "low", "medium", "high"}
    assert data["options"]["equity_gap"] == {"-": "equity_gap"} and data["options"]["confidence_change"] == {
        "low": "confidence_change_low"
    }
    assert set(data["pairs"][0].split("|")) == {"params.alpha_ask", "network.degree"}
    eff = data["outcomes"]["knowledge_gain_low"]["effects"]["params.alpha_ask"]
    means = ok.groupby("params.alpha_ask")["knowledge_gain_low"].mean()  # few distinct values: one point each, no bins
    assert data["axes"]["params.alpha_ask"]["centres"] == pytest.approx(list(means.index))
    assert eff["mean"] == pytest.approx(list(means), abs=1e-5) and sum(eff["n"]) == len(ok)
    assert all(lo <= m <= hi for lo, m, hi in zip(eff["lo"], eff["mean"], eff["hi"], strict=True) if lo is not None)
    assert len(data["outcomes"]["equity_gap"]["values"]) == len(ok)
    assert data["method"] in ("sobol", "morris") and set(data["sensitivity"]["knowledge_gain_low"]) == {
        "params.alpha_ask",
        "network.degree",
    }
    html = text(built / "sweep" / "dashboard.html")
    for div in ("fig-effects", "fig-heat", "fig-parcoords", "fig-sensitivity"):
        assert f'id="{div}"' in html


def test_sweep_page_leaves_out_failed_runs_and_reads_salib_arrays(tmp_path: Path, built: Path) -> None:
    sweep = tmp_path / "sweep"
    shutil.copytree(built / "sweep", sweep, ignore=shutil.ignore_patterns("runs", "dashboard.html"))
    runs = pd.read_parquet(sweep / "summary.parquet")
    failed = runs.iloc[[0]].assign(status="failed", error="boom", knowledge_gain_low=float("nan"))
    pd.concat([runs, failed]).to_parquet(sweep / "summary.parquet", index=False)
    names = list(json.loads((sweep / "sweep.json").read_text())["parameters"])
    (sweep / "sensitivity.json").write_text(
        json.dumps(
            {
                "knowledge_gain_low": {
                    "names": names,
                    "S1": [0.5, 0.1],
                    "S1_conf": [0.05, 0.02],
                    "ST": [0.6, float("nan")],
                    "ST_conf": [0.05, 0.02],
                }
            }
        )
    )
    page = write_dashboard(sweep)
    data = sweep_data(page)
    assert "1 failed, left out" in text(page)
    assert len(data["outcomes"]["knowledge_gain_low"]["values"]) == len(runs)
    assert data["method"] == "sobol" and data["sensitivity"]["knowledge_gain_low"][names[0]] == {
        "S1": 0.5,
        "S1_conf": 0.05,
        "ST": 0.6,
        "ST_conf": 0.05,
    }
    assert data["sensitivity"]["knowledge_gain_low"][names[1]]["ST"] is None  # NaN is stored as null (valid JSON)


def test_embed_puts_plotly_in_the_page(tmp_path: Path, built: Path) -> None:
    run = tmp_path / "r"
    shutil.copytree(built / "evil", run)
    page = write_dashboard(run, embed=True)
    assert (
        page.stat().st_size > 3_000_000
        and "<script src=" not in text(page)
        and not (tmp_path / "plotly.min.js").exists()
    )


def test_bad_paths_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DashboardError, match="no such folder"):
        write_dashboard(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DashboardError, match="not a run, comparison, sweep, model check, calibration or llm eval"):
        write_dashboard(tmp_path / "empty")
    res = learncomm("dashboard", "missing", cwd=tmp_path)
    assert res.returncode == 2 and "no such folder" in res.stderr and "Traceback" not in res.stderr + res.stdout
    (tmp_path / "file.txt").write_text("x")
    res = learncomm("dashboard", "file.txt", cwd=tmp_path)
    assert res.returncode == 2 and "not a folder" in res.stderr and "Traceback" not in res.stderr


def test_cli_dashboard_and_compare_write_pages(tmp_path: Path, built: Path) -> None:
    shutil.copytree(built / "cmp", tmp_path / "results" / "cmp")
    res = learncomm("dashboard", "results/cmp", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "results/cmp/dashboard.html" in res.stdout and (tmp_path / "results" / "plotly.min.js").is_file()
    page = tmp_path / "results" / "cmp" / "dashboard.html"
    made = page.stat().st_mtime_ns
    res = learncomm("dashboard", "results", cwd=tmp_path)
    assert res.returncode == 0 and "results/index.html" in res.stdout
    assert page.stat().st_mtime_ns == made  # newer than its data: kept
    res = learncomm("dashboard", "results", "--force", cwd=tmp_path)
    assert res.returncode == 0 and page.stat().st_mtime_ns > made
    res = learncomm(
        "compare", "self-study", "peer-tutoring", "--seeds", "2", "--learners", "40", "--days", "5", cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    made = next((tmp_path / "results").glob("compare-self-study-vs-peer-tutoring-*"))
    assert (made / "dashboard.html").is_file() and "Dashboard:" in res.stdout
    assert "compare-self-study-vs-peer-tutoring" in text(
        tmp_path / "results" / "index.html"
    )  # the default location updates the index


def test_no_dashboard_skips_it(tmp_path: Path) -> None:
    res = learncomm(
        "run", "community", "--learners", "40", "--days", "3", "--out", "quiet", "--no-dashboard", cwd=tmp_path
    )
    assert (
        res.returncode == 0 and not (tmp_path / "quiet" / "dashboard.html").exists() and "Dashboard" not in res.stdout
    )
    assert not (tmp_path / "plotly.min.js").exists()


def test_write_index_lists_an_empty_folder(tmp_path: Path) -> None:
    page = write_index(tmp_path)
    assert "None yet." in text(page)


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_every_shipped_scenario_gets_a_run_dashboard(tmp_path: Path, name: str) -> None:
    """Smoke: a tiny run of each shipped scenario (AI roles decided by the policy) renders a page with every section."""
    sc = with_changes(load_scenario(name), learners=30, days=8)
    policy = DeciderFactory(override="policy" if sc.roles.active() else None)  # no roles: no decider to name
    run_scenario(sc, seed=1, out=tmp_path / name, deciders=policy)
    html = text(write_dashboard(tmp_path / name))
    for div in (
        "fig-over-time",
        "fig-equity",
        "fig-participation",
        "fig-retention",
        "fig-survival",
        "fig-flow",
        "fig-distributions",
        "fig-network",
    ):
        assert f'id="{div}"' in html, div
    # the only warnings: roles whose first decision falls after these 8 days (a cadence of 14)
    late = {n for n, c in sc.roles.active().items() if c.cadence > 8}
    said = json.loads((tmp_path / name / "summary.json").read_text())["warnings"]
    assert {w["code"] for w in said} <= {"role_never_acted"} and {w["message"].split()[1] for w in said} == late
    html = re.sub(r'<section id="warnings">.*?</section>|<a href="#warnings">Warnings</a>', "", html, flags=re.S)
    assert "could not be rebuilt" not in html and "Warning" not in html
    assert "re-run it" not in html  # every column the Participation panels read is in a fresh run
    learners = pd.read_parquet(tmp_path / name / "learners.parquet")
    posted = learners["posts"].sum() > 0
    assert ('id="fig-lorenz"' in html) == posted and ("Nobody posted in this run" in html) != posted
    if (learners["joined_day"] == 0).all():  # no arrivals: nobody is censored before the end, so the
        # Kaplan-Meier curve of everyone ends at the share who stayed
        surv = participation_view.survival_figure(learners)
        everyone = next(t for t in surv.data if t.name.startswith("all learners"))
        assert everyone.y[-1] == pytest.approx((learners["leaving_day"] < 0).mean(), abs=1e-4)
        assert everyone.x[-1] == 8
