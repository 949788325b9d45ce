"""The shape every role shares: ranked candidates from a policy, validation, effects.

A role's policy ranks a few candidate decisions; a decider picks one (the
policy takes the first, a language model chooses among them and writes the
member-facing text). A small model is weak at judgement, so it chooses among
valid options rather than inventing ids and numbers.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from learncomm.roles.snapshot import Snapshot

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel
    from learncomm.sim.schema.roles import RoleBase

MAX_TEXT = 400
MAX_OPTIONS = 4
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Candidate(BaseModel):
    label: str  # what the option is, for the prompt
    decision: dict[str, Any]  # the effect's parameters (ids, topics, numbers)
    text: str  # the policy's own member-facing message


class Choice(BaseModel):
    """What a language model returns."""

    # an enum, not a range: llama.cpp's grammar enforces enums but not maximums, and a small model
    # otherwise answers 100; roles offer at most MAX_OPTIONS options
    choice: Literal[0, 1, 2, 3] = Field(description="number of the chosen option")
    # no maxLength here: llama.cpp turns it into a grammar too large to parse; clean_text bounds it
    message: str = Field(
        description="a short, friendly message (at most 3 sentences) to the members about the chosen option"
    )


def clean_text(text: str) -> str:
    """LLM text is data: no control characters, single spaces, bounded length."""
    return " ".join(_CONTROL.sub(" ", text).split())[:MAX_TEXT]


class RoleSpec(ABC):
    """One role: what it offers, how it checks a decision, what it does to the model."""

    name: str
    purpose: str  # one sentence for the prompt
    # False only if `act` changes nothing a Snapshot reads (members, knowledge, interest, motivation,
    # activity): then roles due later the same day reuse this role's observation
    changes_observation: bool = True

    @abstractmethod
    def candidates(self, snap: Snapshot, model: CommunityModel, cfg: RoleBase) -> list[Candidate]:
        """Ranked options, best first; empty when there is nothing to do."""

    @abstractmethod
    def validate(self, decision: dict[str, Any], snap: Snapshot, model: CommunityModel) -> str | None:
        """Why the decision is invalid, or None. Out-of-range values are rejected, never clamped."""

    @abstractmethod
    def act(self, model: CommunityModel, snap: Snapshot, decision: dict[str, Any], cfg: RoleBase) -> None:
        """Apply the decision to the model's levers."""

    def trigger(self, model: CommunityModel, community: int, cfg: RoleBase, last_act: int) -> str | None:
        """Why the role should act before its cadence (after today's day), or None. Off unless a role defines one."""
        return None

    def hold(self, model: CommunityModel, community: int, days: int) -> None:
        """Keep this role's effect in `community` for `days` days, then `reset` it."""
        model.role_expiry[(self.name, community)] = model.day + days

    def expire(self, model: CommunityModel, community: int, cfg: RoleBase) -> None:
        """Called daily: reset the effect on the day its hold ends."""
        if model.role_expiry.get((self.name, community), -1) == model.day:
            self.reset(model, community)

    def reset(self, model: CommunityModel, community: int) -> None:  # noqa: B027
        """Undo a lasting effect (roles whose effects last override this)."""


def valid_topic(t: Any, snap: Snapshot) -> str | None:
    if not isinstance(t, int) or t not in {v.index for v in snap.topics}:
        return f"topic {t!r} is not one of this community's topics {[v.index for v in snap.topics]}"
    return None
