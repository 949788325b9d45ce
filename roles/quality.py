"""What a language model decided, judged: text checks and position statistics.

"0 fallbacks" only says a model answered in the right shape. These checks say
whether the answer looks like a decision: did the model pick by content or by
the position an option was shown in (the order is shuffled, roles/deciders.py),
does its message name what it chose, is it a refusal, a template placeholder,
too long, in another language. Used by `learncomm llm eval` (roles/evaluate.py)
and by every run with a language-model decider (summary.json `llm_quality`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from learncomm.roles.base import EMPTY_MESSAGE, MAX_TEXT

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_SENTENCES = 3  # the prompt asks for at most three (roles/deciders.py SYSTEM)
MIN_WORDS_FOR_LANGUAGE = 4  # shorter texts are too short to identify a language reliably
# Template slots a model copies instead of filling: "[insert your name here]", "<name>", "{{topic}}", "XXX".
PLACEHOLDER = re.compile(
    r"\[[^\]]*\b(insert|your|name|topic|date|day|link|here)\b[^\]]*\]|<\s*(insert|your|name)[^>]*>|\{\{|\bX{3,}\b"
    r"|lorem ipsum",
    re.IGNORECASE,
)
# Refusals and excuses instead of a decision ("I'm sorry, I can't see the data.").
REFUSAL = re.compile(
    r"\b(i'?m sorry|i am sorry|i apologi[sz]e|i (?:can ?not|can't|cannot|am unable to|'m unable to|do not|don't) "
    r"(?:answer|help|see|access|provide|do|assist|decide)|as an ai\b|as a language model|try again later)",
    re.IGNORECASE,
)
MODEL_DECIDERS = ("openai", "local")


def model_asked(row: Mapping[str, Any]) -> bool:
    """A language model was asked for this decision: it was shown options, or it failed before it could be."""
    return bool(row.get("shown_order")) or row.get("decider") in MODEL_DECIDERS


_SENTENCE = re.compile(r"[.!?]+(?:\s+|$)")


@dataclass(frozen=True, slots=True)
class TextCheck:
    """One message's checks; None where a check does not apply (nothing to name, too short to tell)."""

    empty: bool
    placeholder: bool
    refusal: bool
    within_length: bool
    names_choice: bool | None
    in_language: bool | None


EMPTY = TextCheck(
    empty=True, placeholder=False, refusal=False, within_length=False, names_choice=None, in_language=None
)


def mentions(decision: Mapping[str, Any], topic_names: Mapping[int, str]) -> list[str]:
    """What a message about this decision should name: its topic (by index), its weekday."""
    out = []
    topic = decision.get("topic")
    if isinstance(topic, int) and topic in topic_names:
        out.append(topic_names[topic])
    day = decision.get("day")
    if isinstance(day, int) and not isinstance(day, bool):
        out.append(WEEKDAYS[day % 7])
    return out


@cache
def _identifier() -> Any:
    """py3langid (langid.py's model, 97 languages, numpy only): loaded once, on first use."""
    from py3langid.langid import classify

    return classify


def language_of(text: str) -> str:
    return str(_identifier()(text)[0])


def check_text(text: str, names: Sequence[str], language: str) -> TextCheck:
    """The checks of one model-written message. `text` is the model's own (before any cut to MAX_TEXT)."""
    words = text.split()
    sentences = len([s for s in _SENTENCE.split(text.strip()) if s.strip()])
    lowered = text.casefold()
    return TextCheck(
        empty=not words,
        placeholder=bool(PLACEHOLDER.search(text)),
        refusal=bool(REFUSAL.search(text)),
        within_length=bool(words) and len(text) < MAX_TEXT and sentences <= MAX_SENTENCES,
        names_choice=any(n.casefold() in lowered for n in names) if names else None,
        in_language=language_of(text) == language if len(words) >= MIN_WORDS_FOR_LANGUAGE else None,
    )


def _share(values: Iterable[bool | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


def position_stats(orders: Sequence[Sequence[int]], positions: Sequence[int]) -> dict[str, Any]:
    """Picks by shown position against what a content-blind uniform pick would give.

    With a shuffled order, a model choosing by content spreads its picks over positions;
    one choosing by position piles them up. Chi-square goodness of fit against the expected
    counts sum_i [k < n_i] / n_i (n_i: options in decision i).
    """
    from scipy.stats import chi2

    n = len(positions)
    if n == 0:
        return {"answers": 0, "by_position": [], "expected": [], "top_share": None, "p_value": None}
    width = max(len(o) for o in orders)
    observed = [sum(1 for p in positions if p == k) for k in range(width)]
    expected = [sum(1.0 / len(o) for o in orders if k < len(o)) for k in range(width)]
    stat = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True) if e > 0)
    p = float(chi2.sf(stat, width - 1)) if width > 1 else 1.0
    return {
        "answers": n,
        "by_position": observed,
        "expected": [round(e, 2) for e in expected],
        "top_share": round(max(observed) / n, 4),
        "p_value": round(p, 6),
    }


