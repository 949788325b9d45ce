"""The event-log reader and the figures: CollegeMsg's published figures, layouts, bad logs, hand-computed cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from learncomm.sim.check import log as logmod
from learncomm.sim.check.figures import figures, lorenz
from learncomm.sim.check.log import Activity, LogError, read_log
from learncomm.sim.runs.inequality import gini, top_share
from learncomm.sim.runs.inequality import level_codes as levels

COLLEGEMSG = Path(__file__).resolve().parents[1] / "data" / "CollegeMsg.txt"  # shipped, see data/README.md
DAY = 86_400


def write(tmp_path: Path, text: str, name: str = "log.txt") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_collegemsg_gives_the_published_figures() -> None:
    a = read_log(COLLEGEMSG)
    assert a.columns == {"sender": "src", "recipient": "dst", "time": "time"}
    f = figures(a)
    assert (f.members, f.posts) == (1899, 59835)
    assert round(f.gini, 2) == 0.80
    assert round(f.top10_share, 2) == 0.65
    assert round(f.top1_share, 2) == 0.18
    assert round(f.never_post, 2) == 0.29
    assert round(f.left, 2) == 0.86
    assert round(f.left_early, 2) == 0.59
    assert round(f.median_arrival_day) == 24
    # The README's "2nd vs 13th fortnight: 8,568 vs 377" are 7-day counts: the 3rd and the 25th week.
    assert (f.posts_per_week[2], f.posts_per_week[24]) == (8568, 377)
    # Whole fortnights: the 3rd is the busiest (18,724), the 13th the last full one (572).
    assert (f.busiest_fortnight, f.busiest_fortnight_posts, f.last_fortnight, f.last_fortnight_posts) == (
        3,
        18724,
        13,
        572,
    )
    assert f.decay_ratio == pytest.approx(18724 / 572)
    assert 1 <= f.peak_week <= 6
    assert len(f.lorenz_x) <= 200 and f.lorenz_x[0] == 0 and f.lorenz_y[-1] == pytest.approx(1.0)


def test_the_layouts_give_the_same_activity(tmp_path: Path) -> None:
    t0 = 1_600_000_000
    rows = [("a", "b", t0), ("a", "c", t0 + DAY), ("b", "a", t0 + 3 * DAY), ("a", "b", t0 + 9 * DAY)]
    csv = "sender,recipient,time\n" + "".join(f"{s},{r},{t}\n" for s, r, t in rows)
    ws = "src  dst\ttime\n" + "".join(f"{s} {r}\t{t}\n" for s, r, t in rows)
    st = "Source,Target,Timestamp\n" + "".join(f"{s},{r},{t}\n" for s, r, t in rows)
    got = [read_log(write(tmp_path, text, f"{i}.txt")) for i, text in enumerate((csv, ws, st))]
    assert got[0].columns == {"sender": "sender", "recipient": "recipient", "time": "time"}
    assert got[1].columns == {"sender": "src", "recipient": "dst", "time": "time"}
    assert got[2].columns == {"sender": "source", "recipient": "target", "time": "timestamp"}
    for a in got:
        order = np.argsort(a.posts)  # c (0 posts), b (1), a (3)
        assert list(a.posts[order]) == [0, 1, 3]
        assert list(a.first_seen[order]) == [1.0, 0.0, 0.0]
        assert list(a.first_post[order][1:]) == [3.0, 0.0] and math.isnan(a.first_post[order][0])
        assert list(a.last_post[order][1:]) == [3.0, 9.0]
        assert a.horizon == 9.0 and list(a.daily_posts) == [1, 1, 0, 1, 0, 0, 0, 0, 0, 1]


def test_user_time_layout_iso_dates_and_a_member_list(tmp_path: Path) -> None:
    p = write(tmp_path, "user,date\nann,2024-03-01\nbob,2024-03-01\nann,2024-03-08\nann,2024-03-15\n")
    m = write(tmp_path, "ann\nbob\n\ncarl\ndora\n", "members.txt")
    a = read_log(p, m)
    assert a.columns == {"sender": "user", "time": "date"}
    assert a.n == 4 and a.members_listed == 2 and sorted(a.posts) == [0, 0, 1, 3]
    assert a.horizon == 14.0
    f = figures(a)
    assert f.never_post == 0.5 and f.members == 4


def test_trailing_commas_in_the_header_are_placeholders(tmp_path: Path) -> None:
    a = read_log(write(tmp_path, "src,dst,time,,\n1,2,5,,\n2,1,86405,,\n"))
    assert a.columns == {"sender": "src", "recipient": "dst", "time": "time"} and a.n == 2


def test_ids_are_raw_text_and_a_quoted_separator_is_part_of_the_id(tmp_path: Path) -> None:
    """`NA` or `null` is a member's id, not a missing value; a quoted comma belongs to its field."""
    a = read_log(write(tmp_path, 'src,dst,time\n"a,b",NA,5\nNA,null,86405\nnull,"a,b",90000\n'))
    assert a.n == 3 and sorted(a.posts.tolist()) == [1, 1, 1]


