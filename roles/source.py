"""The source of information: answers open questions, with a hallucination rate (`accuracy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from typing_extensions import ReadOnly

from learncomm.roles.base import Candidate, RoleSpec
from learncomm.roles.snapshot import Snapshot
from learncomm.sim.schema.roles import Source
from learncomm.sim.schema.vocab import Mode

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel


class Answering(TypedDict):
    answer: ReadOnly[bool]  # answer open questions until the hold ends, or stay quiet


class SourceRole(RoleSpec[Source, Answering]):
    name = "source"
    purpose = "you answer the questions nobody in the community could answer, and say how sure you are."
    changes_observation = False  # a flag read tomorrow

    def candidates(self, snap: Snapshot, model: CommunityModel, cfg: Source) -> list[Candidate[Answering]]:
        asked = sorted(snap.topics, key=lambda t: (-t.questions_today, t.index))
        focus = asked[0].name if asked and asked[0].questions_today else "any topic"
        return [
            Candidate(
                label=f"answer open questions for the next {cfg.cadence} days (most asked today: {focus})",
                decision={"answer": True},
                text=f"I'll answer open questions this week, starting with {focus}. Check my answers with each other!",
            ),
            Candidate(
                label="stay quiet and let members answer each other",
                decision={"answer": False},
                text="No AI answers this week: ask each other first.",
            ),
        ]

    def trigger(self, model: CommunityModel, community: int, cfg: Source, last_act: int) -> str | None:
        """Many open questions: at least `open_questions` public questions got no useful answer today."""
        day = model.last_day
        if cfg.open_questions is None or day is None:
            return None
        open_q = int(((day.mode == Mode.ASK) & day.present & (day.community == community) & ~day.answered).sum())
        return f"{open_q} questions went unanswered today" if open_q >= cfg.open_questions else None

    def validate(self, decision: Answering, snap: Snapshot, model: CommunityModel) -> str | None:
        return (
            None
            if isinstance(decision.get("answer"), bool)
            else f"answer {decision.get('answer')!r} is not true or false"
        )

    def act(self, model: CommunityModel, snap: Snapshot, decision: Answering, cfg: Source) -> None:
        lv = model.levers
        lv.source[snap.community] = bool(decision["answer"])
        lv.source_cfg = cfg
        self.hold(model, snap.community, cfg.duration)

    def reset(self, model: CommunityModel, community: int) -> None:
        model.levers.source[community] = False
