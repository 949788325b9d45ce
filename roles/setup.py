"""Creating a model's AI role agents and their deciders from the scenario."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from learncomm.sim.schema.loading import ScenarioError

if TYPE_CHECKING:
    from learncomm.roles.agent import RoleAgent
    from learncomm.sim.engine.model import CommunityModel


@dataclass
class DeciderFactory:
    """Builds one decider per kind and shares it between roles.

    `override` replaces every role's decider (the CLI's --decider); `local_url` is the
    base URL of a running local model server; `replay` holds recorded interventions.
    """

    override: str | None = None
    model: str | None = None
    base_url: str | None = None
    local_url: str | None = None
    replay: list[dict[str, Any]] | None = None
    built: dict[str, Any] = field(default_factory=dict)

    def kind_for(self, role_decider: str | None, default: str) -> str:
        return "replay" if self.replay is not None else self.override or role_decider or default

    def get(self, kind: str, model: CommunityModel) -> Any:
        if kind not in self.built:
            self.built[kind] = self._build(kind, model)
        return self.built[kind]

    def _build(self, kind: str, model: CommunityModel) -> Any:
        from learncomm.roles.deciders import ChatDecider, PolicyDecider, ReplayDecider

        cfg = model.scenario.llm
        if self.model:
            cfg = cfg.model_copy(update={"model": self.model})
        if kind == "policy":
            return PolicyDecider()
        if kind == "replay":
            return ReplayDecider(self.replay or [])
        if kind == "local":
            if self.local_url is None:
                raise ScenarioError(
                    "the local decider needs its server: run through `learncomm run` or sim.run.run_scenario, which start it"
                )
            return ChatDecider(
                cfg.model_copy(update={"model": self.model or "gemma-3-270m"}), base_url=self.local_url, name="local"
            )
        return ChatDecider(cfg, base_url=self.base_url)


def make_roles(model: CommunityModel, factory: DeciderFactory) -> list[RoleAgent]:
    """One agent per enabled role and community, in the roles' fixed order."""
    active = model.scenario.roles.active()
    if not active:
        return []
    from learncomm.roles.agent import SPECS, RoleAgent

    agents = []
    for name, cfg in active.items():
        spec = SPECS[name]()
        for c in range(model.world.n_communities):
            decider = factory.get(factory.kind_for(cfg.decider, model.scenario.llm.decider), model)
            agents.append(RoleAgent(model, spec, cfg, c, decider))
    return agents


def uses_local(scenario: Any, override: str | None) -> bool:
    if override is not None:
        return override == "local"
    return any((cfg.decider or scenario.llm.decider) == "local" for cfg in scenario.roles.active().values())