def test_iso_datetimes_with_zones(tmp_path: Path) -> None:
    p = write(tmp_path, "sender,recipient,time\nx,y,2024-01-01T12:00:00Z\ny,x,2024-01-02T00:00:00+00:00\n")
    a = read_log(p)
    assert a.horizon == pytest.approx(0.5)


BAD = {
    "empty": ("", None, None, "empty"),
    "blank": ("\n\n", None, None, "empty"),
    "header only": ("src dst time\n", 1, None, "no events"),
    "no time column": ("src dst when\n1 2 3\n", 1, "time", "no time column"),
    "no sender": ("foo,bar,time\n1,2,3\n", 1, "sender/user", "no sender or user"),
    "bad time": ("src,dst,time\n1,2,100\n\n2,1,yesterday\n", 4, "time", "'yesterday'"),
    "bad iso": ("user,time\na,2024-01-01\nb,2024-13-45\n", 3, "time", "'2024-13-45'"),
    "one user": ("user,time\na,1\na,2\n", None, None, "only 1 member"),
    "missing id": ("src,dst,time\n1,2,5\n,2,6\n", 3, "src", "missing value"),
    "twice": ("src,src,time\n1,2,5\n", 1, "src", "appears twice"),
    "case clash": ("src,dst,Time,time\n1,2,5,6\n", 1, "time", "appears twice"),
    "infinite time": ("src,dst,time\n1,2,5\n2,1,inf\n", 3, "time", "'inf'"),
    "nan time": ("src,dst,time\n1,2,5\n2,1,nan\n", 3, "time", "cannot read the time 'nan'"),
    "empty time": ("src,dst,time\n1,2,5\n2,1,\n", 3, "time", "cannot read the time ''"),
    "short line": ("src,dst,time\n1,2,5\n2,1\n", 3, "time", "cannot read the time ''"),
    "extra field": ("src,dst,time\n1,2,5\n2,1,6,9\n", 3, None, "4 fields, but the header names 3"),
    "extra field first": ("src,dst,time\n1,2,5,9\n2,1,6\n", 2, None, "4 fields, but the header names 3"),
    "extra word": ("src dst time\n1 2 5\n\n2 1 6 extra\n", 4, None, "4 fields, but the header names 3"),
    "trailing comma": ("user,time\na,5\nb,6,\n", 3, None, "3 fields, but the header names 2"),
    "unquoted comma": ("user,time\na,5\nb,c,6\n", 3, None, "quote an id that holds the separator"),
    "milliseconds": (
        "src,dst,time\n1,2,1082040961000\n2,1,1082040962000\n2,1,1092040962000\n",
        None,
        "time",
        "milliseconds",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_logs_give_a_log_error_with_file_line_and_column(tmp_path: Path, case: str) -> None:
    text, line, column, words = BAD[case]
    p = write(tmp_path, text)
    with pytest.raises(LogError) as info:
        read_log(p)
    e = info.value
    assert e.file == str(p) and e.line == line and e.column == column
    assert str(p) in str(e) and words in str(e)
    if line is not None:
        assert f"{p}:{line}" in str(e)


def test_missing_file_and_missing_member_list(tmp_path: Path) -> None:
    with pytest.raises(LogError, match="no such file"):
        read_log(tmp_path / "nope.txt")
    p = write(tmp_path, "user,time\na,1\nb,2\n")
    with pytest.raises(LogError, match="no such member list"):
        read_log(p, tmp_path / "nope.txt")


def test_size_and_row_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, "user,time\n" + "".join(f"u{i % 3},{i}\n" for i in range(50)))
    monkeypatch.setattr(logmod, "MAX_ROWS", 20)
    monkeypatch.setattr(logmod, "CHUNK_ROWS", 10)
    with pytest.raises(LogError, match="more than 20 events"):
        read_log(p)
    monkeypatch.setattr(logmod, "MAX_ROWS", 1000)
    assert read_log(p).posts.sum() == 50  # several chunks add up
    monkeypatch.setattr(logmod, "MAX_BYTES", 100)
    with pytest.raises(LogError, match="above the limit"):
        read_log(p)


def test_gini_and_shares_by_hand() -> None:
    assert gini(np.array([0, 0, 0, 10])) == pytest.approx(0.75)  # sum|xi-xj| = 60, 2 n^2 mean = 80
    assert gini(np.array([5, 5, 5, 5])) == 0.0
    assert gini(np.array([1, 3])) == pytest.approx(0.25)  # 2*2 / (2*4*2)
    assert gini(np.zeros(3)) == 0.0
    x = np.array([10] + [1] * 9)  # 10 members, total 19
    assert top_share(x, 0.10) == pytest.approx(10 / 19)
    assert top_share(x, 0.01) == pytest.approx(10 / 19)  # at least one member
    assert top_share(np.arange(200), 0.01) == pytest.approx((199 + 198) / 19900)


def test_levels_90_9_1() -> None:
    posts = np.array([0] * 150 + [1] * 40 + [5, 5, 9] + [2] * 7)  # 200 members: top 1% = 2
    lv = levels(posts)
    assert (lv == 0).sum() == 150 and (lv == 2).sum() == 2 and (lv == 1).sum() == 48
    assert lv[192] == 2 and lv[190] == 2 and lv[191] == 1  # 9, then the first 5 (ties by position)
    assert (levels(np.array([0, 0, 3])) == [0, 0, 2]).all()  # at least one superuser when anyone posted
    assert (levels(np.zeros(4, dtype=int)) == 0).all()


def test_lorenz_is_sampled_and_monotone() -> None:
    x, y = lorenz(np.array([0, 0, 0, 10]))
    assert x == [0, 0.25, 0.5, 0.75, 1.0] and y == [0, 0, 0, 0, 1.0]
    x, y = lorenz(np.arange(10_000))
    assert len(x) <= 200 and x[0] == 0 and x[-1] == 1 and y[-1] == pytest.approx(1) and np.all(np.diff(y) >= 0)


def tiny(posts: list[int], first: list[float], last: list[float], daily: list[int], horizon: float) -> Activity:
    nan = math.nan
    return Activity(
        posts=np.array(posts),
        first_post=np.array([f if p else nan for f, p in zip(first, posts, strict=True)]),
        last_post=np.array([v if p else nan for v, p in zip(last, posts, strict=True)]),
        first_seen=np.array([f if p else 0.0 for f, p in zip(first, posts, strict=True)]),
        daily_posts=np.array(daily),
        horizon=horizon,
    )


def test_leaving_decay_and_arrivals_by_hand() -> None:
    # 80-day horizon: a posts days 0-10 (left early), b days 3-45 (left, not early), c till day 75 (stayed), d never
    daily = [0] * 81
    for d, n in ((0, 10), (3, 20), (10, 5), (45, 2), (75, 1)):
        daily[d] = n
    a = tiny([20, 16, 2, 0], [0, 3, 10, 0], [10, 45, 75, 0], daily, 80.0)
    a.first_seen = np.array([0.0, 3.0, 10.0, 20.0])
    f = figures(a)
    assert f.left == pytest.approx(2 / 3) and f.left_early == pytest.approx(1 / 2)
    assert f.never_post == 0.25
    assert f.posts_per_week[:3] == [30, 5, 0] and f.peak_week == 1
    # full fortnights: days 0-13 (35 posts), 14-27, 28-41, 42-55 (2), 56-69 (0): the last counts as 1 post
    assert (f.busiest_fortnight, f.last_fortnight, f.last_fortnight_posts) == (1, 5, 0)
    assert f.decay_ratio == 35.0
    assert f.arrivals_per_week[:3] == [2, 1, 1] and f.median_arrival_day == 6.5
    assert f.to_dict()["posts"] == 38
