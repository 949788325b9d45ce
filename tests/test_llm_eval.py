"""`learncomm llm eval` and the checks of what a model decided (roles/quality.py, roles/evaluate.py).

Fake chat models drive the parsing and the flags here (a model that always takes the option shown
second, one that always refuses); tests/test_llm_local.py runs the same against the real local model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from typer.testing import CliRunner

from learncomm.roles.deciders import ChatDecider, PolicyDecider
from learncomm.roles.evaluate import Thresholds, evaluate, load_situations
from learncomm.roles.quality import check_text, mentions, position_stats, run_quality
from learncomm.sim.cli import app
from learncomm.sim.schema.roles import LLM


class ToolFake(GenericFakeChatModel):
    """Accepts bind_tools, so structured output parses its tool calls for real."""

    def bind_tools(self, tools: Any, **kw: Any) -> Any:
        return self

    def _get_llm_string(self, stop: Any = None, **kw: Any) -> str:
        return "tool-fake"


def replies(position: int, message: str, n: int = 200) -> ToolFake:
    msg = AIMessage(
        content="",
        tool_calls=[{"name": "Choice", "args": {"choice": position, "message": message}, "id": "c1"}],
        usage_metadata={"input_tokens": 50, "output_tokens": 10, "total_tokens": 60},
    )
    return ToolFake(messages=iter([msg] * n))


def fake_decider(position: int, message: str) -> ChatDecider:
    return ChatDecider(LLM(cache=None, max_retries=0), chat=replies(position, message), seed=5)


def consistent(report: dict[str, Any]) -> None:
    """The report's figures follow from its items (what the CI test checks against the real model too)."""
    items, overall = report["items"], report["overall"]
    valid = [r for r in items if not r["fallback"]]
    assert overall["valid"] == len(valid) and overall["decisions"] == len(items) == report["situations"]
    assert sum(overall["position"]["by_position"]) == len(valid)
    for k, n in enumerate(overall["position"]["by_position"]):
        assert n == sum(1 for r in valid if r["shown_position"] == k)
    if valid:
        assert overall["agrees_with_policy"] == pytest.approx(
            sum(r["choice"] == 0 for r in valid) / len(valid), abs=1e-4
        )
        for r in valid:
            assert int(r["shown_order"].split()[r["shown_position"]]) == r["choice"]
    for role, f in report["roles"].items():
        assert f["decisions"] == sum(1 for r in items if r["role"] == role)


def test_the_benchmark_covers_every_role_trigger_and_kind() -> None:
    sits = load_situations()
    assert {s.role for s in sits} == {"ideator", "secretary", "benchmarker", "source", "matchmaker", "manager"}
    assert {s.kind for s in sits} >= {"clear", "close", "judgement"}
    assert all(len(s.candidates) >= 2 for s in sits) and len({s.id for s in sits}) == len(sits)
    for role in {s.role for s in sits}:
        mine = [s for s in sits if s.role == role]
        assert len({s.scenario for s in mine}) >= 3, role
    triggered = {s.role for s in sits if s.trigger != "cadence"}
    assert triggered == {"ideator", "secretary", "source", "matchmaker", "manager"}  # the benchmarker has none


def test_a_model_that_takes_the_second_option_shown_is_flagged() -> None:
    sits = load_situations()
    report = evaluate(fake_decider(1, "Let's all work on this topic together this week."), sits)
    consistent(report)
    pos = report["overall"]["position"]
    assert report["overall"]["valid_share"] == 1.0 and pos["by_position"][1] == len(sits) and pos["top_share"] == 1.0
    assert pos["p_value"] < 1e-6
    assert any("picks at one shown position" in f for f in report["failures"]) and not report["passed"]
    assert all(any("position 1 every time" in w for w in f["warnings"]) for f in report["roles"].values())
    # agreement with the policy is near chance (the shuffle puts the policy's choice at position 1 by chance only)
    assert abs(report["overall"]["agrees_with_policy"] - report["overall"]["agreement_by_chance"]) < 0.2


