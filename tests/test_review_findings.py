"""Review of the cdb84d9..d8a8571 merges: each test shows one defect (they fail on d8a8571)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from typer.testing import CliRunner

from learncomm.roles.deciders import ChatDecider
from learncomm.roles.quality import run_quality
from learncomm.roles.setup import DeciderFactory
from learncomm.sim.cli import app
from learncomm.sim.engine.model import CommunityModel
from learncomm.sim.runs.replay import replay_run
from learncomm.sim.runs.run import run_scenario
from learncomm.sim.runs.subgroups import GroupError, evaluate
from learncomm.sim.schema.loading import load_scenario, parse_scenario, with_changes
from learncomm.sim.schema.roles import LLM


# ------------------------------------------------------------ replay of a run recorded before shown_order
def test_replay_reads_a_run_recorded_before_the_shown_order_columns(tmp_path: Path) -> None:
    """roles/record.py: 'Runs recorded before these columns read as ""/-1' -- but replay_run refuses them."""
    sc = with_changes(load_scenario("community-roles"), source="t", days=12)
    run_scenario(sc, seed=1, out=tmp_path / "run")
    t = pq.read_table(tmp_path / "run" / "interventions.parquet")
    assert t.num_rows > 0
    pq.write_table(t.drop(["shown_order", "shown_position"]), tmp_path / "run" / "interventions.parquet")
    same, what = replay_run(tmp_path / "run")
    assert same, what


# ------------------------------------------------------------ --group expressions
def _learners() -> pd.DataFrame:
    return pd.DataFrame({"access": [0.2, 0.8], "stage": ["a", "b"], "answers": [1, 2], "activity": [0.1, 0.2],
                         "study": [1, 2], "meet": [0, 1], "ask": [1, 1], "knowledge_gain": [0.1, 0.2],
                         "confidence_final": [0.3, 0.4]})  # fmt: skip


def _smuggle(attack: str) -> str:
    """check_expression slices the str with duckdb.tokenize's positions, which are UTF-8 byte offsets: 2-byte
    characters in a leading string constant shift every checked slice into a trailing string we fill with a benign
    mirror of the real tokens."""
    cols = ["ask", "meet", "study", "access", "answers", "activity", "knowledge_gain", "confidence_final"]
    m = f" = stage or ({attack}) or stage = "
    toks = duckdb.tokenize(m)
    ends = [p for p, _ in toks[1:]] + [len(m)]
    mirror = [" " * toks[0][0]]
    for (p, k), e in zip(toks, ends, strict=True):
        t = {"keyword": "or", "operator": "-"}.get(k.name, "")
        if k.name == "identifier":
            t = max((c for c in cols if len(c) <= e - p), key=len)
        mirror.append(t.ljust(e - p)[: e - p])
    return "'" + "é" * (len(m) + 1) + "'" + m + "'" + "".join(mirror) + "'"


@pytest.mark.parametrize(
    "attack",
    ["select count(*) > 0 from duckdb_settings()", "select current_setting('threads') = '0'"],
)
def test_a_group_expression_cannot_smuggle_a_subquery_past_the_token_check(attack: str) -> None:
    with pytest.raises(GroupError):
        evaluate(_smuggle(attack), _learners(), "--group x")


@pytest.mark.parametrize("expr", ["coalesce(access, 0) > 0.5", "nullif(access, 0) > 0.5"])
def test_whitelisted_functions_coalesce_and_nullif_are_usable(expr: str) -> None:
    """FUNCTIONS lists them, but DuckDB's tokenizer calls them keywords, and keywords not in KEYWORDS are refused."""
    assert evaluate(expr, _learners(), "--group x").tolist() == [False, True]


# ------------------------------------------------------------ query's sandbox
def test_query_cannot_write_into_the_folder_with_explain_analyze(tmp_path: Path) -> None:
    import pyarrow as pa

    folder = tmp_path / "cmp"
    folder.mkdir()
    pq.write_table(pa.table({"a": [1, 2]}), folder / "comparison.parquet")
    target = folder / "comparison.parquet"
    CliRunner().invoke(
        app, ["query", str(folder), f"explain analyze copy (select 'pwned' as x) to '{target}' (format parquet)"]
    )
    assert pq.read_table(target).column_names == ["a"], "the 'read-only' query overwrote comparison.parquet"


