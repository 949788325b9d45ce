"""A sweep folder read and aggregated for its dashboard: per-parameter effects, pair heatmaps, sensitivity.

Everything the page can switch between is computed here once, rounded, and
stored in the page as one JSON object; the page's small script only picks
from it (no statistics in JavaScript).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from learncomm.sim.dashboard.common import DashboardError, rounded
from learncomm.sim.dashboard.folders import read_json, read_parquet
from learncomm.sim.runs.compare import interval
from learncomm.sim.schema.vocab import SCOPES

KEYS = {"point", "replicate", "seed", "status", "error", "wall_time_s"}
MAX_LEVELS = 12  # more distinct values than this: binned
BINS = 8
SOBOL = ("S1", "S1_conf", "ST", "ST_conf")
MORRIS = ("mu_star", "mu_star_conf", "sigma")
# Sensitivity indices: {outcome: {parameter: {index: value, None where SALib gave NaN}}}.
Indices = dict[str, dict[str, dict[str, float | None]]]


@dataclass
class Axis:
    """A parameter's values grouped for plotting: a bin code per run and a label/centre per bin."""

    name: str
    codes: np.ndarray
    centres: list[Any]
    labels: list[str]
    numeric: bool


@dataclass
class SweepData:
    path: Path
    record: dict[str, Any]
    table: pd.DataFrame  # successful runs only
    params: list[str]
    outcomes: list[str]
    failed: int
    sensitivity: Indices | None
    method: str | None
    axes: dict[str, Axis] = field(default_factory=dict)
    sensitivity_notes: dict[str, str] = field(default_factory=dict)  # per outcome: does not vary, sample too small


def parameter_names(record: dict[str, Any], table: pd.DataFrame) -> list[str]:
    """Parameter paths from sweep.json in the sweep file's order (`parameter_order`; JSON objects are written with
    sorted keys), else from `parameters` (a list of {path}, a list of names, or a mapping by path)."""
    order = record.get("parameter_order")
    p = record.get("parameters") or []
    if isinstance(order, list) and order:
        names: list[Any] = [str(x) for x in order]
    else:
        names = list(p) if isinstance(p, dict) else [x.get("path") if isinstance(x, dict) else str(x) for x in p]
    return [n for n in names if n in table.columns]


def file_order(record: dict[str, Any], name: str) -> list[str]:
    """A listed parameter's categories as the sweep file lists them: its labels, else its values as the summary's
    column holds them (text as is, lists and mappings as JSON text, booleans as True/False). Empty for a range."""
    spec = record.get("parameters")
    spec = spec.get(name) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return []
    labels, values = spec.get("labels"), spec.get("values")
    if isinstance(labels, list):
        return [str(x) for x in labels]
    if not isinstance(values, list):
        return []
    return [
        v if isinstance(v, str) else str(v) if isinstance(v, bool) else json.dumps(v, sort_keys=True) for v in values
    ]


def outcome_names(record: dict[str, Any], table: pd.DataFrame, params: list[str]) -> list[str]:
    listed = [o for o in record.get("outcomes") or [] if o in table.columns]
    if listed:
        return listed
    return [c for c in table.columns if c not in KEYS and c not in params and pd.api.types.is_numeric_dtype(table[c])]


def split(outcome: str) -> tuple[str, str | None]:
    """'knowledge_gain_low' -> ('knowledge_gain', 'low'); 'equity_gap' -> ('equity_gap', None)."""
    for s in SCOPES:
        if outcome.endswith(f"_{s}"):
            return outcome[: -len(s) - 1], s
    return outcome, None


