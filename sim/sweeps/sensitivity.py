"""Sensitivity of each outcome to each parameter, from a finished sobol or morris sweep (SALib).

Replicates are averaged per point first (they share seeds across points, so
the average is a common-random-numbers estimate), then SALib analyses the
point means in the design's unit cube: Morris effects are per step of the
parameter's whole range, so parameters with different units compare.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from SALib.analyze import morris, sobol

from learncomm import __version__
from learncomm.sim.schema.loading import ScenarioError
from learncomm.sim.schema.sweep import ALL_OUTCOMES
from learncomm.sim.sweeps.store import SweepStoreError, read_sweep_json, write_json_atomic

SOBOL_KEYS = ("S1", "S1_conf", "ST", "ST_conf")
MORRIS_KEYS = ("mu_star", "mu_star_conf", "sigma", "mu")
TARGET_CONF = 0.05
"""The 95% half-width (SALib's `*_conf`) every Sobol index should reach: intervals at most 0.1 wide, narrow enough
to resolve S1 <= ST and to tell an index of 0.1 from one of 0.3 (docs/sweeps.md, "Sensitivity")."""


def does_not_vary(y: np.ndarray) -> bool:
    """True when every point gave the same value (up to rounding): no variance to apportion, so no index exists."""
    return bool(np.ptp(y) <= 1e-12 * max(1.0, float(np.max(np.abs(y)))))


def samples_needed(samples: int, conf: float) -> int:
    """The base sample N whose intervals would be TARGET_CONF wide: Monte Carlo intervals shrink as 1/sqrt(N)
    (Saltelli et al. 2010), so N * (conf / TARGET_CONF)^2, rounded up to a power of two (Saltelli's scheme in SALib
    wants one)."""
    want = samples * (conf / TARGET_CONF) ** 2
    return max(2 * samples, 2 ** math.ceil(math.log2(max(want, 1.0))))


def sobol_warning(
    outcome: str, per: dict[str, dict[str, float | None]], record: dict[str, Any]
) -> dict[str, Any] | None:
    """When a parameter's S1 exceeds its ST (impossible in theory: ST includes S1), the sample is too small for
    these indices: which parameters, and the base sample size that would do."""
    above = [p for p, v in per.items() if v["S1"] is not None and v["ST"] is not None and v["S1"] > v["ST"]]
    if not above:
        return None
    samples = int(record["design"].get("samples") or 0)
    confs = [c for v in per.values() for c in (v["S1_conf"], v["ST_conf"]) if c is not None]
    widest = max(confs, default=math.nan)
    need = samples_needed(samples, widest) if samples and math.isfinite(widest) else None
    shown = ", ".join(f"{p} (S1 {per[p]['S1']:.2f} > ST {per[p]['ST']:.2f})" for p in above)
    text = (
        f"{outcome}: S1 above ST for {shown}; the sample is too small for these indices (widest 95% interval "
        f"± {widest:.2f}). "
        + (
            f"samples: {need} (base sample N, now {samples}) would bring every interval to about ± {TARGET_CONF}."
            if need
            else "Raise samples."
        )
    )
    return {
        "parameters": above,
        "samples": samples or None,
        "widest_conf": _finite(widest),
        "samples_needed": need,
        "text": text,
    }


def _finite(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def point_means(out: Path, record: dict[str, Any], outcomes: list[str]) -> tuple[np.ndarray, int]:
    """(points x outcomes) means over the complete replicates, and how many runs went in."""
    path = out / "summary.parquet"
    if not path.is_file():
        raise ScenarioError(f"{out}: no summary.parquet; run the sweep first (learncomm sweep)")
    table = pq.read_table(path).to_pandas()
    missing = [o for o in outcomes if o not in table.columns]
    if missing:
        raise ScenarioError(
            f"{', '.join(missing)}: not among this sweep's outcomes ({', '.join(record['outcomes'])}); "
            "add them to outcomes: in the sweep file and run `learncomm sweep` again (no run is repeated)"
        )
    ok = table[table["status"] == "ok"]
    n = len(record["points"])
    means = ok.groupby("point")[outcomes].mean().reindex(range(n))
    lacking = int(means.isna().all(axis=1).sum())
    if lacking:
        raise ScenarioError(
            f"{out}: {lacking} of {n} points have no complete run; sensitivity needs every point. "
            "Run `learncomm sweep` again to resume (failed runs are retried)"
        )
    return means.to_numpy(float), len(ok)


def analyse(out: str | Path, outcomes: list[str] | None = None) -> dict[str, Any]:
    """Sobol (S1, ST with confidence intervals) or Morris (mu*, sigma) indices per outcome; also saved as
    sensitivity.json. An outcome that does not vary gets null indices (listed in `does_not_vary`); an outcome whose
    Sobol estimates are too noisy to trust (S1 > ST) gets an entry in `warnings` with the sample size that would do."""
    out = Path(out)
    try:
        record = read_sweep_json(out)
    except SweepStoreError as exc:
        raise ScenarioError(str(exc)) from None
    if record is None:
        raise ScenarioError(f"{out}: not a sweep folder (no sweep.json)")
    kind = record["design"]["kind"]
    if kind not in ("sobol", "morris"):
        raise ScenarioError(
            f"{out}: sensitivity needs a sobol or morris design; this sweep's design is {kind}. "
            "Its points do not isolate each parameter's effect: use design: sobol (or morris for a quick screening)"
        )
    chosen = list(outcomes or record["outcomes"])
    unknown = [o for o in chosen if o not in ALL_OUTCOMES]
    if unknown:
        raise ScenarioError(f"unknown outcome {unknown[0]!r}; valid: {', '.join(ALL_OUTCOMES)}")
    Y, runs = point_means(out, record, chosen)
    names = list(record["parameter_order"])  # the unit coordinates' column order
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    result: dict[str, Any] = {
        "learncomm": __version__,
        "method": kind,
        "parameters": names,
        "points": len(record["points"]),
        "runs": runs,
        "outcomes": {},
    }
    result["does_not_vary"] = []
    result["warnings"] = {}
    for j, o in enumerate(chosen):
        y = Y[:, j]
        if not np.all(np.isfinite(y)):
            raise ScenarioError(f"{o}: some points have no value (an empty confidence group?); choose another outcome")
        if does_not_vary(y):  # SALib would report 0 ± 0: no variance is not "no influence"
            keys = SOBOL_KEYS if kind == "sobol" else MORRIS_KEYS
            result["outcomes"][o] = {p: dict.fromkeys(keys) for p in names}
            result["does_not_vary"].append(o)
            result["warnings"][o] = {
                "text": f"{o}: does not vary (every point gave {float(y[0]):.6g}), so it has no sensitivity indices"
            }
            continue
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if kind == "sobol":
                si = sobol.analyze(problem, y, calc_second_order=bool(record["design"]["second_order"]), seed=0)
                result["outcomes"][o] = {p: {k: _finite(si[k][i]) for k in SOBOL_KEYS} for i, p in enumerate(names)}
                warn = sobol_warning(o, result["outcomes"][o], record)
                if warn is not None:
                    result["warnings"][o] = warn
            else:
                X = np.array([p["unit"] for p in record["points"]], dtype=float)
                si = morris.analyze(problem, X, y, num_levels=int(record["design"]["morris_levels"]), seed=0)
                result["outcomes"][o] = {p: {k: _finite(si[k][i]) for k in MORRIS_KEYS} for i, p in enumerate(names)}
    write_json_atomic(result, out / "sensitivity.json")
    return result
