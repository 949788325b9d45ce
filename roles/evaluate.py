"""`learncomm llm eval`: a decider run through a fixed benchmark of role situations.

The benchmark (roles/eval/situations.json, made by scripts/make_llm_eval.py from
shipped scenarios) holds what each role saw when it decided: the community's
snapshot, the policy's ranked candidates and why the role acted. Situations are
tagged `clear` (the policy's first option is plainly best), `close`, `between` or
`judgement` (options differ in kind). The report gives, per role, valid answers,
agreement with the policy (overall and by tag), picks by shown position, the
text checks of roles/quality.py, latency, tokens and cost; thresholds turn it
into a pass or a fail.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from learncomm.roles.base import Candidate, clean_text
from learncomm.roles.board import Board
from learncomm.roles.deciders import Answer, Decider
from learncomm.roles.quality import TextCheck, as_dict, check_text, judge, mentions, noise
from learncomm.roles.registry import SPECS
from learncomm.roles.snapshot import Snapshot
from learncomm.roles.trust import known_secrets, redact
from learncomm.sim.schema.roles import Prices

SITUATIONS = Path(__file__).with_name("eval") / "situations.json"
KINDS = ("clear", "close", "between", "judgement")


class EvalError(Exception):
    """The benchmark file or the options cannot be used."""


@dataclass(frozen=True)
class Situation:
    id: str
    role: str
    scenario: str
    trigger: str
    kind: str
    snapshot: Snapshot
    candidates: list[Candidate[Any]]


@dataclass(frozen=True)
class Thresholds:
    """Below these, `llm eval` exits 1. Shares are over valid answers (refusals etc.) or over asked (valid)."""

    min_valid: float = 0.9
    max_refusal: float = 0.1
    max_placeholder: float = 0.05
    min_names_choice: float = 0.5
    min_in_language: float = 0.8
    max_position_share: float = 0.7  # the most picked shown position, over all valid answers (10 or more)


def load_situations(
    path: Path = SITUATIONS, roles: Sequence[str] | None = None, per_role: int | None = None
) -> list[Situation]:
    """The benchmark, optionally only some roles and the first `per_role` situations of each."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data["situations"]
        out = [
            Situation(
                id=str(s["id"]),
                role=str(s["role"]),
                scenario=str(s["scenario"]),
                trigger=str(s["trigger"]),
                kind=str(s["kind"]),
                snapshot=Snapshot.model_validate(s["snapshot"]),
                candidates=[Candidate(str(c["label"]), c["decision"], str(c["text"])) for c in s["candidates"]],
            )
            for s in items
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EvalError(f"{path}: not a readable benchmark of situations: {exc}") from None
    unknown = sorted(set(roles or ()) - set(SPECS))
    if unknown:
        raise EvalError(f"--roles {','.join(unknown)}: expected some of {', '.join(SPECS)}")
    if roles:
        out = [s for s in out if s.role in roles]
    if per_role is not None:
        seen: dict[str, int] = {}
        kept = []
        for s in out:
            seen[s.role] = seen.get(s.role, 0) + 1
            if seen[s.role] <= per_role:
                kept.append(s)
        out = kept
    return out


def ask(decider: Decider, s: Situation) -> Answer:
    """The decider's answer; any failure becomes a fallback with its reason, as in a run's role graph."""
    started = time.perf_counter()
    try:
        return decider.decide(SPECS[s.role](Board()), s.snapshot, s.candidates, s.trigger)
    except Exception as exc:  # noqa: BLE001 - every decider failure is a finding of the evaluation
        reason = redact(f"{type(exc).__name__}: {exc}", known_secrets())[:300]
        return Answer(model=decider.model_name, latency_s=time.perf_counter() - started, fallback=True, reason=reason)


def item(s: Situation, a: Answer, language: str, decider_name: str) -> tuple[dict[str, Any], TextCheck | None]:
    valid = not a.fallback and a.choice is not None and 0 <= a.choice < len(s.candidates)
    names = {t.index: t.name for t in s.snapshot.topics}
    check = None
    if valid and a.choice is not None:
        check = check_text(a.text, mentions(s.candidates[a.choice].decision, names), language)
    # a decider that does not shuffle (the policy) showed the options in the policy's order; one that failed
    # before answering showed nothing we know of
    order = a.shown_order or (tuple(range(len(s.candidates))) if valid else ())
    position = a.shown_position if a.shown_order else (a.choice if valid and a.choice is not None else -1)
    row = {
        "id": s.id,
        "role": s.role,
        "decider": decider_name,
        "kind": s.kind,
        "options": len(s.candidates),
        "shown_order": " ".join(str(i) for i in order),
        "shown_position": position,
        "choice": a.choice if valid and a.choice is not None else -1,
        "fallback": not valid,
        "reason": a.reason if a.fallback else ("" if valid else f"invalid choice {a.choice!r}"),
        "text": clean_text(a.text),
        "checks": as_dict(check) if check else None,
        "latency_s": round(a.latency_s, 3),
        "input_tokens": max(0, a.input_tokens),
        "output_tokens": max(0, a.output_tokens),
        "cache_hit": a.cache_hit,
    }
    return row, check


def figures(rows: Sequence[dict[str, Any]], checks: Sequence[TextCheck | None], prices: Prices) -> dict[str, Any]:
    """judge()'s figures, with agreement by situation kind and the cost of asking."""
    asked = rows
    out = judge(asked, checks)
    out["agrees_by_kind"] = {
        k: judge(
            [r for r in asked if r["kind"] == k], [c for r, c in zip(asked, checks, strict=True) if r["kind"] == k]
        )["agrees_with_policy"]
        for k in KINDS
        if any(r["kind"] == k for r in asked)
    }
    lat = [r["latency_s"] for r in rows]
    tin, tout = sum(r["input_tokens"] for r in rows), sum(r["output_tokens"] for r in rows)
    out.update(
        latency_mean_s=round(statistics.fmean(lat), 3) if lat else None,
        latency_max_s=round(max(lat), 3) if lat else None,
        input_tokens=tin,
        output_tokens=tout,
        cost_usd=round((tin * prices.input + tout * prices.output) / 1e6, 6),
    )
    return out


def failures(overall: dict[str, Any], limits: Thresholds) -> list[str]:
    """Each threshold the decider missed, in words."""
    out = []
    text, pos = overall["text"], overall["position"]

    def below(value: float | None, limit: float, what: str) -> None:
        if value is not None and value < limit:
            out.append(f"{what} {value:.0%} < {limit:.0%}")

    def above(value: float | None, limit: float, what: str) -> None:
        if value is not None and value > limit:
            out.append(f"{what} {value:.0%} > {limit:.0%}")

    below(overall["valid_share"], limits.min_valid, "valid answers")
    above(text["refusal"], limits.max_refusal, "refusals")
    above(text["placeholder"], limits.max_placeholder, "placeholders")
    below(text["names_choice"], limits.min_names_choice, "messages naming the choice")
    below(text["in_language"], limits.min_in_language, "messages in the language")
    if pos["answers"] >= 10:
        above(pos["top_share"], limits.max_position_share, "picks at one shown position")
    return out


def evaluate(
    decider: Decider,
    situations: Sequence[Situation],
    language: str = "en",
    prices: Prices | None = None,
    limits: Thresholds | None = None,
    on_item: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The report (eval.json's content)."""
    prices, limits = prices or Prices(), limits or Thresholds()
    rows: list[dict[str, Any]] = []
    checks: list[TextCheck | None] = []
    for s in situations:
        row, check = item(s, ask(decider, s), language, decider.name)
        rows.append(row)
        checks.append(check)
        if on_item is not None:
            on_item()
    roles = {}
    for role in dict.fromkeys(r["role"] for r in rows):
        mine = [i for i, r in enumerate(rows) if r["role"] == role]
        roles[role] = figures([rows[i] for i in mine], [checks[i] for i in mine], prices)
        roles[role]["warnings"] = noise(roles[role], role)
    overall = figures(rows, checks, prices)
    missed = failures(overall, limits)
    return {
        "version": 1,
        "decider": decider.name,
        "model": decider.model_name,
        "language": language,
        "situations": len(rows),
        "thresholds": asdict(limits),
        "overall": overall,
        "roles": roles,
        "failures": missed,
        "passed": not missed,
        "items": rows,
    }