def make_axis(name: str, values: pd.Series, order: list[str] | None = None) -> Axis:
    """Distinct values as they are (up to MAX_LEVELS), else quantile bins labelled by their range. Categories
    keep `order` (the sweep file's), then any others in the order the runs first show them, never alphabetical:
    the means, bands and axes all follow the file."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if not numeric:
        seen = list(pd.unique(values.astype(str)))
        cats = [c for c in dict.fromkeys(order or []) if c in set(seen)] + [
            c for c in seen if c not in set(order or [])
        ]
        codes = values.astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(int)
        return Axis(name, codes, cats, cats, False)
    v = values.to_numpy(float)
    uniq = np.unique(v[np.isfinite(v)])
    if len(uniq) <= MAX_LEVELS:
        codes = np.searchsorted(uniq, v)
        return Axis(name, codes, rounded(uniq, 6), [f"{u:.4g}" for u in uniq], True)
    edges = np.unique(np.quantile(v, np.linspace(0, 1, BINS + 1)))
    codes = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
    centres = [
        float(np.mean(v[codes == i])) if np.any(codes == i) else float((edges[i] + edges[i + 1]) / 2)
        for i in range(len(edges) - 1)
    ]
    labels = [f"{edges[i]:.3g}–{edges[i + 1]:.3g}" for i in range(len(edges) - 1)]
    return Axis(name, codes, rounded(centres, 6), labels, True)


def mean_ci(y: np.ndarray, codes: np.ndarray, k: int) -> tuple[list[Any], list[Any], list[Any], list[int]]:
    """Per bin: mean and 95% t-interval over the runs in it."""
    means, los, his, ns = [], [], [], []
    for i in range(k):
        v = y[(codes == i) & np.isfinite(y)]
        m, lo, hi = interval(v) if len(v) else (np.nan, np.nan, np.nan)  # the comparison's t-interval
        means.append(m)
        los.append(lo)
        his.append(hi)
        ns.append(len(v))
    return rounded(means, 5), rounded(los, 5), rounded(his, 5), ns


def heat(y: np.ndarray, a: Axis, b: Axis) -> list[list[float | None]]:
    """Mean outcome in each (b bin, a bin) cell: rows follow b (y axis), columns a (x axis)."""
    ka, kb = len(a.labels), len(b.labels)
    ok = np.isfinite(y)
    idx = b.codes[ok] * ka + a.codes[ok]
    s = np.bincount(idx, weights=y[ok], minlength=ka * kb)
    n = np.bincount(idx, minlength=ka * kb)
    z = np.divide(s, n, out=np.full(ka * kb, np.nan), where=n > 0).reshape(kb, ka)
    return [rounded(r, 5) for r in z]


def read_sensitivity(path: Path, params: list[str]) -> tuple[Indices | None, str | None]:
    """sensitivity.json as {outcome: {parameter: {index: value}}}, accepting per-parameter mappings or SALib's
    arrays."""
    f = path / "sensitivity.json"
    if not f.is_file():
        return None, None
    raw = read_json(f)
    body = raw.get("outcomes", raw) if isinstance(raw, dict) else {}
    out: Indices = {}
    for outcome, per in body.items():
        if not isinstance(per, dict):
            continue
        if any(isinstance(per.get(k), list) for k in (*SOBOL, *MORRIS)):  # SALib style: arrays in parameter order
            names = per.get("names") or per.get("parameters") or params
            per = {
                n: {k: per[k][i] for k in (*SOBOL, *MORRIS) if isinstance(per.get(k), list) and i < len(per[k])}
                for i, n in enumerate(names)
            }
        cleaned = {
            p: {k: rounded([v], 5)[0] for k, v in d.items() if k in (*SOBOL, *MORRIS) and isinstance(v, (int, float))}
            for p, d in per.items()
            if isinstance(d, dict)
        }
        if any(cleaned.values()):
            out[outcome] = cleaned
    if not out:
        return None, None
    first = next(iter(next(iter(out.values())).values()))
    method = (
        raw.get("method")
        if isinstance(raw, dict) and isinstance(raw.get("method"), str)
        else ("sobol" if "S1" in first or "ST" in first else "morris")
    )
    return out, method


def sensitivity_notes(path: Path, table: pd.DataFrame, outcomes: list[str]) -> dict[str, str]:
    """Per outcome, what the sensitivity panel must say beside (or instead of) its bars: sensitivity.json's warnings
    (an outcome that does not vary, Sobol S1 above ST: too small a sample, with the size that would do), and, for
    files written before those existed, an outcome that is the same in every run."""
    notes: dict[str, str] = {}
    f = path / "sensitivity.json"
    raw = read_json(f) if f.is_file() else {}
    warned = raw.get("warnings")
    for o, w in (warned if isinstance(warned, dict) else {}).items():
        if isinstance(w, dict) and isinstance(w.get("text"), str):
            notes[str(o)] = w["text"]
    for o in outcomes:
        y = table[o].to_numpy(float)
        y = y[np.isfinite(y)]
        if o not in notes and len(y) and np.ptp(y) <= 1e-12 * max(1.0, float(np.max(np.abs(y)))):
            notes[o] = f"{o}: does not vary (every run gave {y[0]:.6g}), so it has no sensitivity indices"
    return notes


def read_sweep_results(path: Path) -> SweepData:
    """A finished sweep's results folder (sweep.json, summary.parquet, sensitivity) as the page needs it."""
    path = Path(path)
    record = read_json(path / "sweep.json")
    summary = path / "summary.parquet"
    if not summary.is_file():
        raise DashboardError(
            f"{summary}: missing; the sweep has not finished a single invocation yet (its summary is written "
            "at the end)"
        )
    table = read_parquet(summary)
    ok = (
        table["status"].astype(str).str.lower().isin(["ok", "done", "success", "complete", "completed"])
        if "status" in table
        else pd.Series(True, index=table.index)
    )
    params = parameter_names(record, table)
    data = SweepData(
        path, record, table[ok].reset_index(drop=True), params, [], int((~ok).sum()), *read_sensitivity(path, params)
    )
    data.outcomes = outcome_names(record, data.table, params)
    if data.table.empty:
        raise DashboardError(f"{summary}: no successful runs to show ({data.failed} failed)")
    data.axes = {p: make_axis(p, data.table[p], file_order(record, p)) for p in params}
    if data.sensitivity is not None:
        data.sensitivity_notes = sensitivity_notes(path, data.table, data.outcomes)
    return data


def payload(d: SweepData) -> dict[str, Any]:
    """Everything the page switches between, once: per outcome its runs' values, effects per parameter, pair
    heatmaps."""
    pairs = [(a, b) for i, a in enumerate(d.params) for b in d.params[i + 1 :]]
    per: dict[str, Any] = {}
    for o in d.outcomes:
        y = d.table[o].to_numpy(float)
        eff = {}
        for p, ax in d.axes.items():
            m, lo, hi, n = mean_ci(y, ax.codes, len(ax.labels))
            eff[p] = {"mean": m, "lo": lo, "hi": hi, "n": n}
        per[o] = {
            "values": rounded(y, 5),
            "effects": eff,
            "heat": {f"{a}|{b}": heat(y, d.axes[a], d.axes[b]) for a, b in pairs},
        }
    options: dict[str, dict[str, str]] = {}
    for o in d.outcomes:
        base, scope = split(o)
        options.setdefault(base, {})[scope or "-"] = o
    return {
        "outcomes": per,
        "options": options,
        "pairs": [f"{a}|{b}" for a, b in pairs],
        "axes": {p: {"centres": ax.centres, "labels": ax.labels, "numeric": ax.numeric} for p, ax in d.axes.items()},
        "sensitivity": d.sensitivity or {},
        "sensitivity_notes": d.sensitivity_notes,
        "method": d.method,
    }
