"""Scenario blocks for the AI roles (`roles:`) and their language models (`llm:`).

Every effect size of a role is a field here, so a scenario can tune what a
role does to the community; docs/roles.md gives each one's meaning.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from learncomm.sim.schema.base import Days, NonNegative, PathText, Strict, Unit

DeciderName = Literal["policy", "openai", "local"]


class RoleBase(Strict):
    enabled: bool = True
    cadence: Days = 7  # days between decisions
    start_day: Annotated[int, Field(ge=0)] = 0
    decider: DeciderName | None = None  # None: the scenario's llm.decider
    cooldown: Days = 3  # a trigger fires at most this often (days since the role's last decision)


class Ideator(RoleBase):
    """Suggests the next exploration area: a topic, a level, resources, a message."""

    pull: Annotated[float, Field(ge=1.0, le=10.0)] = 1.6  # topic pull multiplier while a suggestion lasts
    duration: Days = 7
    resource_boost: Unit = 0.08  # added to the topic's resource quality (towards 1)
    novelty: Unit = 0.005  # one-off motivation lift for members interested in the topic
    stagnation: Unit | None = (
        None  # trigger: act early when the mean daily gain of members taking part falls below this
    )


class Secretary(RoleBase):
    """Organises meetups, nudges disengaged members, shares a summary after a meetup."""

    meetup_format: Literal["online", "in_person"] = "online"
    reach: Unit = 0.8
    attend_propensity: Unit = 0.8
    nudge: Unit = 0.04  # motivation lift of a personal nudge
    summary_share: Unit = 0.3  # share of a meetup's gain that absent members get from the summary
    attendance_drop: Unit | None = (
        None  # trigger: act early when a meetup's attendance falls by this share from the one before
    )


class Benchmarker(RoleBase):
    """Shows the best achievable score per topic (a gold standard, like a tool-assisted speedrun)."""

    cadence: Days = 14
    near: Unit = 0.15  # within this of the mark: pulled up (goal gradient)
    pull: Unit = 0.01  # daily motivation lift at the mark, falling to 0 at `near`
    discourage: Unit = 0.008  # daily motivation cost for a low-confidence learner far below
    confidence_cost: Unit = 0.004  # daily confidence cost for the same
    low_confidence: Unit = 0.4  # below this confidence a far gap discourages
    duration: Days = 14


class Source(RoleBase):
    """Answers open questions, with a hallucination rate."""

    cadence: Days = 7
    answer_rate: Unit = 0.5  # chance an unanswered public question gets an AI answer
    accuracy: Unit = 0.85  # share of those answers that are right
    alpha: Unit = 0.2  # gain from a right answer (scaffolded to the ZPD)
    misconception: Unit = 0.05  # share of the topic's knowledge a wrong answer costs
    duration: Days = 7
    open_questions: Annotated[int, Field(ge=1)] | None = (
        None  # trigger: act early when this many public questions went unanswered today
    )


class Manager(RoleBase):
    """Reaches out to new members and welcomes newcomers."""

    cadence: Days = 7
    reserve: Annotated[int, Field(ge=0, le=1_000_000)] = 50  # people outreach can reach over the run, per community
    max_outreach: Annotated[int, Field(ge=0, le=10_000)] = 10  # new members per decision at most
    welcome: Unit = 0.05  # motivation lift of a welcome message for a newcomer
    welcome_reply: Annotated[float, Field(ge=0.0, le=2.0)] = (
        0.5  # a welcome reinforces posting as this share of a peer's reply does (params.reply_reinforcement)
    )
    welcome_patience: Annotated[float, Field(ge=0.0, le=10.0)] = (
        1.0  # a welcomed newcomer's dropout patience x (1 + this)
    )
    dropouts: Annotated[int, Field(ge=1)] | None = (
        None  # trigger: act early when this many members left since the last decision
    )
    max_newcomer_share: Unit = (
        0.4  # policy: pause outreach while newcomers are more than this share of the active members
    )


class Matchmaker(RoleBase):
    """Pairs learners with complementary skills inside each other's zone of proximal development."""

    cadence: Days = 14
    max_pairs: Annotated[int, Field(ge=1, le=100_000)] = 200
    use: Unit = 0.6  # chance a social turn goes to the matched partner instead of a random neighbour
    duration: Days = 14
    broken_pairs: Annotated[int, Field(ge=1)] | None = (
        None  # trigger: re-match early when this many matched learners left
    )


class Roles(Strict):
    """Which roles act, and how; absent roles stay off."""

    ideator: Ideator | None = None
    secretary: Secretary | None = None
    benchmarker: Benchmarker | None = None
    source: Source | None = None
    manager: Manager | None = None
    matchmaker: Matchmaker | None = None

    def active(self) -> dict[str, RoleBase]:
        """Enabled roles, in the fixed order they act on a day (docs/roles.md)."""
        order = ("ideator", "benchmarker", "source", "matchmaker", "secretary", "manager")
        return {n: getattr(self, n) for n in order if getattr(self, n) is not None and getattr(self, n).enabled}


class Prices(Strict):
    """US dollars per million tokens, for the cost estimate."""

    input: NonNegative = 0.0
    output: NonNegative = 0.0


class LLM(Strict):
    """How LLM-backed deciders reach their model. The key comes from the environment only."""

    decider: DeciderName = "policy"
    model: Annotated[str, Field(max_length=200)] = "gpt-4o-mini"
    base_url: Annotated[str, Field(max_length=500)] | None = None
    api_key_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "OPENAI_API_KEY"
    structured_output: Literal["function_calling", "json_schema"] = "function_calling"
    timeout_s: Annotated[float, Field(gt=0.0, le=600.0)] = 60.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 2
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] = 0.0
    max_tokens: Annotated[int, Field(ge=16, le=8192)] = 256
    requests_per_second: Annotated[float, Field(gt=0.0)] | None = None
    cache: PathText | None = "results/.llm-cache.sqlite"
    prices: Prices = Prices()
    # the language members write in (ISO 639-1): the prompt asks for it and the text checks test it
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] = "en"
