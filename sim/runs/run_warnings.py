"""Warnings of a run: what the user asked for that did not happen (issue 13, item 5).

Each warning is `{"code": ..., "message": ...}`; the run puts the list in summary.json (`warnings`), the CLI
prints it, the run dashboard lists it. A run with nothing to say has an empty list. Codes (docs/results.md):

- `llm_all_fallback`: every decision asked of a chat model (openai/local) fell back to the policy;
- `llm_most_fallback`: half of them or more did (`MOST` below), but not all;
- `role_never_acted`: an enabled role made no decision (the run ended before its first decision was due, at
  `start_day`, or `cadence` days in when it starts on day 0; or it never had a candidate);
- `decider_without_roles`: `--decider` was given but the scenario has no enabled roles, so nothing used it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from learncomm.sim.schema.scenario import Scenario

MOST = 0.5  # share of LLM decisions falling back from which a run warns
CHAT_DECIDERS = ("openai", "local")


def run_warnings(
    scenario: Scenario, rows: Sequence[Mapping[str, Any]], days: int, decider_override: str | None = None
) -> list[dict[str, str]]:
    """The warnings of a run of `scenario` over `days` days whose roles decided `rows` (interventions)."""
    out: list[dict[str, str]] = []
    roles = scenario.roles.active()
    if decider_override is not None and not roles:
        out.append(
            {
                "code": "decider_without_roles",
                "message": f"--decider {decider_override} was given, but the scenario has no roles: no decision "
                "was asked of it (add a `roles:` block or --set roles.ideator={})",
            }
        )
    acted = {str(r["role"]) for r in rows}
    for name, cfg in roles.items():
        if name in acted:
            continue
        first = cfg.start_day if cfg.start_day >= 1 else cfg.cadence  # roles act after days 1..days (agent.due)
        if first > days:
            why = (
                f"the run ended on day {days}, before its first decision was due on day {first} "
                f"(start_day {cfg.start_day}, cadence {cfg.cadence})"
            )
        else:
            why = f"it had nothing to decide in {days} days (no candidate)"
        out.append({"code": "role_never_acted", "message": f"the {name} role never acted: {why}"})
    chat = [r for r in rows if r["decider"] in CHAT_DECIDERS]
    fell = sum(bool(r["fallback"]) for r in chat)
    if chat and fell >= MOST * len(chat):
        every = fell == len(chat)
        reasons = sorted({str(r["reason"])[:120] for r in chat if r["fallback"] and r["reason"]})[:3]
        out.append(
            {
                "code": "llm_all_fallback" if every else "llm_most_fallback",
                "message": f"{'all' if every else 'most'} LLM decisions fell back to the policy ({fell} of {len(chat)})"
                + (f"; for example: {'; '.join(reasons)}" if reasons else ""),
            }
        )
    return out
