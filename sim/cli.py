"""The `learncomm` command line: run, validate, compare, scenarios."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from learncomm import __version__
from learncomm.sim.loading import ScenarioError, load_scenario, shipped_scenarios, with_changes
from learncomm.sim.scenario import Scenario
from learncomm.sim.store import ResultsError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Simulate communities of learning: run, compare and check scenarios.")
out = Console()
err = Console(stderr=True)

SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed (default: the scenario's seed).")]
DaysOpt = Annotated[int | None, typer.Option("--days", help="Number of days to simulate (default: the scenario's).")]
LearnersOpt = Annotated[int | None, typer.Option("--learners", help="Number of learners (several communities are scaled in proportion).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override a scenario field: --set params.alpha_ask=0.3 (repeatable).")]


def fail(message: str, code: int = 2) -> None:
    """A user mistake: a clear message on stderr, no traceback, non-zero exit."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ScenarioError(f"--set {item}: expected FIELD=VALUE, for example --set params.alpha_ask=0.3")
        key, value = item.split("=", 1)
        try:
            overrides[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ScenarioError(f"--set {item}: the value is not valid YAML") from None
    return overrides


def prepare(spec: str, days: int | None, learners: int | None, sets: list[str] | None) -> Scenario:
    scenario = load_scenario(spec, parse_sets(sets))
    if days is not None or learners is not None:
        scenario = with_changes(scenario, source=f"{spec} (command line)", days=days, learners=learners)
    return scenario


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="A scenario file, or the name of a shipped scenario (see `learncomm scenarios`).")],
    seed: SeedOpt = None, days: DaysOpt = None, learners: LearnersOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Run folder to write (default: results/<scenario>-seed<N>-<time>).")] = None,
    results: Annotated[Path, typer.Option("--results", help="Where run folders go by default.")] = Path("results"),
    sets: SetOpt = None,
    decider: Annotated[str | None, typer.Option("--decider", help="Decider for every AI role: policy, openai or local (default: the scenario's).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model name for the openai/local decider.")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint for the openai decider (key from llm.api_key_env).")] = None,
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", help="Do not write the run's dashboard.html.")] = False,
) -> None:
    """Run a scenario, write its run folder, and print outcomes per confidence group."""
    from learncomm.sim.progress import day_progress
    from learncomm.sim.report import print_roles, print_summary
    from learncomm.sim.role_setup import DeciderFactory, uses_local
    from learncomm.sim.run import default_run_dir, run_scenario

    try:
        sc = prepare(scenario, days, learners, sets)
        used_seed = sc.seed if seed is None else seed
        target = out_dir or default_run_dir(results, sc, used_seed)
        if decider not in (None, "policy", "openai", "local"):
            raise ScenarioError(f"--decider {decider}: expected policy, openai or local")
        # --decider local --base-url URL: use a server already running (`learncomm llm serve`) instead of starting one
        local_url = base_url if base_url and uses_local(sc, decider) else None
        factory = DeciderFactory(override=decider, model=model, base_url=base_url, local_url=local_url)
        with day_progress(out, f"{sc.name} (seed {used_seed})", sc.days) as advance:
            result = run_scenario(sc, seed=used_seed, out=target, on_day=advance, source=scenario, deciders=factory)
    except (ScenarioError, ResultsError) as exc:
        fail(str(exc))
        return
    print_summary(out, result.summary, title=f"{sc.name}: outcomes per confidence group after {result.summary['community']['days']} days (seed {used_seed})")
    print_roles(out, result.summary.get("roles", {}))
    out.print(f"Results: [bold]{result.path}[/]  ({result.manifest['learners']} learners, {result.manifest['wall_time_s']:.2f} s)")
    if not no_dashboard:
        from learncomm.sim.cli_dashboard import write_after

        write_after(Path(result.path), index=out_dir is None)


