"""The sweep commands of `learncomm`: sweep, query, sensitivity (registered on sim/cli/app.py's app)."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from learncomm.sim.cli.app import AllowEndpointOpt, ApiKeyEnvOpt, app, check_terminated, out, user_trust
from learncomm.sim.cli.app import fail as cli_fail
from learncomm.sim.cli.dashboard import write_after
from learncomm.sim.runs.store import ResultsError
from learncomm.sim.schema.loading import ScenarioError
from learncomm.sim.sweeps.plan import load_sweep

# The sweep machinery (pyarrow.dataset, which loads pandas), pandas, duckdb and Dask's distributed are imported by
# the commands that use them, so `learncomm --help` stays fast (and Dask stays optional).

DASK_HINT = "--scheduler needs Dask: pip install 'learncomm[dask]' (and dask-jobqueue for Slurm, see docs/sweeps.md)"
SHOWN_POINTS = 20


def fail(message: str, code: int = 2) -> None:
    """sim/cli/app.py's fail (which takes the message literally: paths, SQL and `[dask]` are not rich markup)."""
    cli_fail(message, code)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "–" if math.isnan(v) else "0" if v == 0 else f"{v:.4g}"  # never "-0"
    return "NULL" if v is None else str(v)


def _dask_executor(address: str) -> tuple[Any, Any]:
    """A Dask client and its concurrent.futures executor; a clear error when Dask is missing or unreachable."""
    try:
        from distributed import Client  # optional: the dask extra
    except ImportError:
        fail(DASK_HINT)
        raise  # unreachable: fail() exits
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        fail(f"--scheduler {address}: cannot reach the Dask scheduler: {exc}")
        raise
    return client, client.get_executor(pure=False)


def _print_points(summary: Path, parameters: list[str], outcomes: list[str]) -> None:
    import pandas as pd

    df = pd.read_parquet(summary)
    ok = df[df["status"] == "ok"]
    if ok.empty:
        return
    table = ok.groupby("point").agg(
        {**{p: "first" for p in parameters}, **{o: "mean" for o in outcomes}, "seed": "count"}
    )
    t = Table(title=f"mean outcomes per point over complete replicates ({len(table)} points)")
    heads = ["point", *parameters, *outcomes, "runs"]
    shown = [
        [str(point), *(_fmt(row[p]) for p in parameters), *(_fmt(row[o]) for o in outcomes), str(int(row["seed"]))]
        for point, row in table.head(SHOWN_POINTS).iterrows()
    ]
    widths = [max(len(h), *(len(r[i]) for r in shown)) for i, h in enumerate(heads)]
    if sum(widths) + 3 * len(widths) + 1 > out.width:  # too wide for the terminal: one line per point
        out.print(t.title, markup=False)
        for r in shown:
            values = ", ".join(f"{h}={v}" for h, v in zip(heads[1 : len(parameters) + 1], r[1:], strict=False))
            results = ", ".join(
                f"{h}={v}" for h, v in zip(heads[len(parameters) + 1 :], r[len(parameters) + 1 :], strict=True)
            )
            out.print(f"  point {r[0]}: {values} → {results}", highlight=False, soft_wrap=True, markup=False)
    else:
        for h, w in zip(heads, widths, strict=True):
            t.add_column(Text(h), justify="right", min_width=w)
        for r in shown:
            t.add_row(*(Text(v) for v in r))
        out.print(t)
    if len(table) > SHOWN_POINTS:
        out.print(
            f'… {len(table) - SHOWN_POINTS} more points: learncomm query DIR "select * from runs"', highlight=False
        )


