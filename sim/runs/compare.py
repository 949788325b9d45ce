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

Learner by learner (sim/runs/paired.py): each learner's B − A on the same seed,
per group the shares better off, worse off and unchanged (95% interval over
seeds) and the quantiles of the individual differences. Groups come from
sim/runs/subgroups.py (`--by`, `--group`); a learner's groups for the paired
effects are those of A, the baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from learncomm import __version__
from learncomm.roles.setup import DeciderFactory
from learncomm.sim.runs.paired import TOLERANCE, Recorder, pair, quantiles, shares
from learncomm.sim.runs.run import run_observed
from learncomm.sim.runs.store import atomic_dir, versions, write_json, write_table
from learncomm.sim.runs.subgroups import ATTRIBUTES, GroupError, GroupSpec, memberships
from learncomm.sim.schema.scenario import Scenario
from learncomm.sim.schema.vocab import LEARNER_OUTCOMES, MECHANISMS, SCOPES


@dataclass
class Comparison:
    table: pd.DataFrame  # one row per (group, outcome): comparison.parquet
    seeds: list[int]
    a: str
    b: str
    per_seed: pd.DataFrame = field(default_factory=pd.DataFrame)  # per (seed, group, outcome): per_seed.parquet
    per_learner: pd.DataFrame = field(default_factory=pd.DataFrame)  # per (seed, learner): per_learner.parquet
    trajectories: pd.DataFrame = field(default_factory=pd.DataFrame)  # per (seed, A/B, group, day)
    pairing: dict[str, int] = field(default_factory=dict)  # learners paired and not, summed over seeds
    spec: GroupSpec = field(default_factory=GroupSpec)
    warnings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # per side: distinct run warnings


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


def groups_of(learners: pd.DataFrame, spec: GroupSpec | None = None) -> dict[str, pd.Series]:
    """The comparison's groups over one learners table (sim/runs/subgroups.py)."""
    return memberships(learners, spec or GroupSpec())


def scope_of(group: str) -> str | None:
    """The timeseries scope (all, low, medium, high) a group's mechanisms are collected for, if any."""
    if group in SCOPES:
        return group
    if group.startswith("confidence_group=") and "&" not in group:
        return group.split("=", 1)[1]
    return None


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
    spec: GroupSpec | None = None,
) -> Comparison:
    """Run A and B on every seed and tabulate paired differences, per group and, learner by learner, per group.

    `deciders` makes each run's DeciderFactory (the command line's trust and LLM cache; default: the user's trust
    file and environment). Raises GroupError when a user-defined group has no learner in A on the first seed
    (before the other seeds run)."""
    spec = spec or GroupSpec()
    rows: list[dict[str, object]] = []
    learner_frames: list[pd.DataFrame] = []
    paths: list[pd.DataFrame] = []
    pairing = {"paired": 0, "unpaired": 0, "only_a": 0, "only_b": 0}
    pooled: dict[tuple[str, str], list[np.ndarray]] = {}  # paired learners' B − A per (group, outcome), all seeds
    warned: dict[str, dict[str, dict[str, Any]]] = {"A": {}, "B": {}}  # side -> code -> first message, seeds
    for seed in seeds:
        res, recs = [], []
        for sc in (a, b):
            rec = Recorder()
            res.append(run_observed(sc, seed, rec, deciders() if deciders else None))
            recs.append(rec)
            if on_run is not None:
                on_run()
        for side, r in zip(("A", "B"), res, strict=True):
            collect_warnings(warned[side], r.summary.get("warnings") or [])
        la, lb = res[0].learners, res[1].learners
        ga, gb = groups_of(la, spec), groups_of(lb, spec)
        for name, expr in spec.custom:
            if not ga[name].any():
                raise GroupError(f"--group {name}={expr}: matches no learner of {a.name} (seed {seed})")
        pf, where = paired_learners(la, lb, ga)
        pairing["paired"] += int(pf["paired"].sum())
        pairing["unpaired"] += int((~pf["paired"]).sum())
        pairing["only_a"] += len(la) - len(pf)
        pairing["only_b"] += len(lb) - len(pf)
        learner_frames.append(pf.assign(seed=seed))
        for g in ga:
            if g not in gb:
                continue
            in_pair = where[g] & pf["paired"].to_numpy()
            for o in LEARNER_OUTCOMES:
                xa, xb = la.loc[ga[g], o].to_numpy(float), lb.loc[gb[g], o].to_numpy(float)
                diff = pf.loc[in_pair, f"{o}_diff"].to_numpy(float)
                pooled.setdefault((g, o), []).append(diff)
                better, worse, same = shares(diff, TOLERANCE[o])
                rows.append(
                    {
                        "seed": seed,
                        "group": g,
                        "outcome": o,
                        "kind": "learners",
                        "a": xa.mean(),
                        "b": xb.mean(),
                        "d": cohens_d(xa, xb),
                        "learners_a": len(xa),
                        "learners_b": len(xb),
                        "paired": int(in_pair.sum()),
                        "share_better": better,
                        "share_worse": worse,
                        "share_unchanged": same,
                        **quantiles(diff),
                    }
                )
            scope = scope_of(g)
            if scope is None:
                continue  # the day's mode shares are collected per confidence group only
            ma, mb = run_mechanisms(res[0].timeseries, scope), run_mechanisms(res[1].timeseries, scope)
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
        for label, rec, lr, gr in (("A", recs[0], la, ga), ("B", recs[1], lb, gb)):
            path = rec.trajectories(lr["learner_id"].to_numpy(), gr)
            path.insert(0, "scenario", label)
            path.insert(0, "seed", seed)
            paths.append(path)
    per_seed = pd.DataFrame(rows)
    per_seed.insert(list(per_seed.columns).index("b") + 1, "diff", per_seed["b"] - per_seed["a"])
    per_learner = pd.concat(learner_frames, ignore_index=True)
    per_learner.insert(0, "seed", per_learner.pop("seed"))
    return Comparison(
        table=tabulate(per_seed, {k: quantiles(np.concatenate(v)) for k, v in pooled.items()}),
        seeds=list(seeds),
        a=a.name,
        b=b.name,
        per_seed=per_seed,
        per_learner=per_learner,
        trajectories=pd.concat(paths, ignore_index=True),
        pairing=pairing,
        spec=spec,
        warnings={side: list(found.values()) for side, found in warned.items()},
    )


