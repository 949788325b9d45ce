"""The scenario schema: everything a user can write in a scenario file.

Every mechanism constant of the model lives here with its default, so no
number that shapes behaviour is buried in the engine. The reasons for the
defaults are in docs/model.md.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from learncomm.sim.schema.base import NonNegative, Positive, Strict, Unit
from learncomm.sim.schema.params import Params
from learncomm.sim.schema.roles import LLM, Roles
from learncomm.sim.schema.vocab import GROUPS, Group

MAX_LEARNERS = 10_000_000
"""The most learners a scenario may have: `learners`, each community's members, and their total."""
MAX_EXPERTS = 10_000
"""The most experts in one community or one setting."""
MAX_TOTAL_EXPERTS = 100_000
"""The most experts over all communities."""
MAX_TOPICS = 1_000
"""The most topics a list may hold (a count, `topics: N`, allows at most 200)."""
MAX_COMMUNITIES = 1_000
"""The most communities a scenario may list (and so the most entries of a community's include)."""
MAX_REQUIRES = 100
"""The most prerequisites one topic may name."""

Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f,]+$")]
# A scenario name becomes part of a folder name: letters, digits and - _ . only, no path separators.
Slug = Annotated[str, Field(min_length=1, max_length=80)]


class Dist(Strict):
    """A Beta distribution on [0, 1] given by its mean and standard deviation."""

    mean: Annotated[float, Field(gt=0.0, lt=1.0)]
    spread: Annotated[float, Field(gt=0.0, le=0.5)] = 0.1

    @model_validator(mode="after")
    def _feasible(self) -> Dist:
        if self.spread**2 >= self.mean * (1.0 - self.mean):
            limit = (self.mean * (1.0 - self.mean)) ** 0.5
            raise ValueError(
                f"spread must be below {limit:.3f} for mean {self.mean} (a Beta distribution needs sd^2 < "
                "mean*(1-mean))"
            )
        return self


class ConfidenceGroup(Dist):
    share: Unit


def _default_groups() -> dict[Group, ConfidenceGroup]:
    return {
        "low": ConfidenceGroup(share=1 / 3, mean=0.25, spread=0.08),
        "medium": ConfidenceGroup(share=1 / 3, mean=0.5, spread=0.08),
        "high": ConfidenceGroup(share=1 / 3, mean=0.75, spread=0.08),
    }


class AccessClass(Dist):
    """A share of learners whose daily chance of being able to take part has this distribution."""

    share: Unit
    name: Name = "all"
    mean: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.9
    spread: Annotated[float, Field(gt=0.0, le=0.5)] = 0.05


class Population(Strict):
    """How learners differ at the start."""

    knowledge: Dist = Dist(mean=0.15, spread=0.12)
    motivation: Dist = Dist(mean=0.7, spread=0.12)
    interest_concentration: Positive = 0.8
    access: list[AccessClass] = [AccessClass(share=1.0)]
    available_days_per_week: Annotated[int, Field(ge=0, le=7)] = 3

    @field_validator("access")
    @classmethod
    def _shares(cls, v: list[AccessClass]) -> list[AccessClass]:
        if not v:
            raise ValueError("at least one access class is needed")
        total = sum(a.share for a in v)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"access shares must sum to 1, they sum to {total:.4f}")
        return v


class Topic(Strict):
    name: Name
    difficulty: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    requires: Annotated[list[str], Field(max_length=MAX_REQUIRES)] = []


class Arrivals(Strict):
    """When members join (docs/model.md, "Arrivals"): founders on the first day, then a launch wave and a trickle."""

    founders: Unit = 1.0  # share of members there from the first day
    wave_days: Annotated[float, Field(gt=0.0, le=10_000.0)] = 21.0  # mean delay of the launch wave's arrivals
    trickle: Unit = 0.2  # share of the later arrivals spread evenly over the run instead of in the wave


class Setting(Strict):
    """How a community is run: the power gap and who answers questions."""

    power_gap: Unit
    social_share: Unit
    expert_answer_rate: Unit
    expert_scaffolds: bool
    exposure_rate: Unit
    curriculum: bool
    days_per_topic: Annotated[int, Field(ge=1)] = 30
    resources: Unit
    experts: Annotated[int, Field(ge=0, le=MAX_EXPERTS)]
    expert_knowledge: Unit = 0.95
    expert_resource_rate: Unit = 0.002
    leaving: NonNegative = 1.0  # multiplies the leaving hazard: 0 where taking part is compulsory (a classroom)
    fades: bool = True  # the novelty of taking part wears off (params.fade_days); not in a compulsory class
    arrivals: Arrivals = Arrivals(founders=0.1)  # an open community: a launch wave, then a trickle