@app.command()
def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="A sweep file (see docs/sweeps.md and scenarios/sweep-*.yaml).")],
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Local worker processes (default: all cores).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="Run on a Dask cluster: the scheduler's address (tcp://host:8786). Extra: dask."
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Sweep folder (default: results/sweeps/<sweep name>). Re-running resumes it."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="The folder holds a different design: delete its runs and start over.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and every point, print the design size, run nothing.")
    ] = False,
    api_key_env: ApiKeyEnvOpt = None,
    allow_endpoint: AllowEndpointOpt = None,
    llm_cache: Annotated[
        Path | None,
        typer.Option(
            "--llm-cache",
            help="The sweep's shared LLM cache file, anywhere (default: llm_cache or <sweep folder>/llm-cache.sqlite).",
        ),
    ] = None,
    no_dashboard: Annotated[
        bool, typer.Option("--no-dashboard", help="Do not write the sweep's dashboard.html.")
    ] = False,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Split every run's outcomes by a learner attribute into groups.parquet (repeatable; two are "
            "crossed): confidence_group, access_class, stage, cohort, community, tutoring_role, activity_level.",
        ),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group",
            help="NAME=EXPR: a group of learners by a DuckDB SQL expression over learners.parquet columns, e.g. "
            '--group patchy="access < 0.5" (repeatable; in groups.parquet).',
        ),
    ] = None,
) -> None:
    """Run a sweep: every point of the design with every replicate seed, resumably (same command again to resume)."""
    from learncomm.sim.runs.subgroups import GroupError
    from learncomm.sim.sweeps.runner import check_keys, failures, run_sweep
    from learncomm.sim.sweeps.store import SweepStoreError

    try:
        plan = load_sweep(sweep_file)
        cache = llm_cache.resolve() if llm_cache is not None else None
        spec = sweep_groups(by, group)
        plan = replace(plan, trust=user_trust(api_key_env, allow_endpoint), llm_cache=cache, groups=spec)
        check_keys(plan)  # before anything is written, also for --dry-run
    except (ScenarioError, GroupError) as exc:
        fail(str(exc))
        return
    target = out_dir or Path("results") / "sweeps" / plan.name
    if (
        plan.spec.llm_cache and llm_cache is None
    ):  # a shared sweep file may not write its cache anywhere (docs/roles.md, trust)
        cache = (plan.source.parent / plan.spec.llm_cache).resolve()
        if not any(cache.is_relative_to(root.resolve()) for root in (target, Path("results"))):
            fail(
                f"{sweep_file}: llm_cache {plan.spec.llm_cache} is {cache}, outside the sweep folder {target} and "
                "results/; a sweep file may only place its LLM cache there: move it, or drop llm_cache "
                "(default: <sweep folder>/llm-cache.sqlite)"
            )
    n_points, n_runs = len(plan.design.points), len(plan.runs())
    out.print(
        f"{plan.name}: {plan.spec.design} design, {n_points} points x {plan.spec.replicates} replicates = "
        f"{n_runs} runs of "
        f"{plan.base.name} ({', '.join(plan.parameters)}) → {target}",
        highlight=False,
        markup=False,
    )
    if dry_run:
        return
    client, executor = _dask_executor(scheduler) if scheduler else (None, None)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=out,
    )
    state: dict[str, Any] = {}

    def on_start(todo: int, skipped: int) -> None:
        if skipped:
            out.print(f"resuming: {skipped} complete runs kept, {todo} to run", highlight=False)
        if todo:
            state["task"] = progress.add_task(f"{escape(plan.name)}: runs", total=todo, failed=0)

    def on_done(res: dict[str, Any]) -> None:
        check_terminated()
        state["failed"] = state.get("failed", 0) + (res["status"] != "ok")
        progress.update(state["task"], advance=1, failed=state["failed"])

    try:
        with progress:
            report = run_sweep(
                plan,
                target,
                executor=executor,
                workers=workers,
                force=force,
                on_start=on_start,
                on_done=on_done,
            )
    except (ScenarioError, ResultsError, SweepStoreError, GroupError) as exc:
        fail(str(exc))
        return
    finally:
        if client is not None:
            client.close()
    if report.summary is not None:
        _print_points(report.summary, plan.parameters, plan.outcomes)
    if report.groups is not None:
        out.print(
            f"Subgroups{' (as the last --by/--group asked, groups.json)' if spec is None else ''}: {report.groups} "
            "(one row per run and group; learncomm query DIR "
            '"select subgroup, avg(knowledge_gain) from groups group by all")',
            highlight=False,
            markup=False,
        )
    out.print(
        f"{report.total} runs: {report.skipped} already complete, {report.done} ran now, {len(report.failed)} failed "
        f"({report.wall_s:.1f} s). Summary: [bold]{escape(str(report.summary))}[/]",
        highlight=False,
    )
    if not no_dashboard and report.done + report.skipped > 0:
        write_after(report.out, index=False)
    if report.failed:
        first = failures(report.out, limit=3)
        for path, error in first:
            out.print(f"  [red]failed[/] {escape(str(path))}: {escape(str(error))}", highlight=False)
        fail(
            f"{len(report.failed)} runs failed; each has an error.json in its run folder (status = 'failed' in "
            "summary.parquet). "
            f"Run the same command again to retry them",
            code=1,
        )


