"""Run-level outcomes: the learners table and the per-group summary of a finished model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from learncomm.sim.schema.vocab import COUNTS, GROUPS, LEARNER_OUTCOMES, STAGES, TUTORING_ROLES

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel


def learners_table(model: CommunityModel) -> pa.Table:
    """One row per learner: who they are, their start and end state, what they did."""
    s, w = model.state, model.world
    topics = w.topic_names
    data: dict[str, Any] = {
        "learner_id": np.arange(s.n, dtype=np.int64),
        "joined_day": s.joined_day.copy(),
        "confidence_group": np.asarray(GROUPS)[s.group],
        "access_class": np.asarray([a.name for a in model.scenario.population.access])[s.access_class],
        "access": s.access,
        "communities": pa.array(
            [[w.names[c] for c in np.flatnonzero(row)] for row in s.membership], type=pa.list_(pa.string())
        ),
        "tutoring_role": np.asarray(TUTORING_ROLES)[s.tutoring_role],
        "stage": np.asarray(STAGES)[s.stage],
        "retained": s.active.copy(),
        "dropout_day": s.dropout_day.copy(),
        "knowledge_initial": s.initial_knowledge.mean(axis=1),
        "knowledge_final": s.knowledge.mean(axis=1),
        "confidence_initial": s.initial_confidence.copy(),
        "confidence_final": s.confidence.copy(),
        "motivation_initial": s.initial_motivation.copy(),
        "motivation_final": s.motivation.copy(),
    }
    data["knowledge_gain"] = data["knowledge_final"] - data["knowledge_initial"]
    data["confidence_change"] = data["confidence_final"] - data["confidence_initial"]
    for i, name in enumerate(COUNTS):
        data[name] = s.counts[:, i].copy()
    for j, t in enumerate(topics):
        data[f"knowledge_final:{t}"] = s.knowledge[:, j].copy()
    table = pa.table(data)
    # prospects a community manager never reached are not learners of this run
    return table if s.joined.all() else table.filter(pa.array(s.joined))


def summarise(learners: pd.DataFrame, timeseries: pd.DataFrame) -> dict[str, Any]:
    """Means per confidence group (and per tutoring role when there is tutoring) plus community outcomes."""
    out: dict[str, Any] = {"groups": {}, "community": {}}
    scopes: list[tuple[str, pd.Series]] = [("all", pd.Series(True, index=learners.index))]
    scopes += [(g, learners["confidence_group"] == g) for g in GROUPS]
    if (learners["tutoring_role"] != "none").any():
        scopes += [(f"{r}s", learners["tutoring_role"] == r) for r in ("tutor", "tutee")]
    for name, mask in scopes:
        sub = learners[mask]
        row = {k: (float(sub[k].mean()) if len(sub) else float("nan")) for k in LEARNER_OUTCOMES}
        row["learners"] = int(mask.sum())
        out["groups"][name] = row
    last = timeseries.iloc[-1]
    out["community"] = {
        "equity_gap": float(last["equity_gap"]),
        "active_learners": int(last["active_learners"]),
        "joined_learners": int(last["joined_learners"]),
        "posts_gini": float(last["posts_gini"]),
        "meetup_attendance_total": float(timeseries["meetup_attendance"].sum()),
        "days": int(timeseries["day"].iloc[-1]),
    }
    return out