CLASSROOM = Setting(
    power_gap=0.8,
    social_share=0.5,
    expert_answer_rate=1.0,
    expert_scaffolds=True,
    exposure_rate=0.15,
    curriculum=True,
    resources=0.8,
    experts=1,
    expert_knowledge=1.0,
    expert_resource_rate=0.0,
    leaving=0.0,
    fades=False,
    arrivals=Arrivals(),
)
COMMUNITY = Setting(
    power_gap=0.1,
    social_share=0.6,
    expert_answer_rate=0.05,
    expert_scaffolds=True,
    exposure_rate=0.0,
    curriculum=False,
    resources=0.5,
    experts=0,
)


class Settings(Strict):
    """Per-setting constants; a file gives only the fields it changes, the rest keep their defaults."""

    classroom: Setting = CLASSROOM
    community: Setting = COMMUNITY

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for key, default in (("classroom", CLASSROOM), ("community", COMMUNITY)):
            if isinstance(data.get(key), dict):
                merged[key] = {**default.model_dump(), **data[key]}
        return merged


class Meetups(Strict):
    """Scheduled group sessions of a community (a workshop, a rehearsal, a club night)."""

    every_days: Annotated[int, Field(ge=1)] = 7
    weekday: Annotated[int, Field(ge=0, le=6)] = 5
    format: Literal["online", "in_person"] = "online"
    reach: Unit = 0.8
    attend_propensity: Unit = 0.7


class Community(Strict):
    name: Name
    members: Annotated[int, Field(ge=1, le=MAX_LEARNERS)] | None = None
    arrivals: Arrivals | None = None
    leaving: NonNegative | None = None  # the setting's leaving factor, changed for this community (a committed band)
    fades: bool | None = None  # the setting's `fades`, changed for this community
    setting: Literal["classroom", "community"] | None = None
    topics: Annotated[list[str], Field(min_length=1, max_length=MAX_TOPICS)] | None = None
    include: Annotated[dict[str, Unit], Field(max_length=MAX_COMMUNITIES)] = {}
    experts: Annotated[int, Field(ge=0, le=MAX_EXPERTS)] | None = None
    meetups: Meetups | None = None


class Tutoring(Strict):
    """A peer-tutoring programme: fixed pairs of a tutor (ahead) and a tutee."""

    active: bool = True
    tutor_share: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    sessions_per_week: Annotated[int, Field(ge=0, le=7)] = 3


class Network(Strict):
    """Interest homophily lattice with rewiring (0 = pure homophily, 1 = random)."""

    degree: Annotated[int, Field(ge=2, le=200)] = 8
    rewiring: Unit = 0.1


def _prerequisite_cycle(topics: list[Topic]) -> list[str] | None:
    """A cycle of prerequisites (a requires b requires a), if there is one; a depth-first walk with its own stack
    (a chain of thousands of topics needs no recursion)."""
    reqs = {t.name: t.requires for t in topics}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for t in topics:
        if t.name in state:
            continue
        path: list[str] = [t.name]
        where: dict[str, int] = {t.name: 0}  # position of each name on the path
        todo = [iter(reqs[t.name])]
        state[t.name] = 1
        while todo:
            r = next(todo[-1], None)
            if r is None:
                todo.pop()
                done = path.pop()
                del where[done]
                state[done] = 2
            elif state.get(r) == 1:
                return path[where[r] :] + [r]
            elif r not in state:
                state[r] = 1
                where[r] = len(path)
                path.append(r)
                todo.append(iter(reqs[r]))
    return None


def _listed(names: list[str], limit: int = 10) -> str:
    """Names for an error message: the first few, then how many more."""
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


