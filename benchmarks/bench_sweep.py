"""Benchmark of the sweep machinery: throughput with 1 and 2 workers, Dask vs the local pool, overhead per run.

    python benchmarks/bench_sweep.py            # 60 runs of `community` with 1,000 learners x 180 days per case
    python benchmarks/bench_sweep.py --quick    # smoke run: 10 runs of 1,000 x 60

Cases (each on a fresh sweep folder, the executor started and warmed first, so
throughput is the steady state a long sweep sees, not process start-up):
  local-1   local process pool, 1 worker
  local-2   local process pool, 2 workers          target: >= 1.7 x local-1
  dask-2    Dask LocalCluster, 2 worker processes  target: within 15% of local-2
Overhead of the sweep machinery (scheduling, writing, bookkeeping):
  pool overhead   1 - (worker time inside run_scenario) / (wall x workers)   target < 5%
                  (includes the end of the sweep, when one worker waits for the other's last run:
                  about half a run per worker, which shrinks as the sweep grows)
  task overhead   worker time outside run_scenario (moving files, row.parquet, rename)
  outside simulate  1 - simulate / run_scenario (writing its folder), interleaved in one process
Workers run with one BLAS thread each (OMP_NUM_THREADS=1 ...). The machine may be
shared: compare CPU-time figures and rerun before drawing conclusions.
Results go to benchmarks/results/sweep.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "sweep.json"
TARGET_SPEEDUP, TARGET_DASK, TARGET_OVERHEAD = 1.7, 0.15, 0.05


def sweep_text(runs: int, learners: int, days: int) -> str:
    points = 10 if runs >= 10 else runs
    values = ", ".join(f"{0.1 + 0.04 * i:.2f}" for i in range(points))
    return (
        f"# Benchmark: {points} points x {runs // points} replicates of community ({learners} learners, {days} days).\n"
        f"base: community\nfixed: {{learners: {learners}, days: {days}}}\nreplicates: {runs // points}\nseed: 1\n"
        f"parameters:\n  params.alpha_ask: {{values: [{values}]}}\n"
    )


def warm_local(workers: int) -> Any:
    from learncomm.sim.sweeps.runner import local_executor

    ex = local_executor(workers)
    list(ex.map(time.sleep, [0.3] * (2 * workers)))  # start every worker process and its imports before timing
    return ex


def run_case(name: str, plan: Any, root: Path, executor: Any, workers: int) -> dict[str, Any]:
    from learncomm.sim.sweeps.runner import run_sweep

    cpu0 = os.times()
    report = run_sweep(plan, root / name, executor=executor)
    cpu1 = os.times()
    assert report.done == report.total and not report.failed, f"{name}: {report.failed[:1]}"
    n = report.total
    return {
        "case": name,
        "workers": workers,
        "runs": n,
        "wall_s": round(report.wall_s, 3),
        "runs_per_minute": round(60 * n / report.wall_s, 1),
        "run_s_per_run": round(report.run_s / n, 4),
        "task_s_per_run": round(report.task_s / n, 4),
        "run_cpu_s_per_run": round(report.run_cpu_s / n, 4),
        "contention": round(report.run_s / max(report.run_cpu_s, 1e-9), 3),
        "pool_overhead": round(1 - report.run_s / (report.wall_s * workers), 4),
        "task_overhead": round(1 - report.run_s / report.task_s, 4),
        "parent_cpu_s": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 3),
        "_task_s": report.task_s,
    }


def simulate_time(plan: Any, samples: int, folder: Path) -> tuple[float, float]:
    """Median seconds of `simulate` alone and of `run_scenario` writing its folder, interleaved on the same runs
    in this process: the share of a run spent outside `simulate` (results, manifest, writing)."""
    from learncomm.sim.runs.run import run_scenario, simulate

    runs = plan.runs()[:samples]
    simulate(plan.scenario(runs[0][0]), seed=runs[0][2], agents=False)
    sims, fulls = [], []
    for i, (point, _, seed) in enumerate(runs):
        sc = plan.scenario(point)
        t = time.perf_counter()
        simulate(sc, seed=seed, agents=False)
        sims.append(time.perf_counter() - t)
        t = time.perf_counter()
        run_scenario(sc, seed=seed, out=folder / f"run-{i}")
        fulls.append(time.perf_counter() - t)
    return statistics.median(sims), statistics.median(fulls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--learners", type=int, default=1000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--quick", action="store_true", help="10 runs of 60 days")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.quick:
        args.runs, args.days = 10, 60
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    from rich.console import Console
    from rich.table import Table

    from learncomm.sim.sweeps.plan import load_sweep

    console = Console(width=max(Console().width, 150))
    cases: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        root = Path(tmp)
        (root / "sweep-bench.yaml").write_text(sweep_text(args.runs, args.learners, args.days))
        plan = load_sweep(root / "sweep-bench.yaml")
        for workers in (1, 2):
            ex = warm_local(workers)
            try:
                cases.append(run_case(f"local-{workers}", plan, root, ex, workers))
            finally:
                ex.shutdown()
        if not args.no_dask:
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                console.print("dask not installed (pip install 'learncomm[dask]'): skipping dask-2")
            else:
                import dask

                # Dask's statistical profiler samples every worker thread's stack every 10 ms, taking the GIL from a
                # NumPy-heavy run; a sweep has no use for it. The nanny's default MALLOC_TRIM_THRESHOLD_=65536 makes
                # glibc hand freed memory back to the OS after every day's arrays, costing about 15% CPU per run
                # here. docs/sweeps.md recommends both settings for clusters.
                with (
                    dask.config.set(
                        {
                            "distributed.worker.profile.enabled": False,
                            "distributed.nanny.pre-spawn-environ": {
                                "OMP_NUM_THREADS": 1,
                                "MKL_NUM_THREADS": 1,
                                "OPENBLAS_NUM_THREADS": 1,
                            },
                        }
                    ),
                    LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
                    Client(cluster) as client,
                ):
                    from learncomm.sim.sweeps.worker import init_worker

                    client.run(init_worker)
                    cases.append(run_case("dask-2", plan, root, client.get_executor(pure=False), 2))
        sim_s, full_s = simulate_time(plan, min(10, args.runs), root / "direct")
    for c in cases:
        c.pop("_task_s")
    outside = 1 - sim_s / full_s
    by = {c["case"]: c for c in cases}
    speedup = by["local-2"]["runs_per_minute"] / by["local-1"]["runs_per_minute"]
    dask_gap = (by["dask-2"]["runs_per_minute"] / by["local-2"]["runs_per_minute"] - 1) if "dask-2" in by else None
    overhead = max(c["pool_overhead"] for c in cases)
    table = Table(title=f"sweep benchmark: {args.runs} runs of community, {args.learners} learners x {args.days} days ")
    for h in (
        "case",
        "runs/min",
        "wall s",
        "run s/run",
        "run cpu s/run",
        "contention",
        "task s/run",
        "pool overhead",
        "task overhead",
    ):
        table.add_column(h, justify="right", overflow="fold")
    for c in cases:
        table.add_row(
            c["case"],
            f"{c['runs_per_minute']:.0f}",
            f"{c['wall_s']:.2f}",
            f"{c['run_s_per_run']:.3f}",
            f"{c['run_cpu_s_per_run']:.3f}",
            f"{c['contention']:.2f}",
            f"{c['task_s_per_run']:.3f}",
            f"{c['pool_overhead']:.1%}",
            f"{c['task_overhead']:.1%}",
        )
    console.print(table)
    console.print(
        "contention = run wall / run CPU time: 1.00 on an idle machine; above that, other processes took the cores.\n"
        "task overhead = worker time outside run_scenario (moving files, row.parquet, the atomic rename).\n"
        f"In one process: simulate {sim_s:.3f} s, run_scenario writing its folder {full_s:.3f} s: "
        f"{outside:.1%} of a run is outside simulate (sim/runs/run.py)."
    )
    verdict = {
        "speedup_2_vs_1": round(speedup, 3),
        "speedup_ok": speedup >= TARGET_SPEEDUP,
        "dask_vs_local_2": None if dask_gap is None else round(dask_gap, 3),
        "dask_ok": None if dask_gap is None else abs(dask_gap) <= TARGET_DASK,
        "max_pool_overhead": overhead,
        "overhead_ok": overhead < TARGET_OVERHEAD,
    }
    console.print(
        f"2 workers / 1 worker: {speedup:.2f}x (target >= {TARGET_SPEEDUP}); "
        + (f"dask-2 vs local-2: {dask_gap:+.1%} (target within ±{TARGET_DASK:.0%}); " if dask_gap is not None else "")
        + f"pool overhead at most {overhead:.1%} (target < {TARGET_OVERHEAD:.0%})",
        highlight=False,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "config": {"runs": args.runs, "learners": args.learners, "days": args.days},
                "simulate_s": round(sim_s, 4),
                "run_scenario_s": round(full_s, 4),
                "outside_simulate": round(outside, 4),
                "cases": cases,
                "verdict": verdict,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"Results: {args.out}")


if __name__ == "__main__":
    main()
