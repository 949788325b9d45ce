"""The names every layer shares, defined once: learner modes, stages, tutoring roles,
count columns, confidence groups and the scopes outcomes are reported for.

The integer enums index the learner arrays (`state.stage == Stage.NEWCOMER`,
`state.counts[:, Count.EXPLAIN]`); their lower-case names are the labels that
appear in result tables and dashboards.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal, get_args


class Mode(IntEnum):
    """What a present learner does on a day (docs/model.md, "Modes")."""

    STUDY = 0
    ASK = 1
    OBSERVE = 2
    EXPLAIN = 3
    MEET = 4


class Stage(IntEnum):
    """Legitimate peripheral participation: newcomer -> regular -> core."""

    NEWCOMER = 0
    REGULAR = 1
    CORE = 2


class TutoringRole(IntEnum):
    NONE = 0
    TUTOR = 1
    TUTEE = 2


class Count(IntEnum):
    """Columns of `LearnerState.counts`: days present, one column per mode, answers given to peers."""

    DAYS_PRESENT = 0
    STUDY = 1 + Mode.STUDY
    ASK = 1 + Mode.ASK
    OBSERVE = 1 + Mode.OBSERVE
    EXPLAIN = 1 + Mode.EXPLAIN
    MEET = 1 + Mode.MEET
    ANSWERS = 6


def labels(enum: type[IntEnum]) -> tuple[str, ...]:
    """Lower-case member names in value order: the labels stored in result tables."""
    return tuple(m.name.lower() for m in sorted(enum))


MODES: tuple[str, ...] = labels(Mode)
STAGES: tuple[str, ...] = labels(Stage)
TUTORING_ROLES: tuple[str, ...] = labels(TutoringRole)
COUNTS: tuple[str, ...] = labels(Count)

# Confidence groups, in the order of `LearnerState.group` (0 low, 1 medium, 2 high).
Group = Literal["low", "medium", "high"]
GROUPS: tuple[Group, ...] = get_args(Group)
# Scopes of per-group metrics and outcomes: everyone, then each confidence group.
SCOPES: tuple[str, ...] = ("all", *GROUPS)

# Per-learner outcomes that run summaries, `compare` and sweeps report, with their labels.
LEARNER_OUTCOMES: dict[str, str] = {
    "knowledge_gain": "knowledge gain",
    "confidence_change": "confidence change",
    "motivation_final": "final motivation",
    "retained": "retention (share still active)",
    "days_present": "days taking part",
    "ask": "questions asked",
    "explain": "explanations given",
    "meet": "meetups attended",
}

# Run-average timeseries columns (`<name>_<scope>`) that explain *why* a group fares differently:
# the day's mode shares and exposure. `compare` reports them beside the outcomes.
MECHANISMS: dict[str, str] = {
    "share_ask": "share of days asking in public",
    "share_observe": "share of days observing",
    "share_explain": "share of days explaining",
    "share_study": "share of days studying alone",
    "exposed": "share of days exposed to a gap",
    "present": "share of days taking part",
}

# Per role, what a run's summary counts of its decisions (sim/runs/run.py `role_accounting`), with the labels
# the CLI's table and the run dashboard show; the first six are counts, then money and time.
ROLE_ACCOUNTING: dict[str, str] = {
    "decisions": "decisions",
    "llm_calls": "LLM calls",
    "fallbacks": "fallbacks",
    "cache_hits": "cache hits",
    "input_tokens": "tokens in",
    "output_tokens": "tokens out",
    "cost_usd": "cost US$",
    "latency_s": "LLM time s",
}
