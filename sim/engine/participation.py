"""Who posts, who is answered, who stays: the mechanisms of unequal participation (docs/model.md,
"Participation, reinforcement and leaving").

A member's propensity to post is a lasting, heavy-tailed trait (`activity`) times what responses taught it
(`reinforcement`, a log-multiplier) times its stage (newcomers read first). A question is answered by the
neighbour it reaches only if that neighbour is willing to respond; a response reinforces posting, silence
discourages it. Members leave with a daily hazard that falls with tenure and with ties and successes (`bonds`),
and rises as motivation falls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learncomm.agents.state import LearnerState
from learncomm.sim.engine.network import Csr
from learncomm.sim.schema.scenario import Params
from learncomm.sim.schema.vocab import Stage


def propensity(state: LearnerState, p: Params, rows: np.ndarray) -> np.ndarray:
    """activity * exp(reinforcement) * stage factor of the learners `rows` (1 for a median regular)."""
    return state.activity[rows] * np.exp(state.reinforcement[rows]) * np.asarray(p.stage_post)[state.stage[rows]]


def willing_to_post(state: LearnerState, p: Params, rows: np.ndarray) -> np.ndarray:
    """Chance a present learner posts (asks or explains in public) on a turn that calls for it."""
    return np.minimum(1.0, p.post_rate * propensity(state, p, rows))


def willing_to_respond(state: LearnerState, p: Params, rows: np.ndarray) -> np.ndarray:
    """Chance a neighbour a question reaches answers it."""
    return np.minimum(1.0, p.respond_rate * propensity(state, p, rows))


def enthusiasm(
    state: LearnerState, p: Params, fades: np.ndarray, day: int, rows: np.ndarray | None = None
) -> np.ndarray | float:
    """(N,) the novelty of a voluntary community wearing off: `floor + (1 - floor) * exp(-tenure / fade_days)`
    multiplies the chance of taking part where `fades`; 1 elsewhere (a compulsory class), on day `day` (0-based).
    With `rows`, only those learners' values, aligned with `rows`."""
    if not fades.any():  # nobody fades (a class): skip the pass over every learner
        return 1.0
    joined_day = state.joined_day if rows is None else state.joined_day[rows]
    tenure = np.maximum(day - joined_day, 0)
    fade = p.fade_floor + (1.0 - p.fade_floor) * np.exp(-tenure / p.fade_days)
    return np.where(fades if rows is None else fades[rows], fade, 1.0)


def forum_responder(
    state: LearnerState, p: Params, net: Csr, askers: np.ndarray, u_any: np.ndarray, u_who: np.ndarray
) -> np.ndarray:
    """Who answers each public question, -1 for none: every neighbour still a member reads it and answers with
    its own chance `w_j` (`willing_to_respond`); the question gets a response with probability
    `1 - prod_j (1 - w_j)` (uniform `u_any`), from a neighbour chosen in proportion to `w_j` (uniform `u_who`)."""
    out = np.full(askers.size, -1, dtype=np.int64)
    if askers.size == 0:
        return out
    start, deg = net.indptr[askers], net.indptr[askers + 1] - net.indptr[askers]
    offsets = np.repeat(np.cumsum(deg) - deg, deg)
    nb = net.indices[np.repeat(start, deg) + np.arange(int(deg.sum())) - offsets]  # every asker's neighbours
    w = np.where(state.active[nb], willing_to_respond(state, p, nb), 0.0)
    cum = np.concatenate([[0.0], np.cumsum(w)])
    first = np.cumsum(deg) - deg
    total = cum[first + deg] - cum[first]
    silent = np.concatenate([[0.0], np.cumsum(np.log1p(-np.minimum(w, 1.0 - 1e-12)))])
    p_any = 1.0 - np.exp(silent[first + deg] - silent[first])
    ok = (u_any < p_any) & (total > 0.0)
    pos = np.searchsorted(cum, cum[first[ok]] + u_who[ok] * total[ok], side="right") - 1
    out[ok] = nb[np.clip(pos, first[ok], first[ok] + deg[ok] - 1)]
    return out


@dataclass
class Posts:
    """Today's public posts and responses, for reinforcement and the participation record."""

    asked: np.ndarray  # (P,) bool: a public question, aligned with the present learners
    responded: np.ndarray  # (P,) bool: the question got a response (a peer, an expert, an AI source)
    explained: np.ndarray  # (P,) bool: a public explanation
    answers: np.ndarray  # (N,) int32: answers each learner gave to peers' public questions today


