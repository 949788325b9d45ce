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


def run_groups(learners: pd.DataFrame, spec: GroupSpec) -> list[dict[str, Any]]:
    """One run's subgroups: name, the attribute values it fixes, size and outcome means (empty groups left out)."""
    rows: list[dict[str, Any]] = []
    for name, mask in memberships(learners, spec).items():
        n = int(mask.sum())
        if n == 0:
            continue
        row: dict[str, Any] = {"subgroup": name, **dict.fromkeys(spec.by)}
        if name not in dict(spec.custom):  # `attr=value` parts fix attributes; all, low, tutors... fix none
            for part in name.split(" & "):
                attr, _, value = part.partition("=")
                if attr in spec.by:
                    row[attr] = value
        row["learners"] = n
        sub = learners.loc[mask]
        row.update({o: float(sub[o].astype(float).mean()) for o in LEARNER_OUTCOMES})
        rows.append(row)
    return rows


def write_groups(out: Path, spec: GroupSpec, summary: pd.DataFrame, parameters: list[str], width: int) -> Path:
    """groups.parquet over the sweep's complete runs (status ok in `summary`, the rows of summary.parquet; `width`:
    the run folders' point number width).

    Raises GroupError when a user-defined group matches no learner in any run (nothing is written then)."""
    rows: list[dict[str, Any]] = []
    hit = dict.fromkeys((n for n, _ in spec.custom), False)
    for run in summary[summary["status"] == "ok"].to_dict("records"):
        point, seed = int(run["point"]), int(run["seed"])
        folder = out / "runs" / f"point={point:0{width}d}" / f"seed={seed}"
        learners = pq.read_table(folder / "learners.parquet").to_pandas()
        head = {"point": point, "replicate": int(run["replicate"]), "seed": seed, **{p: run[p] for p in parameters}}
        for g in run_groups(learners, spec):
            hit[g["subgroup"]] = True
            rows.append({**head, **g})
    empty = [n for n, ok in hit.items() if not ok and n in dict(spec.custom)]
    if empty and rows:
        expr = dict(spec.custom)
        raise GroupError(
            "; ".join(f"--group {n}={expr[n]}: matches no learner in any run of the sweep" for n in empty)
            + " (the runs are kept: run the same sweep again with a corrected --group to recompute groups.parquet)"
        )
    columns = ["point", "replicate", "seed", *parameters, "subgroup", *spec.by, "learners", *LEARNER_OUTCOMES]
    frame = pd.DataFrame(rows, columns=columns)
    path = out / GROUPS_FILE
    atomic_file(path, lambda p: write_table(pa.Table.from_pandas(frame, preserve_index=False), p))
    write_json_atomic(spec_record(spec), out / SPEC_FILE)
    return path
