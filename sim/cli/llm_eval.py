"""The work behind `learncomm llm eval`: build the decider, run the benchmark, write and print the report."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from learncomm.roles.evaluate import Situation, Thresholds
from learncomm.sim.cli.app import out
from learncomm.sim.cli.progress import count_progress


@dataclass(frozen=True)
class Asking:
    """Which decider the evaluation asks, and how (the command's options)."""

    decider: str  # local or openai
    model: str | None
    base_url: str | None
    api_key_env: str | None
    seed: int  # seeds the order options are shown in
    timeout: float
    prices: tuple[float, float]  # USD per million input and output tokens


def run_eval(asking: Asking, language: str, limits: Thresholds, situations: list[Situation]) -> dict[str, Any]:
    """The report; with --decider local and no --base-url, the bundled model's server runs for the evaluation."""
    from learncomm.roles.deciders import ChatDecider
    from learncomm.roles.evaluate import evaluate
    from learncomm.roles.local_server import LocalServer
    from learncomm.roles.trust import Trust
    from learncomm.sim.schema.roles import LLM, Prices

    a = asking
    cfg = LLM(cache=None, max_retries=1, timeout_s=a.timeout)
    with ExitStack() as stack:
        if a.decider == "local":
            url = a.base_url or stack.enter_context(LocalServer())
            local = cfg.model_copy(update={"model": a.model or "gemma-3-270m"})
            decider = ChatDecider(local, base_url=url, name="local", seed=a.seed)
        else:
            if a.model:
                cfg = cfg.model_copy(update={"model": a.model})
            trust = Trust.from_user((), api_key_env=a.api_key_env, base_url=a.base_url)
            decider = ChatDecider(cfg, base_url=a.base_url, trust=trust, seed=a.seed)
        prices = Prices(input=a.prices[0], output=a.prices[1])
        with count_progress(out, "llm eval", len(situations), unit="situations") as advance:
            report = evaluate(decider, situations, language, prices, limits, advance)
    report["base_url"] = a.base_url
    report["seed"] = a.seed
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