def sweep_groups(by: list[str] | None, group: list[str] | None) -> Any:
    """The sweep's `--by`/`--group` as a GroupSpec (sim/runs/subgroups.py), None without either. A `--group NAME`
    without `=EXPR` (compare's "print this group") has nothing to print in a sweep: an error."""
    from learncomm.sim.runs.subgroups import GroupError, parse_spec

    if not by and not group:
        return None
    spec = parse_spec(by, group)
    if spec.show:
        raise GroupError(
            f"--group {spec.show[0]}: a sweep defines groups, it does not pick one to print; give NAME=EXPR, "
            'e.g. --group patchy="access < 0.5"'
        )
    return spec


def sandbox(con: Any, folder: Path) -> None:
    """Lock a DuckDB connection to reading files under `folder`: no other files or URLs, no extensions loaded or
    installed, and the settings cannot be changed back (lock_configuration)."""
    root = str(folder.resolve()).rstrip("/") + "/"
    # the views name the folder as an escaped glob pattern (glob_escape), which the check compares as text
    allowed = ", ".join("'" + d.replace("'", "''") + "'" for d in dict.fromkeys((root, glob_escape(root))))
    con.execute(f"set allowed_directories = [{allowed}]")
    for setting in (
        "set autoload_known_extensions = false",
        "set autoinstall_known_extensions = false",
        "set allow_community_extensions = false",
        "set enable_external_access = false",
        "set lock_configuration = true",
    ):
        con.execute(setting)


def glob_escape(path: str) -> str:
    """`path` as a DuckDB glob pattern that matches only itself: DuckDB reads every file name as a glob (a list of
    files too), so a folder named `a[1]` matched nothing and one named `b*` matched its neighbours as well. Each of
    `[ ] * ?` becomes a one-character class ([[], []], [*], [?]), which DuckDB's glob supports."""
    return re.sub(r"([\[\]*?])", r"[\1]", path)


def _sweep_views(con: Any, sweep_dir: Path, root: Path, skip: set[Path]) -> None:
    """A sweep's summary and run tables as views, leaving out damaged run folders (`skip`)."""
    import duckdb

    def lit(p: Path | str) -> str:
        """A path as a DuckDB string literal of a glob pattern matching only that path."""
        return "'" + glob_escape(str(p)).replace("'", "''") + "'"

    try:
        con.execute(f"create view runs as select * from read_parquet({lit(root / 'summary.parquet')})")
        if (root / "groups.parquet").is_file():  # sweep --by / --group (sim/sweeps/groups.py)
            con.execute(f"create view groups as select * from read_parquet({lit(root / 'groups.parquet')})")
        for name in ("timeseries", "learners", "interventions"):
            if not skip:  # the usual case: one glob, however many runs
                if next((root / "runs").glob(f"point=*/seed=*/{name}.parquet"), None) is None:
                    continue
                source = lit(root / "runs") + f" || '/*/*/{name}.parquet'"  # the folder literal, then the glob
            else:
                files = [
                    f for f in sorted((root / "runs").glob(f"point=*/seed=*/{name}.parquet")) if f.parent not in skip
                ]
                if not files:
                    continue
                source = "[" + ", ".join(lit(f) for f in files) + "]"
            con.execute(
                f"create view {name} as select * from read_parquet({source}, hive_partitioning=true, "
                f"hive_types={{'point': BIGINT, 'seed': BIGINT}}, union_by_name=true)"
            )
    except duckdb.Error as exc:
        fail(f"{sweep_dir}: cannot read the sweep's files: {exc}")
        return


