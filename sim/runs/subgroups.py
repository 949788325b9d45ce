"""Subgroups of learners: the attribute registry (`--by`) and user-defined groups (`--group NAME=EXPR`).

A subgroup is a set of rows of a learners table (learners.parquet). Built-in
attributes name a column, or a label derived from columns; crossing two
attributes gives one group per pair of values. A user-defined group is a DuckDB
SQL expression over the learners columns (`access_class = 'low-access' and
confidence_initial < 0.3`). The expression is untrusted input: before it runs,
DuckDB's own tokenizer splits it and every token must be a learners column, a
constant, an operator, a whitelisted keyword, or a whitelisted scalar function
followed by `(`; no statement, subquery, table function or cast gets through. It
then runs on an in-memory table in a connection that can read no file or URL and
cannot change its settings. DuckDB rather than pandas `query`: `query` evaluates
Python expressions (attribute access reaches Python objects), its whitelist would
be hand-written, and SQL is what `learncomm query` already speaks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from learncomm.sim.schema.vocab import GROUPS, LEARNER_OUTCOMES, STAGES, TUTORING_ROLES


class GroupError(ValueError):
    """A `--by` or `--group` the user can fix: unknown attribute, a bad expression, a group nobody is in."""


def _column(name: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: df[name].astype(str)


def _cohort(df: pd.DataFrame) -> pd.Series:
    return pd.Series(np.where(df["joined_day"].to_numpy() <= 0, "founder", "newcomer"), index=df.index)


def _home(df: pd.DataFrame) -> pd.Series:
    return df["communities"].map(lambda c: str(c[0]) if len(c) else "none")


@dataclass(frozen=True)
class Attribute:
    """A learner attribute subgroups can be formed by: how to label each learner, in which order."""

    describe: str
    label: Callable[[pd.DataFrame], pd.Series]
    order: tuple[str, ...] = ()  # the values' natural order; others follow sorted


ATTRIBUTES: dict[str, Attribute] = {
    "confidence_group": Attribute("confidence group at the start", _column("confidence_group"), GROUPS),
    "access_class": Attribute("access class (population.access)", _column("access_class")),
    "stage": Attribute("participation stage on the last day", _column("stage"), STAGES),
    "cohort": Attribute("founder (a member from day 0) or newcomer (joined later)", _cohort, ("founder", "newcomer")),
    "community": Attribute("home community (the first the learner belongs to)", _home),
    "tutoring_role": Attribute("tutoring role", _column("tutoring_role"), TUTORING_ROLES),
    "activity_level": Attribute(
        "90-9-1 activity level from posts", _column("activity_level"), ("lurker", "contributor", "superuser")
    ),
}
MAX_BY = 2  # crossings of two attributes; three would mostly give empty cells

# What a group expression may contain besides learners columns and constants.
KEYWORDS = frozenset(
    {"and", "or", "not", "in", "is", "null", "true", "false", "between", "like", "ilike", "case", "when", "then"}
    | {"else", "end"}
)
FUNCTIONS = frozenset(
    {"abs", "round", "floor", "ceil", "sqrt", "ln", "log", "least", "greatest", "coalesce", "nullif"}
    | {"list_contains", "len", "length", "lower", "upper", "starts_with", "ends_with", "contains"}
)
# Refused even before the learners columns are known (the first run); any other keyword waits for that check.
STATEMENT_WORDS = frozenset(
    {"select", "from", "with", "union", "intersect", "except", "table", "values", "pragma", "copy", "attach"}
    | {"install", "load", "set", "call", "create", "drop", "insert", "update", "delete", "cast", "exists"}
)
MAX_EXPRESSION = 500  # characters


@dataclass(frozen=True)
class GroupSpec:
    """Which subgroups a comparison reports: `by` attributes (crossed when two) and user-defined groups.
    Without `by`: the default groups (all, each confidence group, tutors and tutees when there is tutoring), then
    the user-defined ones."""

    by: tuple[str, ...] = ()
    custom: tuple[tuple[str, str], ...] = ()  # (name, expression)
    show: tuple[str, ...] = field(default=())  # groups to print (CLI); empty: the CLI's choice


def parse_spec(by: list[str] | None, groups: list[str] | None) -> GroupSpec:
    """`--by ATTR` (at most two) and `--group NAME=EXPR` (defines a group) or `--group NAME` (print that group)."""
    by = list(dict.fromkeys(by or []))
    for attr in by:
        if attr not in ATTRIBUTES:
            raise GroupError(f"--by {attr}: not a learner attribute; expected one of {', '.join(ATTRIBUTES)}")
    if len(by) > MAX_BY:
        raise GroupError(f"--by: at most {MAX_BY} attributes are crossed, got {len(by)} ({', '.join(by)})")
    custom: list[tuple[str, str]] = []
    show: list[str] = []
    for item in groups or []:
        if "=" in item and not item.startswith(tuple(f"{a}=" for a in ATTRIBUTES)):
            name, expr = (s.strip() for s in item.split("=", 1))
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,39}", name):
                raise GroupError(
                    f"--group {item}: the name {name!r} must start with a letter and use letters, digits, _ . - "
                    "(at most 40)"
                )
            if name in (n for n, _ in custom) or name in (*GROUPS, "all", "tutors", "tutees", "community"):
                raise GroupError(f"--group {item}: the name {name} is taken; choose another")
            check_expression(expr, None, f"--group {name}")
            custom.append((name, expr))
        else:
            show.append(item.strip())
    return GroupSpec(by=tuple(by), custom=tuple(custom), show=tuple(show))


def check_expression(expr: str, columns: set[str] | None, where: str) -> None:
    """Refuse anything but an expression over columns, constants, operators and whitelisted keywords and functions.
    `columns`: the learners columns (None: names are checked later, against the first run's table)."""
    import duckdb

    if not expr.strip():
        raise GroupError(f'{where}: the expression is empty; for example --group patchy_low="access < 0.5"')
    if len(expr) > MAX_EXPRESSION:
        raise GroupError(f"{where}: the expression is {len(expr)} characters; at most {MAX_EXPRESSION}")
    try:
        tokens = duckdb.tokenize(expr)
    except Exception as exc:  # noqa: BLE001 - duckdb raises several types for bad input
        raise GroupError(f"{where}: cannot read the expression: {exc}") from None
    raw = expr.encode("utf-8")  # DuckDB's token positions are byte offsets: slicing the str would shift after é
    ends = [p for p, _ in tokens[1:]] + [len(raw)]
    for (pos, kind), end in zip(tokens, ends, strict=True):
        text = raw[pos:end].decode("utf-8", errors="replace").strip()
        nxt = raw[end:].decode("utf-8", errors="replace").lstrip()[:1]
        name = kind.name
        if name in ("string_const", "numeric_const"):
            continue
        if name == "operator":
            if ";" in text:
                raise GroupError(f"{where}: ';' is not allowed (one expression, not statements)")
            continue
        if name == "comment":
            raise GroupError(f"{where}: comments are not allowed")
        word = text.lower()
        if name == "keyword" and (word in KEYWORDS or (nxt != "(" and word in (columns or ()))):
            continue  # a column may be a keyword to DuckDB (`access`)
        if name == "keyword" and nxt == "(" and word in FUNCTIONS:
            continue  # coalesce, nullif: functions DuckDB's tokenizer calls keywords
        if name == "keyword":
            if columns is not None or word in STATEMENT_WORDS:
                raise GroupError(
                    f"{where}: {text!r} is not allowed in a group expression; use columns, constants, comparisons, "
                    f"and/or/not, in, between, like, is null, case and the functions {', '.join(sorted(FUNCTIONS))}"
                )
            continue
        ident = text[1:-1].replace('""', '"') if text.startswith('"') and text.endswith('"') else text
        if nxt == "(":
            if word not in FUNCTIONS:
                raise GroupError(
                    f"{where}: the function {text!r} is not allowed; allowed: {', '.join(sorted(FUNCTIONS))}"
                )
        elif columns is not None and ident not in columns:
            raise GroupError(f"{where}: {ident!r} is not a learners column; columns: {', '.join(sorted(columns))}")


def evaluate(expr: str, learners: pd.DataFrame, where: str) -> pd.Series:
    """The rows where `expr` is true (NULL counts as false), computed by DuckDB on a read-only in-memory table."""
    import duckdb

    check_expression(expr, set(learners.columns), where)
    table = pa.Table.from_pandas(learners.reset_index(drop=True), preserve_index=False)
    con = duckdb.connect()
    try:
        con.register("learners", table)
        for setting in ("enable_external_access = false", "lock_configuration = true"):
            con.execute(f"set {setting}")
        try:
            # the table has been checked token by token: expr names only columns and whitelisted functions
            kind = str(con.sql(f"select ({expr}) as hit from learners").types[0])
            if kind not in ("BOOLEAN", '"NULL"', "NULL"):
                raise GroupError(f"{where}: the expression gives {kind} values; expected true/false per learner")
            values = con.execute(f"select coalesce(({expr}), false) as hit from learners").fetchnumpy()["hit"]
        except duckdb.Error as exc:
            msg = str(exc).splitlines()[0]
            raise GroupError(f"{where}: the expression does not evaluate to true/false per learner: {msg}") from None
    finally:
        con.close()
    return pd.Series(np.asarray(values, dtype=bool), index=learners.index)


def levels(attr: str, values: pd.Series) -> list[str]:
    order = ATTRIBUTES[attr].order
    present = set(pd.unique(values))  # the few distinct values, not a million Python objects
    return [v for v in order if v in present] + sorted(present - set(order))


def memberships(learners: pd.DataFrame, spec: GroupSpec) -> dict[str, pd.Series]:
    """Group name -> boolean mask over `learners`. Without `--by`: all, low, medium, high (and tutors, tutees with
    tutoring); with `--by`: all, each attribute's values (`attr=value`) and, for two, every crossing (`a=x & b=y`);
    then the user-defined groups. Groups with no learners are left out (a user-defined one is checked by the caller)."""
    out: dict[str, pd.Series] = {"all": pd.Series(True, index=learners.index)}
    if not spec.by:
        out.update({g: learners["confidence_group"] == g for g in GROUPS})
        if (learners["tutoring_role"] != "none").any():
            out.update({f"{r}s": learners["tutoring_role"] == r for r in ("tutor", "tutee")})
    labels = {attr: ATTRIBUTES[attr].label(learners) for attr in spec.by}
    for attr in spec.by:
        for v in levels(attr, labels[attr]):
            out[f"{attr}={v}"] = labels[attr] == v
    if len(spec.by) == 2:
        x, y = spec.by
        for vx in levels(x, labels[x]):
            for vy in levels(y, labels[y]):
                mask = (labels[x] == vx) & (labels[y] == vy)
                if mask.any():
                    out[f"{x}={vx} & {y}={vy}"] = mask
    for name, expr in spec.custom:
        out[name] = evaluate(expr, learners, f"--group {name}")
    return out


def group_outcomes(learners: pd.DataFrame, spec: GroupSpec) -> list[dict[str, object]]:
    """`run --by/--group`: one row per group (name, size, mean of each outcome), in `memberships` order. A
    user-defined group that matches no learner is a GroupError: a split nobody is in answers nothing."""
    masks = memberships(learners, spec)
    for name, _ in spec.custom:
        if not masks[name].any():
            raise GroupError(f"--group {name}: matches no learner in this run")
    rows: list[dict[str, object]] = []
    for name, mask in masks.items():
        sub = learners[mask.to_numpy()]
        if len(sub):
            rows.append({"group": name, "learners": len(sub), **{o: float(sub[o].mean()) for o in LEARNER_OUTCOMES}})
    return rows


DEFAULT_GROUPS = ("all", *GROUPS, "tutors", "tutees")
MAX_PRINTED = 7  # groups printed one table each when none is named; the rest are in the files and the dashboard


def shown_groups(spec: GroupSpec, available: list[str] | None) -> list[str]:
    """The groups whose tables `compare` prints. A named group that cannot exist (`available` None: before the
    runs) or does not (after them) is an error, never an empty printout."""
    custom = [n for n, _ in spec.custom]
    for name in spec.show:
        if available is None:
            possible = (
                name == "all"
                or name in custom
                or (not spec.by and name in DEFAULT_GROUPS)
                or any(name.startswith(f"{attr}=") for attr in spec.by)
            )
        else:
            possible = name in available
        if not possible:
            known = [g for g in (available or ([*DEFAULT_GROUPS] if not spec.by else ["all"]) + custom)]
            known = [g for g in known if g != "community"]
            hint = f"; with --by {', '.join(spec.by)} groups are named ATTR=VALUE" if spec.by else ""
            raise GroupError(
                f"--group {name}: no such group in this comparison; groups: {', '.join(known)}{hint} "
                "(define one with --group NAME=EXPR)"
            )
    if spec.show or available is None:
        return list(spec.show)
    groups = [g for g in available if g != "community"]
    return groups if len(groups) <= MAX_PRINTED else ["all", *custom]


def short_name(group: str) -> str:
    """A `--by` group without its attribute names, for narrow tables: `access_class=x & confidence_group=low` -> `x &
    low` (the table's header names the attributes)."""
    return re.sub(r"(^|& )[a-z_]+=", r"\1", group) if "=" in group else group


SUMMARY_BY = ("confidence_group", "access_class")  # the crossing every run summary splits outcomes by


def split_outcomes(learners: pd.DataFrame, by: tuple[str, ...], outcomes: list[str]) -> list[dict[str, object]]:
    """One row per crossing of the `by` attributes that has learners: their values, the group size and the mean of
    each outcome (run summaries' `subgroups`)."""
    labels = {attr: ATTRIBUTES[attr].label(learners) for attr in by}
    # numpy rather than groupby: this runs once per run, so thousands of times in a sweep
    names = {a: levels(a, labels[a]) for a in by}
    codes = [pd.Categorical(labels[a], categories=names[a]).codes for a in by]
    dims = tuple(len(names[a]) for a in by)
    cell = np.ravel_multi_index(codes, dims) if len(learners) else np.zeros(0, dtype=np.int64)
    size = int(np.prod(dims))
    counts = np.bincount(cell, minlength=size)
    sums = {o: np.bincount(cell, weights=learners[o].to_numpy(float), minlength=size) for o in outcomes}
    rows: list[dict[str, object]] = []
    for flat in np.flatnonzero(counts):
        idx = np.unravel_index(flat, dims)
        row: dict[str, object] = {a: names[a][int(i)] for a, i in zip(by, idx, strict=True)}
        row["learners"] = int(counts[flat])
        row.update({o: float(sums[o][flat] / counts[flat]) for o in outcomes})
        rows.append(row)
    return rows
