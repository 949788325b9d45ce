"""The shape every role shares: ranked candidates from a policy, validation, effects.

A role's policy ranks a few candidate decisions; a decider picks one (the
policy takes the first, a language model chooses among them and writes the
member-facing text). A small model is weak at judgement, so it chooses among
valid options rather than inventing ids and numbers.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from learncomm.roles.board import Board
from learncomm.roles.snapshot import Snapshot
from learncomm.sim.schema.roles import RoleBase

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel

MAX_TEXT = 400
# the reason recorded when a model chose validly but wrote nothing: the policy's text is used instead, and the
# checks of what the model wrote (roles/quality.py) count the message as empty, not as the policy's
EMPTY_MESSAGE = "the model's message was empty; the policy's text was used"
MAX_OPTIONS = 4
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

C = TypeVar("C", bound=RoleBase)  # the role's config block (sim/schema/roles.py)
# The role's decision: a TypedDict with read-only keys, recorded as JSON with sorted keys.
D = TypeVar("D", bound=Mapping[str, object])


@dataclass(frozen=True, slots=True)
class Candidate(Generic[D]):
    label: str  # what the option is, for the prompt
    decision: D  # the effect's parameters (ids, topics, numbers)
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


class RoleSpec(ABC, Generic[C, D]):
    """One role: what it offers, how it checks a decision, what it does to the model.

    An instance serves one model's roles: it keeps their shared board (holds, memory).
    """

    name: ClassVar[str]
    purpose: ClassVar[str]  # one sentence for the prompt
    # False only if `act` changes nothing a Snapshot reads (members, knowledge, interest, motivation,
    # activity): then roles due later the same day reuse this role's observation
    changes_observation: ClassVar[bool] = True

    def __init__(self, board: Board | None = None) -> None:
        self.board = board if board is not None else Board()

    @abstractmethod
    def candidates(self, snap: Snapshot, model: CommunityModel, cfg: C) -> list[Candidate[D]]:
        """Ranked options, best first; empty when there is nothing to do."""

    @abstractmethod
    def validate(self, decision: D, snap: Snapshot, model: CommunityModel) -> str | None:
        """Why the decision is invalid, or None. Out-of-range values are rejected, never clamped."""

    @abstractmethod
    def act(self, model: CommunityModel, snap: Snapshot, decision: D, cfg: C) -> None:
        """Apply the decision to the model's levers."""

    def trigger(self, model: CommunityModel, community: int, cfg: C, last_act: int) -> str | None:
        """Why the role should act before its cadence (after today's day), or None. Off unless a role defines one."""
        return None

    def hold(self, model: CommunityModel, community: int, days: int) -> None:
        """Keep this role's effect in `community` for `days` days, then `reset` it."""
        self.board.holds[(self.name, community)] = model.day + days

    def expire(self, model: CommunityModel, community: int) -> None:
        """Called daily: reset the effect on the day its hold ends."""
        if self.board.holds.get((self.name, community), -1) == model.day:
            self.reset(model, community)

    def reset(self, model: CommunityModel, community: int) -> None:  # noqa: B027
        """Undo a lasting effect (roles whose effects last override this)."""


def valid_topic(t: object, snap: Snapshot) -> str | None:
    if not isinstance(t, int) or t not in {v.index for v in snap.topics}:
        return f"topic {t!r} is not one of this community's topics {[v.index for v in snap.topics]}"
    return None
