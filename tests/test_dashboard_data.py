"""Real results folders for the dashboard tests (and benchmarks/bench_dashboard.py): small runs, a comparison, a sweep.

The builders are shared by test_dashboard.py and test_dashboard_browser.py and
cached per session, so the runs are made once; the tests at the end check the
numbers the pages are built from (issue 13's data-level bugs).
The sweep is made by `learncomm sweep` and `learncomm sensitivity` when those
commands exist; otherwise a sweep folder in the agreed format is assembled
from real `run_scenario` runs.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from learncomm.sim.runs.run import run_scenario
from learncomm.sim.schema.loading import load_scenario, with_changes
from learncomm.sim.schema.vocab import LEARNER_OUTCOMES

LEARNCOMM = [sys.executable, "-m", "learncomm"]
PWNED = "<script>window.__pwned=1</script>"
EVIL_TOPIC = "<img src=x onerror=window.__pwned=2>"
SCOPES = ("all", "low", "medium", "high")
_CACHE: dict[str, Path] = {}


def learncomm(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LEARNCOMM, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )


def inject_text(run_dir: Path, text: str = PWNED, row: int = 0) -> None:
    """Replace one recorded decision's text, as a misbehaving language model might have written it."""
    path = run_dir / "interventions.parquet"
    table = pq.read_table(path)
    texts = table.column("text").to_pylist()
    texts[row] = text
    pq.write_table(table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts, pa.string())), path)


def outcome_row(summary: dict[str, Any]) -> dict[str, float]:
    """A run's outcomes as sweep columns: <learner outcome>_<scope> and the community outcomes."""
    out = {f"{k}_{s}": float(summary["groups"][s][k]) for k in LEARNER_OUTCOMES for s in SCOPES}
    out.update({k: float(summary["community"][k]) for k in ("equity_gap", "active_learners", "posts_gini")})
    return out


def sweep_command_exists(cwd: Path) -> bool:
    return learncomm("sweep", "--help", cwd=cwd, timeout=60).returncode == 0


SWEEP_FILE = """# A tiny Morris screening for the dashboard tests
name: tiny
base: community
fixed: {days: 20, learners: 60}
design: morris
samples: 4
morris_levels: 4
replicates: 2
seed: 1
parameters:
  params.alpha_ask: {low: 0.05, high: 0.5}
  network.degree: {low: 4, high: 8, integer: true}
outcomes: [knowledge_gain_all, knowledge_gain_low, knowledge_gain_medium, knowledge_gain_high, confidence_change_low,
  retained_all, equity_gap]
"""


def real_sweep(base: Path, out: Path) -> Path:
    """`learncomm sweep` (12 points x 2 replicates of 60 learners x 20 days) and `learncomm sensitivity` (Morris)."""
    (base / "tiny-sweep.yaml").write_text(SWEEP_FILE)
    res = learncomm("sweep", "tiny-sweep.yaml", "--out", str(out), "--workers", "2", cwd=base)
    assert res.returncode == 0, res.stderr
    res = learncomm("sensitivity", str(out), cwd=base)
    assert res.returncode == 0, res.stderr
    return out


