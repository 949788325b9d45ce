"""`learncomm calibrate` on CollegeMsg with the default budget: on a local pool of 2 workers and on a Dask
LocalCluster of 2 single-threaded workers. Writes results/calibrate.json (docs/calibration.md quotes it).

python benchmarks/bench_calibrate.py [--budget N] [--skip-dask]
Run it on an idle machine: each calibration runs the command in a fresh process, timed from the outside.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "data" / "CollegeMsg.txt"


def calibrate(out: Path, budget: int, extra: list[str]) -> dict[str, object]:
    cmd = [sys.executable, "-m", "learncomm", "calibrate", str(LOG), "--budget", str(budget), "--out", str(out)]
    started = time.perf_counter()
    res = subprocess.run([*cmd, "--no-dashboard", *extra], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if res.returncode != 0:
        raise SystemExit(res.stderr[-2000:])
    data = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    return {
        "wall_s": round(wall, 1),
        "search_s": data["wall_time_s"],
        "simulations": data["simulations_this_run"],
        "trials": data["trials_done"],
        "best_distance": data["best"]["distance"],
        "uncalibrated_distance": data["baseline"]["distance"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--skip-dask", action="store_true")
    args = ap.parse_args()
    found: dict[str, object] = {"budget": args.budget}
    with tempfile.TemporaryDirectory() as tmp:
        found["pool_2_workers"] = calibrate(Path(tmp) / "pool", args.budget, ["--workers", "2"])
        print("pool, 2 workers:", found["pool_2_workers"], flush=True)
        if not args.skip_dask:
            from distributed import LocalCluster  # the dask extra

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                found["dask_local_cluster_2"] = calibrate(
                    Path(tmp) / "dask", args.budget, ["--scheduler", cluster.scheduler_address]
                )
            print("Dask LocalCluster, 2 workers:", found["dask_local_cluster_2"], flush=True)
    target = ROOT / "benchmarks" / "results" / "calibrate.json"
    target.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
