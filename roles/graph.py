"""The role graph: observe -> decide -> validate -> act -> record, compiled once.

Any failure of the decider (timeout, server down, malformed output) or an
invalid decision routes to the policy's first candidate, marked as a
fallback with its reason, so an LLM can never crash or stall a run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from learncomm.roles.base import EMPTY_MESSAGE, MAX_OPTIONS, Candidate, clean_text
from learncomm.roles.deciders import Answer
from learncomm.roles.record import Intervention
from learncomm.roles.snapshot import Snapshot, observe
from learncomm.roles.trust import known_secrets, redact

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from learncomm.roles.agent import RoleAgent


class RoleState(TypedDict, total=False):
    trigger: str  # "cadence", or why the role acts early
    snapshot: Snapshot
    candidates: list[Candidate[Any]]
    answer: Answer  # the decider's
    # what is acted on and recorded, after validation:
    choice: int
    decision: Mapping[str, object]
    text: str
    fallback: bool
    reason: str


@dataclass
class RoleContext:
    agent: RoleAgent[Any, Any]


def _observe(state: RoleState, runtime: Runtime[RoleContext]) -> RoleState:
    a = runtime.context.agent
    obs, key = a.board.observations, (a.model.day, a.community)
    snap = obs.get(key)
    if snap is None:  # roles due on the same day share one observation (see RoleSpec.changes_observation)
        for k in [k for k in obs if k[0] != a.model.day]:
            del obs[k]
        snap = obs[key] = observe(a.model, a.community)
    return {"snapshot": snap, "candidates": a.spec.candidates(snap, a.model, a.cfg)[:MAX_OPTIONS]}


def _decide(state: RoleState, runtime: Runtime[RoleContext]) -> RoleState:
    d = runtime.context.agent.decider
    started = time.perf_counter()
    try:
        answer = d.decide(runtime.context.agent.spec, state["snapshot"], state["candidates"], state["trigger"])
    except Exception as exc:  # any decider failure falls back; the reason is recorded
        answer = Answer(
            model=d.model_name,
            latency_s=time.perf_counter() - started,
            fallback=True,
            reason=redact(f"{type(exc).__name__}: {exc}", known_secrets())[:300],
        )
    return {"answer": answer}


def _validate(state: RoleState, runtime: Runtime[RoleContext]) -> RoleState:
    a, cands, answer = runtime.context.agent, state["candidates"], state["answer"]
    if answer.fallback:
        return _fallback(state, answer.reason)
    choice = answer.choice
    if not isinstance(choice, int) or not 0 <= choice < len(cands):
        return _fallback(
            state, "; ".join(filter(None, [f"invalid choice {choice!r} of {len(cands)} options", answer.reason]))
        )
    decision = cands[choice].decision
    problem = a.spec.validate(decision, state["snapshot"], a.model)
    if problem:
        return _fallback(state, "; ".join(filter(None, [f"invalid decision: {problem}", answer.reason])))
    text = clean_text(answer.text)
    return {
        "choice": choice,
        "decision": decision,
        "text": text or cands[choice].text,
        "fallback": False,
        # warnings (token counts, an uncached reply); an empty message is said first (roles/quality.py counts it)
        "reason": redact("; ".join(filter(None, [None if text else EMPTY_MESSAGE, answer.reason])), known_secrets())[
            :500
        ],
    }


def _fallback(state: RoleState, reason: str) -> RoleState:
    first = state["candidates"][0]
    reason = redact(reason, known_secrets())[:500]  # a server may echo a key in its error text
    return {"choice": 0, "decision": first.decision, "text": first.text, "fallback": True, "reason": reason}


def _act(state: RoleState, runtime: Runtime[RoleContext]) -> RoleState:
    a = runtime.context.agent
    a.spec.act(a.model, state["snapshot"], state["decision"], a.cfg)
    if a.spec.changes_observation:
        a.board.observations.pop((a.model.day, a.community), None)
    a.board.memory[(a.spec.name, a.community)] = dict(state["decision"])  # a copy: the record keeps its own
    return {}


def _record(state: RoleState, runtime: Runtime[RoleContext]) -> RoleState:
    a, answer = runtime.context.agent, state["answer"]
    a.board.interventions.append(
        Intervention(
            day=a.model.day,
            role=a.spec.name,
            community=a.model.world.names[a.community],
            decider=a.decider.name,
            model=answer.model or a.decider.model_name,
            prompt_hash=answer.prompt_hash,
            choice=state["choice"],
            decision=json.dumps(state["decision"], sort_keys=True),
            text=state["text"],
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            latency_s=answer.latency_s,
            cache_hit=answer.cache_hit,
            fallback=state["fallback"],
            reason=state["reason"],
            trigger=state["trigger"],
            shown_order=" ".join(str(i) for i in answer.shown_order),
            shown_position=answer.shown_position,
        )
    )
    return {}


def _route_candidates(state: RoleState) -> str:
    return "decide" if state["candidates"] else END


def build_graph() -> CompiledStateGraph[RoleState, RoleContext, RoleState, RoleState]:
    g = StateGraph(RoleState, context_schema=RoleContext)
    g.add_node("observe", _observe)
    g.add_node("decide", _decide)
    g.add_node("validate", _validate)
    g.add_node("act", _act)
    g.add_node("record", _record)
    g.add_edge(START, "observe")
    g.add_conditional_edges("observe", _route_candidates, ["decide", END])
    g.add_edge("decide", "validate")
    g.add_edge("validate", "act")
    g.add_edge("act", "record")
    g.add_edge("record", END)
    return g.compile()


_GRAPH: CompiledStateGraph[RoleState, RoleContext, RoleState, RoleState] | None = None


def role_graph() -> CompiledStateGraph[RoleState, RoleContext, RoleState, RoleState]:
    """The compiled graph, built on first use (no work at import time)."""
    global _GRAPH
    if _GRAPH is None:
        _GRAPH = build_graph()
    return _GRAPH