@app.command()
def replay(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `learncomm run`.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Also write the replayed run here.")] = None,
) -> None:
    """Re-run a recorded run with no LLM (the recorded decisions) and check the results are identical."""
    from learncomm.sim.replay import replay_run

    try:
        same, detail = replay_run(run_dir, out_dir)
    except (ScenarioError, ResultsError) as exc:
        fail(str(exc))
        return
    if not same:
        fail(f"the replay differs from the recording: {detail}", code=1)
    out.print(f"[green]✓[/] replay of {run_dir} reproduces its timeseries, learners and interventions exactly ({detail})")


@app.command()
def validate(scenario: Annotated[list[str], typer.Argument(help="One or more scenario files or names.")]) -> None:
    """Check scenario files without running them."""
    bad = 0
    for spec in scenario:
        try:
            sc = load_scenario(spec)
        except ScenarioError as exc:
            err.print(f"[red]✗[/] {exc}", highlight=False)
            bad += 1
            continue
        n = sc.learners if sc.learners is not None else f"~{sum(c.members or 0 for c in sc.communities)}"
        out.print(f"[green]✓[/] {spec}: {sc.name}, {n} learners, {len(sc.topic_list)} topics, {len(sc.resolved_communities())} communities, {sc.days} days", highlight=False)
    if bad:
        raise typer.Exit(2)


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="Baseline scenario (A).")],
    b: Annotated[str, typer.Argument(help="Scenario compared with it (B).")],
    seeds: Annotated[int, typer.Option("--seeds", min=2, help="Number of paired seeds.")] = 20,
    first_seed: Annotated[int, typer.Option("--first-seed", min=0, help="Seeds are first-seed, first-seed+1, ...")] = 0,
    days: DaysOpt = None, learners: LearnersOpt = None, sets: SetOpt = None,
    group: Annotated[list[str] | None, typer.Option("--group", help="Groups to print (default: all, low, medium, high, tutors, tutees).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for comparison.parquet (default: results/compare-A-vs-B-<time>).")] = None,
    results: Annotated[Path, typer.Option("--results", help="Where comparison folders go by default.")] = Path("results"),
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", help="Do not write the comparison's dashboard.html.")] = False,
) -> None:
    """Run A and B on the same seeds (common random numbers): per outcome, B - A with a 95% interval and Cohen's d."""
    from learncomm.sim.compare import compare as run_compare
    from learncomm.sim.progress import count_progress
    from learncomm.sim.report import print_comparison, save_comparison

    try:
        sa, sb = prepare(a, days, learners, sets), prepare(b, days, learners, sets)
        seed_list = list(range(first_seed, first_seed + seeds))
        with count_progress(out, f"{sa.name} vs {sb.name}", 2 * seeds) as advance:
            result = run_compare(sa, sb, seed_list, on_run=advance)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        target = out_dir or results / f"compare-{sa.name}-vs-{sb.name}-{stamp}"
        save_comparison(result, target, {"a": a, "b": b, "days": days, "learners": learners, "sets": sets or []})
    except (ScenarioError, ResultsError) as exc:
        fail(str(exc))
        return
    print_comparison(out, result, group)
    out.print(f"Comparison table: [bold]{target}/comparison.parquet[/]")
    if not no_dashboard:
        from learncomm.sim.cli_dashboard import write_after

        write_after(Path(target), index=out_dir is None)


@app.command()
def scenarios() -> None:
    """List the shipped scenarios and the question each answers."""
    from learncomm.sim.report import scenario_question

    for name, path in sorted(shipped_scenarios().items()):
        out.print(f"[bold]{name}[/]: {scenario_question(path)}", highlight=False)


def version_callback(value: bool) -> None:
    if value:
        out.print(f"learncomm {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version.")] = False) -> None:
    """Simulate communities of learning."""


from learncomm.sim import cli_llm  # noqa: E402,F401  (registers `learncomm llm serve`)
from learncomm.sim import cli_dashboard  # noqa: E402,F401  (registers `learncomm dashboard`)


from learncomm.sim import cli_sweep  # noqa: E402,F401  (registers sweep, query, sensitivity)


def main() -> None:
    """Console entry point; Ctrl-C exits 130 without a traceback (atomic writes leave nothing half-written)."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; nothing half-written was left behind")
        sys.exit(130)