def judge(rows: Sequence[Mapping[str, Any]], checks: Sequence[TextCheck | None]) -> dict[str, Any]:
    """One role's figures over its decisions: rows carry fallback, choice, shown_order, shown_position;
    `checks[i]` is the text check of row i (None for a fallback). Rows where no model was asked (the
    policy's) count in `decisions` only."""
    asked = [r for r in rows if model_asked(r)]
    used = [(r, c) for r, c in zip(rows, checks, strict=True) if r.get("shown_order") and not r["fallback"]]
    orders = [[int(i) for i in str(r["shown_order"]).split()] for r, _ in used]
    done = [c for _, c in used if c is not None]
    # a decision with one option shows nothing about position: the model could only take it
    chose = [(o, int(r["shown_position"])) for o, (r, _) in zip(orders, used, strict=True) if len(o) >= 2]
    return {
        "decisions": len(rows),
        "asked": len(asked),
        "valid": len(used),
        "fallbacks": len(asked) - len(used),
        "valid_share": round(len(used) / len(asked), 4) if asked else None,
        "agrees_with_policy": _share(int(r["choice"]) == 0 for r, _ in used),
        "agreement_by_chance": round(sum(1 / len(o) for o in orders) / len(orders), 4) if orders else None,
        "position": position_stats([o for o, _ in chose], [p for _, p in chose]),
        "text": {
            "empty": _share(c.empty for c in done),
            "placeholder": _share(c.placeholder for c in done),
            "refusal": _share(c.refusal for c in done),
            "within_length": _share(c.within_length for c in done),
            "names_choice": _share(c.names_choice for c in done),
            "in_language": _share(c.in_language for c in done),
        },
    }


def noise(figures: Mapping[str, Any], role: str, fallbacks: bool = True) -> list[str]:
    """Plain warnings when a role's model decisions look like noise rather than decisions (`fallbacks`: also when
    most answers were unusable; a run says that in its own warnings, sim/runs/run_warnings.py)."""
    out = []
    pos, text = figures["position"], figures["text"]
    if fallbacks and figures["asked"] and (figures["valid_share"] or 0) < 0.5:
        out.append(f"{role}: {figures['fallbacks']} of {figures['asked']} model answers were unusable (policy used)")
    if pos["answers"] >= 5 and pos["top_share"] == 1.0:
        k = pos["by_position"].index(max(pos["by_position"]))
        out.append(f"{role}: the model picked the option shown at position {k} every time ({pos['answers']} answers)")
    elif pos["answers"] >= 10 and pos["p_value"] is not None and pos["p_value"] < 0.01 and pos["top_share"] > 0.6:
        out.append(f"{role}: the model's picks follow the order options were shown in (p = {pos['p_value']:.3g})")
    for check, what in (("refusal", "refusals"), ("placeholder", "template placeholders"), ("empty", "empty")):
        share = text[check]
        if share is not None and share > 0.5:
            out.append(f"{role}: {share:.0%} of the model's messages were {what}")
    return out


def run_quality(rows: Sequence[Mapping[str, Any]], topic_names: Sequence[str], language: str) -> dict[str, Any]:
    """summary.json's `llm_quality`: per role with model decisions, its figures and warnings."""
    names = dict(enumerate(topic_names))
    by_role: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        if model_asked(r):
            by_role.setdefault(str(r["role"]), []).append(r)
    out: dict[str, Any] = {}
    for role, mine in by_role.items():
        checks = [
            None
            if r["fallback"]
            else EMPTY
            if str(r.get("reason", "")).startswith(EMPTY_MESSAGE)  # the recorded text is the policy's
            else check_text(str(r["text"]), mentions(json.loads(str(r["decision"])), names), language)
            for r in mine
        ]
        figures = judge(mine, checks)
        figures["warnings"] = noise(figures, role, fallbacks=False)
        out[role] = figures
    return out


def as_dict(check: TextCheck) -> dict[str, bool | None]:
    return asdict(check)
