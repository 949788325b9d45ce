"""Reading an event log, or a finished run, into the activity view both reduce to (docs/check.md).

A log is a text file with a header: `sender, recipient, time` (aliases `src`/`dst`, `source`/`target`) or
`user, time`, comma- or whitespace-separated, time as unix seconds or ISO 8601 dates/datetimes. It is read in
chunks with pandas; only the per-member aggregates and one float per event (its time) are kept, so memory stays
about 8 bytes per event plus the members. Files above MAX_BYTES or with more than MAX_ROWS events are refused.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

MAX_BYTES = 2 * 1024**3  # 2 GiB
MAX_DAYS = 20 * 366  # a log spanning more is almost surely in the wrong unit (ms, ns) or has a stray time
MAX_ROWS = 50_000_000
CHUNK_ROWS = 1_000_000
DAY_S = 86_400.0

SENDER = ("sender", "src", "source", "from")
RECIPIENT = ("recipient", "dst", "target", "to")
USER = ("user", "user_id", "member", "author")
TIME = ("time", "timestamp", "datetime", "date")
EXPECTED = "a header with `sender, recipient, time` (or src/dst, source/target) or `user, time`"


class LogError(Exception):
    """A log the user can fix: the file, the line and column where it applies, and what was expected."""

    def __init__(
        self, file: Path | str, problem: str, line: int | None = None, column: str | None = None, expected: str = ""
    ) -> None:
        self.file, self.line, self.column, self.problem, self.expected = str(file), line, column, problem, expected
        where = self.file + (f":{line}" if line is not None else "")
        col = f" column {column!r}:" if column else ""
        tail = f"; expected {expected}" if expected else ""
        super().__init__(f"{where}:{col} {problem}{tail}")


@dataclass
class Activity:
    """What a log or a run reduces to: per member, posts and when; per day, posts.

    Days are float days since the start (a log's first event; a run's day 0), so an event on the model's d-th
    day is at d - 1 (the start of that day). NaN marks a member who never posted (or, from a member list, was
    never seen in the log)."""

    posts: np.ndarray  # int64, one per member
    first_post: np.ndarray  # float64 day of the first post, NaN if never
    last_post: np.ndarray  # float64 day of the last post, NaN if never
    first_seen: np.ndarray  # float64 day the member first appears (sent or received; joined_day in a run)
    daily_posts: np.ndarray  # int64, posts on day index 0, 1, ... (floor of the day)
    horizon: float  # days from the start to the last event (a run: its number of days)
    source: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # role -> the log's column used (sender: src, ...)
    members_listed: int = 0  # members from a member list who never appear in the log

    @property
    def n(self) -> int:
        return len(self.posts)

    @classmethod
    def from_log(cls, path: Path | str, members: Path | str | None = None) -> Activity:
        return read_log(path, members)

    @classmethod
    def from_run(cls, learners: pd.DataFrame, timeseries: pd.DataFrame, days: int | None = None) -> Activity:
        """The same view of a finished run: learners' posts, first/last post day and joined day, the timeseries'
        posts per day (docs/results.md; day d's events sit at d - 1)."""
        days = int(timeseries["day"].max()) if days is None else int(days)
        posts = learners["posts"].to_numpy(np.int64)

        def day_of(col: str) -> np.ndarray:
            d = learners[col].to_numpy(np.float64)
            return np.where(d >= 0, d - 1.0, np.nan)

        ts = timeseries.set_index("day")["posts"].reindex(range(1, days + 1), fill_value=0)
        return cls(
            posts=posts,
            first_post=day_of("first_post_day"),
            last_post=day_of("last_post_day"),
            first_seen=learners["joined_day"].to_numpy(np.float64),
            daily_posts=ts.to_numpy(np.int64),
            horizon=float(days),
            source="run",
        )


def _open_text(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        yield from enumerate(fh, start=1)


def _header(path: Path) -> tuple[int, str, list[str]]:
    """(line number of the header, separator, column names)."""
    for i, line in _open_text(path):
        if line.strip():
            sep = "," if "," in line else r"\s+"
            names = [c.strip().strip('"').strip().lower() for c in (line.split(",") if sep == "," else line.split())]
            return i, sep, _unique(path, i, names)
    raise LogError(path, "the file is empty", expected=EXPECTED)


def _unique(path: Path, line: int, names: list[str]) -> list[str]:
    """The header's names, each once: a name a layout could use may not appear twice (which column would it be?);
    empty or other repeated names (a spreadsheet's trailing commas) become placeholders `_1`, `_2`, ..."""
    known = set(SENDER + RECIPIENT + USER + TIME)
    out: list[str] = []
    for j, name in enumerate(names, start=1):
        if name in out or not name:
            if name in known:
                raise LogError(
                    path,
                    f"the column {name!r} appears twice in the header",
                    line=line,
                    column=name,
                    expected="each column named once",
                )
            name = f"_{j}"
        out.append(name)
    return out


def _pick(names: list[str], aliases: tuple[str, ...]) -> str | None:
    return next((a for a in aliases if a in names), None)


def _layout(path: Path, line: int, names: list[str]) -> dict[str, str]:
    time = _pick(names, TIME)
    sender, recipient, user = _pick(names, SENDER), _pick(names, RECIPIENT), _pick(names, USER)
    found = ", ".join(names) or "nothing"
    if time is None:
        raise LogError(path, f"no time column (found: {found})", line=line, column="time", expected=EXPECTED)
    if sender is not None:
        cols = {"sender": sender, "time": time}
        if recipient is not None:
            cols["recipient"] = recipient
        return cols
    if user is not None:
        return {"sender": user, "time": time}
    raise LogError(
        path, f"no sender or user column (found: {found})", line=line, column="sender/user", expected=EXPECTED
    )


def _data_line(path: Path, header_line: int, row: int) -> int:
    """The file line of data row `row` (0-based; blank lines are skipped, as pandas does)."""
    seen = -1
    for i, line in _open_text(path):
        if i <= header_line or not line.strip():
            continue
        seen += 1
        if seen == row:
            return i
    return header_line + row + 1


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_times(values: pd.Series, numeric: bool | None) -> tuple[np.ndarray, bool]:
    """Seconds since the epoch as float64 (NaN where unparsable) and whether the column is numeric."""
    s = values.astype("string").str.strip()
    if numeric is None:
        first = s.dropna()
        numeric = bool(len(first)) and _is_number(str(first.iloc[0]))
    if numeric:
        return pd.to_numeric(s, errors="coerce").to_numpy(np.float64, na_value=np.nan), True
    t = pd.to_datetime(s, errors="coerce", utc=True, format="ISO8601")
    secs = (t - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    return secs.to_numpy(np.float64, na_value=np.nan), False


def read_members(path: Path | str) -> list[str]:
    """A member list: one id per line (blank lines and `#` comments skipped)."""
    path = Path(path)
    if not path.is_file():
        raise LogError(path, "no such member list", expected="a text file with one member id per line")
    ids = [s for _, line in _open_text(path) if (s := line.strip()) and not s.startswith("#")]
    if not ids:
        raise LogError(path, "the member list is empty", expected="one member id per line")
    return ids


def read_log(path: Path | str, members: Path | str | None = None) -> Activity:
    """Read an event log (and an optional member list) into an `Activity`; raises LogError on a bad log."""
    path = Path(path)
    if not path.is_file():
        raise LogError(path, "no such file", expected="an event log (docs/check.md)")
    size = path.stat().st_size
    if size == 0:
        raise LogError(path, "the file is empty", expected=EXPECTED)
    if size > MAX_BYTES:
        raise LogError(path, f"the file is {size / 1024**3:.1f} GiB, above the limit of {MAX_BYTES / 1024**3:.0f} GiB")
    header_line, sep, names = _header(path)
    cols = _layout(path, header_line, names)
    usecols = list(dict.fromkeys(cols.values()))
    sends: list[pd.DataFrame] = []
    seen: list[pd.DataFrame] = []
    # every column is read (no usecols): only then does the parser check each line's field count, so a line with
    # more fields than the header is an error, not silently cut; values stay raw text (na_filter=False), so an
    # error shows what the line says (`nan`, ``) and an id such as `NA` is an id
    reader = pd.read_csv(
        path,
        sep=sep,
        header=0,
        skiprows=header_line - 1,
        names=names,
        index_col=False,
        dtype="string",
        na_filter=False,
        chunksize=CHUNK_ROWS,
        engine="c",  # the C engine splits on r"\s+" too
        skip_blank_lines=True,
        encoding="utf-8-sig",
        encoding_errors="replace",
        on_bad_lines="error",
    )
    try:
        with reader, warnings.catch_warnings():
            # the first data line's extra fields are only a warning to pandas
            warnings.simplefilter("error", pd.errors.ParserWarning)
            rows, times = _read_chunks(path, reader, cols, header_line, usecols, sends, seen)
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        long = _long_line(path, header_line, sep, len(names))
        if long is not None:
            line, n = long
            raise LogError(
                path,
                f"{n} fields, but the header names {len(names)}",
                line=line,
                expected="one field per header column (quote an id that holds the separator)",
            ) from None
        raise LogError(path, f"cannot split the lines into columns ({exc})", expected=EXPECTED) from None
    if rows == 0:
        raise LogError(path, "no events after the header", line=header_line, expected="one event per line")
    return _activity(path, cols, sends, seen, np.concatenate(times), members)


def _long_line(path: Path, header_line: int, sep: str, n: int) -> tuple[int, int] | None:
    """(line, fields) of the first data line with more than `n` fields, split as pandas splits it."""
    for i, line in _open_text(path):
        if i <= header_line or not line.strip():
            continue
        k = len(next(csv.reader([line]), [])) if sep == "," else len(line.split())
        if k > n:
            return i, k
    return None


def _read_chunks(
    path: Path,
    reader: Iterable[pd.DataFrame],
    cols: dict[str, str],
    header_line: int,
    usecols: list[str],
    sends: list[pd.DataFrame],
    seen: list[pd.DataFrame],
) -> tuple[int, list[np.ndarray]]:
    """Reduce the chunks to per-member aggregates (appended to `sends`, `seen`); (rows, event times)."""
    rows, numeric = 0, None
    times: list[np.ndarray] = []
    for whole in reader:
        chunk = whole[usecols]
        for role, col in cols.items():
            empty = (chunk[col].isna() | (chunk[col].str.strip() == "")).to_numpy(bool)
            if role != "time" and empty.any():
                row = rows + int(np.flatnonzero(empty)[0])
                raise LogError(
                    path, "missing value", line=_data_line(path, header_line, row), column=col, expected="an id"
                )
        t, numeric = _parse_times(chunk[cols["time"]], numeric)
        bad = np.flatnonzero(~np.isfinite(t))  # unreadable, or inf
        if len(bad):
            row = rows + int(bad[0])
            value = chunk[cols["time"]].iloc[int(bad[0])]
            raw = "" if pd.isna(value) else str(value)  # a line too short for the time column: empty
            raise LogError(
                path,
                f"cannot read the time {raw!r}",
                line=_data_line(path, header_line, row),
                column=cols["time"],
                expected="unix seconds or an ISO 8601 date/datetime (same kind on every line)",
            )
        rows += len(chunk)
        if rows > MAX_ROWS:
            raise LogError(path, f"more than {MAX_ROWS:,} events, above the limit")
        frame = pd.DataFrame({"id": chunk[cols["sender"]].str.strip().to_numpy(), "t": t})
        sends.append(frame.groupby("id", sort=False)["t"].agg(["count", "min", "max"]))
        if "recipient" in cols:
            rec = pd.DataFrame({"id": chunk[cols["recipient"]].str.strip().to_numpy(), "t": t})
            seen.append(rec.groupby("id", sort=False)["t"].min().to_frame("seen"))
        times.append(t)
    return rows, times


def _activity(
    path: Path,
    cols: dict[str, str],
    sends: list[pd.DataFrame],
    seen: list[pd.DataFrame],
    t: np.ndarray,
    members: Path | str | None,
) -> Activity:
    s = pd.concat(sends).groupby(level=0).agg({"count": "sum", "min": "min", "max": "max"})
    table = s.rename(columns={"count": "posts", "min": "first", "max": "last"})
    table["seen"] = table["first"]
    if seen:
        r = pd.concat(seen).groupby(level=0)["seen"].min()
        table = table.join(r.rename("rseen"), how="outer")
        table["seen"] = table[["seen", "rseen"]].min(axis=1)
        table = table.drop(columns="rseen")
    listed = 0
    if members is not None:
        ids = pd.Index(read_members(members)).drop_duplicates()
        listed = int((~ids.isin(table.index)).sum())
        table = table.reindex(table.index.union(ids))
    table["posts"] = table["posts"].fillna(0).astype(np.int64)
    if len(table) < 2:
        raise LogError(path, f"only {len(table)} member in the log", expected="at least two members")
    t0 = float(t.min())
    horizon = (float(t.max()) - t0) / DAY_S
    if horizon > MAX_DAYS:
        span = f"{horizon:,.0f}" if horizon < 1e12 else f"{horizon:.3g}"
        raise LogError(
            path,
            f"the events span {span} days, above the limit of {MAX_DAYS:,} (20 years): are the times in "
            "milliseconds or nanoseconds, or is one time far off?",
            column=cols["time"],
            expected="unix seconds or ISO 8601 dates",
        )
    day = np.floor((t - t0) / DAY_S).astype(np.int64)
    return Activity(
        posts=table["posts"].to_numpy(np.int64),
        first_post=((table["first"] - t0) / DAY_S).to_numpy(np.float64),
        last_post=((table["last"] - t0) / DAY_S).to_numpy(np.float64),
        first_seen=((table["seen"] - t0) / DAY_S).to_numpy(np.float64),
        daily_posts=np.bincount(day, minlength=int(math.floor(horizon)) + 1).astype(np.int64),
        horizon=horizon,
        source=str(path),
        columns=dict(cols),
        members_listed=listed,
    )
