"""Creating a model's AI role agents, their deciders and their shared board from the scenario."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learncomm.roles.trust import Trust, TrustError
from learncomm.sim.schema.loading import ScenarioError
from learncomm.sim.schema.roles import LLM

if TYPE_CHECKING:
    from learncomm.roles.agent import RoleAgent
    from learncomm.roles.board import Board
    from learncomm.roles.deciders import CallSlot, Decider
    from learncomm.roles.record import Intervention
    from learncomm.sim.engine.model import CommunityModel
    from learncomm.sim.schema.scenario import Scenario


DEFAULT_CACHE: str = LLM.model_fields["cache"].default  # "results/.llm-cache.sqlite"


@dataclass
class DeciderFactory:
    """Builds one decider per kind and shares it between roles.

    `override` replaces every role's decider (the CLI's --decider); `local_url` is the
    base URL of a running local model server; `replay` holds recorded interventions
    (rows of interventions.parquet); `call_slot` wraps every chat model call (a sweep
    passes its limit on concurrent calls, sim/sweeps/llm_limit.py). `trust` is what the user
    allowed to receive a key (roles/trust.py; default: their trust file and environment, plus
    `base_url`, which the user gave). `cache_root`: a scenario's `llm.cache` must lie under it
    (the CLI passes the results folder) unless `cache` (the command line's --llm-cache) replaces it.
    """

    override: str | None = None
    model: str | None = None
    base_url: str | None = None
    local_url: str | None = None
    replay: Sequence[Mapping[str, Any]] | None = None
    call_slot: CallSlot = nullcontext
    trust: Trust | None = None
    cache_root: Path | None = None
    cache: str | None = None
    built: dict[str, Decider] = field(default_factory=dict)

    def fresh(self) -> DeciderFactory:
        """The same settings with no deciders built yet: one per run of a command that runs many."""
        return replace(self, built={})

    def kind_for(self, role_decider: str | None, default: str) -> str:
        return "replay" if self.replay is not None else self.override or role_decider or default

    def get(self, kind: str, model: CommunityModel) -> Decider:
        if kind not in self.built:
            self.built[kind] = self._build(kind, model)
        return self.built[kind]

    def _build(self, kind: str, model: CommunityModel) -> Decider:
        from learncomm.roles.deciders import ChatDecider, PolicyDecider, ReplayDecider
        from learncomm.roles.record import Intervention

        cfg = model.scenario.llm
        if self.model:
            cfg = cfg.model_copy(update={"model": self.model})
        if kind == "policy":
            return PolicyDecider()
        if kind == "replay":
            return ReplayDecider([Intervention.from_row(r) for r in self.replay or []])
        cfg = cfg.model_copy(update={"cache": self.cache_path(cfg.cache)})
        if kind == "local":
            if self.local_url is None:
                raise ScenarioError(
                    "the local decider needs its server: "
                    "run through `learncomm run` or learncomm.sim.runs.run.run_scenario, which start it"
                )
            local = cfg.model_copy(update={"model": self.model or "gemma-3-270m"})
            return ChatDecider(local, base_url=self.local_url, name="local", call_slot=self.call_slot, seed=model.seed)
        trust = self.trust or Trust.from_user(base_url=self.base_url)
        return ChatDecider(cfg, base_url=self.base_url, call_slot=self.call_slot, trust=trust, seed=model.seed)

    def cache_path(self, scenario_cache: str | None) -> str | None:
        """The LLM cache file: the command line's, else the scenario's if it lies under `cache_root`."""
        if self.cache is not None:
            return self.cache
        if scenario_cache is None or self.cache_root is None:
            return scenario_cache
        if scenario_cache == DEFAULT_CACHE:  # the schema's default: the same file name in this results folder
            return str(self.cache_root / Path(DEFAULT_CACHE).name)
        root = self.cache_root.resolve()
        if not Path(scenario_cache).resolve().is_relative_to(root):
            raise TrustError(
                f"llm.cache {scenario_cache}: a scenario file may only place its LLM cache under the results folder "
                f"{self.cache_root}; to use this file pass --llm-cache {scenario_cache} (or --results)"
            )
        return scenario_cache


def check_deciders(scenarios: Iterable[Scenario], factory: DeciderFactory, where: str = "the scenario") -> None:
    """Before any run of a command that runs many (a sweep, a comparison): every openai decider these scenarios
    would build may send its key where it would go (TrustError), has a key or an endpoint (MissingKeyError), and
    every LLM cache path is allowed, so a refused key is one clean error up front, not one failure per run."""
    trust = factory.trust or Trust.from_user(base_url=factory.base_url)
    seen: set[tuple[str, str | None, str | None]] = set()
    for sc in scenarios:
        kinds = {factory.kind_for(cfg.decider, sc.llm.decider) for cfg in sc.roles.active().values()}
        if not kinds & {"openai", "local"}:
            continue
        endpoint = factory.base_url or sc.llm.base_url
        todo = (sc.llm.api_key_env if "openai" in kinds else "", endpoint, sc.llm.cache)
        if todo in seen:
            continue
        seen.add(todo)
        factory.cache_path(sc.llm.cache)
        if "openai" in kinds:
            trust.key_to_send(sc.llm.api_key_env, endpoint, where)


@dataclass
class RoleSet:
    """The model's one handle on its roles: their agents, in the order they act, and their board."""

    agents: list[RoleAgent[Any, Any]]
    board: Board

    def step(self) -> None:
        """Each role's turn after the learners' day, in a fixed, documented order (docs/roles.md)."""
        for agent in self.agents:
            agent.step()

    @property
    def interventions(self) -> list[Intervention]:
        """Every decision so far, in order."""
        return self.board.interventions


def make_roles(model: CommunityModel, factory: DeciderFactory) -> RoleSet:
    """One agent per enabled role and community, in the roles' fixed order, all sharing one board."""
    from learncomm.roles.agent import RoleAgent
    from learncomm.roles.board import Board
    from learncomm.roles.registry import SPECS

    board = Board()
    agents: list[RoleAgent[Any, Any]] = []
    for name, cfg in model.scenario.roles.active().items():
        spec = SPECS[name](board)
        for c in range(model.world.n_communities):
            decider = factory.get(factory.kind_for(cfg.decider, model.scenario.llm.decider), model)
            agents.append(RoleAgent(model, spec, cfg, c, decider))
    return RoleSet(agents, board)


def uses_local(scenario: Scenario, override: str | None) -> bool:
    if override is not None:
        return override == "local"
    return any((cfg.decider or scenario.llm.decider) == "local" for cfg in scenario.roles.active().values())
