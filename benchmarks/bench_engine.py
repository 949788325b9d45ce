"""Benchmarks of the vectorised engine: a large run, and the speed-up over a per-agent Mesa model.

    python benchmarks/bench_engine.py            # full: 100,000 learners x 180 days; 10,000 learners for the comparison
    python benchmarks/bench_engine.py --quick    # smoke run in a few seconds (10,000 x 30; comparison at 2,000)

(a) `large`: CommunityModel on the default `community` fields with N learners for
    D days, set-up timed apart from the D steps; peak memory is the process's
    ru_maxrss (each case runs in a fresh subprocess, so peaks do not mix) and,
    in a separate short run, tracemalloc's peak of traced Python+NumPy memory.
    Run with the Mesa Learner views (agents=True, the default) and without them
    (agents=False) to show their cost. The step time is split into the day's
    uniforms, run_day, day_metrics and the DataCollector by wrapping those
    functions (no engine code changes).
(b) `compare`: learner-steps per second of the vectorised engine and of
    benchmarks/per_agent.py:PerAgentModel on the same scenario and seed.

Targets: (a) under 10 s for the 180 steps after set-up and under 1 GiB peak;
(b) vectorised / per-agent >= 20. Results go to benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
TARGET_STEP_SECONDS = 10.0
TARGET_PEAK_MIB = 1024.0
TARGET_RATIO = 20.0


def scenario_text(learners: int) -> str:
    """The default `community` scenario fields with N learners (days default to 180)."""
    return f"name: bench\nlearners: {learners}\n"


def max_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------------ cases (in a subprocess)


def case_large(learners: int, days: int, agents: bool) -> dict[str, Any]:
    import mesa

    import learncomm.sim.engine.model as engine
    from learncomm.sim.schema.loading import parse_scenario

    # from 20,000 learners the day's outcomes (frozen_metrics) and tomorrow's uniforms are computed on a second
    # thread (sim/engine/background.py): their timers then measure that thread, overlapping the day
    timers = {"uniforms": 0.0, "run_day": 0.0, "day_metrics": 0.0, "frozen_inputs": 0.0, "collect": 0.0}

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timers[name] += time.perf_counter() - t

        return wrapper

    rss_imports = max_rss_mib()
    scenario = parse_scenario(scenario_text(learners), "<bench>")
    t0 = time.perf_counter()
    model = engine.CommunityModel(scenario, days=days, agents=agents)
    setup = time.perf_counter() - t0
    rss_setup = max_rss_mib()
    # Wrap after set-up so only the days are split; the model looks these names up at call time.
    engine.run_day = timed("run_day", engine.run_day)
    engine.day_metrics = timed("day_metrics", engine.day_metrics)
    engine.frozen_metrics = timed("day_metrics", engine.frozen_metrics)
    engine.frozen_inputs = timed("frozen_inputs", engine.frozen_inputs)
    model._datacollector.collect = timed("collect", model._datacollector.collect)
    model.day_streams.today = timed("uniforms", model.day_streams.today)  # type: ignore[method-assign]
    t1, c1 = time.perf_counter(), time.process_time()
    steps = 0
    while steps < days and model.running:
        model.step()
        steps += 1
    step_time, step_cpu = time.perf_counter() - t1, time.process_time() - c1
    assert isinstance(model, mesa.Model)
    return {
        "learners": learners,
        "days": steps,
        "agents": agents,
        "setup_s": setup,
        "steps_s": step_time,
        "steps_cpu_s": step_cpu,
        "ms_per_day": 1000.0 * step_time / max(steps, 1),
        "learner_steps_per_s": learners * steps / step_time,
        "split_ms_per_day": {k: 1000.0 * v / max(steps, 1) for k, v in timers.items()},
        "rss_after_imports_mib": rss_imports,
        "rss_after_setup_mib": rss_setup,
        "peak_rss_mib": max_rss_mib(),
        "active_at_end": int(model.state.active.sum()),
    }


def case_tracemalloc(learners: int, days: int, agents: bool) -> dict[str, Any]:
    """Peak traced memory (Python objects and NumPy buffers) over set-up and a few days."""
    import tracemalloc

    from learncomm.sim.engine.model import CommunityModel
    from learncomm.sim.schema.loading import parse_scenario

    scenario = parse_scenario(scenario_text(learners), "<bench>")
    tracemalloc.start()
    model = CommunityModel(scenario, days=max(days, 1), agents=agents)
    after_setup, setup_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    for _ in range(days):
        model.step()
    current, day_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    mib = 1024.0 * 1024.0
    return {
        "learners": learners,
        "days": days,
        "agents": agents,
        "traced_after_setup_mib": after_setup / mib,
        "traced_setup_peak_mib": setup_peak / mib,
        "traced_day_peak_mib": day_peak / mib,
        "traced_after_days_mib": current / mib,
    }


def case_compare(learners: int, vec_days: int, per_agent_days: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from per_agent import PerAgentModel

    from learncomm.sim.engine.model import CommunityModel
    from learncomm.sim.schema.loading import parse_scenario

    scenario = parse_scenario(scenario_text(learners), "<bench>")
    out: dict[str, Any] = {"learners": learners}
    for name, make, days in (
        ("vectorised", lambda: CommunityModel(scenario, seed=scenario.seed), vec_days),
        ("per_agent", lambda: PerAgentModel(scenario, seed=scenario.seed), per_agent_days),
    ):
        t0 = time.perf_counter()
        model = make()
        t1, c1 = time.perf_counter(), time.process_time()
        for _ in range(days):
            model.step()
        t2, c2 = time.perf_counter(), time.process_time()
        out[name] = {
            "days": days,
            "setup_s": t1 - t0,
            "steps_s": t2 - t1,
            "steps_cpu_s": c2 - c1,
            "learner_steps_per_s": learners * days / (t2 - t1),
            "learner_steps_per_cpu_s": learners * days / (c2 - c1),
        }
        del model
    out["ratio"] = out["vectorised"]["learner_steps_per_s"] / out["per_agent"]["learner_steps_per_s"]
    out["ratio_cpu"] = out["vectorised"]["learner_steps_per_cpu_s"] / out["per_agent"]["learner_steps_per_cpu_s"]
    return out


CASES = {"large": case_large, "tracemalloc": case_tracemalloc, "compare": case_compare}


def run_case(name: str, **kwargs: Any) -> dict[str, Any]:
    """One case in a fresh interpreter, so each gets its own ru_maxrss and a cold start."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case", name, "--case-args", json.dumps(kwargs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"case {name} {kwargs} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------- report


def report(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=110)
    ok = lambda b: "[green]met[/green]" if b else "[red]MISSED[/red]"  # noqa: E731
    t = Table(
        title=f"(a) CommunityModel, default community fields, {results['large']['learners']:,} learners x "
        f"{results['large']['days']} days"
    )
    for col in (
        "agents",
        "set-up s",
        "steps s",
        "steps CPU s",
        "ms/day",
        "learner-steps/s",
        "peak RSS MiB",
        "RSS after imports MiB",
    ):
        t.add_column(col, justify="right")
    for key in ("large", "large_no_agents"):
        r = results[key]
        t.add_row(
            str(r["agents"]),
            f"{r['setup_s']:.2f}",
            f"{r['steps_s']:.2f}",
            f"{r['steps_cpu_s']:.2f}",
            f"{r['ms_per_day']:.1f}",
            f"{r['learner_steps_per_s']:,.0f}",
            f"{r['peak_rss_mib']:.0f}",
            f"{r['rss_after_imports_mib']:.0f}",
        )
    console.print(t)
    s = Table(title="(a) where a day's time goes (ms per day, agents=True run)")
    split = results["large"]["split_ms_per_day"]
    for col in (*split, "other"):
        s.add_column(col, justify="right")
    s.add_row(*(f"{v:.1f}" for v in split.values()), f"{results['large']['ms_per_day'] - sum(split.values()):.1f}")
    console.print(s)
    if "tracemalloc" in results:
        m = Table(title=f"(a) tracemalloc (separate run, {results['tracemalloc']['days']} days, agents=True)")
        for col in ("after set-up MiB", "set-up peak MiB", "peak during days MiB"):
            m.add_column(col, justify="right")
        r = results["tracemalloc"]
        m.add_row(
            f"{r['traced_after_setup_mib']:.0f}", f"{r['traced_setup_peak_mib']:.0f}", f"{r['traced_day_peak_mib']:.0f}"
        )
        console.print(m)
    c = results["compare"]
    u = Table(title=f"(b) vectorised vs per-agent Mesa, {c['learners']:,} learners")
    for col in ("engine", "days", "set-up s", "steps s", "steps CPU s", "learner-steps/s", "per CPU s"):
        u.add_column(col, justify="right")
    for key in ("vectorised", "per_agent"):
        r = c[key]
        u.add_row(
            key,
            str(r["days"]),
            f"{r['setup_s']:.2f}",
            f"{r['steps_s']:.2f}",
            f"{r['steps_cpu_s']:.2f}",
            f"{r['learner_steps_per_s']:,.0f}",
            f"{r['learner_steps_per_cpu_s']:,.0f}",
        )
    console.print(u)
    tg = results["targets"]
    console.print(
        f"steps after set-up: {results['large']['steps_s']:.2f} s wall, {results['large']['steps_cpu_s']:.2f} "
        f"s CPU (target < {TARGET_STEP_SECONDS:g} s at 100,000 x 180): {ok(tg['steps_under_10s'])}"
    )
    console.print(
        f"peak memory: {results['large']['peak_rss_mib']:.0f} MiB (target < {TARGET_PEAK_MIB:g} MiB): "
        f"{ok(tg['peak_under_1gib'])}"
    )
    console.print(
        f"speed-up over per-agent Mesa: {c['ratio']:.1f}x wall, {c['ratio_cpu']:.1f}x CPU (target >= "
        f"{TARGET_RATIO:g}x): {ok(tg['ratio_at_least_20'])}"
    )
    console.print(
        f"load average before/after (2 cores; other work slows every number): "
        f"{results['load_average_before'][0]:.2f} / {results['load_average_after'][0]:.2f}"
    )
    if results["quick"]:
        console.print(
            "[yellow]--quick: sizes are smaller than the targets assume; the time target is not meaningful "
            "here[/yellow]"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, a few seconds in all")
    ap.add_argument("--learners", type=int, help="learners of the large run (default 100000; quick 10000)")
    ap.add_argument("--days", type=int, help="days of the large run (default 180; quick 30)")
    ap.add_argument("--compare-learners", type=int, help="learners of the comparison (default 10000; quick 2000)")
    ap.add_argument(
        "--vec-days", type=int, help="days of the vectorised engine in the comparison (default 60; quick 10)"
    )
    ap.add_argument(
        "--per-agent-days", type=int, help="days of the per-agent model in the comparison (default 10; quick 5)"
    )
    ap.add_argument("--trace-days", type=int, default=5, help="days of the tracemalloc run (0 skips it)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON results")
    ap.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    ap.add_argument("--case-args", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(CASES[args.case](**json.loads(args.case_args))))
        return

    q = args.quick
    n = args.learners or (10_000 if q else 100_000)
    days = args.days or (30 if q else 180)
    m = args.compare_learners or (2_000 if q else 10_000)
    vec_days = args.vec_days or (10 if q else 60)
    per_days = args.per_agent_days or (5 if q else 10)

    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": q,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "load_average_before": os.getloadavg(),
    }
    try:
        import mesa
        import numpy

        results["machine"].update(numpy=numpy.__version__, mesa=mesa.__version__)
    except ImportError:
        pass
    print(f"(a) {n:,} learners x {days} days, agents=True ...", file=sys.stderr)
    results["large"] = run_case("large", learners=n, days=days, agents=True)
    print(f"(a) {n:,} learners x {days} days, agents=False ...", file=sys.stderr)
    results["large_no_agents"] = run_case("large", learners=n, days=days, agents=False)
    if args.trace_days > 0:
        print(f"(a) tracemalloc, {n:,} learners x {args.trace_days} days ...", file=sys.stderr)
        results["tracemalloc"] = run_case("tracemalloc", learners=n, days=args.trace_days, agents=True)
    print(f"(b) {m:,} learners: vectorised {vec_days} days, per-agent {per_days} days ...", file=sys.stderr)
    results["compare"] = run_case("compare", learners=m, vec_days=vec_days, per_agent_days=per_days)
    results["load_average_after"] = os.getloadavg()
    results["targets"] = {
        "steps_under_10s": results["large"]["steps_s"] < TARGET_STEP_SECONDS,
        "peak_under_1gib": max(results["large"]["peak_rss_mib"], results["large_no_agents"]["peak_rss_mib"])
        < TARGET_PEAK_MIB,
        "ratio_at_least_20": results["compare"]["ratio"] >= TARGET_RATIO,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    report(results)
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
