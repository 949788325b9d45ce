"""Benchmarks of the dashboards: a 1,000-run sweep page and a 100,000-learner run page.

    python benchmarks/bench_dashboard.py            # full: 1,000-run sweep; 100,000 learners x 180 days
    python benchmarks/bench_dashboard.py --quick    # smoke run: 200-run sweep; 10,000 learners x 30 days

(a) `sweep`: a real small sweep is run with `learncomm sweep` (a Morris design
    over 4 parameters with all 35 outcome columns, 60 learners x 20 days), then
    its summary.parquet is resampled to 1,000 rows with noise over a continuous
    design (real outcome rows + noise + a trend; `tests/test_dashboard_data.py:
    noisy_summary`), with sensitivity indices estimated from the resampled rows
    (correlation ratios over bins: synthetic, for size and rendering only).
(b) `run`: `learncomm run community --learners 100000` for 180 days.

For each page: build time (Python), HTML size (plotly.min.js is shared and
not counted), and the time headless Chromium takes from navigation to every
plot drawn (performance.now() after two animation frames, the page loaded
from disk with the network off; median of 3 loads in one browser). For the
sweep page also the time to switch the outcome dropdown.

Targets: sweep page < 10 MB and rendered < 3 s; the 100k run page responsive
(small HTML, rendered in a few seconds). Results: benchmarks/results/dashboard.json.
The machine is shared: timings are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from test_dashboard_data import noisy_summary  # noqa: E402

from learncomm.sim.dashboard import write_dashboard  # noqa: E402
from learncomm.sim.schema.sweep import ALL_OUTCOMES  # noqa: E402

PARAMS = {
    "params.alpha_ask": (0.05, 0.5),
    "params.alpha_observe": (0.01, 0.15),
    "network.rewiring": (0.0, 1.0),
    "network.degree": (4, 16),
}
READY = (
    "() => window.Plotly && [...document.querySelectorAll('.plotly-graph-div')]"
    ".every(e => e._fullLayout && e.querySelector('.main-svg'))"
)
FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"


def learncomm(*args: str, cwd: Path) -> float:
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "learncomm", *args], cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"learncomm {' '.join(args)} failed:\n{res.stderr}")
    return time.perf_counter() - t


def base_sweep(work: Path) -> Path:
    """A real Morris sweep, small: the source of realistic outcome rows."""
    lines = [
        "name: bench-base",
        "base: community",
        "fixed: {days: 20, learners: 60}",
        "design: morris",
        "samples: 4",
        "morris_levels: 4",
        "replicates: 2",
        "seed: 1",
        "parameters:",
    ]
    lines += [
        f"  {p}: {{low: {lo}, high: {hi}{', integer: true' if p == 'network.degree' else ''}}}"
        for p, (lo, hi) in PARAMS.items()
    ]
    lines.append(f"outcomes: [{', '.join(ALL_OUTCOMES)}]")
    (work / "base.yaml").write_text("\n".join(lines) + "\n")
    learncomm("sweep", "base.yaml", "--out", "base", "--workers", "2", "--no-dashboard", cwd=work)
    return work / "base"


def big_sweep(base: Path, out: Path, rows: int) -> Path:
    out.mkdir(parents=True)
    record = json.loads((base / "sweep.json").read_text())
    summary = noisy_summary(pd.read_parquet(base / "summary.parquet"), rows, PARAMS)
    summary["network.degree"] = summary["network.degree"].round().astype(int)
    summary.to_parquet(out / "summary.parquet", index=False)
    record.update(
        name=f"bench-{rows}",
        design={"kind": "latin_hypercube", "samples": rows // 2},
        points=[{"point": i, "values": {p: float(summary.loc[2 * i, p]) for p in PARAMS}} for i in range(rows // 2)],
    )
    (out / "sweep.json").write_text(json.dumps(record))
    sens: dict[str, Any] = {}
    for o in ALL_OUTCOMES:
        y, v = summary[o], float(summary[o].var()) or 1.0
        per = {}
        for p in PARAMS:
            s1 = float(y.groupby(pd.qcut(summary[p], 10, duplicates="drop"), observed=True).mean().var()) / v
            per[p] = {"S1": s1, "S1_conf": 0.05, "ST": min(1.0, 1.2 * s1 + 0.01), "ST_conf": 0.05}
        sens[o] = per
    (out / "sensitivity.json").write_text(json.dumps({"method": "sobol", "outcomes": sens}))
    return out


def render(browser: Any, page_path: Path, loads: int = 3, switch: bool = False) -> dict[str, float]:
    """Median ms from navigation to every plot drawn; optionally the time to switch the outcome dropdown."""
    times, switches = [], []
    for _ in range(loads):
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(page_path.resolve().as_uri())
        page.wait_for_function(READY, timeout=60_000, polling=10)
        times.append(page.evaluate(FRAMES))
        if errors:
            raise SystemExit(f"{page_path}: page errors {errors}")
        if switch:
            page.evaluate("() => { window.__t0 = performance.now(); }")
            page.select_option("#sel-outcome", "equity_gap")
            t1 = page.evaluate(FRAMES)
            switches.append(t1 - page.evaluate("() => window.__t0"))
        ctx.close()
    out = {"render_ms_median": round(statistics.median(times)), "render_ms_all": [round(t) for t in times]}
    if switch:
        out["switch_outcome_ms_median"] = round(statistics.median(switches))
    return out


def build(path: Path) -> dict[str, Any]:
    t = time.perf_counter()
    page = write_dashboard(path)
    return {
        "build_s": round(time.perf_counter() - t, 2),
        "html_bytes": page.stat().st_size,
        "html_mb": round(page.stat().st_size / 1e6, 2),
        "page": page,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    ap.add_argument("--runs", type=int, default=None, help="sweep runs (default 1000, quick 200)")
    ap.add_argument(
        "--learners", type=int, default=None, help="learners of the large run (default 100000, quick 10000)"
    )
    ap.add_argument("--days", type=int, default=None, help="days of the large run (default 180, quick 30)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "dashboard.json")
    args = ap.parse_args()
    rows = args.runs or (200 if args.quick else 1000)
    learners = args.learners or (10_000 if args.quick else 100_000)
    days = args.days or (30 if args.quick else 180)
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    try:
        results = work / "results"
        results.mkdir()
        t = time.perf_counter()
        base = base_sweep(work)
        sweep = big_sweep(base, results / "sweep", rows)
        sweep_prep = time.perf_counter() - t
        run_s = learncomm(
            "run",
            "community",
            "--learners",
            str(learners),
            "--days",
            str(days),
            "--out",
            "results/large",
            "--no-dashboard",
            cwd=work,
        )
        s, r = build(sweep), build(results / "large")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            (results / "plotly-only.html").write_text(
                '<!doctype html><html><head><script src="plotly.min.js"></script></head><body>'
                '<div class="plotly-graph-div"></div><script>Plotly.newPlot(document.querySelector("div"), '
                "[{y: [1, 2]}])</script></body></html>"
            )
            floor = render(browser, results / "plotly-only.html")["render_ms_median"]
            s.update(render(browser, s.pop("page"), switch=True))
            r.update(render(browser, r.pop("page")))
            browser.close()
        report = {
            "machine": {
                "cpus": os.cpu_count(),
                "note": "shared machine: timings are noisy; headless Chromium draws WebGL in software (SwiftShader)",
            },
            "floor_ms": {
                "plotly_js_load_and_one_plot": floor,
                "note": "a page with plotly.min.js and one tiny plot: the least any page costs here",
            },
            "sweep": {
                "runs": rows,
                "parameters": len(PARAMS),
                "outcome_columns": len(ALL_OUTCOMES),
                "source": "real `learncomm sweep` (Morris, 4 parameters x 2 replicates, 60 learners x 20 days) "
                "resampled with noise to "
                f"{rows} rows; sensitivity indices synthetic (binned correlation ratios)",
                "prepare_s": round(sweep_prep, 1),
                **s,
                "targets": {"html_mb_below": 10, "render_ms_below": 3000},
            },
            "run": {"learners": learners, "days": days, "learncomm_run_s": round(run_s, 1), **r},
        }
        report["sweep"]["meets_targets"] = s["html_mb"] < 10 and s["render_ms_median"] < 3000
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
