"""`learncomm run`, `replay`, `validate`, `compare` and `scenarios`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from learncomm.roles.setup import DeciderFactory, check_deciders, uses_local
from learncomm.sim.cli.app import (
    AllowEndpointOpt,
    ApiKeyEnvOpt,
    DaysOpt,
    LearnersOpt,
    LlmCacheOpt,
    SeedOpt,
    SetOpt,
    app,
    err,
    fail,
    out,
    prepare,
    print_warnings,
    released_on_error,
    user_trust,
    warn,
)
from learncomm.sim.cli.dashboard import write_after
from learncomm.sim.cli.progress import count_progress, day_progress
from learncomm.sim.cli.tables import (
    print_comparison,
    print_group_outcomes,
    print_left_behind,
    print_llm_quality,
    print_roles,
    print_summary,
)
from learncomm.sim.runs.claim import ResultsError, claim_dir, stamped_dir
from learncomm.sim.schema.loading import ScenarioError, load_scenario, scenario_question, shipped_scenarios
from learncomm.sim.schema.vocab import LEARNER_OUTCOMES
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
    api_key_env: ApiKeyEnvOpt = None,
    allow_endpoint: AllowEndpointOpt = None,
    llm_cache: LlmCacheOpt = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Also report outcomes per value of a learner attribute (repeatable; two are crossed): "
            "confidence_group, access_class, stage, cohort, community, tutoring_role, activity_level.",
        ),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group",
            help="NAME=EXPR: also report a group of learners given by a DuckDB SQL expression over learners.parquet "
            'columns, e.g. --group patchy="access < 0.5" (repeatable).',
        ),
    ] = None,
    no_dashboard: Annotated[
        bool, typer.Option("--no-dashboard", help="Do not write the run's dashboard.html.")
    ] = False,
) -> None:
    """Run a scenario, write its run folder, and print outcomes per confidence group (and per --by/--group)."""
    from learncomm.sim.runs.run import default_run_dir, run_scenario  # the engine: loaded when a run starts
    from learncomm.sim.runs.subgroups import GroupError, parse_spec

    with released_on_error(ScenarioError, ResultsError, GroupError) as claimed:
        spec = parse_spec(by, group)
        if spec.show:
            raise GroupError(f"--group {spec.show[0]}: give a definition, NAME=EXPR (run prints every group)")
        sc = prepare(scenario, days, learners, sets)
        used_seed = sc.seed if seed is None else seed
        if decider not in (None, "policy", "openai", "local"):
            raise ScenarioError(f"--decider {decider}: expected policy, openai or local")
        # the folder is claimed before the run: a taken or unwritable --out fails now, not after the simulation
        target = claimed.take(
            claim_dir(out_dir, on_stale=warn) if out_dir else default_run_dir(results, sc, used_seed, claim=True)
        )
        # --decider local --base-url URL: use a server already running (`learncomm llm serve`) instead of starting one
        local_url = base_url if base_url and uses_local(sc, decider) else None
        trust = user_trust(api_key_env, allow_endpoint, base_url)
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
                sc,
                seed=used_seed,
                out=target,
                on_day=advance,
                source=scenario,
                deciders=factory,
                claimed=True,
                groups=spec,
            )
    print_summary(
        out,
        result.summary,
        title=f"{escape(sc.name)}: outcomes per confidence group after "
        f"{plural(result.summary['community']['days'], 'day')} (seed {used_seed})",
    )
    print_group_outcomes(out, result.summary["subgroups"].get("requested", []))
    print_roles(out, result.summary.get("roles", {}))
    print_llm_quality(out, result.summary.get("llm_quality", {}))
    print_warnings(result.summary.get("warnings", []))
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

    with released_on_error(ScenarioError, ResultsError) as claimed:
        if out_dir:
            claimed.take(claim_dir(out_dir, on_stale=warn))  # as `run` claims its folder
        same, detail = replay_run(run_dir, out_dir, claimed=claimed.path is not None)
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
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Split by a learner attribute (repeatable; two are crossed): confidence_group, access_class, stage, "
            "cohort, community, tutoring_role, activity_level.",
        ),
    ] = None,
    set_a: Annotated[
        list[str] | None,
        typer.Option("--set-a", help="Override a field of A only, after --set: --set-a params.alpha_ask=0.3."),
    ] = None,
    set_b: Annotated[
        list[str] | None,
        typer.Option("--set-b", help="Override a field of B only, after --set: --set-b roles.ideator={}."),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group",
            help="NAME=EXPR: a group of learners by a DuckDB SQL expression over learners.parquet columns, e.g. "
            '--group patchy="access < 0.5"; NAME alone: print only that group (repeatable).',
        ),
    ] = None,
    outcome: Annotated[
        str, typer.Option("--outcome", help="The outcome of the 'whom does it leave behind' table.")
    ] = "knowledge_gain",
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for comparison.parquet (default: results/compare-A-vs-B-<time>)."),
    ] = None,
    results: Annotated[Path, typer.Option("--results", help="Where comparison folders go by default.")] = Path(
        "results"
    ),
    api_key_env: ApiKeyEnvOpt = None,
    allow_endpoint: AllowEndpointOpt = None,
    llm_cache: LlmCacheOpt = None,
    no_dashboard: Annotated[
        bool, typer.Option("--no-dashboard", help="Do not write the comparison's dashboard.html.")
    ] = False,
) -> None:
    """Run A and B on the same seeds (common random numbers): per outcome and group, B - A with a 95% interval and
    Cohen's d, and learner by learner the shares better off, worse off and unchanged."""
    from learncomm.sim.runs.compare import compare as run_compare  # the engine: loaded when runs start
    from learncomm.sim.runs.compare import save_comparison
    from learncomm.sim.runs.subgroups import GroupError, parse_spec, shown_groups

    with released_on_error(ScenarioError, ResultsError, GroupError) as claimed:
        spec = parse_spec(by, group)
        if outcome not in LEARNER_OUTCOMES:
            raise GroupError(f"--outcome {outcome}: expected one of {', '.join(LEARNER_OUTCOMES)}")
        both, only_a, only_b = sets or [], set_a or [], set_b or []
        sa, sb = prepare(a, days, learners, [*both, *only_a]), prepare(b, days, learners, [*both, *only_b])
        shown_groups(spec, None)  # a group to print that cannot exist fails before the runs
        seed_list = list(range(first_seed, first_seed + seeds))
        factory = DeciderFactory(
            trust=user_trust(api_key_env, allow_endpoint),
            cache_root=results,
            cache=str(llm_cache) if llm_cache is not None else None,
        )
        check_deciders([sa, sb], factory, where=f"{a} / {b}")  # a refused key: one error now, nothing written
        # claimed before the runs: a taken or unwritable --out fails now, not after them
        target = claimed.take(
            claim_dir(out_dir, on_stale=warn)
            if out_dir
            else stamped_dir(results, f"compare-{sa.name}-vs-{sb.name}", claim=True)
        )
        for side, name, changes in (("A", a, [*both, *only_a]), ("B", b, [*both, *only_b])):
            if changes:
                out.print(f"{side}: {escape(name)} with {escape(' '.join(changes))}", highlight=False)
        with count_progress(out, f"{escape(sa.name)} vs {escape(sb.name)}", 2 * seeds) as advance:
            result = run_compare(sa, sb, seed_list, on_run=advance, deciders=factory.fresh, spec=spec)
        show = shown_groups(spec, list(dict.fromkeys(result.table["group"])))
        # the overrides as given, for the manifest and the comparison page: --set (both), --set-a, --set-b
        request = {
            "a": a,
            "b": b,
            "days": days,
            "learners": learners,
            "sets": both,
            "sets_a": only_a,
            "sets_b": only_b,
            "by": by or [],
            "group": group or [],
        }
        save_comparison(result, target, request, claimed=True)
    print_comparison(out, result, show)
    print_left_behind(out, result, outcome)
    print_warnings(side_warnings(result.warnings, {"A": sa.name, "B": sb.name}, seeds))
    out.print(
        f"Comparison tables: [bold]{escape(str(target))}[/] (comparison.parquet, per_seed.parquet, "
        "per_learner.parquet, trajectories.parquet)"
    )
    if not no_dashboard:
        write_after(Path(target), index=out_dir is None)


def side_warnings(warnings: dict[str, list[dict[str, Any]]], names: dict[str, str], seeds: int) -> list[dict[str, str]]:
    """A comparison's run warnings per side (manifest `warnings`) as messages naming the side and its seeds."""
    return [
        {"code": str(w["code"]), "message": f"{side} ({names[side]}), {w['seeds']} of {seeds} seeds: {w['message']}"}
        for side in ("A", "B")
        for w in warnings.get(side, [])
    ]


@app.command()
def scenarios() -> None:
    """List the shipped scenarios and the question each answers."""
    for name, path in sorted(shipped_scenarios().items()):
        out.print(f"[bold]{escape(name)}[/]: {escape(scenario_question(path))}", highlight=False)
