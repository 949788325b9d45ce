"""The static structure of a run: communities, their settings, topics, networks.

Built once from a scenario and a drawn population; the day reads it as
arrays indexed by community so the learners' day stays vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learncomm.agents.state import LearnerState
from learncomm.sim.engine.network import Csr, community_network
from learncomm.sim.schema.scenario import Meetups, Scenario, Topic


@dataclass
class World:
    names: list[str]  # community names
    topic_names: list[str]
    difficulty: np.ndarray  # (T,)
    prereq: np.ndarray  # (T, T) column t averages the prerequisites of topic t
    has_prereq: np.ndarray  # (T,) bool
    topic_mask: np.ndarray  # (C, T) topics a community works on
    power_gap: np.ndarray  # (C,)
    social_share: np.ndarray
    expert_answer: np.ndarray  # (C,) chance an expert answers, 0 without experts
    expert_scaffolds: np.ndarray  # (C,) bool
    expert_knowledge: np.ndarray
    expert_resource_rate: np.ndarray  # (C,) resources each expert adds per day
    exposure_rate: np.ndarray
    curriculum: list[np.ndarray | None]  # topic order per classroom community
    is_curriculum: np.ndarray  # (C,) bool: a teacher sets the topic (classroom)
    days_per_topic: np.ndarray
    experts: np.ndarray  # (C,) int
    resources: np.ndarray  # (C, T) quality of shared resources, changes during a run
    meetups: list[Meetups | None]
    networks: list[Csr]
    choice_cdf: np.ndarray  # (N, C) cumulative chance of working in community c on a day
    leaving: np.ndarray  # (N,) each learner's leaving-hazard factor: the least of its communities' settings
    fades: np.ndarray  # (N,) bool: the novelty wears off in every community of the learner (none is compulsory)

    @property
    def n_communities(self) -> int:
        return len(self.names)

    def per(self, values: np.ndarray, comm: np.ndarray) -> np.ndarray:
        """values[comm] for per-community values; with one community the scalar itself (no gather)."""
        return values[0] if len(self.names) == 1 else values[comm]


def prerequisite_matrix(topics: list[Topic]) -> np.ndarray:
    names = [t.name for t in topics]
    p = np.zeros((len(topics), len(topics)))
    for j, t in enumerate(topics):
        for r in t.requires:
            p[names.index(r), j] = 1.0 / len(t.requires)
    return p


def curriculum_order(topics: list[Topic], mask: np.ndarray) -> np.ndarray:
    """A teacher's sequence: prerequisites first (by depth), then easier before harder.

    A topic's depth is one more than its deepest prerequisite's (0 without any); computed with an explicit
    stack, so a chain of thousands of topics needs no recursion. The scenario has no prerequisite cycles."""
    position = {t.name: i for i, t in enumerate(topics)}
    depth: dict[str, int] = {}
    expanded: set[str] = set()  # topics whose prerequisites were put on the stack
    for start in topics:
        stack = [start.name]
        while stack:
            name = stack[-1]
            if name in depth:
                stack.pop()
                continue
            pending = [r for r in topics[position[name]].requires if r not in depth]
            if pending:
                if name in expanded:  # its prerequisites came back to it: only a cycle does that
                    raise ValueError(f"prerequisites form a cycle through {name!r}")
                expanded.add(name)
                stack.extend(pending)
                continue
            depth[name] = 1 + max((depth[r] for r in topics[position[name]].requires), default=-1)
            stack.pop()
    names = [t.name for t in topics]
    idx = np.flatnonzero(mask)
    return np.array(sorted(idx, key=lambda i: (depth[names[i]], topics[i].difficulty, i)), dtype=np.int64)


def build_world(scenario: Scenario, state: LearnerState, rng: np.random.Generator) -> World:
    topics = scenario.topic_list
    comms = scenario.resolved_communities()
    names = [t.name for t in topics]
    mask = np.array([[c.topics is None or t in c.topics for t in names] for c in comms], dtype=bool)
    settings = [scenario.setting_of(c) for c in comms]
    experts = np.array(
        [c.experts if c.experts is not None else s.experts for c, s in zip(comms, settings, strict=True)]
    )
    prereq = prerequisite_matrix(topics)
    # + a tiny floor: a learner with no interest in any of its communities' topics picks among them uniformly
    mass = (state.interest @ mask.T.astype(float) + 1e-12) * state.membership
    cdf = np.cumsum(mass, axis=1) / mass.sum(axis=1, keepdims=True)
    # over members only (later arrivals included): prospects (a manager's outreach pool, joined_day -1) are linked
    # in when they join (network.introduce)
    networks = [
        community_network(
            state.interest,
            np.flatnonzero(state.membership[:, j] & (state.joined_day >= 0)),
            mask[j],
            scenario.network.degree,
            scenario.network.rewiring,
            rng,
        )
        for j in range(len(comms))
    ]
    return World(
        names=[c.name for c in comms],
        topic_names=names,
        difficulty=np.array([t.difficulty for t in topics]),
        prereq=prereq,
        has_prereq=prereq.sum(axis=0) > 0,
        topic_mask=mask,
        power_gap=np.array([s.power_gap for s in settings]),
        social_share=np.array([s.social_share for s in settings]),
        expert_answer=np.array(
            [s.expert_answer_rate if e > 0 else 0.0 for s, e in zip(settings, experts, strict=True)]
        ),
        expert_scaffolds=np.array([s.expert_scaffolds for s in settings]),
        expert_knowledge=np.array([s.expert_knowledge for s in settings]),
        expert_resource_rate=np.array([s.expert_resource_rate for s in settings]),
        exposure_rate=np.array([s.exposure_rate for s in settings]),
        curriculum=[curriculum_order(topics, mask[j]) if s.curriculum else None for j, s in enumerate(settings)],
        is_curriculum=np.array([s.curriculum for s in settings]),
        days_per_topic=np.array([s.days_per_topic for s in settings]),
        experts=experts,
        resources=np.array([[s.resources] * len(topics) for s in settings]) * mask,
        meetups=[scenario.meetups_of(c) for c in comms],
        networks=networks,
        choice_cdf=cdf,
        leaving=np.where(state.membership, np.array([scenario.leaving_of(c) for c in comms]), np.inf).min(axis=1),
        fades=np.asarray(np.where(state.membership, [scenario.fades_of(c) for c in comms], True).all(axis=1)),
    )
