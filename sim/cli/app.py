"""The `learncomm` Typer app and what every command shares: consoles, options, errors, scenario preparation.

Command modules (sim/cli/run.py, sweep.py, dashboard.py, llm.py) register on `app`;
sim/cli/__init__.py imports them all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape

from learncomm import __version__
from learncomm.roles.trust import Trust
from learncomm.sim.runs.claim import release_dir
from learncomm.sim.schema.loading import ScenarioError, load_scenario, read_yaml, with_changes
from learncomm.sim.schema.scenario import Scenario

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate communities of learning: run, compare and check scenarios.",
)
out = Console()
err = Console(stderr=True)

SeedOpt = Annotated[
    int | None,
    typer.Option("--seed", min=0, max=2**63 - 1, help="Random seed, 0 or more (default: the scenario's seed)."),
]
DaysOpt = Annotated[int | None, typer.Option("--days", help="Number of days to simulate (default: the scenario's).")]
LearnersOpt = Annotated[
    int | None, typer.Option("--learners", help="Number of learners (several communities are scaled in proportion).")
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override a scenario field: --set params.alpha_ask=0.3 (repeatable).")
]

# The trust options (docs/roles.md): the user's say that a scenario's key may be sent, and where the LLM cache goes.
ApiKeyEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key-env",
        help="Send the API key in this environment variable (instead of the scenario's llm.api_key_env); "
        "your say that it may be sent (docs/roles.md, trust).",
    ),
]
AllowEndpointOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-endpoint",
        help="Allow the scenario's llm.base_url URL to receive the API key (repeatable; docs/roles.md, trust).",
    ),
]
LlmCacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--llm-cache", help="LLM cache file, anywhere (default: the scenario's, which must be under --results)."
    ),
]


def user_trust(api_key_env: str | None, allow_endpoint: list[str] | None, base_url: str | None = None) -> Trust:
    """What the user allowed on the command line, with their trust file and environment (roles/trust.py)."""
    if api_key_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", api_key_env):
        raise ScenarioError(f"--api-key-env {api_key_env}: expected an environment variable name")
    return Trust.from_user(allow_endpoint or (), api_key_env=api_key_env, base_url=base_url)


class Terminated(BaseException):
    """SIGTERM: unwinds like Ctrl-C (claims released, staging folders removed, sweep workers stopped), but is not a
    KeyboardInterrupt, which Typer turns into exit 130 before `main` could tell them apart."""


TERMINATION = {"pending": False}  # set by the SIGTERM handler (sim/cli/__init__.py)


def terminating() -> bool:
    return TERMINATION["pending"]


def check_terminated() -> None:
    """Raise Terminated again if a SIGTERM's was swallowed (an exception raised while a `__del__` or a library's
    `except BaseException` runs is lost): the progress callbacks call this after every day or run."""
    if terminating():
        raise Terminated


def fail(message: str, code: int = 2) -> None:
    """A user mistake: a clear message on stderr, no traceback, non-zero exit. The message is taken literally (paths,
    SQL, model text and `[local-llm]` are never rich markup)."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


class Claimed:
    """The output folder a command has claimed (sim/runs/claim.py), to release if the command fails."""

    path: Path | None = None

    def take(self, path: Path) -> Path:
        self.path = path
        return path


@contextmanager
def released_on_error(*expected: type[Exception]) -> Iterator[Claimed]:
    """Run a command's work: on any failure its claimed folder is released (never left half-written); an
    `expected` error is a clean message and exit 2, anything else propagates (Ctrl-C, SIGTERM, a bug)."""
    claimed = Claimed()
    try:
        yield claimed
    except BaseException as exc:
        if claimed.path is not None:
            release_dir(claimed.path)
        if isinstance(exc, expected):
            fail(str(exc))
        raise


def print_warnings(warnings: list[dict[str, str]]) -> None:
    """A run's warnings (summary.json `warnings`: what was asked for and did not happen), on stderr, as text."""
    for w in warnings:
        err.print(
            f"[bold yellow]warning:[/] {escape(str(w.get('message', '')))} [dim]({escape(str(w.get('code', '')))})[/]",
            highlight=False,
            soft_wrap=True,
        )


def warn(message: str) -> None:
    """Something the user should know that is not an error (a stale claim taken over, ...); taken literally."""
    err.print(f"[yellow]note:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ScenarioError(f"--set {item}: expected FIELD=VALUE, for example --set params.alpha_ask=0.3")
        key, value = item.split("=", 1)
        try:  # the scenario files' reader: its alias, size and duplicate-key limits hold for --set too
            overrides[key.strip()] = read_yaml(value, f"--set {key.strip()}")[1]
        except yaml.YAMLError:
            raise ScenarioError(f"--set {item}: the value is not valid YAML") from None
    return overrides


def prepare(spec: str, days: int | None, learners: int | None, sets: list[str] | None) -> Scenario:
    scenario = load_scenario(spec, parse_sets(sets), overrides_from="(command line) --set")
    if days is not None or learners is not None:
        scenario = with_changes(scenario, source=f"{spec} (command line)", days=days, learners=learners)
    return scenario


def version_callback(value: bool) -> None:
    if value:
        out.print(f"learncomm {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Simulate communities of learning."""