def assemble_sweep(out: Path, grid: dict[str, list[Any]], seeds: list[int], learners: int = 60, days: int = 20) -> Path:
    """A sweep folder in the agreed format from real runs of `community`: sweep.json, summary.parquet, sensitivity.json,
    runs/point=/seed=/."""
    base = load_scenario("community")
    points = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    rows = []
    for i, values in enumerate(points):
        sc = with_changes(load_scenario("community", values), learners=learners, days=days)
        for rep, seed in enumerate(seeds):
            res = run_scenario(sc, seed=seed, out=out / "runs" / f"point={i:05d}" / f"seed={seed}")
            rows.append(
                {
                    "point": i,
                    "replicate": rep,
                    "seed": seed,
                    "status": "ok",
                    "error": None,
                    **values,
                    **outcome_row(res.summary),
                }
            )
    rows.append(
        {
            "point": len(points) - 1,
            "replicate": len(seeds),
            "seed": 999,
            "status": "failed",
            "error": "boom",
            **points[-1],
        }
    )  # a failed run is left out
    table = pd.DataFrame(rows)
    outcomes = [c for c in table.columns if c not in ("point", "replicate", "seed", "status", "error", *grid)]
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), out / "summary.parquet")
    record = {
        "name": "test-sweep",
        "base": {
            "source": "community",
            "scenario": {**base.model_dump(mode="json"), "learners": learners, "days": days},
        },
        "design": {"kind": "grid"},
        "parameters": {p: {"values": v} for p, v in grid.items()},
        "replicates": len(seeds),
        "seeds": seeds,
        "points": [{"point": i, "values": v} for i, v in enumerate(points)],
        "outcomes": [
            "knowledge_gain_all",
            "knowledge_gain_low",
            "knowledge_gain_medium",
            "knowledge_gain_high",
            "confidence_change_low",
            "retained_all",
            "equity_gap",
        ],
    }
    (out / "sweep.json").write_text(json.dumps(record, indent=2))
    (out / "sensitivity.json").write_text(
        json.dumps(
            {"method": "sobol", "outcomes": grid_sensitivity(table[table["status"] == "ok"], list(grid), outcomes)}
        )
    )
    return out


def grid_sensitivity(
    table: pd.DataFrame, params: list[str], outcomes: list[str]
) -> dict[str, dict[str, dict[str, float]]]:
    """First-order and total indices from a full grid by conditional variances (S1 = V(E[Y|Xi])/V(Y), ST =
    E(V(Y|X~i))/V(Y))."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for o in outcomes:
        v = float(table[o].var(ddof=0)) or 1.0
        per = {}
        for p in params:
            s1 = float(table.groupby(p)[o].mean().var(ddof=0)) / v
            others = [q for q in params if q != p]
            st = float(table.groupby(others)[o].var(ddof=0).mean()) / v if others else 1.0
            per[p] = {"S1": s1, "S1_conf": 0.1 * abs(s1) + 0.01, "ST": st, "ST_conf": 0.1 * abs(st) + 0.01}
        out[o] = per
    return out


LABELLED_SWEEP = """# A labelled (categorical) parameter whose file order is not alphabetical
name: labelled
base: community
fixed: {days: 10, learners: 40}
design: grid
replicates: 2
seed: 3
parameters:
  params.alpha_ask: {values: [0.2, 0.05, 0.5], labels: [mid, low, high]}
  network.degree: {values: [4, 6]}
outcomes: [knowledge_gain_all, knowledge_gain_low, equity_gap]
"""
LABELS = ["mid", "low", "high"]  # the file's order; alphabetical would be high, low, mid


def labelled_sweep(base: Path) -> Path:
    """`learncomm sweep` of LABELLED_SWEEP (6 points x 2 replicates of 40 learners x 10 days); built once."""
    if "labelled" in _CACHE:
        return _CACHE["labelled"]
    (base / "labelled.yaml").write_text(LABELLED_SWEEP)
    out = base / "labelled"
    res = learncomm("sweep", "labelled.yaml", "--out", str(out), "--workers", "2", "--no-dashboard", cwd=base)
    assert res.returncode == 0, res.stderr
    _CACHE["labelled"] = out
    return out


NOISY_SOBOL = """# Too small a Sobol sample on purpose (S1 comes out above ST); nobody leaves in 8 days
name: tiny-sobol
base: community
fixed: {days: 8, learners: 40}
design: sobol
samples: 4
seed: 2
parameters:
  params.alpha_ask: {low: 0.05, high: 0.5}
  network.degree: {low: 4, high: 8, integer: true}
