"""The role graph: observe -> decide -> validate -> act -> record, compiled once.

Any failure of the decider (timeout, server down, malformed output) or an
invalid decision routes to the policy's first candidate, marked as a
fallback with its reason, so an LLM can never crash or stall a run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from learncomm.roles.base import MAX_OPTIONS, Candidate, clean_text
from learncomm.roles.snapshot import Snapshot, observe

if TYPE_CHECKING:
    from learncomm.roles.agent import RoleAgent


class RoleState(TypedDict, total=False):
    trigger: str  # "cadence", or why the role acts early
    snapshot: Snapshot
    candidates: list[Candidate]
    choice: int
    text: str
    decision: dict[str, Any]
    decider: str
    model: str
    prompt_hash: str
    input_tokens: int
    output_tokens: int
    latency_s: float
    cache_hit: bool
    fallback: bool
    reason: str


@dataclass
class RoleContext:
    agent: RoleAgent


def _observe(state: RoleState, runtime: Runtime[RoleContext]) -> RoleState:
    a = runtime.context.agent
    key = (a.model.day, a.community)
    snap = a.model.observations.get(key)
    if snap is None:  # roles due on the same day share one observation (see RoleSpec.changes_observation)
        a.model.observations = {k: v for k, v in a.model.observations.items() if k[0] == a.model.day}
        snap = a.model.observations[key] = observe(a.model, a.community)
    return {
        "snapshot": snap,
        "candidates": a.spec.candidates(snap, a.model, a.cfg)[:MAX_OPTIONS],
        "fallback": False,
        "reason": "",
    }


def _decide(state: RoleState, runtime: Runtime[RoleContext]) -> RoleState:
    a = runtime.context.agent
    started = time.perf_counter()
    try:
        r = a.decider.decide(a.spec, state["snapshot"], state["candidates"], state.get("trigger", "cadence"))
    except Exception as exc:  # any decider failure falls back; the reason is recorded
        return {
            "decider": a.decider.name,
            "model": a.decider.model_name,
            "fallback": True,
            "latency_s": time.perf_counter() - started,
            "reason": f"{type(exc).__name__}: {str(exc)[:300]}",
        }
    return {"decider": a.decider.name, **r}


def _validate(state: RoleState, runtime: Runtime[RoleContext]) -> RoleState:
    a, cands = runtime.context.agent, state["candidates"]
    if state.get("fallback"):
        return _fallback(state, state["reason"])
    choice = state.get("choice")
    if not isinstance(choice, int) or not 0 <= choice < len(cands):
        return _fallback(state, f"invalid choice {choice!r} of {len(cands)} options")
    decision = cands[choice].decision
    problem = a.spec.validate(decision, state["snapshot"], a.model)
    if problem:
        return _fallback(state, f"invalid decision: {problem}")
    text = clean_text(state.get("text", ""))
    return {"decision": decision, "text": text or cands[choice].text}


def _fallback(state: RoleState, reason: str) -> RoleState:
    first = state["candidates"][0]
    return {"choice": 0, "decision": first.decision, "text": first.text, "fallback": True, "reason": reason[:500]}


def _act(state: RoleState, runtime: Runtime[RoleContext]) -> RoleState:
    a = runtime.context.agent
    a.spec.act(a.model, state["snapshot"], state["decision"], a.cfg)
    if a.spec.changes_observation:
        a.model.observations.pop((a.model.day, a.community), None)
    a.model.role_memory[(a.spec.name, a.community)] = {"day": a.model.day, **state["decision"]}
    return {}


def _record(state: RoleState, runtime: Runtime[RoleContext]) -> RoleState:
    a = runtime.context.agent
    a.model.interventions.append(
        {
            "day": a.model.day,
            "role": a.spec.name,
            "community": a.model.world.names[a.community],
            "decider": state.get("decider", a.decider.name),
            "model": state.get("model") or a.decider.model_name,
            "prompt_hash": state.get("prompt_hash", ""),
            "choice": int(state["choice"]) if state.get("choice") is not None else 0,
            "decision": json.dumps(state["decision"], sort_keys=True),
            "text": state["text"],
            "input_tokens": int(state.get("input_tokens", 0)),
            "output_tokens": int(state.get("output_tokens", 0)),
            "latency_s": float(state.get("latency_s", 0.0)),
            "cache_hit": bool(state.get("cache_hit", False)),
            "fallback": bool(state.get("fallback", False)),
            "reason": state.get("reason", ""),
            "trigger": state.get("trigger", "cadence"),
        }
    )
    return {}


def _route_candidates(state: RoleState) -> str:
    return "decide" if state["candidates"] else END


def build_graph() -> Any:
    g = StateGraph(RoleState, context_schema=RoleContext)
    for name, fn in (
        ("observe", _observe),
        ("decide", _decide),
        ("validate", _validate),
        ("act", _act),
        ("record", _record),
    ):
        g.add_node(name, fn)
    g.add_edge(START, "observe")
    g.add_conditional_edges("observe", _route_candidates, ["decide", END])
    g.add_edge("decide", "validate")
    g.add_edge("validate", "act")
    g.add_edge("act", "record")
    g.add_edge("record", END)
    return g.compile()


GRAPH = None


def role_graph() -> Any:
    """The compiled graph, built on first use (no work at import time)."""
    global GRAPH
    if GRAPH is None:
        GRAPH = build_graph()
    return GRAPH
