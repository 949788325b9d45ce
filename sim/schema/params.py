"""The mechanism constants of the learners' day (`params:` in a scenario file).

Every number that shapes behaviour lives here with its default; docs/model.md gives each one's equation and
the reason for its default, docs/scenarios.md a line per field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from learncomm.sim.schema.base import NonNegative, Positive, Strict, Unit


class Params(Strict):
    """Mechanism constants of the learners' day (docs/model.md gives each one's reason)."""

    participation_gamma: Positive = 1.0
    alpha_ask: Unit = 0.25
    alpha_observe: Unit = 0.06
    alpha_meet: Unit = 0.2
    alpha_tutor: Unit = 0.105
    zpd_peak: Annotated[float, Field(gt=0.0, le=1.0)] = 0.2
    study_rate: Unit = 0.025
    protege_rate: Unit = 0.012
    tutor_rate: Unit = 0.018
    pull_resources: NonNegative = 1.0
    anxiety_weight: Unit = 0.5
    difficulty_weight: Unit = 0.5
    prerequisite_mastery: Annotated[float, Field(gt=0.0, le=1.0)] = 0.4
    prerequisite_floor: Unit = 0.3
    risk_base: Annotated[float, Field(ge=-1.0, le=2.0)] = 0.1
    risk_gap_weight: NonNegative = 1.0
    newcomer_risk: NonNegative = 0.1
    ask_temperature: Positive = 0.08
    explain_margin: NonNegative = 0.05
    explain_propensity: Unit = 0.5
    confidence_success: Unit = 0.006
    confidence_exposure: Unit = 0.25
    exposure_gap: Unit = 0.02
    peer_judgement: Unit = 0.1
    low_confidence_amplifier: NonNegative = 1.0
    encouragement: Unit = 0.0015
    expectation_rate: Unit = 0.1
    motivation_progress: Unit = 0.01
    progress_scale: Positive = 0.01
    motivation_interest: Unit = 0.006
    motivation_exposure: Unit = 0.015
    motivation_success: Unit = 0.004
    motivation_fatigue: Unit = 0.002
    motivation_recovery: Unit = 0.01
    dropout_threshold: Unit = 0.3
    dropout_patience: Annotated[int, Field(ge=1)] = 14
    newcomer_patience: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    forgetting: Unit = 0.001
    activity_spread: Annotated[float, Field(ge=0.0, le=4.0)] = 1.6
    post_rate: Unit = 0.15
    respond_rate: Unit = 0.3
    stage_post: tuple[NonNegative, NonNegative, NonNegative] = (0.7, 1.0, 1.2)
    reply_reinforcement: NonNegative = 0.2
    ignored_cost: NonNegative = 0.3
    ignored_motivation: Unit = 0.02
    newcomer_sensitivity: NonNegative = 1.0
    reinforcement_cap: Annotated[float, Field(ge=0.0, le=5.0)] = 1.5
    reinforcement_decay: Unit = 0.03
    fade_days: Positive = 40.0
    fade_floor: Unit = 0.1
    leave_rate: Unit = 0.15
    leave_tenure: Positive = 60.0
    leave_bonds: Positive = 30.0
    regular_after_days: Annotated[int, Field(ge=1)] = 15
    core_after_explains: Annotated[int, Field(ge=1)] = 15
    stage_explain: tuple[NonNegative, NonNegative, NonNegative] = (0.5, 1.0, 1.5)
