"""A per-agent Mesa implementation of the learners' day: the baseline the vectorised engine is measured against.

One `mesa.Agent` per learner, plain Python floats, written the way a Mesa
model is usually written: each learner's `step()` decides and computes its
day from the state at the start of the day, and `advance()` then applies the
changes, so every learner reads the same start-of-day state, exactly as the
vectorised `learncomm.sim.engine.day.run_day` does (a simultaneous-activation
schedule: `agents.do("step")` then `agents.do("advance")`).

It covers a single community in the `community` setting without meetups,
tutoring or experts, and implements the same equations as sim/engine/choices.py,
sim/engine/learning.py and sim/engine/dynamics.py for that case. The population and the
network come from the engine's own `draw_population` and `build_world` with
the same named streams as `CommunityModel`, so both engines start from
identical learners; the day's random numbers are this model's own Python
draws (same distributions, different numbers). Every constant is read from
`scenario.params` and the community's setting.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mesa

from learncomm.agents.state import draw_population
from learncomm.sim.engine.streams import stream
from learncomm.sim.engine.world import build_world
from learncomm.sim.schema.loading import load_scenario
from learncomm.sim.schema.scenario import Scenario

STUDY, ASK, OBSERVE, EXPLAIN = "study", "ask", "observe", "explain"
MODES = (STUDY, ASK, OBSERVE, EXPLAIN)


def zpd_gain(gap: float, peak: float) -> float:
    """g * exp(-g^2 / (2 peak^2)) for g = max(gap, 0): as sim/learning.zpd_gain."""
    if gap <= 0.0:
        return 0.0
    return gap * math.exp(-(gap * gap) / (2.0 * peak * peak))


def sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


class PerAgentLearner(mesa.Agent):
    """One learner with its own Python state; `neighbours` are other PerAgentLearner objects."""

    def __init__(
        self,
        model: PerAgentModel,
        index: int,
        knowledge: list[float],
        interest: list[float],
        confidence: float,
        motivation: float,
        access: float,
        group: int,
    ) -> None:
        super().__init__(model)
        self.index = index
        self.knowledge = knowledge
        self.initial_knowledge = list(knowledge)
        self.interest = interest
        self.confidence = confidence
        self.initial_confidence = confidence
        self.motivation = motivation
        self.baseline_motivation = motivation
        self.access = access
        self.group = group
        self.expectation = 0.0
        self.stage = 0
        self.active = True
        self.dropout_day = -1
        self.low_streak = 0
        self.days_present = 0
        self.mode_counts = dict.fromkeys(MODES, 0)
        self.answers = 0
        self.neighbours: list[PerAgentLearner] = []
        # today's decisions and pending changes, written in step(), applied in advance()
        self.present = False
        self.topic = -1
        self.mode: str | None = None
        self.own_gain = 0.0
        self.success = False
        self.exposed_gap = 0.0
        self.received: list[tuple[int, float]] = []  # (topic, gain) from answering peers' questions

    # --- step: read the start-of-day state, decide, compute gains -----------------------------
    def step(self) -> None:
        model = self.model
        p = model.params
        self.present = self.active and self.random.random() < self.access * self.motivation**p.participation_gamma
        if not self.present:
            self.mode = None
            return
        topic = self.choose_topic()
        self.topic = topic
        k = self.knowledge[topic]
        lead = k - model.audience[topic]

        # mode: as sim/choices.choose_modes
        conf = self.confidence
        explain_p = p.explain_propensity * conf * p.stage_explain[self.stage]
        if lead > p.explain_margin and self.random.random() < explain_p:
            mode = EXPLAIN
        elif self.random.random() < model.social_share:
            risk = (
                p.risk_base
                + model.power_gap
                + p.risk_gap_weight * max(-lead, 0.0)
                + p.newcomer_risk * (self.stage == 0)
            )
            mode = ASK if self.random.random() < sigmoid((conf - risk) / p.ask_temperature) else OBSERVE
        else:
            mode = STUDY
        self.mode = mode

        # gains: as sim/learning.learn
        room = 1.0 - k
        recept = 1.0 - p.anxiety_weight * model.power_gap * (1.0 - conf)
        partner = None
        gap = 0.0
        if mode == STUDY:
            gain = p.study_rate * model.resources[topic] * room
        elif mode == EXPLAIN:
            gain = p.protege_rate * room
        else:
            if self.neighbours:
                partner = self.random.choice(self.neighbours)
                if partner.active:
                    gap = partner.knowledge[topic] - k
                else:
                    partner = None
            rate = p.alpha_ask if mode == ASK else p.alpha_observe
            gain = rate * zpd_gain(gap, p.zpd_peak) * recept
        gain = min(gain * self.ease(topic), room)
        self.own_gain = gain
        answered = mode == ASK and gain > 0.0
        if mode == ASK and partner is not None and gap > 0.0:
            # the peer who answers learns by explaining (protégé effect), from its start-of-day knowledge
            partner.received.append((topic, p.protege_rate * (1.0 - partner.knowledge[topic])))

        # what confidence will react to: as sim/day.run_day
        cold_call = model.exposure_rate > 0.0 and self.random.random() < model.exposure_rate
        self.exposed_gap = max(-lead, 0.0) if (mode == ASK or cold_call) else 0.0
        self.success = answered or mode == EXPLAIN

    def choose_topic(self) -> int:
        """By interest, pulled towards topics with good shared resources (sim/choices.choose_topics)."""
        model = self.model
        weights = [w * model.topic_pull[t] for t, w in enumerate(self.interest)]
        return self.random.choices(model.topic_range, weights=weights)[0]

    def ease(self, topic: int) -> float:
        """1 - difficulty penalty, slowed by unmet prerequisites (sim/learning.ease)."""
        model = self.model
        p = model.params
        base = 1.0 - p.difficulty_weight * model.difficulty[topic]
        needs = model.prerequisites[topic]
        ready = min(1.0, sum(w * self.knowledge[s] for s, w in needs) / p.prerequisite_mastery) if needs else 1.0
        return base * (p.prerequisite_floor + (1.0 - p.prerequisite_floor) * ready)

    # --- advance: apply the day's changes ---------------------------------------------------
    def advance(self) -> None:
        model = self.model
        p = model.params
        received, self.received = self.received, []  # filled by peers' step() today; cleared for tomorrow
        if not self.active:
            return
        k = self.knowledge
        gain_today = 0.0
        if self.present:
            k[self.topic] = min(1.0, k[self.topic] + self.own_gain)
            gain_today = self.own_gain
        for t, g in received:
            k[t] = min(1.0, k[t] + g)
            gain_today += g
            self.answers += 1

        if self.present:
            # confidence: sim/dynamics.update_confidence
            c = self.confidence
            power = model.power_gap
            excess = max(self.exposed_gap - p.exposure_gap, 0.0) / max(1.0 - p.exposure_gap, 1e-9)
            exposed = excess > 0.0
            drop = (
                p.confidence_exposure
                * (power + p.peer_judgement)
                * excess
                * (1.0 + p.low_confidence_amplifier * (1.0 - c))
            )
            rise = p.confidence_success * self.success + p.encouragement * (1.0 - power) * (self.mode != STUDY)
            self.confidence = min(1.0, max(0.0, c + rise * (1.0 - c) - drop))
            # motivation: sim/dynamics.update_motivation
            e = self.expectation
            fit = self.interest[self.topic] * model.n_topics_here - 1.0
            progress = min(1.0, max(-1.0, (gain_today - e) / p.progress_scale))
            delta = p.motivation_progress * progress + p.motivation_interest * min(1.0, max(-1.0, fit))
            shaken = exposed * (
                1.0 + p.low_confidence_amplifier * (1.0 - self.confidence)
            )  # confidence after today's update, as the engine
            delta += p.motivation_success * self.success - p.motivation_fatigue - p.motivation_exposure * shaken
            self.motivation += delta
            self.expectation = e + p.expectation_rate * (gain_today - e)
            self.days_present += 1
            self.mode_counts[self.mode] += 1
        else:
            self.motivation += p.motivation_recovery * (self.baseline_motivation - self.motivation)
        self.motivation = min(1.0, max(0.0, self.motivation))

        # forgetting: what was not practised today fades (sim/dynamics.forget)
        if p.forgetting != 0.0:
            keep = 1.0 - p.forgetting
            practised = self.topic if self.present else -1
            for t in range(len(k)):
                if t != practised:
                    k[t] *= keep

        # dropout (sim/dynamics.drop_out), then stages (advance_stages)
        if self.motivation < p.dropout_threshold:
            self.low_streak += 1
            patience = p.dropout_patience * p.newcomer_patience if self.stage == 0 else p.dropout_patience
            if self.low_streak >= patience:
                self.active = False
                self.dropout_day = model.day + 1  # the timeseries day number, as sim/engine/day.py records it
        else:
            self.low_streak = 0
        if self.stage == 0 and self.days_present >= p.regular_after_days:
            self.stage = 1
        if self.stage == 1 and self.mode_counts[EXPLAIN] + self.answers >= p.core_after_explains:
            self.stage = 2


class PerAgentModel(mesa.Model):
    """The learners' day of one community, one Mesa agent per learner (simultaneous activation)."""

    def __init__(
        self, scenario: Scenario | str | Path = "community", seed: int | None = None, **overrides: Any
    ) -> None:
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario, {k.replace("__", "."): v for k, v in overrides.items()})
        seed = scenario.seed if seed is None else int(seed)
        super().__init__(seed=seed)
        self.scenario = scenario
        self.params = scenario.params
        state = draw_population(scenario, stream(seed, "population"))
        world = build_world(scenario, state, stream(seed, "network"))
        if (
            world.n_communities != 1
            or world.meetups[0] is not None
            or int(world.experts[0]) != 0
            or world.curriculum[0] is not None
            or (scenario.tutoring is not None and scenario.tutoring.active)
        ):
            raise ValueError("PerAgentModel covers one community without meetups, tutoring, experts or curriculum")
        p = self.params
        self.power_gap = float(world.power_gap[0])
        self.social_share = float(world.social_share[0])
        self.exposure_rate = float(world.exposure_rate[0])
        mask = world.topic_mask[0].tolist()
        self.resources = world.resources[0].tolist()
        self.topic_pull = [float(m) * (1.0 + p.pull_resources * r) for m, r in zip(mask, self.resources, strict=True)]
        self.n_topics_here = float(sum(mask))
        self.topic_range = list(range(len(mask)))
        self.difficulty = world.difficulty.tolist()
        prereq = world.prereq
        self.prerequisites = [
            [(s, float(prereq[s, t])) for s in range(len(mask)) if prereq[s, t] > 0.0] for t in range(len(mask))
        ]
        self.learners: list[PerAgentLearner] = [
            PerAgentLearner(
                self,
                i,
                state.knowledge[i].tolist(),
                state.interest[i].tolist(),
                float(state.confidence[i]),
                float(state.motivation[i]),
                float(state.access[i]),
                int(state.group[i]),
            )
            for i in range(state.n)
        ]
        net = world.networks[0]
        indptr, indices = net.indptr.tolist(), net.indices.tolist()
        for i, a in enumerate(self.learners):
            a.neighbours = [self.learners[j] for j in indices[indptr[i] : indptr[i + 1]]]
        self.audience: list[float] = []
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "present": "present_today",
                "share_ask": "share_ask_today",
                "active_learners": "n_active",
            }
        )
        self.present_today = 0
        self.share_ask_today = 0.0
        self.n_active = len(self.learners)

    @property
    def day(self) -> int:
        """Index of the day being run (0 on the first day), as in CommunityModel.step."""
        return self.steps - 1

    def step(self) -> None:
        active = [a for a in self.learners if a.active]
        n_topics = len(self.topic_range)
        totals = [0.0] * n_topics
        for a in active:
            for t, v in enumerate(a.knowledge):
                totals[t] += v
        self.audience = [v / max(len(active), 1) for v in totals]
        self.agents.do("step")
        self.agents.do("advance")
        present = [a for a in self.learners if a.present]
        self.present_today = len(present)
        self.share_ask_today = sum(a.mode == ASK for a in present) / max(len(present), 1)
        self.n_active = sum(a.active for a in self.learners)
        self.datacollector.collect(self)
        if self.steps >= self.scenario.days or self.n_active == 0:
            self.running = False

    def summary(self) -> dict[str, float]:
        """The outcomes the agreement test compares, defined as in sim/engine/metrics.py (scope `all`)."""
        n = len(self.learners)
        present = sum(a.days_present for a in self.learners)
        out = {
            "gain": sum(
                sum(a.knowledge) / len(a.knowledge) - sum(a.initial_knowledge) / len(a.knowledge) for a in self.learners
            )
            / n,
            "confidence_change": sum(a.confidence - a.initial_confidence for a in self.learners) / n,
            "retention": sum(a.active for a in self.learners) / n,
        }
        active = [a.motivation for a in self.learners if a.active]
        out["motivation"] = sum(active) / len(active) if active else 0.0  # mean over active learners
        for m in MODES:
            out[f"share_{m}"] = sum(a.mode_counts[m] for a in self.learners) / max(present, 1)
        return out
