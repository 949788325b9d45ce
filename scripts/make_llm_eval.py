"""Regenerate roles/eval/situations.json, the fixed benchmark of `learncomm llm eval`.

Runs shipped scenarios with all six roles (and every trigger switched on) on the
policy decider, captures each decision's situation (the snapshot the role saw, its
ranked candidates, why it acted) and keeps a spread: every role, several
communities, cadence and trigger decisions, early and late days. Each situation is
tagged `clear` when the policy's first candidate beats the second by a wide margin
on the policy's own ranking measure, `close` when the two are near, and `judgement`
for roles whose options differ in kind rather than by a measure.

    .venv/bin/python scripts/make_llm_eval.py   # about a minute; commit the JSON
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from learncomm.roles.base import Candidate, RoleSpec
from learncomm.roles.deciders import Answer
from learncomm.roles.setup import DeciderFactory
from learncomm.roles.snapshot import Snapshot
from learncomm.sim.engine.model import CommunityModel
from learncomm.sim.schema.loading import load_scenario

OUT = Path(__file__).resolve().parents[1] / "roles" / "eval" / "situations.json"
TRIGGERS = {
    "ideator": {"stagnation": 0.004},
    "secretary": {"attendance_drop": 0.3},
    "source": {"open_questions": 3},
    "manager": {"dropouts": 3},
    "matchmaker": {"broken_pairs": 2},
}
BASES = ("community", "open-course", "video-game", "pottery", "low-access", "community-low-confidence-majority")
PER_ROLE = 10


class Capture:
    """The policy's answer, keeping every situation it was asked about."""

    name = "policy"
    model_name = "policy"

    def __init__(self, base: str) -> None:
        self.base, self.seen = base, []  # type: ignore[var-annotated]

    def decide(
        self, spec: RoleSpec[Any, Any], snap: Snapshot, candidates: Sequence[Candidate[Any]], why: str = "cadence"
    ) -> Answer:
        if len(candidates) >= 2:
            self.seen.append(situation(self.base, spec.name, snap, candidates, why))
        return Answer(model="policy", choice=0, text=candidates[0].text)


def margin(role: str, snap: Snapshot, candidates: Sequence[Candidate[Any]]) -> str:
    """clear / close / judgement, on the policy's own ranking measure."""
    by = {t.index: t for t in snap.topics}
    if role == "ideator":
        s = [by[c.decision["topic"]].interest * (1 - by[c.decision["topic"]].mean_knowledge) for c in candidates[:2]]
    elif role == "secretary":
        s = [float(snap.weekday_free[c.decision["day"] % 7]) for c in candidates[:2]]
    else:
        return "judgement"
    gap = (s[0] - s[1]) / max(abs(s[0]), 1e-9)
    return "clear" if gap >= 0.5 else "close" if gap <= 0.1 else "between"


def situation(base: str, role: str, snap: Snapshot, candidates: Sequence[Candidate[Any]], why: str) -> dict[str, Any]:
    return {
        "id": f"{role}/{base}/{snap.community_name}/day{snap.day}/{'cadence' if why == 'cadence' else 'trigger'}",
        "role": role,
        "scenario": base,
        "trigger": why,
        "kind": margin(role, snap, candidates),
        "snapshot": snap.model_dump(mode="json"),
        "candidates": [{"label": c.label, "decision": dict(c.decision), "text": c.text} for c in candidates],
    }


def spread(items: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Up to k situations: triggers and each kind first, then evenly over scenarios and days."""
    items = sorted(
        items, key=lambda s: (s["trigger"] == "cadence", s["kind"] == "between", s["scenario"], s["snapshot"]["day"])
    )
    by_group: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for s in items:
        by_group[(s["trigger"] == "cadence", s["kind"], s["scenario"])].append(s)  # type: ignore[index]
    out: list[dict[str, Any]] = []
    while len(out) < k and any(by_group.values()):
        for g in sorted(by_group, key=str):
            if by_group[g] and len(out) < k:
                group = by_group[g]
                out.append(group.pop(len(group) // 2 if len(out) % 2 else 0))
    return out


def made_clear(s: dict[str, Any]) -> dict[str, Any] | None:
    """The same situation with one option made plainly best (the most wanted topic nobody knows yet; a day
    most members are free), its candidates ranked again by the role's own policy."""
    from types import SimpleNamespace

    from learncomm.roles.board import Board
    from learncomm.roles.registry import SPECS
    from learncomm.sim.schema.roles import Ideator, Secretary

    snap = Snapshot.model_validate(s["snapshot"])
    if s["role"] == "ideator":
        top = max(snap.topics, key=lambda t: t.mean_knowledge)  # the best-known topic becomes the wanted, unknown one
        for t in snap.topics:
            t.interest = 0.6 if t is top else 0.4 / (len(snap.topics) - 1)
            t.mean_knowledge = 0.05 if t is top else max(t.mean_knowledge, 0.5)
        cands = SPECS["ideator"](Board()).candidates(snap, None, Ideator())  # type: ignore[arg-type]
    elif s["role"] == "secretary":
        busy = [max(1, f // 4) for f in snap.weekday_free]
        busy[(snap.day + 3) % 7] = max(snap.weekday_free) + 10
        snap.weekday_free = busy
        cands = SPECS["secretary"](Board()).candidates(snap, SimpleNamespace(day=snap.day + 1), Secretary())  # type: ignore[arg-type]
    else:
        return None
    out = situation(s["scenario"], s["role"], snap, cands, s["trigger"])
    out["id"] += "/made-clear"
    assert out["kind"] == "clear", out["id"]
    return out


def main() -> None:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for base in BASES:
        roles = {
            name: {"cadence": 7, **TRIGGERS.get(name, {})}
            for name in ("ideator", "secretary", "benchmarker", "source", "matchmaker", "manager")
        }
        sc = load_scenario(base, overrides={"roles": roles, "days": 90})
        capture = Capture(base)
        factory = DeciderFactory()
        factory.built["policy"] = capture  # type: ignore[assignment]
        model = CommunityModel(sc, seed=11, deciders=factory)
        while model.running:
            model.step()
        for s in capture.seen:
            found[s["role"]].append(s)
    chosen = [s for role in sorted(found) for s in spread(found[role], PER_ROLE)]
    chosen += [c for s in chosen[::3] if (c := made_clear(s)) is not None]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"version": 1, "situations": chosen}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    counts = {r: len([s for s in chosen if s["role"] == r]) for r in sorted(found)}
    kinds = {k: len([s for s in chosen if s["kind"] == k]) for k in ("clear", "close", "between", "judgement")}
    print(f"{OUT}: {len(chosen)} situations {counts} {kinds}")


if __name__ == "__main__":
    main()