def collect_warnings(found: dict[str, dict[str, Any]], warnings: list[dict[str, str]]) -> None:
    """Add one run's warnings (summary.json `warnings`, sim/runs/run_warnings.py) to its side's distinct warnings:
    one entry per code, with the first seed's message and how many seeds had it (messages differ by seed only in
    their counts)."""
    for code in dict.fromkeys(str(w.get("code", "")) for w in warnings):
        message = next(str(w.get("message", "")) for w in warnings if str(w.get("code", "")) == code)
        entry = found.setdefault(code, {"code": code, "message": message, "seeds": 0})
        entry["seeds"] += 1


def paired_learners(
    la: pd.DataFrame, lb: pd.DataFrame, ga: dict[str, pd.Series]
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The learners of both runs, paired (sim/runs/paired.py), with their attributes and groups as in A (the
    baseline), so a learner is in the same groups on both sides; and each group's mask over those rows."""
    pf = pair(la, lb)
    idx = pd.Series(np.arange(len(la)), index=la["learner_id"].to_numpy()).loc[pf["learner_id"]].to_numpy()
    where = {g: mask.to_numpy()[idx] for g, mask in ga.items()}
    attrs = {attr: ATTRIBUTES[attr].label(la).to_numpy()[idx] for attr in ATTRIBUTES}
    names = np.asarray(list(where), dtype=object)
    matrix = np.column_stack(list(where.values())) if where else np.zeros((len(pf), 0), dtype=bool)
    groups = [list(names[row]) for row in matrix]
    front = pd.DataFrame({"learner_id": pf["learner_id"], "paired": pf["paired"], **attrs, "groups": groups})
    return pd.concat([front, pf.drop(columns=["learner_id", "paired"])], axis=1), where


def tabulate(per_seed: pd.DataFrame, pooled: dict[tuple[str, str], dict[str, float]] | None = None) -> pd.DataFrame:
    """One row per (group, outcome): means, B − A with its interval over seeds, d, group sizes, and, for learner
    outcomes, the shares better/worse off/unchanged (interval over seeds) and, from `pooled`, the quantiles of the
    individual differences pooled over seeds."""
    pooled = pooled or {}
    out = []
    for (group, outcome, kind), sub in per_seed.groupby(["group", "outcome", "kind"], sort=False):
        diffs = (sub["b"] - sub["a"]).to_numpy(float)
        m, lo, hi = interval(diffs)
        if kind == "learners":
            d, d_kind = float(np.nanmean(sub["d"])), "learners"
        else:
            sd = float(np.std(diffs, ddof=1)) if len(diffs) > 1 else float("nan")
            d, d_kind = (m / sd if sd and sd > 0 else float("nan")), "paired d_z"
        row: dict[str, object] = {
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
        learners = kind == "learners" and "learners_a" in sub
        row["learners_a"] = float(sub["learners_a"].mean()) if learners else float("nan")
        row["learners_b"] = float(sub["learners_b"].mean()) if learners else float("nan")
        row["paired"] = float(sub["paired"].mean()) if learners else float("nan")
        for share in ("share_better", "share_worse", "share_unchanged"):
            vals = sub[share].dropna().to_numpy(float) if learners else np.array([])
            s_m, s_lo, s_hi = interval(vals) if len(vals) else (float("nan"),) * 3
            # a share's interval is clipped to [0, 1] (the t-interval knows nothing of bounds)
            row[share], row[f"{share}_low"], row[f"{share}_high"] = s_m, max(s_lo, 0.0), min(s_hi, 1.0)
        q = pooled.get((str(group), str(outcome))) if learners else None
        for name in QUANTILE_COLUMNS:
            row[name] = float("nan") if q is None else q[name]
        out.append(row)
    return pd.DataFrame(out)


QUANTILE_COLUMNS = tuple(quantiles(np.zeros(1)))


def save_comparison(result: Comparison, target: Path, request: dict[str, Any], claimed: bool = False) -> None:
    """A comparison folder: comparison.parquet, per_seed.parquet, per_learner.parquet, trajectories.parquet and a
    manifest with the request that made it (for its dashboard).
    `claimed`: the caller claimed `target` before running the comparison (`claim_dir`)."""
    with atomic_dir(target, claimed=claimed) as tmp:
        for name, frame in (
            ("comparison", result.table),
            ("per_seed", result.per_seed),
            ("per_learner", result.per_learner),
            ("trajectories", result.trajectories),
        ):
            if name == "comparison" or not frame.empty:
                write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp / f"{name}.parquet")
        created = datetime.now(UTC).isoformat(timespec="seconds")
        write_json(
            {
                "learncomm": __version__,
                "a": result.a,
                "b": result.b,
                "seeds": result.seeds,
                "request": request,
                "groups": {"by": list(result.spec.by), "custom": dict(result.spec.custom)},
                "pairing": result.pairing,
                "warnings": result.warnings,
                "tolerance": TOLERANCE,
                "created": created,
                "versions": versions(),
            },
            tmp / "manifest.json",
        )
