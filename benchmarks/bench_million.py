"""A million learners for 180 days with all six AI roles on the policy decider, written to a run folder.

    .venv/bin/python benchmarks/bench_million.py                       # 1,000,000 x 180 (a few minutes)
    .venv/bin/python benchmarks/bench_million.py --learners 100000     # a smaller look

The whole of `learncomm run` short of the terminal output and the dashboard:
`run_scenario` builds the model, runs the days, writes the Parquet tables. The
report splits it into set-up (population, network, roles), the days (with the
roles' own steps: observe, decide, validate, act, record), and writing, and
gives the process's peak RSS. Targets (issue 16): under 60 s and under 8 GiB
on the 2-core machine. Writes benchmarks/results/million.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "million.json"
SIX = ("ideator", "secretary", "benchmarker", "source", "matchmaker", "manager")
TARGET_S = 60.0
TARGET_GIB = 8.0


def scenario_text(learners: int, days: int) -> str:
    """The roles benchmark's scenario (benchmarks/bench_roles.py): six roles weekly, a weekly meetup."""
    roles = "roles:\n" + "".join(f"  {r}: {{cadence: 7}}\n" for r in SIX)
    return (
        f"name: million\nlearners: {learners}\ndays: {days}\nseed: 1\ntopics: 6\n"
        f"meetups: {{every_days: 7, weekday: 5}}\n{roles}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--learners", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()

    from learncomm.roles.agent import RoleAgent
    from learncomm.sim.runs.run import run_scenario
    from learncomm.sim.schema.loading import parse_scenario

    spent = {"roles": 0.0}
    original = RoleAgent.step

    def step(self: RoleAgent) -> None:
        t = time.perf_counter()
        original(self)
        spent["roles"] += time.perf_counter() - t

    RoleAgent.step = step  # type: ignore[method-assign]
    marks: dict[str, float] = {}

    def on_day(day: int) -> None:
        marks.setdefault("first_day", time.perf_counter())
        marks["last_day"] = time.perf_counter()
        if day % 30 == 0:
            print(f"  day {day}: {time.perf_counter() - marks['start']:.1f} s", file=sys.stderr)

    load_before = os.getloadavg()
    sc = parse_scenario(scenario_text(args.learners, args.days), "<bench>")
    with tempfile.TemporaryDirectory() as tmp:
        marks["start"] = c0 = time.perf_counter()
        cpu0 = time.process_time()
        result = run_scenario(sc, seed=1, out=Path(tmp) / "run", on_day=on_day)
        total, cpu = time.perf_counter() - c0, time.process_time() - cpu0
        size = sum(f.stat().st_size for f in (Path(tmp) / "run").iterdir()) / 2**20
    # the first on_day mark comes after day 1, so set-up here includes one day (under 1 % of the days)
    setup = marks["first_day"] - marks["start"]
    days_s = marks["last_day"] - marks["first_day"]
    out = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "learners": args.learners,
        "days": args.days,
        "total_s": total,
        "total_cpu_s": cpu,
        "setup_and_day_1_s": setup,
        "days_2_on_s": days_s,
        "roles_s": spent["roles"],
        "write_s": total - setup - days_s,
        "decisions": 0 if result.interventions is None else len(result.interventions),
        "run_folder_mib": size,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(
        f"{args.learners:,} learners x {args.days} days, six roles (policy): {total:.1f} s wall, {cpu:.1f} s CPU "
        f"(target < {TARGET_S:g} s); set-up + day 1 {setup:.1f} s, days {days_s:.1f} s (roles {spent['roles']:.1f} s), "
        f"writing {out['write_s']:.1f} s; peak RSS {out['peak_rss_gib']:.2f} GiB (target < {TARGET_GIB:g}); "
        f"load average {load_before[0]:.1f} -> {out['load_average_after'][0]:.1f}"
    )


if __name__ == "__main__":
    main()
