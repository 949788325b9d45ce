"""What a calibration reports: the best fit, the spread of good fits, calibration.json and the calibrated scenario.

Everything is computed from the trial records (trials/*.json), so it can be rebuilt from the folder at any time and
is the same after a resume as after an uninterrupted run.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from learncomm import __version__
from learncomm.sim.calibrate.search import BASELINE, REPLICATES, SAMPLER, CalSetup, read_record, read_records
from learncomm.sim.calibrate.space import OWN_ARRIVALS
from learncomm.sim.runs.store import atomic_file, versions
from learncomm.sim.schema.loading import ScenarioError, read_yaml, set_dotted
from learncomm.sim.sweeps.store import write_json_atomic

GOOD_MIN = 5  # at least the best 5 trials are good fits
GOOD_RULE = (
    "trials whose distance is at most the largest distance the best fit itself reaches on {n} other seeds "
    "(the seed-to-seed noise), and at least the best {m}"
)


def tolerance(out: Path, best: dict[str, Any] | None) -> float | None:
    """The largest distance of the best fit's replicates on other seeds: a trial closer to the log than that is as
    good a fit as the best, as far as one simulation per trial can tell."""
    if best is None:
        return None
    reps = [read_record(out, best["number"], r) for r in range(1, REPLICATES + 1)]
    ds = [r["distance"] for r in reps if r is not None and r.get("distance") is not None]
    return max([best["distance"], *ds]) if ds else None


def good_fits(records: list[dict[str, Any]], tol: float | None) -> list[dict[str, Any]]:
    ok = sorted((r for r in records if r.get("distance") is not None), key=lambda r: (r["distance"], r["number"]))
    within = [r for r in ok if tol is not None and r["distance"] <= tol]
    return within if len(within) >= GOOD_MIN else ok[: min(len(ok), GOOD_MIN)]


def spread(good: list[dict[str, Any]], paths: list[str]) -> dict[str, dict[str, float]]:
    """Per parameter over the good fits: min, 5/50/95% quantiles, max."""
    out = {}
    for p in paths:
        v = np.array([r["params"][p] for r in good], dtype=np.float64)
        if len(v):
            q = np.quantile(v, [0.05, 0.5, 0.95])
            out[p] = {
                "min": float(v.min()),
                "q05": float(q[0]),
                "median": float(q[1]),
                "q95": float(q[2]),
                "max": float(v.max()),
            }
    return out


def summarise(setup: CalSetup, out: Path, wall_s: float = 0.0, ran: int = 0) -> dict[str, Any]:
    """calibration.json's content, from the folder's records."""
    records = read_records(out)
    base = read_record(out, BASELINE)
    ok = [r for r in records if r.get("distance") is not None]
    best = min(ok, key=lambda r: (r["distance"], r["number"])) if ok else None
    tol = tolerance(out, best)
    good = good_fits(records, tol)
    paths = [p.path for p in setup.space]
    running_best: list[float] = []
    for r in records:
        d = r.get("distance")
        prev = running_best[-1] if running_best else math.inf
        running_best.append(min(prev, d) if d is not None else prev)
    return {
        "learncomm": __version__,
        "versions": versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "log": setup.log_info,
        "base": {"scenario": setup.base_name, "learners": setup.base.get("learners"), "days": setup.base.get("days")},
        "fit": [p.to_dict() for p in setup.space],
        "search": {
            "sampler": SAMPLER,
            "budget": setup.budget,
            "reps": setup.reps,
            "batch": setup.batch,
            "seed": setup.seed,
            "n_startup_trials": setup.n_startup,
        },
        "trials_done": len(records),
        "trials_failed": len(records) - len(ok),
        "best": None if best is None else {k: best[k] for k in ("number", "distance", "terms", "params")},
        "baseline": None
        if base is None or base.get("distance") is None
        else {"distance": base["distance"], "terms": base["terms"]},
        "good": {
            "rule": GOOD_RULE.format(n=REPLICATES, m=GOOD_MIN),
            "tolerance": tol,
            "count": len(good),
            "spread": spread(good, paths),
        },
        "figures": {
            "data": setup.data.to_dict(),
            "best": None if best is None else best["figures"],
            "baseline": None if base is None else base.get("figures"),
        },
        "trials": [
            {"number": r["number"], "distance": r.get("distance"), "params": r["params"], "terms": r.get("terms")}
            for r in records
        ],
        "running_best": [None if not math.isfinite(v) else v for v in running_best],
        "errors": [{"number": r["number"], "error": r.get("error")} for r in records if r.get("distance") is None][:20],
        "wall_time_s": round(wall_s, 3),
        "simulations_this_run": ran,
    }


def _base_data(setup: CalSetup) -> dict[str, Any]:
    """The base file's own fields with the log's size and the arrivals written out (short, like the file); the
    whole sized scenario when the file cannot be read again or has several communities."""
    full: dict[str, Any] = yaml.safe_load(yaml.safe_dump(setup.base))  # a deep, plain copy
    full.pop(OWN_ARRIVALS, None)
    try:
        raw = read_yaml(Path(setup.base_path).read_text(encoding="utf-8"), setup.base_path)[1]
    except (OSError, UnicodeDecodeError, ScenarioError, yaml.YAMLError):
        return full
    if not isinstance(raw, dict) or raw.get("communities"):
        return full
    raw.update(learners=full["learners"], days=full["days"], arrivals=full.get("arrivals"))
    return raw


def calibrated_yaml(setup: CalSetup, summary: dict[str, Any]) -> str:
    """The base scenario sized to the log with the best fit set, under a header naming the log and the fit."""
    best = summary["best"]
    data = _base_data(setup)
    for path, value in (best or {}).get("params", {}).items():
        set_dotted(data, path, value)
    log = summary["log"]
    name = Path(str(log.get("source", "log"))).stem or "log"
    data["name"] = (re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.") or "log")[:60] + "-calibrated"
    data["description"] = (
        f"The {summary['base']['scenario']} scenario calibrated to {name} ({log.get('members')} members over "
        f"{log.get('days', 0):.0f} days) by learncomm calibrate; the header above gives the fit and its spread."
    )
    spread_ = summary["good"]["spread"]
    base_d = (summary.get("baseline") or {}).get("distance")
    lines = [
        f"# How does a community like {name} behave, and what if it were run differently? (learncomm calibrate)",
        f"# Calibrated to the log {log.get('source')}: {log.get('members')} members, {log.get('posts')} events over "
        f"{log.get('days', 0):.1f} days"
        + (f" (one simulated day = {log['scale']:.3g} log days)" if log.get("scale", 1) != 1 else ""),
        f"# Base scenario: {summary['base']['scenario']}; seed {setup.seed}; {summary['trials_done']} trials of "
        f"{SAMPLER.split('(')[0]}, batch {setup.batch}; created {summary['created']} by learncomm {__version__}.",
    ]
    if best is not None:
        lines.append(
            f"# Distance to the log {best['distance']:.3f}"
            + (f" (the uncalibrated base: {base_d:.3f})" if base_d is not None else "")
            + "; per figure: "
            + ", ".join(f"{k} {v:.3f}" for k, v in best["terms"].items())
        )
        lines.append(f"# Fitted (best; spread of the {summary['good']['count']} good fits, min-max):")
        for path, value in best["params"].items():
            s = spread_.get(path, {})
            lines.append(f"#   {path} = {value:.4g}  [{s.get('min', math.nan):.4g}, {s.get('max', math.nan):.4g}]")
    lines.append("# Details: docs/calibration.md; the search's folder holds calibration.json and dashboard.html.")
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
    return "\n".join(lines) + "\n" + body


def write_outputs(setup: CalSetup, out: Path, wall_s: float = 0.0, ran: int = 0) -> dict[str, Any]:
    """calibration.json and scenario.yaml in `out`, each written atomically."""
    started = time.perf_counter()
    summary = summarise(setup, out, wall_s, ran)
    write_json_atomic(summary, out / "calibration.json")
    if summary["best"] is not None:
        text = calibrated_yaml(setup, summary)
        atomic_file(out / "scenario.yaml", lambda p: p.write_text(text, encoding="utf-8"))
    summary["wall_time_s"] = round(wall_s + time.perf_counter() - started, 3)
    return summary
