"""The calibration's figures and distance, the fit space and the sizing rule (sim/calibrate/figures.py, space.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from learncomm.sim.calibrate.figures import TERMS, cal_figures, distance, rescaled, survival
from learncomm.sim.calibrate.space import (
    DEFAULT_FIT,
    MAX_DAYS,
    MAX_LEARNERS,
    FitError,
    fit_space,
    parse_fit,
    sized_base,
    sizing,
)
from learncomm.sim.check.log import Activity
from learncomm.sim.schema.loading import load_scenario


def activity(posts: list[int], first: list[float], last: list[float], daily: list[int], horizon: float) -> Activity:
    nan = float("nan")
    return Activity(
        posts=np.array(posts, dtype=np.int64),
        first_post=np.array([f if p else nan for f, p in zip(first, posts, strict=True)]),
        last_post=np.array([v if p else nan for v, p in zip(last, posts, strict=True)]),
        first_seen=np.array(first, dtype=np.float64),
        daily_posts=np.array(daily, dtype=np.int64),
        horizon=horizon,
        columns={"sender": "src", "time": "time", "recipient": "dst"},
    )


EQUAL = activity([2, 2, 2, 2], [0, 0, 7, 7], [6, 6, 13, 13], [1] * 7 + [0] * 7, 13.9)
SKEWED = activity([0, 0, 0, 8], [0, 0, 7, 7], [0, 0, 7, 13], [0] * 7 + [4] * 2 + [0] * 4 + [0], 13.9)


def test_same_figures_are_at_distance_zero() -> None:
    f = cal_figures(EQUAL, "first seen")
    total, terms = distance(f, f)
    assert total == 0.0 and set(terms) == set(TERMS)


def test_terms_by_hand() -> None:
    a, b = cal_figures(EQUAL, "first seen"), cal_figures(SKEWED, "first seen")
    assert a.never_post == 0.0 and b.never_post == 0.75
    assert a.lorenz[50] == pytest.approx(0.5) and b.lorenz[50] == 0.0
    assert a.weekly == [1.0, 0.0] and b.weekly == [0.0, 1.0]  # days 0-6 vs 7-8
    assert a.arrivals == [0.5, 0.5] and b.arrivals == [0.5, 0.5]
    total, t = distance(a, b)
    assert t["never_post"] == 0.75
    assert t["weekly"] == 1.0  # no overlap: total variation 1
    assert t["arrivals"] == 0.0
    assert t["volume"] == 0.0  # 2 posts per member on both sides
    assert t["tenure"] == 0.0  # every poster's first-to-last span is 6 days on both sides
    # equal posting is the diagonal; one member with every post is 0 up to 3/4 then a line: twice the mean gap
    # is twice (1/2 - 1/8) = 0.75
    assert t["lorenz"] == pytest.approx(0.75, abs=0.01)
    assert total == pytest.approx(sum(t.values()))
    assert all(0.0 <= v <= 1.0 for v in t.values())


def test_volume_is_a_log_ratio_capped_at_one_decade() -> None:
    a = cal_figures(EQUAL, "first seen")
    b = cal_figures(activity([20, 20, 20, 20], [0, 0, 7, 7], [6, 6, 13, 13], [10] * 7 + [0] * 7, 13.9), "first seen")
    c = cal_figures(
        activity([200, 200, 200, 200], [0, 0, 7, 7], [6, 6, 13, 13], [100] * 7 + [0] * 7, 13.9), "first seen"
    )
    assert distance(a, b)[1]["volume"] == pytest.approx(1.0)
    assert distance(a, c)[1]["volume"] == 1.0


def test_survival_of_spans() -> None:
    s = survival([0.0, 5.0, 10.0, 10.0], np.array([0.0, 4.9, 5.0, 10.0]))
    assert s.tolist() == [0.75, 0.75, 0.5, 0.0]


def test_rescaled_keeps_posts_and_shrinks_time() -> None:
    long = activity([3, 1], [0, 10], [1000, 10], [1] * 1001 + [0] * 799, 1800.0)
    long.daily_posts[10] += 1
    r = rescaled(long, 2.5)
    assert r.horizon == 720.0 and r.daily_posts.sum() == long.daily_posts.sum()
    assert r.last_post[0] == 400.0
    assert rescaled(long, 1.0) is long


def test_sizing_caps_learners_and_days() -> None:
    small = sizing(activity([1, 2], [0, 1], [0, 3], [1, 1, 0, 1], 3.2))
    assert (small.learners, small.days, small.scale) == (2, 4, 1.0)
    big = activity([1] * 3, [0, 1, 2], [0, 1, 2], [1] * 3, 2000.0)
    s = sizing(big)
    assert s.days == MAX_DAYS and s.scale == pytest.approx(2000.0 / MAX_DAYS)
    huge = Activity(
        posts=np.ones(MAX_LEARNERS + 5, dtype=np.int64),
        first_post=np.zeros(MAX_LEARNERS + 5),
        last_post=np.zeros(MAX_LEARNERS + 5),
        first_seen=np.zeros(MAX_LEARNERS + 5),
        daily_posts=np.array([MAX_LEARNERS + 5]),
        horizon=0.5,
    )
    assert sizing(huge).learners == MAX_LEARNERS and sizing(huge).days == 1


def test_sized_base_writes_the_settings_arrivals_out() -> None:
    base = sized_base(load_scenario("community"), sizing(EQUAL))
    assert base["learners"] == 4 and base["days"] == 14
    assert base["arrivals"] == {"founders": 0.1, "wave_days": 21.0, "trickle": 0.2}
    space = fit_space(base, None)
    assert [p.path for p in space] == [p for p, _, _ in DEFAULT_FIT]
    assert [p for p in space if p.path == "arrivals.wave_days"][0].log  # 1..120: a log scale
    assert not [p for p in space if p.path == "arrivals.trickle"][0].log


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ("post_rate", "expected PARAM=LOW:HIGH"),
        ("=0:1", "no parameter name"),
        ("post_rate=0.1", "LOW:HIGH"),
        ("post_rate=0.1:0.2:0.3", "LOW:HIGH"),
        ("post_rate=a:1", "the low end 'a' is not a number"),
        ("post_rate=0:nan", "not finite"),
        ("post_rate=0.5:0.1", "low end must be below"),
        ("post_rate=0.5:0.5", "low end must be below"),
    ],
)
def test_bad_fit_forms(item: str, words: str) -> None:
    with pytest.raises(FitError, match=words):
        parse_fit(item)


@pytest.mark.parametrize(
    ("items", "words"),
    [
        (["nonsense=0:1"], "nonsense: not a field of the scenario"),
        (["name=0:1"], "not a number"),
        (["post_rate=0:2"], "2 is not allowed: params.post_rate"),
        (["wave_days=-1:5"], "-1 is not allowed"),
        (["dropout_patience=1.5:4"], "whole numbers"),
        (["learners=10:100"], "set by the log"),
        (["post_rate=0.1:0.2", "params.post_rate=0.1:0.3"], "given twice"),
    ],
)
def test_bad_fit_values(items: list[str], words: str) -> None:
    base = sized_base(load_scenario("community"), sizing(EQUAL))
    with pytest.raises(FitError, match=words):
        fit_space(base, items)


def test_short_names_and_integers() -> None:
    base = sized_base(load_scenario("community"), sizing(EQUAL))
    space = fit_space(base, ["founders=0.05:0.5", "dropout_patience=3:30"])
    assert [(p.path, p.integer, p.log) for p in space] == [
        ("arrivals.founders", False, False),
        ("params.dropout_patience", True, False),
    ]


def test_a_journal_cut_by_a_kill_is_repaired(tmp_path: Path) -> None:
    from learncomm.sim.calibrate.search import _repair_journal

    journal = tmp_path / "study.journal"
    journal.write_bytes(b'{"op_code": 0}\n{"op_code": 1}\n{"op_co')
    (tmp_path / "study.journal.lock").symlink_to(tmp_path / "gone")
    _repair_journal(journal)
    assert journal.read_bytes() == b'{"op_code": 0}\n{"op_code": 1}\n'
    assert not list(tmp_path.glob("*.lock*"))
    whole = journal.read_bytes()
    _repair_journal(journal)  # a whole journal is left as it is
    assert journal.read_bytes() == whole
    journal.write_bytes(b"x" * 70_000)  # not one whole line: nothing to keep
    _repair_journal(journal)
    assert journal.read_bytes() == b""


def test_communities_with_their_own_arrivals_refuse_only_arrival_fits() -> None:
    band = sized_base(load_scenario("band"), sizing(EQUAL))  # one of its communities sets founders: 1.0
    with pytest.raises(FitError, match="communities set their own arrivals"):
        fit_space(band, None)
    assert [p.path for p in fit_space(band, ["post_rate=0.1:0.5"])] == ["params.post_rate"]
    open_course = sized_base(load_scenario("open-course"), sizing(EQUAL))  # several communities, no own arrivals
    assert len(fit_space(open_course, None)) == len(DEFAULT_FIT)
    assert open_course["arrivals"] == {"founders": 0.1, "wave_days": 21.0, "trickle": 0.2}
