"""`learncomm run`, `replay`, `validate`, `compare` and `scenarios`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from learncomm.roles.setup import DeciderFactory, uses_local
from learncomm.roles.trust import Trust
from learncomm.sim.cli.app import DaysOpt, LearnersOpt, SeedOpt, SetOpt, app, err, fail, out, prepare
from learncomm.sim.cli.dashboard import write_after
from learncomm.sim.cli.progress import count_progress, day_progress
from learncomm.sim.cli.tables import print_comparison, print_roles, print_summary
from learncomm.sim.runs.store import ResultsError, claim_dir, release_dir, stamped_dir
from learncomm.sim.schema.loading import ScenarioError, load_scenario, scenario_question, shipped_scenarios
from learncomm.sim.schema.wording import plural

# The commands import the engine (numpy, pandas, mesa, pyarrow) when they run, so `learncomm --help` stays fast.


@app.command()
def run(
    scenario: Annotated[
        str, typer.Argument(help="A scenario file, or the name of a shipped scenario (see `learncomm scenarios`).")
    ],
    seed: SeedOpt = None,
    days: DaysOpt = None,
    learners: LearnersOpt = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run folder to write (default: results/<scenario>-seed<N>-<time>).")
    ] = None,
    results: Annotated[Path, typer.Option("--results", help="Where run folders go by default.")] = Path("results"),
    sets: SetOpt = None,
    decider: Annotated[
        str | None,
        typer.Option("--decider", help="Decider for every AI role: policy, openai or local (default: the scenario's)."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model name for the openai/local decider.")] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", help="OpenAI-compatible endpoint for the openai decider (key from llm.api_key_env)."
        ),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            help="Send the API key in this environment variable (instead of the scenario's llm.api_key_env); "
            "your say that it may be sent (docs/roles.md, trust).",
        ),
    ] = None,
    allow_endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-endpoint",
            help="Allow the scenario's llm.base_url URL to receive the API key (repeatable; docs/roles.md, trust).",
        ),
    ] = None,
    llm_cache: Annotated[
        Path | None,
        typer.Option("--llm-cache", help="LLM cache file (default: the scenario's, which must be under --results)."),
    ] = None,
    no_dashboard: Annotated[
        bool, typer.Option("--no-dashboard", help="Do not write the run's dashboard.html.")
    ] = False,
) -> None:
    """Run a scenario, write its run folder, and print outcomes per confidence group."""
    from learncomm.sim.runs.run import default_run_dir, run_scenario  # the engine: loaded when a run starts

    claimed: Path | None = None
    try:
        sc = prepare(scenario, days, learners, sets)
        used_seed = sc.seed if seed is None else seed
        if decider not in (None, "policy", "openai", "local"):
            raise ScenarioError(f"--decider {decider}: expected policy, openai or local")
        # the folder is claimed before the run: a taken or unwritable --out fails now, not after the simulation
        target = claimed = claim_dir(out_dir) if out_dir else default_run_dir(results, sc, used_seed, claim=True)
        # --decider local --base-url URL: use a server already running (`learncomm llm serve`) instead of starting one
        local_url = base_url if base_url and uses_local(sc, decider) else None
        if api_key_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", api_key_env):
            raise ScenarioError(f"--api-key-env {api_key_env}: expected an environment variable name")
        trust = Trust.from_user(allow_endpoint or (), api_key_env=api_key_env, base_url=base_url)
        factory = DeciderFactory(
            override=decider,
            model=model,
            base_url=base_url,
            local_url=local_url,
            trust=trust,
            cache_root=results,
            cache=str(llm_cache) if llm_cache is not None else None,
        )
        with day_progress(out, f"{escape(sc.name)} (seed {used_seed})", sc.days) as advance:
            result = run_scenario(
                sc, seed=used_seed, out=target, on_day=advance, source=scenario, deciders=factory, claimed=True
            )
    except (ScenarioError, ResultsError) as exc:
        if claimed is not None:
            release_dir(claimed)
        fail(str(exc))
        return
    except BaseException:
        if claimed is not None:
            release_dir(claimed)
        raise
    print_summary(
        out,
        result.summary,
        title=f"{escape(sc.name)}: outcomes per confidence group after "
        f"{plural(result.summary['community']['days'], 'day')} (seed {used_seed})",
    )
    print_roles(out, result.summary.get("roles", {}))
    out.print(
        f"Results: [bold]{escape(str(target))}[/]  "
        f"({result.manifest['learners']} learners, {result.manifest['wall_time_s']:.2f} s)"
    )
    if not no_dashboard:
        write_after(target, index=out_dir is None)


@app.command()
def replay(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `learncomm run`.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Also write the replayed run here.")] = None,
) -> None:
    """Re-run a recorded run with no LLM (the recorded decisions) and check the results are identical."""
    from learncomm.sim.runs.replay import replay_run  # the engine: loaded when a replay starts

    try:
        same, detail = replay_run(run_dir, out_dir)
    except (ScenarioError, ResultsError) as exc:
        fail(str(exc))
        return
    if not same:
        fail(f"the replay differs from the recording: {detail}", code=1)
    out.print(
        f"[green]✓[/] replay of {escape(str(run_dir))} reproduces its timeseries, learners and interventions "
        f"exactly ({escape(detail)})"
    )


@app.command()
def validate(scenario: Annotated[list[str], typer.Argument(help="One or more scenario files or names.")]) -> None:
    """Check scenario files without running them."""
    bad = 0
    for spec in scenario:
        try:
            sc = load_scenario(spec)
        except ScenarioError as exc:
            err.print(f"[red]✗[/] {escape(str(exc))}", highlight=False)
            bad += 1
            continue
        n = sc.learners if sc.learners is not None else f"~{sum(c.members or 0 for c in sc.communities)}"
        out.print(
            f"[green]✓[/] {escape(spec)}: {escape(sc.name)}, {n} learners, {len(sc.topic_list)} topics, "
            f"{len(sc.resolved_communities())} communities, {sc.days} days",
            highlight=False,
        )
    if bad:
        raise typer.Exit(2)


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="Baseline scenario (A).")],
    b: Annotated[str, typer.Argument(help="Scenario compared with it (B).")],
    seeds: Annotated[int, typer.Option("--seeds", min=2, help="Number of paired seeds.")] = 20,
    first_seed: Annotated[int, typer.Option("--first-seed", min=0, help="Seeds are first-seed, first-seed+1, ...")] = 0,
    days: DaysOpt = None,
    learners: LearnersOpt = None,
    sets: SetOpt = None,
    group: Annotated[
        list[str] | None,
        typer.Option("--group", help="Groups to print (default: all, low, medium, high, tutors, tutees)."),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for comparison.parquet (default: results/compare-A-vs-B-<time>)."),
    ] = None,
    results: Annotated[Path, typer.Option("--results", help="Where comparison folders go by default.")] = Path(
        "results"
    ),
    no_dashboard: Annotated[
        bool, typer.Option("--no-dashboard", help="Do not write the comparison's dashboard.html.")
    ] = False,
) -> None:
    """Run A and B on the same seeds (common random numbers): per outcome, B - A with a 95% interval and Cohen's d."""
    from learncomm.sim.runs.compare import compare as run_compare  # the engine: loaded when runs start
    from learncomm.sim.runs.compare import save_comparison

    claimed: Path | None = None
    try:
        sa, sb = prepare(a, days, learners, sets), prepare(b, days, learners, sets)
        seed_list = list(range(first_seed, first_seed + seeds))
        # claimed before the runs: a taken or unwritable --out fails now, not after them
        target = claimed = (
            claim_dir(out_dir) if out_dir else stamped_dir(results, f"compare-{sa.name}-vs-{sb.name}", claim=True)
        )
        with count_progress(out, f"{escape(sa.name)} vs {escape(sb.name)}", 2 * seeds) as advance:
            result = run_compare(sa, sb, seed_list, on_run=advance)
        request = {"a": a, "b": b, "days": days, "learners": learners, "sets": sets or []}
        save_comparison(result, target, request, claimed=True)
    except (ScenarioError, ResultsError) as exc:
        if claimed is not None:
            release_dir(claimed)
        fail(str(exc))
        return
    except BaseException:
        if claimed is not None:
            release_dir(claimed)
        raise
    print_comparison(out, result, group)
    out.print(f"Comparison table: [bold]{escape(str(target))}/comparison.parquet[/]")
    if not no_dashboard:
        write_after(Path(target), index=out_dir is None)


@app.command()
def scenarios() -> None:
    """List the shipped scenarios and the question each answers."""
    for name, path in sorted(shipped_scenarios().items()):
        out.print(f"[bold]{escape(name)}[/]: {escape(scenario_question(path))}", highlight=False)
