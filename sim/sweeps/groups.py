"""Sweep summaries split by subgroup (`learncomm sweep --by ATTR --group NAME=EXPR`): groups.parquet.

One row per (run, subgroup): the run's point, replicate, seed and parameter values; the subgroup's name
(`subgroup`, as `compare` names it: `all`, `access_class=low-access`, `access_class=x & confidence_group=low`, or a
user-defined NAME; with `--group` alone also `low`, `medium`, `high`, `tutors`, `tutees` as in `compare`); the
attribute values it fixes (one column per `--by` attribute, null where the subgroup does not fix it); its number of
learners; and the mean of every learner outcome. Long in subgroups, wide in outcomes (the outcome columns of a
run's learners table), so `select subgroup, avg(knowledge_gain) from groups group by all` is all DuckDB needs, and
the parameters are on the row (no join with `runs`).

The table is rebuilt from the complete runs' learners.parquet at the end of every invocation, like summary.parquet,
so a resumed sweep covers its new runs and a different `--by` on resume simply recomputes (the runs are kept).
Which groups were asked for is kept in groups.json, so resuming without `--by` keeps them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from learncomm.sim.runs.store import atomic_file, write_table
from learncomm.sim.runs.subgroups import GroupError, GroupSpec, memberships
from learncomm.sim.schema.vocab import LEARNER_OUTCOMES
from learncomm.sim.sweeps.store import write_json_atomic

GROUPS_FILE = "groups.parquet"
SPEC_FILE = "groups.json"


def spec_record(spec: GroupSpec) -> dict[str, Any]:
    return {"by": list(spec.by), "custom": dict(spec.custom)}


def saved_spec(out: Path) -> GroupSpec | None:
    """The groups a previous invocation asked for (groups.json), None when none did or the file is unreadable."""
    try:
        data = json.loads((out / SPEC_FILE).read_text(encoding="utf-8"))
        return GroupSpec(by=tuple(data["by"]), custom=tuple((str(k), str(v)) for k, v in data["custom"].items()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


BATCH_ROWS = 200_000  # learners read at once: the groups of a batch of runs are computed together (memory bound)


def fixed_values(name: str, spec: GroupSpec) -> dict[str, Any]:
    """The `--by` attribute values a subgroup fixes (`access_class=x & stage=y`); none for all, low, a --group."""
    row: dict[str, Any] = dict.fromkeys(spec.by)
    if name not in dict(spec.custom):
        for part in name.split(" & "):
            attr, _, value = part.partition("=")
            if attr in spec.by:
                row[attr] = value
    return row


def batch_groups(learners: pd.DataFrame, run: np.ndarray, n_runs: int, spec: GroupSpec) -> list[dict[str, Any]]:
    """The subgroups of several runs' learners (`run`: each row's run index): per run and group with learners, the
    run index (`run`), name, attribute values, size and outcome means. One pass of memberships (and one DuckDB query
    per --group) over the batch rather than per run: per run it cost 10-100 ms."""
    values = np.column_stack([learners[o].to_numpy(float) for o in LEARNER_OUTCOMES])
    rows: list[dict[str, Any]] = []
    for name, mask in memberships(learners, spec).items():
        m = mask.to_numpy(bool)
        counts = np.bincount(run[m], minlength=n_runs)
        sums = np.column_stack(
            [np.bincount(run[m], weights=values[m, j], minlength=n_runs) for j in range(len(LEARNER_OUTCOMES))]
        )
        fixed = fixed_values(name, spec)
        for r in np.flatnonzero(counts):
            means = sums[r] / counts[r]
            rows.append(
                {"run": int(r), "subgroup": name, **fixed, "learners": int(counts[r])}
                | {o: float(v) for o, v in zip(LEARNER_OUTCOMES, means, strict=True)}
            )
    return rows


def write_groups(out: Path, spec: GroupSpec, summary: pd.DataFrame, parameters: list[str], width: int) -> Path:
    """groups.parquet over the sweep's complete runs (status ok in `summary`, the rows of summary.parquet; `width`:
    the run folders' point number width).

    Raises GroupError when a user-defined group matches no learner in any run (nothing is written then)."""
    runs = summary[summary["status"] == "ok"].to_dict("records")
    rows: list[dict[str, Any]] = []
    batch: list[pd.DataFrame] = []
    first = 0  # index in `runs` of the batch's first run

    def flush() -> None:
        nonlocal first
        if not batch:
            return
        run = np.repeat(np.arange(len(batch)), [len(b) for b in batch])
        for g in batch_groups(pd.concat(batch, ignore_index=True), run, len(batch), spec):
            r = runs[first + g.pop("run")]
            head = {"point": int(r["point"]), "replicate": int(r["replicate"]), "seed": int(r["seed"])}
            rows.append(head | {p: r[p] for p in parameters} | g)
        first += len(batch)
        batch.clear()

    for r in runs:
        folder = out / "runs" / f"point={int(r['point']):0{width}d}" / f"seed={int(r['seed'])}"
        batch.append(pq.read_table(folder / "learners.parquet").to_pandas())
        if sum(len(b) for b in batch) >= BATCH_ROWS:
            flush()
    flush()
    found = {str(r["subgroup"]) for r in rows}
    expr = dict(spec.custom)
    empty = [n for n in expr if n not in found]
    if empty and rows:
        raise GroupError(
            "; ".join(f"--group {n}={expr[n]}: matches no learner in any run of the sweep" for n in empty)
            + " (the runs are kept: run the same sweep again with a corrected --group to recompute groups.parquet)"
        )
    columns = ["point", "replicate", "seed", *parameters, "subgroup", *spec.by, "learners", *LEARNER_OUTCOMES]
    frame = pd.DataFrame(rows, columns=columns).sort_values(["point", "replicate"], kind="stable")
    path = out / GROUPS_FILE
    atomic_file(path, lambda p: write_table(pa.Table.from_pandas(frame, preserve_index=False), p))
    write_json_atomic(spec_record(spec), out / SPEC_FILE)
    return path
