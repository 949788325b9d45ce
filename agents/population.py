"""The seeded draw of a population: who is in which community, and every learner's traits.

Every draw comes from the generator given, in a fixed order, so a seed gives the
same learners whatever else the run does (docs/model.md, "Reproducibility").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import numpy as np

from learncomm.agents.state import LearnerState
from learncomm.sim.schema.scenario import ConfidenceGroup, Dist, Scenario
from learncomm.sim.schema.vocab import GROUPS, TutoringRole


def beta(rng: np.random.Generator, dist: Dist, size: int | tuple[int, ...]) -> np.ndarray:
    """Draws from the Beta distribution with the given mean and standard deviation."""
    m, s = dist.mean, dist.spread
    kappa = m * (1.0 - m) / (s * s) - 1.0
    return rng.beta(m * kappa, (1.0 - m) * kappa, size=size)


def exact_labels(rng: np.random.Generator, shares: list[float], n: int) -> np.ndarray:
    """Labels 0..k-1 in exactly the given shares (largest remainder), shuffled."""
    raw = np.asarray(shares) * n
    counts = np.floor(raw).astype(int)
    counts[np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), counts))


def assign_members(scenario: Scenario, rng: np.random.Generator) -> np.ndarray:
    """Membership matrix (N, C): each community's own newcomers plus shares of earlier ones."""
    comms = scenario.resolved_communities()
    names = [c.name for c in comms]
    members: list[np.ndarray] = []
    n = 0
    for c in comms:
        shared = [
            rng.choice(members[names.index(o)], size=round(s * len(members[names.index(o)])), replace=False)
            for o, s in c.include.items()
        ]
        inherited = np.unique(np.concatenate(shared)) if shared else np.zeros(0, dtype=np.int64)
        fresh = max(0, (c.members or 0) - len(inherited))
        members.append(np.concatenate([inherited, np.arange(n, n + fresh)]).astype(np.int64))
        n += fresh
    matrix = np.zeros((n, len(comms)), dtype=bool)
    for j, m in enumerate(members):
        matrix[m, j] = True
    return matrix


def draw_population(scenario: Scenario, rng: np.random.Generator) -> LearnerState:
    """A seeded population: every draw comes from `rng`, in a fixed order."""
    membership = assign_members(scenario, rng)
    return LearnerState(membership=membership, **draw_traits(scenario, rng, membership.shape[0]))


def draw_traits(scenario: Scenario, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Everything about `n` people but their membership, in a fixed order of draws."""
    t = len(scenario.topic_list)
    pop = scenario.population
    by_name = cast(Mapping[str, ConfidenceGroup], scenario.confidence_groups)  # keys are the GROUPS
    groups = [by_name[g] for g in GROUPS]
    group = exact_labels(rng, [g.share for g in groups], n).astype(np.int8)
    confidence = np.empty(n)
    for gi, g in enumerate(groups):
        idx = np.flatnonzero(group == gi)
        confidence[idx] = beta(rng, g, idx.size)
    access_class = exact_labels(rng, [a.share for a in pop.access], n).astype(np.int8)
    access = np.empty(n)
    for ai, a in enumerate(pop.access):
        idx = np.flatnonzero(access_class == ai)
        access[idx] = beta(rng, a, idx.size)
    knowledge = beta(rng, pop.knowledge, (n, t))
    motivation = beta(rng, pop.motivation, n)
    interest = rng.dirichlet(np.full(t, pop.interest_concentration), size=n)
    free = np.argsort(rng.random((n, 7)), axis=1) < pop.available_days_per_week
    # drawn last, so adding it left every earlier trait of a seed as it was
    activity = rng.lognormal(0.0, scenario.params.activity_spread, size=n)
    return {
        "knowledge": knowledge,
        "interest": interest,
        "confidence": confidence,
        "motivation": motivation,
        "baseline_motivation": motivation.copy(),
        "access": access,
        "access_class": access_class,
        "available": free,
        "group": group,
        "activity": activity,
    }


def draw_arrivals(scenario: Scenario, state: LearnerState, rng: np.random.Generator) -> None:
    """Schedule when each member joins (docs/model.md, "Arrivals"): founders from the first day, the others in a
    launch wave (exponential delays of mean `wave_days`, truncated to the run) or a trickle spread evenly over it.

    A member of several communities arrives by the rules of the first community it belongs to. Later arrivals
    are members (in the network from the start) who are not joined or active until their day.
    """
    n, days = state.n, scenario.days
    home = np.argmax(state.membership, axis=1)
    u_founder, u_trickle, u_when = rng.random(n), rng.random(n), rng.random(n)  # one of each per member, always
    if days < 2:
        return
    for c, community in enumerate(scenario.resolved_communities()):
        a = scenario.arrivals_of(community)
        if a.founders >= 1.0:
            continue
        who = (home == c) & (u_founder >= a.founders)
        trickle = who & (u_trickle < a.trickle)
        wave = who & ~trickle
        day = np.ones(n)
        day[trickle] = 1 + u_when[trickle] * (days - 1)
        # the wave's exponential delays, truncated to the run: every later arrival comes before the last day
        within = -np.expm1(-(days - 1) / a.wave_days)  # P(delay < days - 1)
        day[wave] = 1 - a.wave_days * np.log1p(-u_when[wave] * within)
        state.joined_day[who] = np.minimum(np.floor(day[who]), days - 1).astype(np.int32)
    state.joined[state.joined_day > 0] = False
    state.active[state.joined_day > 0] = False


def add_prospects(
    state: LearnerState, scenario: Scenario, per_community: int, rng: np.random.Generator
) -> LearnerState:
    """Append `per_community` people per community who have not joined yet (a manager's outreach pool).

    They come after the members, so the members' rows, and their daily random numbers, are
    the same as in a run without a manager. Prospects are inactive (they take part in nothing)
    until outreach brings them in; outcomes count joined learners only.
    """
    c = state.membership.shape[1]
    traits = draw_traits(scenario, rng, per_community * c)
    extra = np.zeros((per_community * c, c), dtype=bool)
    extra[np.arange(per_community * c), np.repeat(np.arange(c), per_community)] = True
    fields = {k: np.concatenate([getattr(state, k), v]) for k, v in traits.items()}
    out = LearnerState(membership=np.concatenate([state.membership, extra]), **fields)
    n0 = state.n
    for name in ("tutoring_role", "tutoring_partner", "joined", "joined_day", "active"):  # pairs and arrivals stay
        getattr(out, name)[:n0] = getattr(state, name)
    out.joined[n0:] = False
    out.active[n0:] = False
    out.joined_day[n0:] = -1
    return out


def pair_tutors(state: LearnerState, tutor_share: float, rng: np.random.Generator) -> None:
    """Tutors are the most knowledgeable share; the k-th best tutor tutors the k-th best tutee.

    Pairing by rank keeps each gap moderate, inside the tutee's zone of proximal development.
    """
    n = state.n
    order = np.lexsort((rng.random(n), -state.knowledge.mean(axis=1)))
    n_tutors = min(int(round(tutor_share * n)), n // 2)
    tutors, tutees = order[:n_tutors], order[n_tutors : 2 * n_tutors]
    state.tutoring_role[tutors] = TutoringRole.TUTOR
    state.tutoring_role[tutees] = TutoringRole.TUTEE
    state.tutoring_partner[tutors] = tutees
    state.tutoring_partner[tutees] = tutors
