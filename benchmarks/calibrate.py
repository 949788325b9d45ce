"""Calibration check: peer tutoring vs self-study (Cohen's d), and classroom vs community per group.

python benchmarks/calibrate.py [--seeds N] [--set params.alpha_tutor=0.1 ...]
Prints the numbers docs/model.md quotes; not a test (tests/test_calibration.py checks the range).
"""

from __future__ import annotations

import argparse

from learncomm.sim.cli.app import parse_sets
from learncomm.sim.runs.compare import compare
from learncomm.sim.schema.loading import load_scenario


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--pairs", default="self-study:peer-tutoring,classroom:community")
    args = ap.parse_args()
    sets = parse_sets(args.set)
    for pair in args.pairs.split(","):
        a, b = pair.split(":")
        res = compare(load_scenario(a, sets), load_scenario(b, sets), list(range(args.seeds)))
        t = res.table
        print(f"== {b} - {a}  ({args.seeds} seeds)")
        keep = t[
            t["outcome"].isin(
                [
                    "knowledge_gain",
                    "confidence_change",
                    "retained",
                    "share_ask",
                    "share_observe",
                    "exposed",
                    "present",
                    "days_present",
                ]
            )
            | (t["group"] == "community")
        ]
        print(
            keep[["group", "outcome", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "d"]]
            .round(3)
            .to_string(index=False)
        )


if __name__ == "__main__":
    main()
