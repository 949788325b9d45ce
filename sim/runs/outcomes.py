"""Run-level outcomes: the learners table and the per-group summary of a finished model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from learncomm.sim.runs.inequality import activity_levels, top_share
from learncomm.sim.runs.subgroups import SUMMARY_BY, split_outcomes
from learncomm.sim.schema.vocab import COUNTS, GROUPS, LEARNER_OUTCOMES, STAGES, TUTORING_ROLES

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel


def communities_column(membership: np.ndarray, names: list[str]) -> pa.Array:
    """Each learner's communities by name, a list<string> column built from offsets (no Python loop over
    a million rows)."""
    rows, cols = np.nonzero(membership)  # row-major: each learner's communities in order
    offsets = np.zeros(membership.shape[0] + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=membership.shape[0]), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.asarray(names, dtype=object)[cols], pa.string()))


def labels(codes: np.ndarray, names: Sequence[str]) -> pa.Array:
    """A string column from small integer codes: Arrow decodes a dictionary (a NumPy array of a million strings
    took about 0.15 s to convert, per column)."""
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(list(names), pa.string())).cast(
        pa.string()
    )


def learners_table(model: CommunityModel) -> pa.Table:
    """One row per learner: who they are, their start and end state, what they did.

    Prospects a community manager never reached are not learners of this run: their rows are dropped from the
    arrays before the table is built (a NumPy gather per column; filtering the built table took 0.7 s at 1,000,000)."""
    s, w = model.state, model.world
    topics = w.topic_names
    keep = None if s.joined.all() else np.flatnonzero(s.joined)

    def rows(a: np.ndarray) -> np.ndarray:
        return a.copy() if keep is None else a[keep]

    answered, leaving_day, joined_day = rows(s.first_question_answered), rows(s.leaving_day), rows(s.joined_day)
    counts, knowledge = rows(s.counts), rows(s.knowledge)
    data: dict[str, Any] = {
        "learner_id": np.arange(s.n, dtype=np.int64) if keep is None else keep.astype(np.int64),
        "joined_day": joined_day,
        "confidence_group": labels(rows(s.group), GROUPS),
        "access_class": labels(rows(s.access_class), [a.name for a in model.scenario.population.access]),
        "access": rows(s.access),
        "communities": communities_column(rows(s.membership), w.names),
        "tutoring_role": labels(rows(s.tutoring_role), TUTORING_ROLES),
        "stage": labels(rows(s.stage), STAGES),
        "retained": rows(s.active),
        "leaving_day": leaving_day,
        "tenure": (np.where(leaving_day >= 0, leaving_day, model.day) - joined_day).astype(np.int32),
        "activity": rows(s.activity),
        "posts": rows(s.posts),
        "first_post_day": rows(s.first_post_day),
        "last_post_day": rows(s.last_post_day),
        "first_question_day": rows(s.first_question_day),
        "first_question_answered": pa.array(answered == 1, mask=answered < 0, type=pa.bool_()),
        "unanswered": rows(s.unanswered),
        "last_active_day": rows(s.last_active_day),
        "knowledge_initial": rows(s.initial_knowledge).mean(axis=1),
        "knowledge_final": knowledge.mean(axis=1),
        "confidence_initial": rows(s.initial_confidence),
        "confidence_final": rows(s.confidence),
        "motivation_initial": rows(s.initial_motivation),
        "motivation_final": rows(s.motivation),
    }
    data["knowledge_gain"] = data["knowledge_final"] - data["knowledge_initial"]
    data["confidence_change"] = data["confidence_final"] - data["confidence_initial"]
    for i, name in enumerate(COUNTS):
        data[name] = counts[:, i].copy()
    for j, t in enumerate(topics):
        data[f"knowledge_final:{t}"] = knowledge[:, j].copy()
    table = pa.table(data)
    level = activity_levels(table.column("posts").to_numpy())
    return table.add_column(table.schema.get_field_index("posts") + 1, "activity_level", pa.array(level))


def summarise(learners: pd.DataFrame, timeseries: pd.DataFrame) -> dict[str, Any]:
    """Means per confidence group (and per tutoring role when there is tutoring) plus community outcomes."""
    out: dict[str, Any] = {"groups": {}, "community": {}}
    scopes: list[tuple[str, pd.Series]] = [("all", pd.Series(True, index=learners.index))]
    scopes += [(g, learners["confidence_group"] == g) for g in GROUPS]
    if (learners["tutoring_role"] != "none").any():
        scopes += [(f"{r}s", learners["tutoring_role"] == r) for r in ("tutor", "tutee")]
    outcomes = learners[list(LEARNER_OUTCOMES)]  # only the outcome columns are filtered (not ~40 columns)
    for name, mask in scopes:
        sub = outcomes if name == "all" else outcomes[mask]
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
    out["participation"] = participation(learners)
    # outcomes per confidence group x access class: whom a scenario leaves behind, without joining tables
    out["subgroups"] = {" x ".join(SUMMARY_BY): split_outcomes(learners, SUMMARY_BY, list(LEARNER_OUTCOMES))}
    return out


def participation(learners: pd.DataFrame) -> dict[str, float]:
    """How unequal posting is and how members leave: the figures docs/model.md holds against real communities."""
    posts = learners["posts"].to_numpy()
    left = learners["leaving_day"] >= 0
    asked = learners["first_question_answered"].dropna().astype(bool)
    levels = learners["activity_level"].value_counts(normalize=True)
    return {
        "posts_top1_share": top_share(posts, 0.01),
        "posts_top10_share": top_share(posts, 0.10),
        **{f"{lvl}_share": float(levels.get(lvl, 0.0)) for lvl in ("lurker", "contributor", "superuser")},
        "first_question_answered": float(asked.mean()) if len(asked) else float("nan"),
        "leavers_within_30_days": float((learners.loc[left, "tenure"] <= 30).mean()) if left.any() else float("nan"),
        "median_tenure_of_leavers": float(learners.loc[left, "tenure"].median()) if left.any() else float("nan"),
    }