def test_a_model_that_refuses_is_flagged() -> None:
    sits = load_situations(per_role=3)
    report = evaluate(fake_decider(0, "I'm sorry, I can't answer this question yet. Please try again later."), sits)
    consistent(report)
    assert report["overall"]["text"]["refusal"] == 1.0 and report["overall"]["text"]["names_choice"] == 0.0
    assert any(f.startswith("refusals 100%") for f in report["failures"])
    assert any("were refusals" in w for w in report["roles"]["ideator"]["warnings"])


def test_the_policy_texts_pass_the_text_checks() -> None:
    """The checks are not too strict: the policy's own messages name their choice, in English, short."""
    report = evaluate(PolicyDecider(), load_situations(), limits=Thresholds(max_position_share=1.0))
    consistent(report)
    assert report["passed"], report["failures"]
    t = report["overall"]["text"]
    assert t["names_choice"] == 1.0 and t["in_language"] == 1.0 and t["within_length"] == 1.0
    assert t["refusal"] == 0.0 and t["placeholder"] == 0.0


@pytest.mark.parametrize(
    "text, flag",
    [
        ("Hello! Glazes today. My name is [insert your name here]", "placeholder"),
        ("I'm sorry, I can't see the data on glazes.", "refusal"),
        ("community-roles", "names_choice"),
        ("Wir treffen uns am Freitag zum Thema glazes, bringt eure Fragen mit.", "in_language"),
        ("Glazes. Two. Three. Four sentences are too many.", "within_length"),
    ],
)
def test_each_text_check_catches_its_case(text: str, flag: str) -> None:
    c = check_text(text, ["glazes"], "en")
    bad = {"placeholder": c.placeholder, "refusal": c.refusal, "names_choice": c.names_choice is False,
           "in_language": c.in_language is False, "within_length": not c.within_length}  # fmt: skip
    assert bad[flag] and sum(bad.values()) == 1, c


def test_mentions_and_position_statistics() -> None:
    assert mentions({"topic": 1, "day": 9}, {0: "a", 1: "glazes"}) == ["glazes", "Wednesday"]
    assert mentions({"answer": True}, {0: "a"}) == []
    blind = position_stats([[0, 1, 2]] * 30, [0] * 10 + [1] * 10 + [2] * 10)
    biased = position_stats([[0, 1, 2]] * 30, [0] * 30)
    assert blind["p_value"] > 0.5 and biased["p_value"] < 1e-6 and biased["top_share"] == 1.0


def test_run_quality_reads_recorded_rows() -> None:
    rows = [
        {"role": "ideator", "shown_order": "2 0 1", "shown_position": 0, "choice": 2, "fallback": False,
         "text": "Next: glazes, for beginners.", "decision": json.dumps({"topic": 1})},
        {"role": "ideator", "shown_order": "1 0 2", "shown_position": 1, "choice": 0, "fallback": False,
         "text": "I'm sorry, I can't help.", "decision": json.dumps({"topic": 0})},
        {"role": "source", "shown_order": "", "shown_position": -1, "choice": 0, "fallback": False,
         "text": "policy text", "decision": "{}"},
    ]  # fmt: skip
    q = run_quality(rows, ["kiln", "glazes"], "en")
    assert list(q) == ["ideator"]  # the policy's decisions are not judged
    f = q["ideator"]
    assert f["valid"] == 2 and f["agrees_with_policy"] == 0.5 and f["text"]["refusal"] == 0.5
    assert f["text"]["names_choice"] == 0.5 and f["position"]["by_position"] == [1, 1, 0]


# ---------------------------------------------------------------- the command


