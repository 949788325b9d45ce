"""Saying when something did not happen (issue 13, item 5): summary.json `warnings`, on screen, on the dashboard."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from test_cli import learncomm

from learncomm.roles.setup import DeciderFactory
from learncomm.sim.runs.run import run_scenario
from learncomm.sim.runs.run_warnings import run_warnings
from learncomm.sim.schema.loading import parse_scenario

HEAD = "name: t\nlearners: 40\ndays: {days}\nseed: 2\nllm: {{cache: null, max_retries: 0, timeout_s: 5}}\n"


def scenario(extra: str = "", days: int = 12):
    return parse_scenario(HEAD.format(days=days) + extra)


def codes(warnings: list[dict[str, str]]) -> list[str]:
    return [w["code"] for w in warnings]


def test_a_run_that_did_what_it_was_asked_has_no_warnings() -> None:
    res = run_scenario(scenario("roles:\n  ideator: {cadence: 5}\n"), seed=1)
    assert len(res.interventions) == 2 and res.summary["warnings"] == []


def test_a_role_that_starts_after_the_run_ends_never_acted() -> None:
    sc = scenario("roles:\n  ideator: {cadence: 5}\n  secretary: {cadence: 3, start_day: 40}\n")
    res = run_scenario(sc, seed=1)
    assert set(res.interventions["role"]) == {"ideator"}
    (w,) = res.summary["warnings"]
    assert w["code"] == "role_never_acted" and "secretary" in w["message"]
    assert "ended on day 12, before its first decision was due on day 40" in w["message"]
    sc = scenario("roles:\n  ideator: {cadence: 13}\n")  # first due on day 13 of 12
    assert "due on day 13" in run_scenario(sc, seed=1).summary["warnings"][0]["message"]
    sc = scenario("roles:\n  ideator: {cadence: 12}\n")  # due on the last day: acts
    assert run_scenario(sc, seed=1).summary["warnings"] == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: connections are refused


def test_a_model_that_never_answers_warns_that_all_decisions_fell_back() -> None:
    """A real connection to a port where nobody listens: every decision falls back, and the run says so."""
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    factory = DeciderFactory(override="openai", base_url=url)
    res = run_scenario(scenario("roles:\n  ideator: {cadence: 5}\n"), seed=1, deciders=factory)
    assert len(res.interventions) == 2 and res.interventions["fallback"].all()
    (w,) = res.summary["warnings"]
    assert w["code"] == "llm_all_fallback" and "(2 of 2)" in w["message"] and "Connection" in w["message"]


def _row(decider: str, fallback: bool, role: str = "ideator") -> dict[str, object]:
    return {"role": role, "decider": decider, "fallback": fallback, "reason": "bad output" if fallback else ""}


@pytest.mark.parametrize(
    "fell, expected",
    [(0, []), (1, []), (2, ["llm_most_fallback"]), (3, ["llm_most_fallback"]), (4, ["llm_all_fallback"])],
)
def test_most_and_all_fallbacks_count_only_chat_model_decisions(fell: int, expected: list[str]) -> None:
    sc = scenario("roles:\n  ideator: {}\n")
    rows = [_row("openai", i < fell) for i in range(4)] + [_row("policy", False)] * 10  # policy rows never count
    assert codes(run_warnings(sc, rows, 12)) == expected
    assert codes(run_warnings(sc, [_row("policy", False)], 12)) == []


def test_decider_without_roles_warns_on_screen_and_in_summary(tmp_path: Path) -> None:
    res = learncomm(
        "run", "community", "--decider", "openai", "--days", "3", "--learners", "30", "--out", "r", "--no-dashboard",
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "warning:" in res.stderr and "--decider openai" in res.stderr and "decider_without_roles" in res.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert codes(summary["warnings"]) == ["decider_without_roles"]
    quiet = learncomm(
        "run", "community", "--days", "3", "--learners", "30", "--out", "q", "--no-dashboard", cwd=tmp_path
    )
    assert "warning" not in quiet.stderr and json.loads((tmp_path / "q" / "summary.json").read_text())["warnings"] == []


def test_the_run_dashboard_lists_the_warnings_as_text(tmp_path: Path) -> None:
    from learncomm.sim.dashboard.run_page import build_run

    run_scenario(scenario("roles:\n  ideator: {start_day: 99}\n"), seed=1, out=tmp_path / "r")
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    summary["warnings"].append({"code": "x", "message": "<script>window.__pwned=1</script>"})
    summary["warnings"].append("not a mapping")  # a hand-edited file: skipped, not an error
    (tmp_path / "r" / "summary.json").write_text(json.dumps(summary))
    html = build_run(tmp_path / "r").read_text()
    section = html[html.index('<section id="warnings">') :]
    section = section[: section.index("</section>")]
    assert "the ideator role never acted" in section and "(role_never_acted)" in section
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in section and "<script>window.__pwned" not in html
    shutil.copytree(tmp_path / "r", tmp_path / "clean")
    summary["warnings"] = []
    (tmp_path / "clean" / "summary.json").write_text(json.dumps(summary))
    assert 'id="warnings"' not in build_run(tmp_path / "clean").read_text()