def sensitivity(state: LearnerState, p: Params, rows: np.ndarray) -> np.ndarray:
    """How much silence hurts: more for newcomers and for the unconfident."""
    newcomer = state.stage[rows] == Stage.NEWCOMER
    return (1.0 + p.newcomer_sensitivity * newcomer) * (
        1.0 + p.low_confidence_amplifier * (1.0 - state.confidence[rows])
    )


def reinforce(
    state: LearnerState, p: Params, idx: np.ndarray, posts: Posts, replies: np.ndarray | None = None
) -> np.ndarray:
    """A post that got a response raises the poster's propensity; an ignored question lowers it (more for
    newcomers and the unconfident). Responders are thanked: their propensity rises too; `replies` (N,) adds
    what roles' messages gave (a manager's welcome). Returns, aligned with `idx`, the motivation cost of being
    ignored (subtracted by update_motivation)."""
    rewarded = (posts.asked & posts.responded) | posts.explained
    ignored = posts.asked & ~posts.responded
    hurt = np.where(ignored, sensitivity(state, p, idx), 0.0)
    rho = state.reinforcement
    rho *= 1.0 - p.reinforcement_decay  # what responses taught fades (half-life ln 2 / decay days)
    rho[idx] += p.reply_reinforcement * rewarded - p.ignored_cost * hurt
    rho[posts.answers > 0] += p.reply_reinforcement
    if replies is not None:
        rho += replies
    np.clip(rho, -p.reinforcement_cap, p.reinforcement_cap, out=rho)
    return p.ignored_motivation * hurt


def record_posts(state: LearnerState, idx: np.ndarray, posts: Posts, day: int) -> np.ndarray:
    """Count the day's posts per learner (first and last post, first question and its answer, ties); returns
    each learner's posts today (N,). `idx` are the present learners, `day` the timeseries day number (1 = the
    first day).

    A member who answers a question need not take part in the day's learning (it reads the forum
    later, asynchronously), but its answer counts as a day it was active."""
    today = posts.answers.copy()
    today[idx] += (posts.asked | posts.explained).astype(np.int32)
    posters = np.flatnonzero(today)  # a few in a hundred: update their rows, not every learner's
    state.posts[posters] += today[posters]
    state.first_post_day[posters[state.first_post_day[posters] < 0]] = day
    state.last_post_day[posters] = day
    first_q = posts.asked & (state.first_question_day[idx] < 0)
    state.first_question_day[idx[first_q]] = day
    state.first_question_answered[idx[first_q]] = posts.responded[first_q]
    state.unanswered[idx] += (posts.asked & ~posts.responded).astype(np.int32)
    state.bonds[posters] += posts.answers[posters]  # (answers > 0 only where today > 0)
    state.last_active_day[idx] = day  # idx: the present learners
    state.last_active_day[posters] = day  # answering a question read later is a visit too
    return today


def leave(state: LearnerState, p: Params, factor: np.ndarray, u: np.ndarray, day: int) -> np.ndarray:
    """Members drift away with a daily hazard that falls with tenure and bonds and rises as motivation falls:
    `h = leave_rate * factor * (1 - m) / (1 + tenure / leave_tenure + bonds / leave_bonds)`.

    `factor` is the setting's (0 where taking part is compulsory), `u` the day's uniforms, `day` the timeseries
    day number. Returns who left today.
    """
    left = np.zeros(state.n, dtype=bool)
    if not factor.any():  # nobody can drift away (a class): skip the pass over every learner
        return left
    rows = np.flatnonzero(state.active)  # only members can leave: no pass over those who left or have not come
    tenure = np.maximum(day - 1 - state.joined_day[rows], 0)  # days already behind the learner when today began
    h = (
        p.leave_rate
        * factor[rows]
        * (1.0 - state.motivation[rows])
        / (1.0 + tenure / p.leave_tenure + state.bonds[rows] / p.leave_bonds)
    )
    gone = rows[u[rows] < h]  # their rows: no pass over every learner to write them
    left[gone] = True
    state.active[gone] = False
    state.leaving_day[gone] = day
    return left


def arrive(state: LearnerState, day: int) -> np.ndarray:
    """Members whose first day is `day` (0-based) join now: joined and active from that day on. Returns them."""
    due = ~state.joined & (state.joined_day == day)
    state.joined[due] = True
    state.active[due] = True
    return due
