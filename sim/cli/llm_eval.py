"""The work behind `learncomm llm eval`: build the decider, run the benchmark, write and print the report."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.table import Table

from learncomm.roles.evaluate import Situation, Thresholds
from learncomm.sim.cli.app import out
from learncomm.sim.cli.progress import count_progress


def run_eval(
    kind: str,
    model: str | None,
    base_url: str | None,
    api_key_env: str | None,
    seed: int,
    language: str,
    limits: Thresholds,
    situations: list[Situation],
    prices: tuple[float, float],
) -> dict[str, Any]:
    """The report; with --decider local and no --base-url, the bundled model's server runs for the evaluation."""
    from learncomm.roles.deciders import ChatDecider
    from learncomm.roles.evaluate import evaluate
    from learncomm.roles.local_server import LocalServer
    from learncomm.roles.trust import Trust
    from learncomm.sim.schema.roles import LLM, Prices

    cfg = LLM(cache=None, max_retries=1)
    with ExitStack() as stack:
        if kind == "local":
            url = base_url or stack.enter_context(LocalServer())
            local = cfg.model_copy(update={"model": model or "gemma-3-270m"})
            decider = ChatDecider(local, base_url=url, name="local", seed=seed)
        else:
            if model:
                cfg = cfg.model_copy(update={"model": model})
            trust = Trust.from_user((), api_key_env=api_key_env, base_url=base_url)
            decider = ChatDecider(cfg, base_url=base_url, trust=trust, seed=seed)
        with count_progress(out, "llm eval", len(situations), unit="situations") as advance:
            report = evaluate(decider, situations, language, Prices(input=prices[0], output=prices[1]), limits, advance)
    report["base_url"] = base_url
    report["seed"] = seed
    return report


def write_eval(report: dict[str, Any], folder: Path) -> None:
    """eval.json (staged, then renamed onto the claimed folder), then its page."""
    from learncomm.sim.dashboard.eval_page import build_eval
    from learncomm.sim.runs.store import atomic_dir, write_json

    with atomic_dir(folder, claimed=True) as tmp:
        write_json(report, tmp / "eval.json")
    build_eval(folder)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def print_eval(report: dict[str, Any]) -> None:
    """Per role: what a reader needs to decide whether the model decided anything."""
    t = Table(title=f"llm eval: {report['model']} ({report['decider']}), {report['situations']} situations")
    for col in (
        "role",
        "valid",
        "agrees (clear)",
        "agrees",
        "by chance",
        "top position",
        "refusals",
        "placeholders",
        "names choice",
        "language",
        "latency s",
    ):
        t.add_column(col, justify="left" if col == "role" else "right")
    for role, f in [*report["roles"].items(), ("all", report["overall"])]:
        t.add_row(
            role,
            pct(f["valid_share"]),
            pct(f["agrees_by_kind"].get("clear")),
            pct(f["agrees_with_policy"]),
            pct(f["agreement_by_chance"]),
            pct(f["position"]["top_share"]),
            pct(f["text"]["refusal"]),
            pct(f["text"]["placeholder"]),
            pct(f["text"]["names_choice"]),
            pct(f["text"]["in_language"]),
            "-" if f["latency_mean_s"] is None else f"{f['latency_mean_s']:.2f}",
        )
    out.print(t)
    for f in report["roles"].values():
        for w in f["warnings"]:
            out.print(f"warning: {w}", markup=False, highlight=False)
    if report["failures"]:
        out.print("FAILED: " + "; ".join(report["failures"]), markup=False, highlight=False)
    else:
        out.print("passed every threshold", markup=False, highlight=False)
