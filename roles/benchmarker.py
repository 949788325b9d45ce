"""The gold-standard benchmarker: shows the best achievable score on a topic, as a tool-assisted speedrun does.

Learners near the mark are pulled up (goal gradient); low-confidence learners
far below it may be discouraged. That trade-off is a finding, not a bug.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import numpy as np
from typing_extensions import ReadOnly

from learncomm.roles.base import Candidate, RoleSpec, valid_topic
from learncomm.roles.snapshot import Snapshot
from learncomm.sim.schema.roles import Benchmarker

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel


class Benchmark(TypedDict):
    topic: ReadOnly[int]
    mark: ReadOnly[float]  # in (0, 1]


class BenchmarkerRole(RoleSpec[Benchmarker, Benchmark]):
    name = "benchmarker"
    purpose = "you show the best achievable score on a topic so members see how far they can go."
    changes_observation = False  # marks, applied from tomorrow

    def candidates(self, snap: Snapshot, model: CommunityModel, cfg: Benchmarker) -> list[Candidate[Benchmark]]:
        """The most wanted topics; for each, the perfect score and the community's own best as marks."""
        wanted = sorted(snap.topics, key=lambda t: (-t.interest, t.index))[:2]
        out: list[Candidate[Benchmark]] = []
        for t in wanted:
            for mark, what in (
                (1.0, "the perfect score"),
                (round(min(1.0, t.best_knowledge), 3), "the community's best"),
            ):
                out.append(
                    Candidate(
                        label=f"benchmark '{t.name}' at {mark:.2f} ({what}; mean now {t.mean_knowledge:.2f})",
                        decision={"topic": t.index, "mark": mark},
                        text=f"Gold standard for {t.name}: {mark:.0%}. See how close you can get!",
                    )
                )
        return out

    def validate(self, decision: Benchmark, snap: Snapshot, model: CommunityModel) -> str | None:
        mark = decision.get("mark")
        if not isinstance(mark, int | float) or not 0.0 < float(mark) <= 1.0:
            return f"mark {mark!r} is not in (0, 1]"
        return valid_topic(decision.get("topic"), snap)

    def act(self, model: CommunityModel, snap: Snapshot, decision: Benchmark, cfg: Benchmarker) -> None:
        lv, c = model.levers, snap.community
        lv.marks[c] = np.nan
        lv.marks[c, int(decision["topic"])] = float(decision["mark"])
        lv.benchmark = cfg
        self.hold(model, c, cfg.duration)

    def reset(self, model: CommunityModel, community: int) -> None:
        model.levers.marks[community] = np.nan