outcomes: [knowledge_gain_all, knowledge_gain_low, retained_all, equity_gap]
"""


def noisy_sobol(base: Path) -> Path:
    """`learncomm sweep` of NOISY_SOBOL (16 points of 40 learners x 8 days) and `learncomm sensitivity`; built once."""
    if "sobol" in _CACHE:
        return _CACHE["sobol"]
    (base / "tiny-sobol.yaml").write_text(NOISY_SOBOL)
    out = base / "tiny-sobol"
    res = learncomm("sweep", "tiny-sobol.yaml", "--out", str(out), "--workers", "2", "--no-dashboard", cwd=base)
    assert res.returncode == 0, res.stderr
    res = learncomm("sensitivity", str(out), cwd=base)
    assert res.returncode == 0, res.stderr
    (out / "sensitivity.out").write_text(res.stdout)
    _CACHE["sobol"] = out
    return out


def results_root(base: Path) -> Path:
    """results/ with three replicate runs of community-roles (one decision text replaced by a <script>), a run with an
    HTML-looking topic name, a comparison and a sweep; built once per test session."""
    if "root" in _CACHE:
        return _CACHE["root"]
    root = base / "results"
    root.mkdir(parents=True)
    for seed in (1, 2, 3):
        res = learncomm(
            "run",
            "community-roles",
            "--learners",
            "80",
            "--days",
            "30",
            "--seed",
            str(seed),
            "--decider",
            "policy",
            "--out",
            str(root / f"roles-seed{seed}"),
            "--no-dashboard",
            cwd=base,
        )
        assert res.returncode == 0, res.stderr
    inject_text(root / "roles-seed1")
    (base / "evil.yaml").write_text(
        f'name: evil\nlearners: 40\ndays: 10\ntopics:\n  - {{name: "{EVIL_TOPIC}"}}\n  - {{name: "plain & simple"}}\n'
    )
    res = learncomm("run", "evil.yaml", "--out", str(root / "evil"), "--no-dashboard", cwd=base)
    assert res.returncode == 0, res.stderr
    res = learncomm(
        "compare",
        "classroom",
        "community",
        "--seeds",
        "3",
        "--learners",
        "60",
        "--days",
        "20",
        "--group",
        "shy=confidence_initial < 0.3",
        "--out",
        str(root / "cmp"),
        "--no-dashboard",
        cwd=base,
    )
    assert res.returncode == 0, res.stderr
    if sweep_command_exists(base):
        real_sweep(base, root / "sweep")
    else:
        assemble_sweep(root / "sweep", {"params.alpha_ask": [0.1, 0.5], "network.degree": [4, 8]}, seeds=[11, 12])
    _CACHE["root"] = root
    return root


def noisy_summary(
    source: pd.DataFrame, rows: int, params: dict[str, tuple[float, float]], seed: int = 0
) -> pd.DataFrame:
    """A large summary.parquet for benchmarks: real runs' outcome rows resampled with noise, over a continuous
    design."""
    rng = np.random.default_rng(seed)
    ok = source[source["status"] == "ok"].reset_index(drop=True)
    pick = ok.iloc[rng.integers(0, len(ok), rows)].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "point": np.arange(rows) // 2,
            "replicate": np.arange(rows) % 2,
            "seed": rng.integers(0, 2**31, rows),
            "status": "ok",
            "error": None,
        }
    )
    for p, (lo, hi) in params.items():
        out[p] = rng.uniform(lo, hi, rows)
    for c in ok.columns:
        if (
            c in out.columns
            or c in ("point", "replicate", "seed", "status", "error")
            or not pd.api.types.is_float_dtype(ok[c])
        ):
            continue
        scale = float(ok[c].std()) or 0.01
        out[c] = (
            pick[c].to_numpy(float)
            + rng.normal(0, 0.3 * scale, rows)
            + 0.5 * scale * (out[list(params)[0]] - np.mean(params[list(params)[0]]))
        )
    return out


# --- issue 13: the numbers behind the pages --------------------------------------------------------------------------


def test_labelled_parameter_keeps_the_file_order_in_axes_and_means(tmp_path: Path) -> None:
    from learncomm.sim.dashboard.sweep_data import payload, read_sweep_results

    d = read_sweep_results(labelled_sweep(tmp_path))
    assert d.params == ["params.alpha_ask", "network.degree"]  # the file's order, not sweep.json's sorted keys
    ax = d.axes["params.alpha_ask"]
    assert ax.labels == LABELS and not ax.numeric
    effects = payload(d)["outcomes"]["knowledge_gain_all"]["effects"]["params.alpha_ask"]
    by_label = d.table.groupby("params.alpha_ask")["knowledge_gain_all"].mean()
    # the i-th mean is the mean of the runs with the i-th label of the file: the line joins the right points
    assert effects["mean"] == [round(float(by_label[lab]), 5) for lab in LABELS]
    assert effects["n"] == [4, 4, 4]


def _small_run(root: Path, seed: int) -> Path:
    sc = with_changes(load_scenario("community"), learners=40, days=10)
    out = root / f"community-seed{seed}"
    run_scenario(sc, seed=seed, out=out)
    return out


def test_a_results_folder_rebuilds_a_page_when_replicates_land_or_go(tmp_path: Path) -> None:
    from learncomm.sim.dashboard import build_all, write_dashboard

    root = tmp_path / "results"
    first = _small_run(root, 1)
    (root / "other").mkdir()
    _small_run(root / "other", 9)  # a run in another folder is no replicate
    write_dashboard(root)
    assert "One run of this scenario" in (first / "dashboard.html").read_text()
    assert build_all(root) == []  # nothing changed: nothing rebuilt
    for seed in (2, 3, 4):  # more seeds land beside it; its own folder is untouched
        _small_run(root, seed)
    write_dashboard(root)  # no --force
    page = (first / "dashboard.html").read_text()
    assert "mean over 4 runs of this scenario (seeds 1, 2, 3, 4)" in page and "One run" not in page
    assert build_all(root) == []
    for f in (root / "community-seed4").iterdir():  # a replicate removed: no file is newer, the set of inputs differs
        f.unlink()
    (root / "community-seed4").rmdir()
    rebuilt = build_all(root)
    assert first / "dashboard.html" in rebuilt and root / "other" / "community-seed9" / "dashboard.html" not in rebuilt
    assert "mean over 3 runs of this scenario (seeds 1, 2, 3)" in (first / "dashboard.html").read_text()


def test_a_model_check_folder_is_built_and_listed_in_the_index(tmp_path: Path) -> None:
    from learncomm.sim.check.facts import FACTS
    from learncomm.sim.check.suite import run_check, write_report
    from learncomm.sim.dashboard import write_dashboard
    from learncomm.sim.dashboard.folders import detect

    root = tmp_path / "results"
    _small_run(root, 1)
    report = run_check([1, 2], fast=True, facts=[f for f in FACTS if f.id == "posts_gini"])
    write_report(report, root / "check-1")
    assert detect(root / "check-1") == "check"
    index = write_dashboard(root).read_text()
    assert (root / "check-1" / "dashboard.html").is_file()  # built with the others, no `learncomm check` needed
    section = index[index.index('<section id="checks">') :]
    assert "Model checks (1)" in section and 'href="check-1/dashboard.html"' in section
    passed = sum(r.passed for r in report.results)
    assert f"{passed} of {len(report.results)} pass" in section and "1, 2" in section


# Machado, Oliveira & Fernandes (2009) colour-vision-deficiency matrices at full severity, applied in linear RGB
CVD = {
    "normal": np.eye(3),
    "protan": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deutan": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritan": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
}


def delta_e(a: str, b: str, vision: str) -> float:
    """CIE76 colour difference between two hex colours as seen with `vision` (sRGB -> linear -> simulated -> Lab)."""

    def lab(c: str) -> np.ndarray:
        v = np.array([int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)])
        lin = np.clip(CVD[vision] @ np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4), 0, 1)
        xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
        t = xyz / np.array([0.95047, 1.0, 1.08883])
        f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
        return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])

    return float(np.linalg.norm(lab(a) - lab(b)))


def test_mode_colours_are_apart_from_each_other_and_from_the_groups() -> None:
    from learncomm.sim.dashboard.common import GROUP_COLOURS, MODE_COLOURS

    for vision in CVD:
        # "ask" was #d95f02 next to the low group's #D55E00 (1.4 apart): now far from it for every kind of vision
        assert delta_e(MODE_COLOURS["ask"], GROUP_COLOURS["low"], vision) > 60, vision
        for a, b in itertools.combinations(MODE_COLOURS.values(), 2):  # the stacked bands stay distinguishable
            assert delta_e(a, b, vision) > 20, (vision, a, b)


def test_numbers_never_show_a_negative_zero_and_counts_agree() -> None:
    from learncomm.sim.cli.tables import _fmt
    from learncomm.sim.dashboard.common import fmt
    from learncomm.sim.schema.wording import number, plural

    assert [number(-0.0001), number(-0.0), fmt(-0.0004), _fmt(-0.00004), fmt(-1234.5, 1)] == [
        "0.000",
        "0.000",
        "0.000",
        "0.000",
        "-1,234.5",
    ]
    assert number(-0.0006) == "-0.001" and fmt(None) == "–" and _fmt(float("nan")) == "–"
    assert [plural(1, "day"), plural(0, "day"), plural(2, "day"), plural(1.5, "day")] == [
        "1 day",
        "0 days",
        "2 days",
        "1.5 days",
    ]


def test_a_one_day_run_says_day_not_days(tmp_path: Path) -> None:
    res = learncomm(
        "run", "community", "--days", "1", "--learners", "30", "--out", str(tmp_path / "r"), "--no-dashboard",
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "after 1 day (seed" in res.stdout and "1 days" not in res.stdout
    assert "-0.000" not in res.stdout


def test_decisions_name_their_topics() -> None:
    from learncomm.sim.dashboard.roles_view import readable_decision

    topics = ["loops", "<b>lists</b>", "files"]
    assert readable_decision('{"level": "beginner", "topic": 1}', topics) == "level: beginner, topic: <b>lists</b>"
    assert readable_decision('{"outreach": 0, "topic": null, "welcome": true}', topics) == (
        "outreach: 0, topic: none, welcome: yes"
    )  # only a topic key is a topic: outreach 0 stays a number
    assert readable_decision('{"topic": 7}', topics) == "topic: 7"  # out of range: the number, not a wrong name
    assert readable_decision("not json {", topics) == "not json {"


def test_policy_run_has_no_token_or_cost_panels_and_topic_colours_span_the_data(tmp_path: Path) -> None:
    from learncomm.sim.dashboard.roles_view import accounting
    from learncomm.sim.dashboard.run_figures import topic_heatmap

    sc = with_changes(load_scenario("community-roles"), learners=60, days=20)
    res = run_scenario(sc, seed=1, out=tmp_path / "r")
    roles = res.summary["roles"]
    fig, table, note = accounting(roles)
    assert note is not None and "No language-model tokens or cost" in note
    assert len(fig.data) == 4 and "xaxis2" not in fig.to_dict()["layout"]  # decisions panel only
    assert "cost" in table  # the table still lists every column
    spent = {k: {**v, "input_tokens": 120, "output_tokens": 30, "cost_usd": 0.001} for k, v in roles.items()}
    fig, _, note = accounting(spent)
    assert note is None and "xaxis3" in fig.to_dict()["layout"]
    learners = pd.read_parquet(tmp_path / "r" / "learners.parquet")
    heat = topic_heatmap(learners, res.manifest["topics"])
    assert heat is not None
    z = np.array([[np.nan if v is None else v for v in row] for row in heat.data[0].z], dtype=float)
    lo, hi = heat.data[0].zmin, heat.data[0].zmax
    assert lo <= np.nanmin(z) and np.nanmax(z) <= hi and hi - lo < 0.9  # the data's own range, not 0-1
    assert np.nanmin(z) - lo <= 0.0011 and hi - np.nanmax(z) <= 0.0011
    assert f"{lo:.2f}–{hi:.2f}" in heat.data[0].colorbar.title.text
