"""Regenerate the golden baselines after a reviewed change in behaviour: python tests/golden/update.py"""

from __future__ import annotations

import json
from pathlib import Path

from learncomm.sim.runs.run import run_scenario
from learncomm.sim.schema.loading import load_scenario, with_changes

CASES = {"community": (1, 90), "classroom": (1, 90), "band": (11, 60)}

for name, (seed, days) in CASES.items():
    summary = run_scenario(with_changes(load_scenario(name), days=days), seed=seed).summary
    path = Path(__file__).parent / f"{name}.json"
    path.write_text(
        json.dumps({"scenario": name, "seed": seed, "days": days, "summary": summary}, indent=2, sort_keys=True) + "\n"
    )
    print("wrote", path)