COMPARISON_TABLES = ("comparison", "per_seed", "per_learner", "trajectories")


def _comparison_views(con: Any, root: Path) -> None:
    """A comparison folder's tables as views (docs/results.md, 'The comparison folder')."""
    import duckdb

    from learncomm.sim.sweeps.store import file_intact

    for name in COMPARISON_TABLES:
        f = root / f"{name}.parquet"
        if not f.is_file():
            continue
        if not file_intact(f):
            fail(f"{f}: damaged (no readable Parquet footer); run the same learncomm compare command again")
        try:
            literal = "'" + glob_escape(str(f)).replace("'", "''") + "'"
            con.execute(f"create view {name} as select * from read_parquet({literal})")
        except duckdb.Error as exc:
            fail(f"{f}: cannot be read: {exc}")


def _read_only(con: Any, st: Any) -> bool:
    """A SELECT, or an EXPLAIN of one (not EXPLAIN ANALYZE, which runs what it explains: a COPY inside it writes)."""
    import duckdb

    if st.type == duckdb.StatementType.SELECT:
        return True
    if st.type != duckdb.StatementType.EXPLAIN:
        return False
    m = re.match(r"\s*explain\s+(.*)", st.query, re.IGNORECASE | re.DOTALL)
    if m is None or re.match(r"\(?\s*analy[sz]e\b", m.group(1), re.IGNORECASE):
        return False
    try:
        inner = con.extract_statements(m.group(1))
    except duckdb.Error:
        return False
    return len(inner) == 1 and inner[0].type == duckdb.StatementType.SELECT


@app.command()
def query(
    sweep_dir: Annotated[Path, typer.Argument(help="A sweep folder or a comparison folder.")],
    sql: Annotated[
        str,
        typer.Argument(
            help="SQL over the views runs, groups (with --by), timeseries, learners, interventions (a sweep) or "
            "comparison, per_seed, "
            "per_learner, trajectories (a comparison)."
        ),
    ],
    max_rows: Annotated[int, typer.Option("--max-rows", min=1, help="Rows to print at most.")] = 100,
    unsafe_sql: Annotated[
        bool,
        typer.Option(
            "--unsafe-sql",
            help="Lift the sandbox: let the SQL read and write any file, attach databases and load extensions.",
        ),
    ] = False,
) -> None:
    """Query a sweep with DuckDB SQL: `runs` (summary.parquet) and the run tables, hive-partitioned by point and
    seed; or a comparison folder's tables. Read-only over the folder unless --unsafe-sql (docs/sweeps.md)."""
    import duckdb

    comparison = (sweep_dir / "comparison.parquet").is_file() and not (sweep_dir / "summary.parquet").is_file()
    if not comparison and not (sweep_dir / "summary.parquet").is_file():
        fail(
            f"{sweep_dir}: not a sweep folder with results (no summary.parquet) nor a comparison folder (no "
            "comparison.parquet); run learncomm sweep or learncomm compare first"
        )
    if not sql.strip().strip(";").strip():
        fail('SQL: the query is empty; for example: learncomm query DIR "select * from runs limit 5"')
    con = duckdb.connect()
    if not unsafe_sql:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            fail(f"SQL: {exc}")
            return
        for st in statements:
            if not _read_only(con, st):
                what = (
                    "EXPLAIN ANALYZE (it runs the statement)"
                    if st.type == duckdb.StatementType.EXPLAIN
                    else st.type.name
                )
                fail(
                    f"SQL: only queries (SELECT, and EXPLAIN of a SELECT) are allowed, not {what}; query reads the "
                    "folder only (--unsafe-sql lifts this, see docs/sweeps.md)"
                )
                return

    from learncomm.sim.sweeps.store import corrupt_runs, file_intact

    if comparison:
        _comparison_views(con, sweep_dir.resolve())
    elif not file_intact(sweep_dir / "summary.parquet"):
        fail(
            f"{sweep_dir / 'summary.parquet'}: damaged (no readable Parquet footer); run the same learncomm sweep "
            "command again to rebuild it"
        )
    bad = [] if comparison else corrupt_runs(sweep_dir)
    for d in bad[:5]:
        out.print(
            f"[yellow]warning:[/] {escape(str(d))}: damaged or incomplete run folder, left out of the run tables",
            highlight=False,
        )
    if len(bad) > 5:
        out.print(f"[yellow]warning:[/] … and {len(bad) - 5} more damaged run folders left out", highlight=False)
    if bad:
        out.print("  (run the same learncomm sweep command again to redo them)", highlight=False)
    skip = {d.resolve() for d in bad}
    root = sweep_dir.resolve()  # the sandbox allows this folder by its absolute path
    if not comparison:
        _sweep_views(con, sweep_dir, root, skip)
    if not unsafe_sql:
        sandbox(con, sweep_dir)
    try:
        cur = con.execute(sql)
        if cur.description is None:  # a statement with no result
            out.print("ok")
            return
        columns, rows = [d[0] for d in cur.description], cur.fetchmany(max_rows + 1)
    except duckdb.Error as exc:
        fail(f"SQL: {exc}")
        return
    t = Table()
    for c in columns:  # Text: column names and values are data, never rich markup
        t.add_column(Text(c), justify="right", overflow="fold")
    for r in rows[:max_rows]:
        t.add_row(*(Text(_fmt(v)) for v in r))
    out.print(t)
    if len(rows) > max_rows:
        out.print(f"(first {max_rows} rows shown; --max-rows to change)")


