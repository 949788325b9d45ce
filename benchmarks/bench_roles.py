"""What the AI roles' graphs cost: all six roles weekly, policy decider, 180 days.

For 1,000, 10,000 and 100,000 learners: the run without roles, the run with
them, the time spent inside the role agents' steps (observe, decide, validate,
act, record) and the time per decision. Run on an idle machine:

    .venv/bin/python benchmarks/bench_roles.py [--sizes 1000 10000 100000] [--days 180]

Writes benchmarks/results/roles.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from learncomm.roles.agent import RoleAgent
from learncomm.sim.engine.model import CommunityModel
from learncomm.sim.schema.loading import parse_scenario

SIX = ("ideator", "secretary", "benchmarker", "source", "matchmaker", "manager")


def scenario(learners: int, days: int, roles: bool) -> Any:
    block = "roles:\n" + "".join(f"  {r}: {{cadence: 7}}\n" for r in SIX) if roles else ""
    return parse_scenario(
        f"name: bench\nlearners: {learners}\ndays: {days}\nseed: 1\ntopics: 6\nmeetups: {{every_days: 7, "
        f"weekday: 5}}\n{block}"
    )


def timed_run(learners: int, days: int, roles: bool) -> dict[str, Any]:
    spent = {"roles_s": 0.0}
    original = RoleAgent.step

    def step(self: RoleAgent) -> None:
        t = time.perf_counter()
        original(self)
        spent["roles_s"] += time.perf_counter() - t

    RoleAgent.step = step  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        model = CommunityModel(scenario(learners, days, roles), agents=False)
        setup = time.perf_counter() - started
        started = time.perf_counter()
        while model.running:
            model.step()
        run = time.perf_counter() - started
    finally:
        RoleAgent.step = original  # type: ignore[method-assign]
    decisions = len(model.interventions)
    return {
        "setup_s": round(setup, 3),
        "run_s": round(run, 3),
        "roles_s": round(spent["roles_s"], 3),
        "decisions": decisions,
        "ms_per_decision": round(1000 * spent["roles_s"] / decisions, 2) if decisions else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--days", type=int, default=180)
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        bare, six = timed_run(n, args.days, False), timed_run(n, args.days, True)
        row = {
            "learners": n,
            "days": args.days,
            "without_roles_s": bare["run_s"],
            "with_roles_s": six["run_s"],
            "roles_s": six["roles_s"],
            "roles_share": round(six["roles_s"] / six["run_s"], 3),
            "decisions": six["decisions"],
            "ms_per_decision": six["ms_per_decision"],
        }
        rows.append(row)
        print(json.dumps(row))
    out = Path(__file__).parent / "results" / "roles.json"
    out.write_text(json.dumps({"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