class Scenario(Strict):
    """A whole scenario file."""

    name: Slug
    description: str = ""
    setting: Literal["classroom", "community"] = "community"
    days: Annotated[int, Field(ge=1, le=100_000)] = 180
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    learners: Annotated[int, Field(ge=2, le=MAX_LEARNERS)] | None = None
    topics: Annotated[
        Annotated[list[Topic], Field(max_length=MAX_TOPICS)] | Annotated[int, Field(strict=True, ge=1, le=200)],
        Field(validate_default=True),
    ] = 6
    confidence_groups: dict[Group, ConfidenceGroup] = Field(default_factory=_default_groups)
    population: Population = Population()
    communities: Annotated[list[Community], Field(max_length=MAX_COMMUNITIES)] = []
    meetups: Meetups | None = None
    arrivals: Arrivals | None = None
    tutoring: Tutoring | None = None
    network: Network = Network()
    settings: Settings = Settings()
    params: Params = Params()
    roles: Roles = Roles()
    llm: LLM = LLM()

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", v):
            raise ValueError(
                "a scenario name is used in folder names: letters, digits, '-', '_' and '.', starting with a "
                "letter or digit (no spaces or '/')"
            )
        return v

    @field_validator("topics")
    @classmethod
    def _expand_topics(cls, v: list[Topic] | int) -> list[Topic]:
        if isinstance(v, int):
            return [Topic(name=f"topic-{i + 1}", difficulty=round(0.2 + 0.5 * i / max(1, v - 1), 3)) for i in range(v)]
        if not v:
            raise ValueError("at least one topic is needed")
        names = [t.name for t in v]
        known = set(names)
        if len(known) < len(names):
            dupes = sorted(n for n, k in Counter(names).items() if k > 1)
            raise ValueError(f"topic names must be unique, repeated: {_listed(dupes)}")
        for t in v:
            unknown = [r for r in t.requires if r not in known]
            if unknown:
                raise ValueError(
                    f"topic {t.name!r} requires unknown topics {_listed(unknown)}; known: {_listed(names)}"
                )
            if t.name in t.requires:
                raise ValueError(f"topic {t.name!r} cannot require itself")
        cycle = _prerequisite_cycle(v)
        if cycle:
            raise ValueError(f"prerequisites form a cycle: {' -> '.join(cycle)}")
        return v

    @field_validator("confidence_groups")
    @classmethod
    def _groups(cls, v: dict[Group, ConfidenceGroup]) -> dict[Group, ConfidenceGroup]:
        missing = [g for g in GROUPS if g not in v]
        if missing:
            raise ValueError(
                f"confidence groups {missing} are missing; give all of low, medium, high (share 0 is allowed)"
            )
        total = sum(g.share for g in v.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"confidence group shares must sum to 1, they sum to {total:.4f}")
        return {g: v[g] for g in GROUPS}

    @model_validator(mode="after")
    def _communities(self) -> Scenario:
        if not self.communities:
            if self.learners is None:
                raise ValueError("give the number of learners (learners: N) or a list of communities with members")
            return self
        if self.learners is not None:
            raise ValueError("give either learners (one community) or communities[].members, not both")
        if self.tutoring is not None and len(self.communities) > 1:
            raise ValueError(
                "tutoring pairs learners within one community; it cannot be combined with several communities yet"
            )
        topic_names = [t.name for t in self.topics]  # type: ignore[union-attr]
        known_topics = set(topic_names)
        seen: dict[str, int] = {}  # name -> members, of the communities listed so far
        for i, c in enumerate(self.communities):
            if c.members is None:
                raise ValueError(
                    f"communities[{i}] ({c.name}): members is required (the number of learners in this community)"
                )
            if c.name in seen:
                raise ValueError(f"communities[{i}]: the name {c.name!r} is used twice")
            for other, share in c.include.items():
                if other not in seen:
                    raise ValueError(
                        f"communities[{i}] ({c.name}): include names {other!r}, which is not a community "
                        f"listed before it; listed before: {_listed(list(seen))}"
                    )
                shared = round(share * seen[other])
                if shared > c.members:
                    raise ValueError(
                        f"communities[{i}] ({c.name}): include takes {shared} members of {other!r}, more than "
                        f"members: {c.members}"
                    )
            for t in c.topics or []:
                if t not in known_topics:
                    raise ValueError(f"communities[{i}] ({c.name}): unknown topic {t!r}; known: {_listed(topic_names)}")
            seen[c.name] = c.members
        total = sum(seen.values())
        if total > MAX_LEARNERS:
            raise ValueError(f"the communities have {total:,} members in all, more than {MAX_LEARNERS:,}")
        return self

    @model_validator(mode="after")
    def _experts(self) -> Scenario:
        total = sum(
            c.experts if c.experts is not None else self.setting_of(c).experts for c in self.resolved_communities()
        )
        if total > MAX_TOTAL_EXPERTS:
            raise ValueError(f"the communities have {total:,} experts in all, more than {MAX_TOTAL_EXPERTS:,}")
        return self

    @property
    def topic_list(self) -> list[Topic]:
        """The topics, always as a list (an integer count is expanded at validation)."""
        assert isinstance(self.topics, list)
        return self.topics

    def resolved_communities(self) -> list[Community]:
        """The communities as the engine sees them: one default community if none are listed."""
        if self.communities:
            return list(self.communities)
        return [Community(name=self.name, members=self.learners)]

    def setting_of(self, community: Community) -> Setting:
        return getattr(self.settings, community.setting or self.setting)

    def arrivals_of(self, community: Community) -> Arrivals:
        """A community's own arrivals, else the scenario-wide ones, else its setting's."""
        return community.arrivals or self.arrivals or self.setting_of(community).arrivals

    def fades_of(self, community: Community) -> bool:
        """Whether taking part in a community loses its novelty: its own `fades`, else its setting's."""
        return self.setting_of(community).fades if community.fades is None else community.fades

    def leaving_of(self, community: Community) -> float:
        """A community's factor on the leaving hazard: its own, else its setting's."""
        return self.setting_of(community).leaving if community.leaving is None else community.leaving

    def meetups_of(self, community: Community) -> Meetups | None:
        """A community's own meetups, else the scenario-wide ones."""
        return community.meetups or self.meetups
