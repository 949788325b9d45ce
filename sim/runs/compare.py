"""Paired comparison of two scenarios over common random numbers.

Both scenarios run with the same seeds; a seed draws the same learners and
the same daily random numbers in both (sim/engine/choices.py), so differences come
from the scenarios, not from luck. Per outcome and group:

- `diff`: mean over seeds of (B - A) in the group's mean outcome, with a 95%
  t-interval over the paired seeds;
- `d`: Cohen's d between learners, (mean_B - mean_A) / pooled SD of the
  learners' values, averaged over seeds. This is the standardised mean
  difference meta-analyses of education report (e.g. d = 0.4 for peer
  tutoring), so model effects can be read against published ones.

Community-wide outcomes (the equity gap) have one value per run; their `d` is
the paired d_z = mean(diff) / sd(diff) over seeds, marked as such.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from learncomm import __version__
from learncomm.roles.setup import DeciderFactory
from learncomm.sim.runs.run import run_scenario
from learncomm.sim.runs.store import atomic_dir, versions, write_json, write_table
from learncomm.sim.schema.scenario import Scenario
from learncomm.sim.schema.vocab import GROUPS, LEARNER_OUTCOMES, MECHANISMS, SCOPES


@dataclass
class Comparison:
    table: pd.DataFrame  # one row per (group, outcome)
    seeds: list[int]
    a: str
    b: str


def cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    """(mean_b - mean_a) / pooled SD; 0 when both are constant."""
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return float("nan")
    pooled = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    return 0.0 if pooled == 0 else float((b.mean() - a.mean()) / pooled)


def interval(diffs: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval of paired differences."""
    m = float(np.mean(diffs))
    if len(diffs) < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(diffs) - 1) * np.std(diffs, ddof=1) / np.sqrt(len(diffs)))
    return m, m - half, m + half


def groups_of(learners: pd.DataFrame) -> dict[str, pd.Series]:
    out = {"all": pd.Series(True, index=learners.index)}
    out.update({g: learners["confidence_group"] == g for g in GROUPS})
    if (learners["tutoring_role"] != "none").any():
        out.update({f"{r}s": learners["tutoring_role"] == r for r in ("tutor", "tutee")})
    return out


def run_mechanisms(ts: pd.DataFrame, group: str) -> dict[str, float]:
    """Run-average of the mechanism shares (days 1..end) for a confidence group."""
    body = ts.iloc[1:]
    return {m: float(body[f"{m}_{group}"].mean()) for m in MECHANISMS}


def compare(
    a: Scenario,
    b: Scenario,
    seeds: list[int],
    on_run: Callable[[], None] | None = None,
    deciders: Callable[[], DeciderFactory] | None = None,
) -> Comparison:
    """Run A and B on every seed and tabulate paired differences; `deciders` makes each run's DeciderFactory
    (the command line's trust and LLM cache; default: the user's trust file and environment)."""
    rows: list[dict[str, object]] = []
    for seed in seeds:
        res = []
        for sc in (a, b):
            res.append(run_scenario(sc, seed=seed, deciders=deciders() if deciders else None))
            if on_run is not None:
                on_run()
        la, lb = res[0].learners, res[1].learners
        ga, gb = groups_of(la), groups_of(lb)
        for g in ga:
            if g not in gb:
                continue
            for o in LEARNER_OUTCOMES:
                xa, xb = la.loc[ga[g], o].to_numpy(float), lb.loc[gb[g], o].to_numpy(float)
                rows.append(
                    {
                        "seed": seed,
                        "group": g,
                        "outcome": o,
                        "kind": "learners",
                        "a": xa.mean(),
                        "b": xb.mean(),
                        "d": cohens_d(xa, xb),
                    }
                )
            if g not in SCOPES:
                continue  # the day's mode shares are collected per confidence group only
            ma, mb = run_mechanisms(res[0].timeseries, g), run_mechanisms(res[1].timeseries, g)
            for m in MECHANISMS:
                rows.append(
                    {"seed": seed, "group": g, "outcome": m, "kind": "mechanism", "a": ma[m], "b": mb[m], "d": np.nan}
                )
        for o in ("equity_gap", "posts_gini"):
            rows.append(
                {
                    "seed": seed,
                    "group": "community",
                    "outcome": o,
                    "kind": "run",
                    "a": res[0].summary["community"][o],
                    "b": res[1].summary["community"][o],
                    "d": np.nan,
                }
            )
    per_seed = pd.DataFrame(rows)
    return Comparison(table=tabulate(per_seed), seeds=list(seeds), a=a.name, b=b.name)


def tabulate(per_seed: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (group, outcome, kind), sub in per_seed.groupby(["group", "outcome", "kind"], sort=False):
        diffs = (sub["b"] - sub["a"]).to_numpy(float)
        m, lo, hi = interval(diffs)
        if kind == "learners":
            d, d_kind = float(np.nanmean(sub["d"])), "learners"
        else:
            sd = float(np.std(diffs, ddof=1)) if len(diffs) > 1 else float("nan")
            d, d_kind = (m / sd if sd and sd > 0 else float("nan")), "paired d_z"
        out.append(
            {
                "group": group,
                "outcome": outcome,
                "kind": kind,
                "mean_a": float(sub["a"].mean()),
                "mean_b": float(sub["b"].mean()),
                "diff": m,
                "ci_low": lo,
                "ci_high": hi,
                "d": d,
                "d_kind": d_kind,
                "seeds": len(diffs),
            }
        )
    return pd.DataFrame(out)


def save_comparison(result: Comparison, target: Path, request: dict[str, Any], claimed: bool = False) -> None:
    """A comparison folder: comparison.parquet and a manifest with the request that made it (for its dashboard).
    `claimed`: the caller claimed `target` before running the comparison (`claim_dir`)."""
    with atomic_dir(target, claimed=claimed) as tmp:
        write_table(pa.Table.from_pandas(result.table, preserve_index=False), tmp / "comparison.parquet")
        created = datetime.now(UTC).isoformat(timespec="seconds")
        write_json(
            {
                "learncomm": __version__,
                "a": result.a,
                "b": result.b,
                "seeds": result.seeds,
                "request": request,
                "created": created,
                "versions": versions(),
            },
            tmp / "manifest.json",
        )