@app.command()
def sensitivity(
    sweep_dir: Annotated[Path, typer.Argument(help="A finished sobol or morris sweep folder.")],
    outcome: Annotated[
        list[str] | None,
        typer.Option("--outcome", help="Outcome to analyse (repeatable; default: the sweep's outcomes)."),
    ] = None,
) -> None:
    """Sobol (S1, ST) or Morris (mu*, sigma) indices of each outcome to each parameter; saved as sensitivity.json."""
    from learncomm.sim.sweeps.sensitivity import analyse

    try:
        res = analyse(sweep_dir, outcome)
    except ScenarioError as exc:
        fail(str(exc))
        return
    sobol = res["method"] == "sobol"
    keys = ("S1", "S1_conf", "ST", "ST_conf") if sobol else ("mu_star", "mu_star_conf", "sigma", "mu")
    heads = ("S1", "± (95%)", "ST", "± (95%)") if sobol else ("mu*", "± (95%)", "sigma", "mu")
    rank = "ST" if sobol else "mu_star"
    notes = res.get("warnings") or {}
    for name, per in res["outcomes"].items():
        if name in (res.get("does_not_vary") or []):  # no variance, no indices: never print them as 0 ± 0
            out.print(Text(notes[name]["text"]), highlight=False)
            continue
        t = Table(
            title=f"{escape(name)}: {res['method']} indices ({res['points']} points, {res['runs']} runs; replicates "
            "averaged per point)"
        )
        t.add_column("parameter")
        for h in heads:
            t.add_column(h, justify="right")
        for param, v in sorted(per.items(), key=lambda kv: -(kv[1][rank] if kv[1][rank] is not None else -math.inf)):
            t.add_row(Text(param), *(_fmt(float("nan") if v[k] is None else v[k]) for k in keys))
        out.print(t)
        if name in notes:
            out.print(Text.assemble(("warning: ", "yellow"), notes[name]["text"]), highlight=False)
    out.print(f"Saved: [bold]{escape(str(sweep_dir / 'sensitivity.json'))}[/]")
