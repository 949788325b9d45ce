"""The engine's speed as a ratio to the bare NumPy day (benchmarks/bare_day.py), measured in one process.

    .venv/bin/python benchmarks/engine_ratio.py                  # 100,000 x 180, open and closed, 3 repetitions
    .venv/bin/python benchmarks/engine_ratio.py --learners 20000 --days 60 --reps 2   # a quick look

For each case (a fresh interpreter each, so peak memory does not mix) a bare
day and an engine day alternate, day after day, over the whole run; each of
`--reps` repetitions gives a ratio (the engine's days / the bare days, wall
time, set-up of both apart), and the report gives medians, of wall time and of process CPU time (less moved by other
work on the machine). Absolute times on a shared 2-core machine swing 2x from
run to run; the ratio, taken a few seconds apart in the same process, does not.

Cases: `open` is the `community` defaults as shipped (founders, a launch wave
and a trickle, fading, leaving); `closed` has everyone from day 1, no fading and
no leaving, so every day has the full population (the equal-population case).
Targets (issue 16): 100,000 x 180 within 5x the bare day, peak RSS under 1 GiB.
Writes benchmarks/results/ratio.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "ratio.json"
TARGET_RATIO = 5.0
TARGET_PEAK_MIB = 1024.0
CLOSED = "arrivals: {founders: 1.0}\nsettings: {community: {fades: false, leaving: 0.0}}\n"
CASES = {"open": "", "closed": CLOSED}


def scenario_text(learners: int, days: int, case: str) -> str:
    return f"name: bench\nlearners: {learners}\ndays: {days}\n{CASES[case]}"


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_case(learners: int, days: int, case: str, reps: int) -> dict[str, Any]:
    """Bare day and engine day alternating day by day in this process, so a change in the machine's
    load hits both alike; each repetition starts both models afresh (set-up is timed apart)."""
    sys.path.insert(0, str(HERE))
    from bare_day import BareDay

    from learncomm.sim.engine.model import CommunityModel
    from learncomm.sim.schema.loading import parse_scenario

    scenario = parse_scenario(scenario_text(learners, days, case), "<bench>")
    bare, bare_cpu, engine, engine_cpu, setup, ratios, cpu_ratios = [], [], [], [], [], [], []
    for _ in range(reps):
        t = time.perf_counter()
        model = CommunityModel(scenario, agents=False)  # as `learncomm run` builds it
        setup.append(time.perf_counter() - t)
        yardstick = BareDay(learners)
        spent, spent_cpu, spent_bare, spent_bare_cpu = 0.0, 0.0, 0.0, 0.0
        for _ in range(days):
            t, c = time.perf_counter(), time.process_time()
            yardstick.step()
            t1, c1 = time.perf_counter(), time.process_time()
            if model.running:
                model.step()
                # a large run leaves its day's outcomes and tomorrow's draws on a second thread: wait for them
                # here, so they are timed as the engine's and never overlap (and slow) the bare day
                model.wait()
            spent += time.perf_counter() - t1
            spent_cpu += time.process_time() - c1
            spent_bare += t1 - t
            spent_bare_cpu += c1 - c
        bare.append(spent_bare)
        bare_cpu.append(spent_bare_cpu)
        engine.append(spent)
        engine_cpu.append(spent_cpu)
        ratios.append(spent / spent_bare)
        cpu_ratios.append(spent_cpu / spent_bare_cpu)
        del model, yardstick
    return {
        "case": case,
        "learners": learners,
        "days": days,
        "reps": reps,
        "bare_s": bare,
        "bare_cpu_s": bare_cpu,
        "engine_s": engine,
        "engine_cpu_s": engine_cpu,
        "setup_s": setup,
        "ratios": ratios,
        "bare_median_s": statistics.median(bare),
        "engine_median_s": statistics.median(engine),
        "ms_per_day": 1000.0 * statistics.median(engine) / days,
        "ratio_median": statistics.median(ratios),
        "cpu_ratios": cpu_ratios,
        "cpu_ratio_median": statistics.median(cpu_ratios),
        "engine_cpu_ms_per_day": 1000.0 * statistics.median(engine_cpu) / days,
        "peak_rss_mib": max_rss_mib(),
    }


def in_subprocess(**kwargs: Any) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case-args", json.dumps(kwargs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"case {kwargs} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--learners", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--reps", type=int, default=3, help="bare/engine pairs per case (medians are reported)")
    ap.add_argument("--cases", nargs="+", choices=sorted(CASES), default=["open", "closed"])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--case-args", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case_args:
        print(json.dumps(run_case(**json.loads(args.case_args))))
        return
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before": os.getloadavg(),
        "cases": {},
    }
    for case in args.cases:
        print(f"{case}: {args.learners:,} learners x {args.days} days, {args.reps} repetitions ...", file=sys.stderr)
        r = in_subprocess(learners=args.learners, days=args.days, case=case, reps=args.reps)
        results["cases"][case] = r
        print(
            f"  bare {r['bare_median_s']:.2f} s, engine {r['engine_median_s']:.2f} s ({r['ms_per_day']:.1f} ms/day, "
            f"CPU {r['engine_cpu_ms_per_day']:.1f}): ratio {r['ratio_median']:.1f}x wall "
            f"({', '.join(f'{x:.1f}' for x in r['ratios'])}), {r['cpu_ratio_median']:.1f}x CPU "
            f"({', '.join(f'{x:.1f}' for x in r['cpu_ratios'])}) (target <= {TARGET_RATIO:g}x); "
            f"peak RSS {r['peak_rss_mib']:.0f} MiB (target < {TARGET_PEAK_MIB:g})"
        )
    results["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(
        f"load average before/after: {results['load_average_before'][0]:.2f} / "
        f"{results['load_average_after'][0]:.2f}; written to {args.out}"
    )


if __name__ == "__main__":
    main()
