"""The roles' fast observation and actions (roles/rows.py, issue 16) against the straightforward versions they
replaced, kept here small: the same snapshots, pairs, ready topics and effects to the last bit, on a model with
several overlapping communities, members who left, later arrivals and prospects not joined yet."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from learncomm.roles import ideator as ideator_module
from learncomm.roles.ideator import IdeatorRole, ready_topics
from learncomm.roles.manager import ManagerRole
from learncomm.roles.matchmaker import FOCUS, MAX_TRIES, SHORTLIST, WINDOW, first_in_order, match_pairs
from learncomm.roles.rows import column_counts, column_sums, community_rows
from learncomm.roles.secretary import SecretaryRole
from learncomm.roles.snapshot import SAMPLE, Snapshot, observe, sample_stride
from learncomm.sim.engine.learning import zpd_gain
from learncomm.sim.engine.model import CommunityModel
from learncomm.sim.schema.loading import load_scenario, parse_scenario, with_changes
from learncomm.sim.schema.roles import Ideator, Manager, Secretary
from learncomm.sim.schema.vocab import GROUPS, Mode, Stage

SIX = {r: {"cadence": 7} for r in ("ideator", "secretary", "benchmarker", "source", "manager", "matchmaker")}


# ---- the straightforward versions (the code before issue 16), over all learners with masks ----


def ref_observe(model: CommunityModel, c: int) -> Snapshot:
    s, w, p, day = model.state, model.world, model.params, model.last_day
    enrolled = s.membership[:, c]
    members = enrolled & s.joined
    act = members & s.active
    interest = s.interest[act].sum(axis=0)
    total = float(interest[w.topic_mask[c]].sum()) or 1.0
    asked = np.zeros(len(w.topic_names), dtype=np.int64)
    if day is not None:
        q = (day.mode == Mode.ASK) & (day.community == c) & day.present
        asked = np.bincount(day.topic[q], minlength=len(w.topic_names))
    mine = np.flatnonzero(w.topic_mask[c])
    idx = np.flatnonzero(act)
    k = s.knowledge[np.ix_(idx, mine)] if idx.size else np.zeros((1, mine.size))
    means, best = k.mean(axis=0), np.percentile(k, 95, axis=0)
    topics = [
        dict(
            index=int(t),
            name=w.topic_names[t],
            mean_knowledge=round(float(means[j]), 4),
            best_knowledge=round(float(best[j]), 4),
            interest=round(float(interest[t]) / total, 4),
            questions_today=int(asked[t]),
        )
        for j, t in enumerate(mine)
    ]
    row_k = np.einsum("it->i", s.knowledge) / s.knowledge.shape[1]
    g = s.group.astype(np.int64)
    n_g = np.bincount(g, weights=members, minlength=3)
    a_g = np.bincount(g, weights=act, minlength=3)
    k_g = np.bincount(g, weights=row_k * members, minlength=3)
    c_g = np.bincount(g, weights=s.confidence * members, minlength=3)
    groups = {
        gn: dict(
            learners=int(n_g[gi]),
            active=int(a_g[gi]),
            mean_knowledge=round(float(k_g[gi] / n_g[gi]) if n_g[gi] else 0.0, 4),
            mean_confidence=round(float(c_g[gi] / n_g[gi]) if n_g[gi] else 0.0, 4),
        )
        for gi, gn in enumerate(GROUPS)
    }
    return Snapshot.model_validate(
        dict(
            day=model.day,
            community=c,
            community_name=w.names[c],
            members=int(members.sum()),
            active=int(act.sum()),
            newcomers=int((act & (s.stage == Stage.NEWCOMER)).sum()),
            prospects=int((enrolled & s.prospect).sum()),
            joined_last_week=int((members & (s.joined_day > model.day - 7)).sum()),
            present_today=int((day.present & members).sum()) if day is not None else 0,
            disengaged=int((act & (s.motivation < p.dropout_threshold + 0.1)).sum()),
            weekday_free=[int(x) for x in s.available[act].sum(axis=0)],
            last_meetup_attendance=int(day.meetups.get(c, 0)) if day is not None else 0,
            topics=topics,
            groups=groups,
        )
    )


def ref_match_pairs(model: CommunityModel, c: int, focus: str, pairs: int) -> tuple[np.ndarray, np.ndarray]:
    s, w, peak = model.state, model.world, model.params.zpd_peak
    members = np.flatnonzero(s.membership[:, c] & s.active)
    topics = np.flatnonzero(w.topic_mask[c])
    k = s.knowledge[np.ix_(members, topics)]
    fav = np.argmax(s.interest[np.ix_(members, topics)], axis=1)
    own = k[np.arange(members.size), fav]
    short = np.arange(0, members.size, max(1, -(-members.size // (SHORTLIST * pairs))))
    rank = np.argsort(k[short], axis=0, kind="stable")
    levels, by_level = np.take_along_axis(k[short], rank, axis=0), short[rank]
    if focus == "low_confidence":
        order = np.lexsort((members, s.confidence[members]))
    elif focus == "newcomers":
        order = np.lexsort((members, s.confidence[members], s.stage[members]))
    else:
        order = np.lexsort((members, own))
    free = np.ones(members.size, dtype=bool)
    a: list[int] = []
    b: list[int] = []
    for i in order[: MAX_TRIES * pairs]:
        if len(a) >= pairs:
            break
        if not free[i]:
            continue
        t = fav[i]
        at = int(np.searchsorted(levels[:, t], own[i] + peak))
        near = by_level[max(0, at - WINDOW // 2) : at + WINDOW // 2, t]
        near = near[free[near] & (near != i)]
        if near.size == 0:
            continue
        score = zpd_gain(k[near, t] - own[i], peak) + zpd_gain(k[i, fav[near]] - own[near], peak)
        best = int(np.argmax(score))
        if score[best] <= 0.0:
            continue
        j = int(near[best])
        free[i] = free[j] = False
        a.append(int(members[i]))
        b.append(int(members[j]))
    return np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)


def ref_ready_topics(model: CommunityModel, c: int) -> np.ndarray:
    s, w = model.state, model.world
    act = s.membership[:, c] & s.joined & s.active
    mastered = (s.knowledge[act] >= model.params.prerequisite_mastery).any(axis=0)
    return ~((w.prereq > 0) & ~mastered[:, None]).any(axis=0)


# ---- a model with everything a shortcut could get wrong ----


def game(learners: int = 1500, seed: int = 3) -> CommunityModel:
    """video-game: three overlapping communities with their own topics and prerequisites, a launch wave of
    arrivals; six roles weekly (the manager's prospects wait outside)."""
    sc = with_changes(load_scenario("scenarios/video-game.yaml"), learners=learners, days=60, roles=SIX)
    return CommunityModel(sc, seed=seed, agents=False)


def checkpoints(model: CommunityModel, days: tuple[int, ...] = (0, 3, 9, 20, 34, 48)) -> Iterator[int]:
    """Step the model, stopping on each of `days` (0: before the first day)."""
    for d in days:
        while model.day < d:
            model.step()
        yield d


def test_the_model_has_members_who_left_later_arrivals_and_prospects() -> None:
    """What the comparisons below rely on to catch a wrong shortcut: otherwise masks and rows agree trivially."""
    m = game()
    for _ in checkpoints(m, (0, 20)):
        pass
    s, seen = m.state, set()
    for c in range(m.world.n_communities):
        col = s.membership[:, c]
        seen |= {"left"} if (col & s.joined & ~s.active).any() else set()
        seen |= {"prospect"} if (col & s.prospect).any() else set()
        seen |= {"arriving"} if (col & ~s.joined & (s.joined_day > m.day)).any() else set()
    assert seen == {"left", "prospect", "arriving"}
    assert m.world.topic_mask.sum(axis=1).min() < m.world.topic_mask.shape[1]  # communities see a subset of topics
    assert (m.world.prereq > 0).any()


def test_observe_gives_the_straightforward_snapshot_to_the_last_bit() -> None:
    m = game()
    for _ in checkpoints(m):
        for c in range(m.world.n_communities):
            fast, ref = observe(m, c), ref_observe(m, c)
            assert fast.model_dump() == ref.model_dump()
    assert any(t.questions_today for t in fast.topics) and fast.present_today > 0


def test_observe_of_a_community_nobody_has_joined_yet() -> None:
    m = game()
    m.state.joined[:] = False
    m.state.active[:] = False
    assert observe(m, 1).model_dump() == ref_observe(m, 1).model_dump()


@pytest.mark.parametrize("focus", sorted(FOCUS))
def test_match_pairs_gives_the_straightforward_pairs(focus: str) -> None:
    """Partitioned ordering (few pairs) and full ordering (many), every community, as members leave."""
    m, partitioned = game(), 0
    for _ in checkpoints(m, (0, 9, 30, 48)):
        for c in range(m.world.n_communities):
            active = int((m.state.membership[:, c] & m.state.active).sum())
            for pairs in (1, 3, 25, 120, 2000):
                fast, ref = match_pairs(m, c, focus, pairs), ref_match_pairs(m, c, focus, pairs)
                np.testing.assert_array_equal(fast[0], ref[0])
                np.testing.assert_array_equal(fast[1], ref[1])
                partitioned += MAX_TRIES * pairs < active
    assert partitioned > 10
    assert fast[0].size > 0


def test_first_in_order_is_the_head_of_a_full_lexsort_with_ties_at_the_boundary() -> None:
    rng = np.random.default_rng(7)
    for n in (0, 1, 5, 200, 3000):
        stage = rng.integers(0, 3, n).astype(np.int8)
        conf = np.round(rng.random(n), 1)  # ties everywhere
        own = rng.random(n)
        pos = np.arange(n)
        for keys in ([conf], [stage, conf], [own], [stage]):
            full = np.lexsort((pos, *reversed(keys)))
            for m in (0, 1, 2, 7, 40, n // 2, n, n + 5):
                np.testing.assert_array_equal(first_in_order(keys, m), full[:m])
    conf = rng.random(50)
    conf[[3, 9]] = np.nan  # no order to partition by: the full sort, NaN last as lexsort puts it
    np.testing.assert_array_equal(first_in_order([conf], 49), np.lexsort((np.arange(50), conf))[:49])


def test_ready_topics_gives_the_straightforward_answer_read_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ideator_module, "BLOCK", 7)  # many blocks, so an early stop is exercised
    m, differs = game(), False
    s = m.state
    for _ in checkpoints(m, (0, 20)):
        for c in range(m.world.n_communities):
            np.testing.assert_array_equal(ready_topics(m, c), ref_ready_topics(m, c))
            differs |= not ref_ready_topics(m, c).all()
    # only the last active member of the strategy forum masters anything: every block must be read
    act = np.flatnonzero(s.membership[:, 0] & s.joined & s.active)
    s.knowledge[act] = 0.0
    s.knowledge[act[-1]] = 1.0
    np.testing.assert_array_equal(ready_topics(m, 0), ref_ready_topics(m, 0))
    s.knowledge[act[-1]] = 0.0
    np.testing.assert_array_equal(ready_topics(m, 0), ref_ready_topics(m, 0))
    assert differs or not ready_topics(m, 0).all()


def test_the_ideator_reads_ready_topics_once_per_snapshot_and_afresh_for_a_new_one() -> None:
    m, role = game(), IdeatorRole()
    for _ in checkpoints(m, (0, 9)):
        pass
    snap = observe(m, 0)
    first = role.ready(snap, m)
    assert role.ready(snap, m) is first  # validate reuses what candidates read
    act = np.flatnonzero(m.state.membership[:, 0] & m.state.active)
    m.state.knowledge[act] = 0.0  # nobody masters anything any more
    assert role.ready(snap, m) is first
    again = role.ready(observe(m, 0), m)
    np.testing.assert_array_equal(again, ref_ready_topics(m, 0))
    assert not np.array_equal(again, first)


def test_actions_reach_the_members_the_straightforward_masks_find() -> None:
    """The ideator's curious, the secretary's disengaged, the manager's prospects and newcomers."""
    m = game()
    for _ in checkpoints(m, (0, 20)):
        pass
    s, lv, c, t = m.state, m.levers, 2, 4
    snap = observe(m, c)

    before = lv.boost.copy()
    IdeatorRole().act(m, snap, {"topic": t, "level": "beginner"}, Ideator(novelty=0.5))
    curious = np.flatnonzero(s.membership[:, c] & s.active & (s.interest[:, t] > 1.0 / s.interest.shape[1]))
    np.testing.assert_array_equal(np.flatnonzero(lv.boost != before), curious)

    s.motivation[::3] = 0.0  # a third drift away, members or not, active or not
    before = lv.boost.copy()
    SecretaryRole().act(m, snap, {"day": m.day, "topic": t, "nudge": True}, Secretary(nudge=0.5))
    low = np.flatnonzero(s.membership[:, c] & s.active & (s.motivation < m.params.dropout_threshold + 0.1))
    assert low.size > 0 and (s.motivation[~s.active] == 0.0).any()
    np.testing.assert_array_equal(np.flatnonzero(lv.boost != before), low)

    pool = np.flatnonzero(s.membership[:, c] & s.prospect)
    keen = pool[np.lexsort((pool, -s.interest[pool, t]))[:7]]
    joined, welcomed = s.joined.copy(), lv.welcomed.copy()
    ManagerRole().act(m, snap, {"outreach": 7, "topic": t, "welcome": True}, Manager())
    np.testing.assert_array_equal(np.flatnonzero(s.joined != joined), np.sort(keen))
    newcomers = np.flatnonzero(s.membership[:, c] & s.active & (s.stage == Stage.NEWCOMER) & ~welcomed)
    assert np.isin(keen, newcomers).all()
    np.testing.assert_array_equal(np.flatnonzero(lv.welcomed != welcomed), newcomers)


def test_community_rows_are_the_masks_rows() -> None:
    m = game()
    for _ in checkpoints(m, (0, 20)):
        pass
    s = m.state
    for c in range(m.world.n_communities):
        r, col = community_rows(s, c), s.membership[:, c]
        np.testing.assert_array_equal(r.members, np.flatnonzero(col & s.joined))
        np.testing.assert_array_equal(r.active, np.flatnonzero(col & s.joined & s.active))
        np.testing.assert_array_equal(r.waiting, np.flatnonzero(col & ~s.joined))


def test_column_sums_are_numpys_sums_to_the_last_bit() -> None:
    """einsum adds rows in numpy's order for two columns or more; a numpy that changes this fails here."""
    rng = np.random.default_rng(3)
    for k in range(1, 13):
        for r in (1, 2, 7, 8, 9, 100, 4097, 50_001):
            x = rng.random((r, k)) * 10.0 ** rng.integers(-3, 4, (r, 1))
            assert column_sums(x).tobytes() == x.sum(axis=0).tobytes()
            assert (column_sums(x) / r).tobytes() == x.mean(axis=0).tobytes()
            y = x[::2]  # not contiguous: numpy's own sum
            assert column_sums(y).tobytes() == y.sum(axis=0).tobytes()
    b = rng.random((1001, 7)) < 0.3
    np.testing.assert_array_equal(column_counts(b), b.sum(axis=0))


# ---- best_knowledge on a sample of a large community ----


def crowd(learners: int) -> CommunityModel:
    """Everyone joined and active from the first day, knowledge widely spread."""
    text = (
        f"name: crowd\nlearners: {learners}\ndays: 5\nseed: 4\ntopics: 6\narrivals: {{founders: 1.0}}\n"
        "population:\n  knowledge: {mean: 0.3, spread: 0.25}\nnetwork: {degree: 4}\n"
    )
    return CommunityModel(parse_scenario(text), seed=4, agents=False)


def test_best_knowledge_of_100000_members_is_sampled_within_001() -> None:
    m = crowd(100_000)
    act = np.flatnonzero(m.state.membership[:, 0] & m.state.joined & m.state.active)
    assert act.size >= 100_000 and sample_stride(act.size) > 1
    assert act[:: sample_stride(act.size)].size <= SAMPLE
    exact = np.percentile(m.state.knowledge[act], 95, axis=0)
    sampled = np.array([t.best_knowledge for t in observe(m, 0).topics])
    assert np.abs(sampled - exact).max() <= 0.01
    assert exact.max() - exact.min() > 0.01 or exact.max() > 0.3  # a spread a wrong sample would miss


def test_best_knowledge_of_20000_members_or_fewer_is_exact() -> None:
    m = crowd(20_000)
    assert sample_stride(20_000) == 1 and sample_stride(20_001) == 2
    assert observe(m, 0).model_dump() == ref_observe(m, 0).model_dump()
