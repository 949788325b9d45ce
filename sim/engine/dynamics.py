"""How learners change after a day: confidence, motivation, dropout, forgetting, stages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learncomm.agents.state import LearnerState
from learncomm.sim.schema.scenario import Params
from learncomm.sim.schema.vocab import Stage


@dataclass
class Exchange:
    """How a present learner's turn went, for confidence: arrays aligned with the present learners."""

    success: np.ndarray  # bool: an answered question, an explanation, a useful meetup, a tutoring session
    social: np.ndarray  # bool: a turn among others (not studying alone)
    exposed_gap: np.ndarray  # the knowledge gap shown in public (0: none)
    power: np.ndarray  # the power gap felt (0 in private)


@dataclass
class Felt:
    """What moves a present learner's motivation: arrays aligned with the present learners."""

    gain: np.ndarray  # knowledge gained today, peers' questions answered and meeting notes included
    interest_fit: np.ndarray  # interest in the topic, relative to the community's average topic
    exposed: np.ndarray  # bool: exposed today (from update_confidence)
    success: np.ndarray  # bool
    ignored: np.ndarray | float = 0.0  # motivation cost of a public question nobody responded to


def update_confidence(state: LearnerState, p: Params, idx: np.ndarray, ex: Exchange) -> np.ndarray:
    """Success raises confidence; public exposure to a gap lowers it (more for the already low);
    peers' encouragement lifts it a little, more where the power gap is small.

    Returns which learners were exposed (a gap above `exposure_gap` shown in public).
    """
    c = state.confidence[idx]
    excess = np.maximum(ex.exposed_gap - p.exposure_gap, 0.0) / max(1.0 - p.exposure_gap, 1e-9)
    exposed = excess > 0
    drop = (
        p.confidence_exposure * (ex.power + p.peer_judgement) * excess * (1.0 + p.low_confidence_amplifier * (1.0 - c))
    )
    rise = p.confidence_success * ex.success + p.encouragement * (1.0 - ex.power) * ex.social
    state.confidence[idx] = np.clip(c + rise * (1.0 - c) - drop, 0.0, 1.0)
    return exposed


def update_motivation(
    state: LearnerState, p: Params, idx: np.ndarray, felt: Felt, boost: np.ndarray | None = None
) -> None:
    """Progress against one's own expectation, interest in the topic, success in an exchange
    (competence), exposure and fatigue move motivation on a day of taking part (the learners `idx`);
    on a day off it rests back towards the learner's trait. `boost` (N,) adds the roles' one-off changes."""
    m = state.motivation
    e = state.expectation[idx]
    progress = np.clip((felt.gain - e) / p.progress_scale, -1.0, 1.0)
    delta = p.motivation_progress * progress + p.motivation_interest * np.clip(felt.interest_fit, -1.0, 1.0)
    shaken = felt.exposed * (1.0 + p.low_confidence_amplifier * (1.0 - state.confidence[idx]))
    delta += p.motivation_success * felt.success - p.motivation_fatigue - p.motivation_exposure * shaken - felt.ignored
    m[idx] = m[idx] + delta
    state.expectation[idx] = e + p.expectation_rate * (felt.gain - e)
    rest = state.active.copy()
    rest[idx] = False  # the learners who did not take part today
    rest = np.flatnonzero(rest)  # one pass to find them, not one per use of a mask
    m[rest] += p.motivation_recovery * (state.baseline_motivation[rest] - m[rest])
    if boost is not None:
        m += boost * state.active
    np.clip(m, 0.0, 1.0, out=m)


def drop_out(state: LearnerState, p: Params, day: int, patience_factor: np.ndarray | None = None) -> np.ndarray:
    """Learners whose motivation stayed below the threshold for `dropout_patience` days leave (newcomers
    sooner; `patience_factor` (N,) stretches it, for newcomers a community manager welcomed)."""
    low = state.active & (state.motivation < p.dropout_threshold)
    state.low_streak = np.where(low, state.low_streak + 1, 0)
    rows = np.flatnonzero(low)  # only the discouraged can burn out: their patience, not everyone's
    newcomer = state.stage[rows] == Stage.NEWCOMER
    patience = np.where(newcomer, p.dropout_patience * p.newcomer_patience, p.dropout_patience)
    if patience_factor is not None:
        patience = patience * patience_factor[rows]
    burnt = rows[state.low_streak[rows] >= patience]
    dropped = np.zeros(state.n, dtype=bool)
    dropped[burnt] = True
    state.active[burnt] = False
    state.leaving_day[burnt] = day
    return dropped


def forget(
    state: LearnerState,
    p: Params,
    practised_idx: np.ndarray,
    practised_topic: np.ndarray,
    active: np.ndarray | None = None,
) -> None:
    """Active learners lose a small share of what they did not practise today. `active`: who was a member when
    the day's forgetting began (default `state.active`; a copy lets leaving run meanwhile on another thread)."""
    if p.forgetting == 0.0:
        return
    active = state.active if active is None else active
    k = state.knowledge
    keep = k[practised_idx, practised_topic].copy()
    if active.all():
        k *= 1.0 - p.forgetting
    else:  # through the transposed view: long rows, not six-wide ones (a gather of the members' rows is
        # slower, even at 20 % members: 15 against 10 ms at 1,000,000 learners)
        np.multiply(k.T, np.where(active, 1.0 - p.forgetting, 1.0), out=k.T)
    k[practised_idx, practised_topic] = keep


def advance_stages(
    state: LearnerState, p: Params, days_present: np.ndarray, explains: np.ndarray, rows: np.ndarray | None = None
) -> None:
    """Legitimate peripheral participation: newcomers become regulars by showing up, regulars core by explaining.

    `rows`: only these learners (`days_present` and `explains` aligned with them), those whose counts changed
    today; a learner whose counts did not change cannot cross a threshold it had not crossed (both are >= 1)."""
    s = state.stage if rows is None else state.stage[rows]
    s[(s == Stage.NEWCOMER) & (days_present >= p.regular_after_days)] = Stage.REGULAR
    s[(s == Stage.REGULAR) & (explains >= p.core_after_explains)] = Stage.CORE
    if rows is not None:
        state.stage[rows] = s