# ------------------------------------------------------------ llm_quality
def test_decisions_with_a_single_option_are_not_a_position_bias() -> None:
    """The ideator offers one option when one topic is ready (prerequisites); the model can only take it."""
    rows = [
        {"role": "ideator", "decider": "openai", "shown_order": "0", "shown_position": 0, "choice": 0,
         "fallback": False, "text": "Next: glazes on Monday.", "decision": json.dumps({"topic": 1}), "day": d}
        for d in range(8)
    ]  # fmt: skip
    q = run_quality(rows, ["kiln", "glazes"], "en")
    assert q["ideator"]["warnings"] == [], q["ideator"]["warnings"]


class ToolFake(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kw: Any) -> Any:
        return self

    def _get_llm_string(self, stop: Any = None, **kw: Any) -> str:
        return "tool-fake"


def test_an_empty_model_message_is_counted_as_empty_in_a_run() -> None:
    """roles/graph.py keeps the policy's text when the model's is empty; run_quality then judges the policy's text."""
    msg = AIMessage(content="", tool_calls=[{"name": "Choice", "args": {"choice": 0, "message": ""}, "id": "c1"}])
    decider = ChatDecider(LLM(cache=None, max_retries=0), chat=ToolFake(messages=iter([msg] * 50)))
    factory = DeciderFactory(override="openai")
    factory.built["openai"] = decider
    head = "name: t\nlearners: 60\ndays: 20\nseed: 2\nllm: {cache: null}\narrivals: {founders: 1.0}\n"
    model = CommunityModel(parse_scenario(head + "roles:\n  ideator: {cadence: 2}\n"), seed=3, deciders=factory)
    while model.running:
        model.step()
    q = run_quality(model.interventions, model.world.topic_names, "en")["ideator"]
    assert q["valid"] > 0
    assert q["text"]["empty"] == 1.0, q["text"]


# ------------------------------------------------------------ eval page
def test_eval_page_plotly_labels_are_escaped(tmp_path: Path) -> None:
    from learncomm.sim.dashboard.eval_page import build_eval

    role = '<a href="https://evil.example">x</a>'
    f = {"decisions": 1, "asked": 1, "valid": 1, "fallbacks": 0, "valid_share": 1.0, "agrees_with_policy": 1.0,
         "agreement_by_chance": 0.5, "position": {"answers": 1, "by_position": [1, 0], "expected": [0.5, 0.5],
         "top_share": 1.0, "p_value": 0.3}, "text": dict.fromkeys(
         ["empty", "placeholder", "refusal", "within_length", "names_choice", "in_language"]),
         "agrees_by_kind": {}, "latency_mean_s": 0.1, "input_tokens": 1, "output_tokens": 1,
         "warnings": []}  # fmt: skip
    (tmp_path / "eval.json").write_text(json.dumps({"model": "m", "decider": "local", "roles": {role: f},
                                                    "overall": f, "items": [], "failures": []}))  # fmt: skip
    html = build_eval(tmp_path).read_text()
    assert not re.search(r"\\u003ca href", html), "a role name reaches a Plotly label as markup"


# ------------------------------------------------------------ calibrate: a resume with a larger --budget
def test_a_resume_with_a_larger_budget_runs_that_many_trials(tmp_path: Path) -> None:
    """The identity leaves the budget out so a folder can be resumed with more trials; but a last batch planned
    short (budget 3, batch 2: batches [0, 1], [2]) stays short, so --budget 6 finishes 5 trials."""
    from learncomm.sim.calibrate.plan import Options, make_setup
    from learncomm.sim.calibrate.search import read_records, run_calibration

    log = tmp_path / "log.csv"
    log.write_text("user,time\n" + "\n".join(f"m{i % 7},{i * 40_000}" for i in range(60)) + "\n")
    base = tmp_path / "tiny.yaml"
    base.write_text("name: tiny\nlearners: 20\ndays: 30\ntopics: 2\n")
    for budget in (3, 6):
        setup, _ = make_setup(log, str(base), ["post_rate=0.05:0.8"], None, Options(budget=budget, batch=2, seed=3))
        run_calibration(setup, tmp_path / "c", workers=1)
    assert len(read_records(tmp_path / "c")) == 6
