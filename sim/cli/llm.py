"""`learncomm llm serve`: keep one local model server running for many runs.

Starting llama.cpp's server takes a few seconds per run; a user who runs many
scenarios (or a sweep) starts it once and passes its URL with `--base-url`.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from learncomm.roles.deciders import DeciderError
from learncomm.roles.evaluate import Thresholds
from learncomm.roles.local_server import LocalModelError, LocalServer
from learncomm.roles.trust import TrustError
from learncomm.sim.cli.app import app, fail, out, released_on_error
from learncomm.sim.cli.llm_eval import Asking, print_eval, run_eval, write_eval
from learncomm.sim.schema.loading import ScenarioError

llm_app = typer.Typer(
    no_args_is_help=True, help="Language models: serve the local one for many runs; evaluate a decider."
)
app.add_typer(llm_app, name="llm")


@llm_app.command()
def serve(
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Loopback port (default: a free one).")
    ] = None,
    log: Annotated[Path | None, typer.Option("--log", help="Append the server's output to this file.")] = None,
    startup_timeout: Annotated[
        float, typer.Option("--startup-timeout", min=1.0, help="Seconds to wait until the server is healthy.")
    ] = 120.0,
) -> None:
    """Start the bundled Gemma 3 270M on loopback and keep it running until Ctrl-C.

    Then: learncomm run community-roles --decider local --base-url URL
    """
    try:
        server = LocalServer(port=port, startup_timeout_s=startup_timeout, log=log)
        url = server.start()
    except LocalModelError as exc:
        fail(str(exc))
        return
    out.print(f"local model serving at [bold]{escape(url)}[/] (Ctrl-C or SIGTERM to stop)")
    out.print(
        f"use it with: learncomm run community-roles --decider local --base-url {url}", highlight=False, markup=False
    )

    def stop(signum: int, frame: object) -> None:
        raise _Stop(signal.Signals(signum).name)

    # our own handlers: a process started in the background by a non-interactive shell ignores SIGINT otherwise
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    try:
        while server.proc is not None and server.proc.poll() is None:
            time.sleep(0.5)
        fail(
            f"the local model server stopped by itself (exit code {server.proc.returncode if server.proc else '?'})",
            code=1,
        )
    except _Stop as why:
        out.print(f"{escape(str(why))}: stopping the local model server")
    finally:
        server.stop()


class _Stop(Exception):
    """SIGINT or SIGTERM asked `serve` to stop."""


@llm_app.command("eval")
def eval_(
    decider: Annotated[str, typer.Option("--decider", help="local (the bundled model) or openai.")] = "local",
    model: Annotated[
        str | None, typer.Option("--model", help="Model name (default: gemma-3-270m / llm.model).")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="OpenAI-compatible endpoint (with --decider local: a running `llm serve`)."),
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option("--api-key-env", help="Send the API key in this environment variable (docs/roles.md).")
    ] = None,
    roles: Annotated[
        str | None, typer.Option("--roles", help="Only these roles, comma-separated (default: all six).")
    ] = None,
    per_role: Annotated[
        int | None, typer.Option("--per-role", min=1, help="Only the first N situations of each role.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seeds the order options are shown in.")] = 0,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, max=600.0, help="Seconds per model call (llm.timeout_s).")
    ] = 60.0,
    language: Annotated[str, typer.Option("--language", help="Language the messages should be in (ISO 639-1).")] = "en",
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for eval.json and dashboard.html.")] = None,
    results: Annotated[Path, typer.Option("--results", help="Where the default folder goes.")] = Path("results"),
    min_valid: Annotated[float, typer.Option("--min-valid", min=0, max=1)] = Thresholds.min_valid,
    max_refusal: Annotated[float, typer.Option("--max-refusal", min=0, max=1)] = Thresholds.max_refusal,
    max_placeholder: Annotated[float, typer.Option("--max-placeholder", min=0, max=1)] = Thresholds.max_placeholder,
    min_names_choice: Annotated[float, typer.Option("--min-names-choice", min=0, max=1)] = Thresholds.min_names_choice,
    min_in_language: Annotated[float, typer.Option("--min-in-language", min=0, max=1)] = Thresholds.min_in_language,
    max_position_share: Annotated[
        float, typer.Option("--max-position-share", min=0, max=1)
    ] = Thresholds.max_position_share,
    price_input: Annotated[float, typer.Option("--price-input", min=0, help="USD per million input tokens.")] = 0.0,
    price_output: Annotated[float, typer.Option("--price-output", min=0, help="USD per million output tokens.")] = 0.0,
) -> None:
    """Put a language-model decider through the shipped benchmark of role situations and judge what it decides.

    Exit 0 when every threshold holds, 1 when one does not, 2 on bad input. Writes eval.json and a dashboard page.
    """
    from learncomm.roles.evaluate import EvalError, load_situations
    from learncomm.sim.runs.claim import ResultsError, claim_dir, stamped_dir

    if decider not in ("local", "openai"):
        fail(f"--decider {decider}: expected local or openai")
        return
    if not re.fullmatch(r"[a-z]{2}", language):
        fail(f"--language {language}: expected a two-letter ISO 639-1 code such as en, de, fr")
        return
    limits = Thresholds(min_valid, max_refusal, max_placeholder, min_names_choice, min_in_language, max_position_share)
    with released_on_error(
        EvalError, ResultsError, ScenarioError, TrustError, DeciderError, LocalModelError
    ) as claimed:
        wanted = [r.strip() for r in roles.split(",") if r.strip()] if roles else None
        situations = load_situations(roles=wanted, per_role=per_role)
        label = re.sub(r"[^A-Za-z0-9_.-]+", "-", model or decider)[:60]
        target = claimed.take(claim_dir(out_dir) if out_dir else stamped_dir(results, f"llm-eval-{label}", claim=True))
        asking = Asking(decider, model, base_url, api_key_env, seed, timeout, (price_input, price_output))
        report = run_eval(asking, language, limits, situations)
        write_eval(report, target)
    print_eval(report)
    out.print(f"Report: [bold]{escape(str(target))}[/] (eval.json, dashboard.html)")
    if not report["passed"]:
        raise typer.Exit(1)
