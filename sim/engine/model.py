"""CommunityModel: the Mesa model of one or several intersecting communities of learning."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mesa

from learncomm.agents.experts import Expert
from learncomm.agents.learner import Learner
from learncomm.agents.population import add_prospects, draw_arrivals, draw_population, pair_tutors
from learncomm.agents.state import LearnerState
from learncomm.sim.engine.background import Ahead
from learncomm.sim.engine.day import DayResult, run_day
from learncomm.sim.engine.levers import Levers
from learncomm.sim.engine.metrics import METRICS, day_metrics, frozen_inputs, frozen_metrics
from learncomm.sim.engine.streams import DayStreams, stream
from learncomm.sim.engine.today import Day
from learncomm.sim.engine.world import World, build_world
from learncomm.sim.schema.loading import load_scenario, with_changes
from learncomm.sim.schema.roles import Manager
from learncomm.sim.schema.scenario import Scenario

if TYPE_CHECKING:
    from learncomm.roles.setup import DeciderFactory, RoleSet


def metric(name: str, model: CommunityModel) -> float:
    """DataCollector reporter; a module-level function under functools.partial so it pickles."""
    return model.metrics[name]


class CommunityModel(mesa.Model):
    """Learners as arrays (vectorised day) and as Mesa agents (views), plus experts.

    `scenario` is a Scenario, a file path or a shipped scenario's name. Keyword
    arguments `learners` and `days` override the scenario; any other keyword
    `a__b=value` sets the scenario field `a.b` (for example `params__alpha_ask=0.3`),
    which is how `mesa.batch_run` sweeps parameters. `seed=None` uses the scenario's seed.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path = "community",
        *,
        learners: int | None = None,
        days: int | None = None,
        agents: bool = True,
        seed: int | None = None,
        deciders: DeciderFactory | None = None,
        **fields: Any,
    ) -> None:
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario, {k.replace("__", "."): v for k, v in fields.items()})
        elif fields:
            raise TypeError("field overrides (a__b=...) need a scenario name or path, not a Scenario object")
        if learners is not None or days is not None:
            scenario = with_changes(scenario, learners=learners, days=days)
        seed = scenario.seed if seed is None else int(seed)
        super().__init__(seed=seed)
        self.seed = seed
        self.scenario = scenario
        self.params = scenario.params
        self.state: LearnerState = draw_population(scenario, stream(seed, "population"))
        draw_arrivals(scenario, self.state, stream(seed, "arrivals"))
        if scenario.tutoring is not None:
            pair_tutors(self.state, scenario.tutoring.tutor_share, stream(seed, "tutoring"))
        self.n_members = self.state.n  # members from the start; a manager's prospects come after them
        manager = scenario.roles.active().get("manager")
        if isinstance(manager, Manager) and manager.reserve > 0:  # people outreach can bring in
            self.state = add_prospects(self.state, scenario, manager.reserve, stream(seed, "prospects"))
        self.world: World = build_world(scenario, self.state, stream(seed, "network"))
        self.sessions_per_week = (
            scenario.tutoring.sessions_per_week if scenario.tutoring and scenario.tutoring.active else 0
        )
        self.levers = Levers.neutral(self.state.n, *self.world.resources.shape)
        self.day_streams = DayStreams(seed, self.n_members, self.state.n - self.n_members)
        self.last_day: DayResult | None = None
        if agents:
            for i in range(self.state.n):
                Learner(self, i)
        for c in range(self.world.n_communities):
            for _ in range(int(self.world.experts[c])):
                Expert(self, c)
        self.meetup_history: dict[int, list[tuple[int, int]]] = {}  # community -> (day, attendance) of each meetup
        self.roles = self._make_roles(deciders)  # None without roles
        self._metrics: dict[str, float] = day_metrics(self.state)
        self._pending: Ahead[dict[str, float]] | None = None  # a large run's outcomes, computed on a second thread
        self._datacollector = mesa.DataCollector(model_reporters={m: partial(metric, m) for m in METRICS})
        self._datacollector.collect(self)

    def _make_roles(self, deciders: DeciderFactory | None) -> RoleSet | None:
        """The scenario's AI roles. The engine's one import of the roles, and a lazy one:
        a model without roles never loads LangGraph or the deciders."""
        if not self.scenario.roles.active():
            return None
        from learncomm.roles.setup import DeciderFactory, make_roles

        return make_roles(self, deciders or DeciderFactory())

    @property
    def interventions(self) -> list[dict[str, Any]]:
        """The roles' decisions so far, as rows of interventions.parquet (none without roles)."""
        return [] if self.roles is None else [r.row() for r in self.roles.interventions]

    @property
    def metrics(self) -> dict[str, float]:
        """The outcomes of the last day (waits for them when a large run computes them on a second thread)."""
        self._settle()
        return self._metrics

    @property
    def datacollector(self) -> mesa.DataCollector:
        """Every day's outcomes so far, the last day's included."""
        self._settle()
        return self._datacollector

    def wait(self) -> None:
        """Wait for the work a large run left on the second thread (the day's outcomes, tomorrow's draws), so
        that nothing of this model runs meanwhile: what a benchmark interleaving it with other work needs."""
        self._settle()
        self.day_streams.wait()

    def _settle(self) -> None:
        """Take the outcomes computed on the second thread and record them: the day's row, in day order.
        They stay pending until taken: a Ctrl-C while waiting for them (or their error) loses no day's row."""
        if self._pending is not None:
            self._metrics = self._pending.result()
            self._pending = None  # before collecting: the reporters read `metrics`, which settles again
            self._datacollector.collect(self)

    @property
    def day(self) -> int:
        """Days completed so far."""
        return self.steps

    def step(self) -> None:
        """One day: the learners' day, then the experts, then the day's outcomes."""
        day = self.steps - 1
        draws = self.day_streams.today(tomorrow=self.steps < self.scenario.days)
        today = Day(
            self.state, self.world, self.params, self.levers, day, draws, self.sessions_per_week, self.day_streams.ahead
        )
        self.last_day = run_day(today)
        for c, n in self.last_day.meetups.items():
            self.meetup_history.setdefault(c, []).append((self.day, n))
        experts = self.agents_by_type.get(Expert)
        if experts:
            experts.do("step")
        if self.roles is not None:
            self.roles.step()
        self._settle()
        if self.day_streams.ahead:  # a large run: today's outcomes on a second thread while tomorrow runs
            self._pending = Ahead(partial(frozen_metrics, frozen_inputs(self.state), self.last_day))
        else:
            self._metrics = day_metrics(self.state, self.last_day)
            self._datacollector.collect(self)
        s = self.state
        if self.steps >= self.scenario.days or not (s.active.any() or (~s.joined & (s.joined_day > self.day)).any()):
            self.running = False  # the last day, or nobody left and nobody still to arrive
