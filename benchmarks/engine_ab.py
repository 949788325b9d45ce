"""Two versions of the engine against each other under the same load: CPU ms per day, alternating.

    .venv/bin/python benchmarks/engine_ab.py main HEAD                   # two commits of this repository
    .venv/bin/python benchmarks/engine_ab.py main HEAD --case open --pairs 3 --learners 100000 --days 60

Each commit's `sim/`, `agents/` and `roles/` are laid out (git archive) as a `learncomm` package in a
temporary folder; each run is a fresh interpreter that imports that copy instead of the installed one,
times the engine's days and a bare day (benchmarks/bare_day.py) alternately in CPU time, and the two
versions alternate pair by pair, so a change in the machine's load hits both alike. Prints one line per
run and the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def lay_out(commit: str, into: Path) -> Path:
    """`commit`'s code as an importable `learncomm` package under `into`; returns the folder to put on sys.path."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "learncomm", "sim", "agents", "roles"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    for sub in ("sim", "agents", "roles"):
        (into / "learncomm" / sub).symlink_to(into / sub)
    return into


def one_run(root: str, case: str, learners: int, days: int) -> dict[str, float]:
    """In this (fresh) interpreter: import the engine from `root`, time `days` days against the bare day."""
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]  # not the installed copy
    sys.path.insert(0, root)
    sys.path.insert(0, str(HERE))
    from bare_day import BareDay
    from engine_ratio import scenario_text

    import learncomm.sim.engine.model as engine
    from learncomm.sim.schema.loading import parse_scenario

    assert str(Path(engine.__file__).resolve()).startswith(str(Path(root).resolve())), engine.__file__
    model = engine.CommunityModel(parse_scenario(scenario_text(learners, days, case), "<ab>"), agents=False)
    bare = BareDay(learners)
    spent_engine = spent_bare = 0.0
    for _ in range(days):
        c0 = time.process_time()
        bare.step()
        c1 = time.process_time()
        if model.running:
            model.step()
            getattr(
                model, "wait", lambda: None
            )()  # its second thread's work counts as the engine's, not the bare day's
        spent_bare += c1 - c0
        spent_engine += time.process_time() - c1
    return {"engine_ms": 1000 * spent_engine / days, "bare_ms": 1000 * spent_bare / days}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", nargs="?", default="main", help="a commit (the baseline; default main)")
    ap.add_argument("b", nargs="?", default="HEAD", help="a commit (the change; default HEAD)")
    ap.add_argument("--case", choices=["open", "closed"], default="closed")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--learners", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--run", nargs=4, help=argparse.SUPPRESS)  # root case learners days: one timed run
    args = ap.parse_args()
    if args.run:
        root, case, learners, days = args.run
        print(json.dumps(one_run(root, case, int(learners), int(days))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        roots = {}
        for name in (args.a, args.b):
            folder = Path(tmp) / f"v{len(roots)}"
            folder.mkdir()
            roots[name] = str(lay_out(name, folder))
        seen: dict[str, list[dict[str, float]]] = {args.a: [], args.b: []}
        for _ in range(args.pairs):
            for name, root in roots.items():
                cmd = [sys.executable, __file__, "--run", root, args.case, str(args.learners), str(args.days)]
                out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
                seen[name].append(out)
                print(f"{name}: engine {out['engine_ms']:.1f} ms/day CPU, bare {out['bare_ms']:.2f} ms", flush=True)
    for name, runs in seen.items():
        e = statistics.median(r["engine_ms"] for r in runs)
        ratio = statistics.median(r["engine_ms"] / r["bare_ms"] for r in runs)
        print(
            f"{name}: median {e:.1f} ms/day CPU, {ratio:.2f}x the bare day "
            f"({args.case}, {args.learners:,} x {args.days})"
        )


if __name__ == "__main__":
    main()