@pytest.fixture
def fake_chat(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The command's ChatDecider gets a fake chat model (the message to send is set by the test)."""
    said: list[str] = ["I'm sorry, I can't answer this question yet."]
    real = ChatDecider.__init__

    def init(self: ChatDecider, cfg: LLM, *a: Any, **kw: Any) -> None:
        kw["chat"] = replies(1, said[0])
        real(self, cfg, *a, **kw)

    monkeypatch.setattr(ChatDecider, "__init__", init)
    return said


def test_eval_command_writes_its_report_and_exits_1_below_thresholds(fake_chat: list[str], tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app, ["llm", "eval", "--decider", "openai", "--base-url", "http://127.0.0.1:9/v1", "--per-role", "2",
              "--out", str(tmp_path / "ev")],
    )  # fmt: skip
    assert r.exit_code == 1, r.output
    assert "FAILED" in r.output and "refusals" in r.output
    report = json.loads((tmp_path / "ev" / "eval.json").read_text())
    consistent(report)
    assert report["situations"] == 12 and not report["passed"]
    html = (tmp_path / "ev" / "dashboard.html").read_text()
    assert "Picks by shown position" in html and "I&#x27;m sorry" in html and "<script>alert" not in html
    # `learncomm dashboard` knows the folder, alone and in a results root's index
    from learncomm.sim.dashboard import write_dashboard

    (tmp_path / "ev" / "dashboard.html").unlink()
    assert write_dashboard(tmp_path / "ev") == tmp_path / "ev" / "dashboard.html"
    index = write_dashboard(tmp_path).read_text()
    assert "Language-model evaluations" in index and "failed" in index and 'href="ev/dashboard.html"' in index


def test_eval_command_passes_when_thresholds_are_lifted(fake_chat: list[str], tmp_path: Path) -> None:
    fake_chat[0] = "<script>alert(1)</script> Let's meet and learn together."
    r = CliRunner().invoke(
        app, ["llm", "eval", "--decider", "openai", "--base-url", "http://127.0.0.1:9/v1", "--per-role", "1",
              "--max-position-share", "1", "--min-names-choice", "0", "--max-placeholder", "1",
              "--out", str(tmp_path / "ev")],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    html = (tmp_path / "ev" / "dashboard.html").read_text()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html  # model text is data


@pytest.mark.parametrize(
    "args, message",
    [
        (["--decider", "policy"], "expected local or openai"),
        (["--decider", "openai", "--roles", "ideator,oracle"], "--roles oracle"),
        (["--decider", "openai", "--language", "english"], "two-letter"),
    ],
)
def test_eval_command_bad_options_are_clean_errors(args: list[str], message: str, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["llm", "eval", *args, "--out", str(tmp_path / "ev")])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "ev").exists()


# ---------------------------------------------------------------- runs say what the model decided


def test_a_run_with_a_model_says_what_it_decided(tmp_path: Path) -> None:
    from rich.console import Console

    from learncomm.roles.setup import DeciderFactory
    from learncomm.sim.cli.tables import print_llm_quality
    from learncomm.sim.dashboard.run_page import build_run
    from learncomm.sim.runs.run import run_scenario
    from learncomm.sim.schema.loading import parse_scenario

    factory = DeciderFactory(override="openai")
    factory.built["openai"] = fake_decider(0, "I'm sorry, I can't help with [insert topic here].")
    sc = parse_scenario(
        "name: q\nlearners: 80\ndays: 15\nseed: 2\nllm: {cache: null}\nroles:\n  ideator: {cadence: 2}\n"
    )
    res = run_scenario(sc, out=tmp_path / "run", deciders=factory)
    rows = res.interventions
    q = res.summary["llm_quality"]["ideator"]
    assert q["asked"] == len(rows) == 7 and q["valid"] == 7
    assert q["position"]["by_position"][0] == 7 and q["text"]["refusal"] == 1.0 and q["text"]["placeholder"] == 1.0
    assert q["agrees_with_policy"] == pytest.approx((rows["choice"] == 0).mean(), abs=1e-4)
    assert any("position 0 every time" in w for w in q["warnings"]) and any("refusals" in w for w in q["warnings"])
    said = [w["message"] for w in res.summary["warnings"] if w["code"] == "llm_looks_like_noise"]
    assert said == q["warnings"]  # among the run's warnings, which `run` prints and the page shows first
    console = Console(record=True, width=200)
    print_llm_quality(console, res.summary["llm_quality"])
    printed = console.export_text()
    assert "What the language model decided" in printed and "ideator" in printed and "100%" in printed
    html = build_run(tmp_path / "run").read_text()
    assert "What the language model decided" in html and "position 0 every time" in html
    policy = run_scenario(sc, deciders=DeciderFactory(override="policy"))
    assert "llm_quality" not in policy.summary  # nothing to judge when no model was asked
