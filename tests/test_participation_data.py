"""The numbers behind the run page's Participation panels (sim/dashboard/participation_data.py) and the
panels built from them: Lorenz points and Gini, the 90-9-1 shares, Kaplan-Meier with censoring, the splits,
empty cases. Hand-computed values where a formula could hide a mistake."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learncomm.sim.dashboard import participation_data as pdata
from learncomm.sim.dashboard import participation_view as pview
from learncomm.sim.dashboard.run_figures import Bands


def learners(rows: list[tuple[str, int, str, int, int, bool | None]]) -> pd.DataFrame:
    """(confidence_group, posts, activity_level, tenure, leaving_day, first_question_answered) per learner."""
    g, posts, level, tenure, leaving, answered = zip(*rows, strict=True)
    asked = [a is not None for a in answered]
    return pd.DataFrame(
        {
            "joined_day": np.zeros(len(rows), dtype="int32"),
            "first_question_day": np.where(asked, 1, -1).astype("int32"),  # every question on day 1
            "learner_id": np.arange(len(rows)),
            "confidence_group": list(g),
            "posts": np.asarray(posts, dtype="int32"),
            "activity_level": list(level),
            "tenure": np.asarray(tenure, dtype="int32"),
            "leaving_day": np.asarray(leaving, dtype="int32"),
            "first_question_answered": pd.array(list(answered), dtype="boolean"),
        }
    )


# ---- Lorenz curve and Gini -------------------------------------------------------------------------------------


def test_lorenz_of_a_small_hand_example() -> None:
    # posts 3, 0, 1, 0: sorted 0 0 1 3, total 4 -> y = 0, 0, 0, 1/4, 1 at x = 0, 1/4, 1/2, 3/4, 1
    c = pdata.lorenz(np.array([3, 0, 1, 0]))
    assert c.x.tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert c.y.tolist() == [0, 0, 0, 0.25, 1]
    # Gini by mean absolute difference: sum over ordered pairs |xi - xj| = 20, / (2 n^2 mean) = 20 / 32
    assert c.gini == pytest.approx(0.625) and (c.members, c.posts) == (4, 4)


def test_equal_posts_lie_on_the_equality_line_and_one_poster_gives_gini_1_minus_1_over_n() -> None:
    eq = pdata.lorenz(np.full(10, 7))
    assert eq.gini == pytest.approx(0.0, abs=1e-12) and np.allclose(eq.x, eq.y)
    one = pdata.lorenz(np.r_[np.zeros(99), 5])
    assert one.gini == pytest.approx(1 - 1 / 100)
    assert one.y[-2] == 0 and one.y[-1] == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=400).filter(lambda v: sum(v) > 0))
def test_gini_matches_the_mean_absolute_difference_and_the_reduced_curve_stays_on_the_exact_one(
    posts: list[int],
) -> None:
    p = np.asarray(posts, dtype=float)
    expected = np.abs(p[:, None] - p[None, :]).sum() / (2 * p.size**2 * p.mean())
    c = pdata.lorenz(p, points=20, keep=(0.333,))
    assert c.gini == pytest.approx(expected, abs=1e-9)
    exact_x = np.arange(p.size + 1) / p.size
    exact_y = np.r_[0, np.cumsum(np.sort(p))] / p.sum()
    assert np.allclose(c.y, np.interp(c.x, exact_x, exact_y))
    assert (c.x[0], c.y[0], c.x[-1], c.y[-1]) == (0, 0, 1, 1) and np.all(np.diff(c.y) >= -1e-12)
    assert c.x.size <= max(p.size + 1, 22)
    if p.size > 21:
        assert 0.333 in c.x.tolist()  # a band edge is kept as a vertex


def test_lorenz_without_members_or_posts_is_empty() -> None:
    for posts in (np.array([], dtype=int), np.zeros(5, dtype=int)):
        c = pdata.lorenz(posts)
        assert c.x.size == 0 and c.y.size == 0 and math.isnan(c.gini) and c.posts == 0


# ---- the 90-9-1 bands -------------------------------------------------------------------------------------------


def test_level_shares_and_band_edges() -> None:
    levels = pd.Series(["lurker"] * 6 + ["contributor"] * 3 + ["superuser"])
    posts = pd.Series([0] * 6 + [1, 2, 3] + [14])
    s = pdata.level_shares(levels, posts)
    assert [x.level for x in s] == ["lurker", "contributor", "superuser"]
    assert [x.members for x in s] == [6, 3, 1] and [x.posts for x in s] == [0, 6, 14]
    assert [x.member_share for x in s] == pytest.approx([0.6, 0.3, 0.1])
    assert [x.post_share for x in s] == pytest.approx([0.0, 0.3, 0.7])
    edges = pdata.band_edges(s)
    assert [(lv, round(lo, 9), round(hi, 9)) for lv, lo, hi in edges] == [
        ("lurker", 0, 0.6),
        ("contributor", 0.6, 0.9),
        ("superuser", 0.9, 1.0),
    ]


def test_level_shares_of_an_empty_group_or_one_without_posts() -> None:
    empty = pdata.level_shares(pd.Series([], dtype=object), pd.Series([], dtype=int))
    assert all(x.members == 0 and math.isnan(x.member_share) and math.isnan(x.post_share) for x in empty)
    assert all(lo == hi == 0 for _, lo, hi in pdata.band_edges(empty))
    quiet = pdata.level_shares(pd.Series(["lurker", "lurker"]), pd.Series([0, 0]))
    assert quiet[0].member_share == 1 and math.isnan(quiet[0].post_share) and quiet[1].members == 0


# ---- Kaplan-Meier -----------------------------------------------------------------------------------------------


def test_kaplan_meier_by_hand_with_censoring_and_a_tie() -> None:
    # tenure 2 (left), 3 (left), 3 (stayed), 5 (left), 6 (stayed), 8 (stayed)
    # t=2: 6 at risk, 1 leaves -> 5/6; t=3: 5 at risk (the one censored at 3 still counts), 1 leaves -> 5/6 * 4/5
    # t=5: 3 at risk, 1 leaves -> 2/3 * 2/3 = 4/9; flat to t=8 (the longest follow-up)
    km = pdata.kaplan_meier(np.array([2, 3, 3, 5, 6, 8]), np.array([1, 1, 0, 1, 0, 0], bool))
    assert km.time.tolist() == [0, 2, 3, 5, 8]
    assert km.survival == pytest.approx([1, 5 / 6, 2 / 3, 4 / 9, 4 / 9])
    assert km.at_risk.tolist() == [6, 6, 5, 3, 1] and km.events.tolist() == [0, 1, 1, 1, 0]
    assert (km.members, km.left) == (6, 3)
    assert km.median() == 5


def test_kaplan_meier_without_censoring_is_the_share_remaining() -> None:
    t = np.array([1, 1, 2, 4])
    km = pdata.kaplan_meier(t, np.ones(4, bool))
    assert km.time.tolist() == [0, 1, 2, 4] and km.survival == pytest.approx([1, 0.5, 0.25, 0])
    assert km.median() == 1


def test_kaplan_meier_nobody_left_or_nobody_at_all() -> None:
    stayed = pdata.kaplan_meier(np.array([10, 4, 10]), np.zeros(3, bool))
    assert stayed.time.tolist() == [0, 10] and stayed.survival.tolist() == [1, 1]
    assert stayed.median() is None and stayed.left == 0
    none = pdata.kaplan_meier(np.array([]), np.array([], bool))
    assert none.members == 0 and none.survival.tolist() == [1.0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=80))
def test_kaplan_meier_matches_a_day_by_day_count(rows: list[tuple[int, bool]]) -> None:
    """A reference written differently: walk the days, count who is still there and who leaves that day."""
    t = np.array([r[0] for r in rows])
    e = np.array([r[1] for r in rows])
    km = pdata.kaplan_meier(t, e)
    s = 1.0
    for day in range(int(t.max()) + 1):
        here = sum(1 for ti, _ in rows if ti >= day)
        gone = sum(1 for ti, ei in rows if ti == day and ei)
        if gone:
            s *= 1 - gone / here
        # the step function's value at `day`: the last vertex at or before it
        i = np.searchsorted(km.time, day, side="right") - 1
        assert km.survival[i] == pytest.approx(s), day
    assert np.all(np.diff(km.survival) <= 1e-12) and km.time[-1] == t.max()


# ---- splits -----------------------------------------------------------------------------------------------------


def test_first_answer_reads_nullable_and_object_columns() -> None:
    for col in (pd.array([True, False, None], dtype="boolean"), pd.Series([True, False, None], dtype=object)):
        frame = pd.DataFrame({"first_question_answered": col})
        assert pdata.first_answer(frame).tolist() == ["answered", "unanswered", "never asked"]


def test_survival_by_confidence_and_by_first_answer() -> None:
    frame = learners(
        [
            ("low", 0, "lurker", 2, 2, None),
            ("low", 3, "contributor", 5, -1, False),
            ("high", 9, "superuser", 5, -1, True),
            ("high", 1, "contributor", 1, 3, True),
        ]
    )
    by_group = pdata.survival_by(frame, "confidence")
    assert list(by_group) == ["low", "high", "all"]  # medium has no member: left out
    assert by_group["low"].survival.tolist() == [1, 0.5, 0.5] and by_group["all"].members == 4
    assert by_group["all"].left == 2
    by_answer = pdata.survival_by(frame, "first_answer")
    assert {k: v.members for k, v in by_answer.items()} == {"answered": 2, "unanswered": 1}  # never asked: no start
    # time from the question on day 1: the answered left after 0 days (tenure 1) or stayed 4 more days
    km = by_answer["answered"]
    assert (
        km.left == 1 and km.survival[-1] == 0.5 and km.time[-1] == 4
    )  # not tenure 5: the clock starts at the question
    assert by_answer["unanswered"].left == 0
    with pytest.raises(ValueError, match="unknown split"):
        pdata.survival_by(frame, "stage")


def test_groups_of_keeps_every_group() -> None:
    frame = learners([("low", 0, "lurker", 1, -1, None), ("high", 2, "superuser", 1, -1, True)])
    parts = pdata.groups_of(frame)
    assert list(parts) == ["low", "medium", "high", "all"]
    assert [len(v) for v in parts.values()] == [1, 0, 1, 2]


# ---- the panels built from them ---------------------------------------------------------------------------------


def mixed() -> pd.DataFrame:
    rows = [("low", 0, "lurker", 4, 4, None)] * 5 + [("low", 2, "contributor", 9, -1, False)] * 2
    rows += [("high", 1, "contributor", 9, -1, True)] * 3 + [("high", 40, "superuser", 9, -1, True)]
    return learners(rows)


def test_lorenz_figure_draws_a_curve_per_group_with_posts_and_notes_the_others() -> None:
    fig = pview.lorenz_figure(mixed())
    assert fig is not None
    curves = {t.name for t in fig.data if t.mode == "lines" and t.line.dash is None}
    assert curves == {"low confidence", "high confidence", "all learners"}  # medium has no members
    assert any("no members" in (a.text or "") for a in fig.layout.annotations)
    bands = [t for t in fig.data if t.mode == "markers+text"]
    all_bands = bands[-1]
    assert list(all_bands.text) == ["45% / 0%", "45% / 15%", "9% / 85%"]  # 5 / 5 / 1 of 11; 0, 7, 40 of 47 posts
    assert "40 posts (85.1% of its posts)" in all_bands.hovertext[-1]
    assert len(fig.layout.shapes) == 2 + 2 + 3  # low: lurkers, contributors; high: contributors, superuser; all: 3


def test_a_group_without_posts_gets_a_note_and_no_nan_in_its_labels() -> None:
    frame = learners([("low", 0, "lurker", 3, -1, None), ("high", 5, "superuser", 3, -1, True)])
    fig = pview.lorenz_figure(frame)
    assert fig is not None
    low_bands = next(t for t in fig.data if t.mode == "markers+text")  # the first panel: low confidence
    assert list(low_bands.text) == ["100% / –"] and "nan" not in low_bands.hovertext[0]
    assert any(a.text == "no posts in this group" for a in fig.layout.annotations)
    assert fig.layout.annotations[0].text == "low confidence: no posts"  # the panel's title


def test_no_posts_at_all_gives_a_note_instead_of_a_curve() -> None:
    quiet = learners([("low", 0, "lurker", 3, -1, None), ("high", 0, "lurker", 3, 2, None)])
    assert pview.lorenz_figure(quiet) is None
    ts = pd.DataFrame(
        {"day": [0, 1], "arrivals": [2, 0], "leavers": [0, 1], "active_learners": [2, 1], "posts": [0, 0]}
    )
    sec = pview.section(quiet, Bands([ts]), "")
    assert any("Nobody posted" in n for n in sec.notes)
    assert 'id="fig-lorenz"' not in sec.body and 'id="fig-survival"' in sec.body and 'id="fig-flow"' in sec.body


def test_a_run_without_the_new_columns_gets_notes_not_errors() -> None:
    old = pd.DataFrame({"learner_id": [0], "confidence_group": ["low"], "dropout_day": [-1]})
    ts = pd.DataFrame({"day": [0, 1], "active_learners": [1, 1]})
    sec = pview.section(old, Bands([ts]), "")
    assert sec.body == "" and len(sec.notes) == 3
    assert "posts, activity_level" in sec.notes[0] and "arrivals, leavers, posts" in sec.notes[2]


def test_flow_figure_leaves_out_day_0_arrivals_and_puts_posts_on_a_second_axis() -> None:
    ts = pd.DataFrame(
        {"day": [0, 1, 2], "arrivals": [50, 4, 1], "leavers": [0, 3, 2], "active_learners": [50, 51, 50]}
    ).assign(posts=[0, 30, 12])
    fig = pview.flow_figure(Bands([ts]))
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["arrivals per day"].y) == [None, 4, 1]
    assert list(by_name["leavers per day"].y) == [0, 3, 2]
    assert list(by_name["posts per day (right axis)"].y) == [None, 30, 12]
    assert by_name["posts per day (right axis)"].yaxis == "y2" and by_name["active members (left axis)"].yaxis == "y"
