"""A per-agent Mesa implementation of the learners' day: the baseline the vectorised engine is measured against.

One `mesa.Agent` per learner, plain Python floats, written the way a Mesa
model is usually written: each learner's `step()` decides and computes its
day from the state at the start of the day, and `advance()` then applies the
changes, so every learner reads the same start-of-day state, exactly as the
vectorised `learncomm.sim.engine.day.run_day` does (a simultaneous-activation
schedule: `agents.do("step")` then `agents.do("advance")`).

It covers a single community in the `community` setting without meetups,
tutoring, experts or AI roles, and implements the same equations as
sim/engine/choices.py, sim/engine/learning.py, sim/engine/participation.py and
sim/engine/dynamics.py for that case: taking part while the novelty lasts,
a willingness to post (a lasting propensity, reinforced by responses) without
which a learner only reads, questions read by every neighbour and answered by a
willing one, reinforcement, the leaving hazard, and members arriving over time.
The population, the arrival days and the network come from the engine's own
`draw_population`, `draw_arrivals` and `build_world` with the same named streams
as `CommunityModel`, so both engines start from identical learners; the day's
random numbers are this model's own Python draws (same distributions, different
numbers), each named by its purpose as the engine's streams are (`draw`), so a
test can feed it the engine's draws. Every constant is read from
`scenario.params` and the community's setting.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mesa

from learncomm.agents.population import draw_arrivals, draw_population
from learncomm.sim.engine.streams import stream
from learncomm.sim.engine.world import build_world
from learncomm.sim.schema.loading import load_scenario
from learncomm.sim.schema.scenario import Scenario

STUDY, ASK, OBSERVE, EXPLAIN = "study", "ask", "observe", "explain"
MODES = (STUDY, ASK, OBSERVE, EXPLAIN)
NEWCOMER, REGULAR, CORE = 0, 1, 2


def zpd_gain(gap: float, peak: float) -> float:
    """g * exp(-g^2 / (2 peak^2)) for g = max(gap, 0): as sim/engine/zpd.zpd_gain."""
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
        activity: float,
        joined_day: int,
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
        self.activity = activity  # lasting propensity to post (median 1)
        self.reinforcement = 0.0  # what responses taught: log-multiplier of the propensity to post
        self.bonds = 0  # ties and successes
        self.expectation = 0.0
        self.stage = NEWCOMER
        self.joined_day = joined_day  # first day it can take part (0-based; 0: a founder)
        self.joined = joined_day == 0
        self.active = self.joined  # a later arrival is a member of the network but not active until its day
        self.leaving_day = -1  # timeseries day number it left on, -1 while a member
        self.left_by = ""  # "dropout" (motivation too low too long) or "hazard" (drifted away)
        self.low_streak = 0
        self.days_present = 0
        self.mode_counts = dict.fromkeys(MODES, 0)
        self.answers = 0  # responses given to peers' questions
        # the participation record (sim/engine/participation.record_posts); days are timeseries numbers
        self.posts = 0
        self.first_post_day = -1
        self.last_post_day = -1
        self.first_question_day = -1
        self.first_question_answered = -1  # -1 never asked, 0 no response, 1 a response
        self.unanswered = 0
        self.last_active_day = -1
        self.neighbours: list[PerAgentLearner] = []
        # today's decisions and pending changes, written in step(), applied in advance()
        self.present = False
        self.topic = -1
        self.mode: str | None = None
        self.own_gain = 0.0
        self.success = False
        self.responded = False  # today's public question got a response
        self.exposed_gap = 0.0
        self.received: list[tuple[int, float]] = []  # (topic, gain) from answering peers' questions
        self.responses = 0  # peers' questions it responded to today (filled by the askers' step())

    # --- what the learner brings to a turn -----------------------------------------------------
    def propensity(self) -> float:
        """activity * exp(reinforcement) * stage factor (sim/engine/participation.propensity)."""
        return self.activity * math.exp(self.reinforcement) * self.model.params.stage_post[self.stage]

    def willing_to_post(self) -> float:
        return min(1.0, self.model.params.post_rate * self.propensity())

    def willing_to_respond(self) -> float:
        return min(1.0, self.model.params.respond_rate * self.propensity())

    def enthusiasm(self) -> float:
        """The novelty of a voluntary community wearing off with tenure (sim/engine/participation.enthusiasm)."""
        p = self.model.params
        tenure = max(self.model.day - self.joined_day, 0)
        fade = p.fade_floor + (1.0 - p.fade_floor) * math.exp(-tenure / p.fade_days)
        return fade if self.model.fades else 1.0

    def sensitivity(self) -> float:
        """How much silence hurts: more for newcomers and the unconfident (sim/engine/participation.sensitivity)."""
        p = self.model.params
        return (1.0 + p.newcomer_sensitivity * (self.stage == NEWCOMER)) * (
            1.0 + p.low_confidence_amplifier * (1.0 - self.confidence)
        )

    # --- step: read the start-of-day state, decide, compute gains -----------------------------
    def step(self) -> None:
        model = self.model
        p = model.params
        chance = self.access * self.motivation**p.participation_gamma * self.enthusiasm()
        self.present = self.active and self.draw("participation") < chance
        if not self.present:
            self.mode = None
            return
        topic = self.choose_topic()
        self.topic = topic
        k = self.knowledge[topic]
        lead = k - model.audience[topic]

        # mode: as sim/engine/choices.choose_modes; only a learner willing to post today asks or explains
        conf = self.confidence
        poster = self.draw("post") < self.willing_to_post()
        explain_p = p.explain_propensity * conf * p.stage_explain[self.stage]
        public = model.social_share > 0  # a setting without social turns has no public exchange at all
        if poster and public and lead > p.explain_margin and self.draw("explain") < explain_p:
            mode = EXPLAIN
        elif self.draw("social") < model.social_share:
            risk = (
                p.risk_base
                + model.power_gap
                + p.risk_gap_weight * max(-lead, 0.0)
                + p.newcomer_risk * (self.stage == NEWCOMER)
            )
            ask = poster and self.draw("ask") < sigmoid((conf - risk) / p.ask_temperature)
            mode = ASK if ask else OBSERVE  # a social turn without posting is reading: lurking
        else:
            mode = STUDY
        self.mode = mode

        # gains: as sim/engine/learning.learn
        room = 1.0 - k
        recept = 1.0 - p.anxiety_weight * model.power_gap * (1.0 - conf)
        partner = None
        if mode == ASK:
            partner = self.forum_responder()  # every neighbour reads the question; a willing one answers
        elif mode == OBSERVE and self.neighbours:
            partner = self.random.choice(self.neighbours)  # a reader follows one neighbour's posts
            if not partner.active:
                partner = None
        gap = partner.knowledge[topic] - k if partner is not None else 0.0
        if mode == STUDY:
            gain = p.study_rate * model.resources[topic] * room
        elif mode == EXPLAIN:
            gain = p.protege_rate * room
        else:
            rate = p.alpha_ask if mode == ASK else p.alpha_observe
            gain = rate * zpd_gain(gap, p.zpd_peak) * recept
        gain = min(gain * self.ease(topic), room)
        self.own_gain = gain
        answered = mode == ASK and gain > 0.0
        self.responded = mode == ASK and partner is not None
        if self.responded:
            assert partner is not None
            partner.responses += 1
            if gap > 0.0:  # the peer who answers learns by explaining (protégé effect), from its start-of-day knowledge
                partner.received.append((topic, p.protege_rate * (1.0 - partner.knowledge[topic])))

        # what confidence will react to: as sim/engine/day.exchange
        cold_call = model.exposure_rate > 0.0 and self.draw("exposure") < model.exposure_rate
        self.exposed_gap = max(-lead, 0.0) if (mode == ASK or cold_call) else 0.0
        self.success = answered or mode == EXPLAIN

    def forum_responder(self) -> PerAgentLearner | None:
        """Who responds to this learner's public question (sim/engine/participation.forum_responder): each
        neighbour still a member reads it and would answer with its own chance w_j; the question gets a
        response with probability 1 - prod_j (1 - w_j), from a neighbour chosen in proportion to w_j."""
        willing = [(b, b.willing_to_respond() if b.active else 0.0) for b in self.neighbours]
        total = sum(w for _, w in willing)
        silence = 1.0
        for _, w in willing:
            silence *= 1.0 - min(w, 1.0 - 1e-12)
        if total <= 0.0 or self.draw("respond") >= 1.0 - silence:
            return None
        target, running = self.draw("partner") * total, 0.0
        for b, w in willing:
            running += w
            if target < running:
                return b
        return next(b for b, w in reversed(willing) if w > 0.0)  # rounding at the very end of the range

    def draw(self, purpose: str) -> float:
        """A uniform for `purpose` (one of the engine's `PURPOSES`): here simply the agent's next Python draw."""
        return self.random.random()

    def choose_topic(self) -> int:
        """By interest, pulled towards topics with good shared resources (sim/engine/choices.choose_topics)."""
        model = self.model
        weights = [w * model.topic_pull[t] for t, w in enumerate(self.interest)]
        return self.random.choices(model.topic_range, weights=weights)[0]

    def ease(self, topic: int) -> float:
        """1 - difficulty penalty, slowed by unmet prerequisites (sim/engine/learning.ease)."""
        model = self.model
        p = model.params
        base = 1.0 - p.difficulty_weight * model.difficulty[topic]
        needs = model.prerequisites[topic]
        ready = min(1.0, sum(w * self.knowledge[s] for s, w in needs) / p.prerequisite_mastery) if needs else 1.0
        return base * (p.prerequisite_floor + (1.0 - p.prerequisite_floor) * ready)

    # --- advance: apply the day's changes ---------------------------------------------------
    def advance(self) -> None:
        p = self.model.params
        number = self.model.day + 1  # the timeseries day number (1 = the first day)
        received, self.received = self.received, []  # filled by peers' step() today; cleared for tomorrow
        responses, self.responses = self.responses, 0
        # what responses taught fades for every learner, members or not (sim/engine/participation.reinforce)
        self.reinforcement *= 1.0 - p.reinforcement_decay
        if self.active:
            self.live_the_day(received, responses, number)
        self.reinforcement = min(p.reinforcement_cap, max(-p.reinforcement_cap, self.reinforcement))
        if not self.joined and self.joined_day == number:  # tomorrow's newcomers join (participation.arrive)
            self.joined = self.active = True

    def live_the_day(self, received: list[tuple[int, float]], responses: int, number: int) -> None:
        """The day of a learner who was a member at its start: knowledge, confidence, reinforcement,
        motivation, counters, forgetting, leaving, stages and the participation record, in the engine's order."""
        model = self.model
        p = model.params
        k = self.knowledge
        gain_today = 0.0
        if self.present:
            k[self.topic] = min(1.0, k[self.topic] + self.own_gain)
            gain_today = self.own_gain
        for t, g in received:
            k[t] = min(1.0, k[t] + g)
            gain_today += g

        asked = self.present and self.mode == ASK
        explained = self.present and self.mode == EXPLAIN
        if self.present:
            # confidence: sim/engine/dynamics.update_confidence
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
            # reinforcement: a post that got a response (or an explanation) teaches posting, silence discourages
            # it, more for newcomers and the unconfident (confidence after today's update, as the engine)
            rewarded = (asked and self.responded) or explained
            hurt = self.sensitivity() if asked and not self.responded else 0.0
            self.reinforcement += p.reply_reinforcement * rewarded - p.ignored_cost * hurt
        if responses > 0:  # it answered a peer and was thanked
            self.reinforcement += p.reply_reinforcement
        if self.present:
            self.bonds += self.success or self.responded
            # motivation: sim/engine/dynamics.update_motivation, with the cost of being ignored
            e = self.expectation
            fit = self.interest[self.topic] * model.n_topics_here - 1.0
            progress = min(1.0, max(-1.0, (gain_today - e) / p.progress_scale))
            delta = p.motivation_progress * progress + p.motivation_interest * min(1.0, max(-1.0, fit))
            shaken = exposed * (1.0 + p.low_confidence_amplifier * (1.0 - self.confidence))
            ignored = p.ignored_motivation * hurt
            delta += (
                p.motivation_success * self.success - p.motivation_fatigue - p.motivation_exposure * shaken - ignored
            )
            self.motivation += delta
            self.expectation = e + p.expectation_rate * (gain_today - e)
            self.days_present += 1
            self.mode_counts[self.mode] += 1
        else:
            self.motivation += p.motivation_recovery * (self.baseline_motivation - self.motivation)
        self.motivation = min(1.0, max(0.0, self.motivation))
        self.answers += responses

        # forgetting: what was not practised today fades (sim/engine/dynamics.forget)
        if p.forgetting != 0.0:
            keep = 1.0 - p.forgetting
            practised = self.topic if self.present else -1
            for t in range(len(k)):
                if t != practised:
                    k[t] *= keep

        # burning out (sim/engine/dynamics.drop_out), then drifting away (participation.leave), then stages
        if self.motivation < p.dropout_threshold:
            self.low_streak += 1
            patience = p.dropout_patience * p.newcomer_patience if self.stage == NEWCOMER else p.dropout_patience
            if self.low_streak >= patience:
                self.leave(number, "dropout")
        else:
            self.low_streak = 0
        if self.active:
            tenure = max(number - 1 - self.joined_day, 0)  # days already behind it when today began
            hazard = (
                p.leave_rate
                * model.leaving
                * (1.0 - self.motivation)
                / (1.0 + tenure / p.leave_tenure + self.bonds / p.leave_bonds)
            )
            if self.draw("leave") < hazard:
                self.leave(number, "hazard")
        if self.stage == NEWCOMER and self.days_present >= p.regular_after_days:
            self.stage = REGULAR
        if self.stage == REGULAR and self.mode_counts[EXPLAIN] + self.answers >= p.core_after_explains:
            self.stage = CORE

        # the participation record (sim/engine/participation.record_posts): questions, explanations, answers
        today = responses + (asked or explained)
        self.posts += today
        if today > 0:
            if self.first_post_day < 0:
                self.first_post_day = number
            self.last_post_day = number
        if asked and self.first_question_day < 0:
            self.first_question_day = number
            self.first_question_answered = int(self.responded)
        self.unanswered += asked and not self.responded
        self.bonds += responses
        if self.present or today > 0:  # an answer read and written later is an active day too
            self.last_active_day = number

    def leave(self, number: int, how: str) -> None:
        self.active = False
        self.leaving_day = number
        self.left_by = how


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
        draw_arrivals(scenario, state, stream(seed, "arrivals"))
        world = build_world(scenario, state, stream(seed, "network"))
        if (
            world.n_communities != 1
            or world.meetups[0] is not None
            or int(world.experts[0]) != 0
            or world.curriculum[0] is not None
            or (scenario.tutoring is not None and scenario.tutoring.active)
            or scenario.roles.active()
        ):
            raise ValueError(
                "PerAgentModel covers one community without meetups, tutoring, experts, curriculum or roles"
            )
        p = self.params
        self.power_gap = float(world.power_gap[0])
        self.social_share = float(world.social_share[0])
        self.exposure_rate = float(world.exposure_rate[0])
        self.leaving = float(world.leaving[0])  # the community's factor on the leaving hazard (0: compulsory)
        self.fades = bool(world.fades[0])  # the novelty of taking part wears off (not in a compulsory class)
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
                float(state.activity[i]),
                int(state.joined_day[i]),
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
        self.n_active = sum(a.active for a in self.learners)

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
        if self.steps >= self.scenario.days or not any(a.active or not a.joined for a in self.learners):
            self.running = False

    def summary(self) -> dict[str, float]:
        """The outcomes the agreement test compares: the first four as in sim/engine/metrics.py (scope `all`),
        retention over the members who have arrived, then participation."""
        n = len(self.learners)
        present = sum(a.days_present for a in self.learners)
        joined = [a for a in self.learners if a.joined]
        out = {
            "gain": sum(
                sum(a.knowledge) / len(a.knowledge) - sum(a.initial_knowledge) / len(a.knowledge) for a in self.learners
            )
            / n,
            "confidence_change": sum(a.confidence - a.initial_confidence for a in self.learners) / n,
            "retention": sum(a.active for a in joined) / max(len(joined), 1),
        }
        active = [a.motivation for a in self.learners if a.active]
        out["motivation"] = sum(active) / len(active) if active else 0.0  # mean over active learners
        for m in MODES:
            out[f"share_{m}"] = sum(a.mode_counts[m] for a in self.learners) / max(present, 1)
        out["posts"] = sum(a.posts for a in joined) / max(len(joined), 1)
        out["posters"] = sum(a.posts > 0 for a in joined) / max(len(joined), 1)
        questions = sum(a.mode_counts[ASK] for a in self.learners)
        out["responded"] = 1.0 - sum(a.unanswered for a in self.learners) / max(questions, 1)
        out["reinforcement"] = sum(a.reinforcement for a in joined) / max(len(joined), 1)
        return out
