"""Issue 12 leftovers, trust: `sweep` and `compare` check a scenario's key once, before anything is written, and
take `run`'s --api-key-env, --allow-endpoint and --llm-cache (roles/trust.py, docs/roles.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import test_cli_trust
from test_cli_trust import SECRET, _Server, scenario_file
from typer.testing import CliRunner

from learncomm.sim.cli import app

server = test_cli_trust.server  # the fake endpoint that records the keys it is sent
clean_env = test_cli_trust.clean_env  # autouse: no trust from the machine running the tests

LEARNCOMM = [sys.executable, "-m", "learncomm"]


def sweep_file(tmp_path: Path, scenario: Path, extra: str = "") -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        f"base: {scenario.name}\nfixed: {{days: 2, learners: 20}}\nparameters:\n"
        "  params.alpha_ask: {values: [0.2, 0.3]}\nreplicates: 1\nllm_concurrency: 1\n" + extra
    )
    return path


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A fresh process: its sweep workers inherit this test's environment (the key variable), whatever the
    forkserver of the test process was started with."""
    return subprocess.run(
        [*LEARNCOMM, *args], cwd=cwd, capture_output=True, text=True, timeout=240, env={**os.environ, "COLUMNS": "200"}
    )


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_sweep_refuses_a_key_once_before_anything_is_written(tmp_path: Path, server: _Server, dry_run: bool) -> None:
    path = sweep_file(tmp_path, scenario_file(tmp_path, server.url))
    args = ["sweep", str(path), "--out", str(tmp_path / "s"), "--workers", "1", "--no-dashboard"]
    res = CliRunner().invoke(app, args + (["--dry-run"] if dry_run else []))
    assert res.exit_code == 2, res.output
    assert "--allow-endpoint" in res.output and "--api-key-env LEARNCOMM_TEST_SECRET" in res.output
    assert "Traceback" not in res.output and SECRET not in res.output
    assert res.output.count("error:") == 1 and server.auth == []
    assert not (tmp_path / "s").exists()


def test_a_sweep_with_no_key_and_no_endpoint_fails_once_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = tmp_path / "openai.yaml"
    scenario.write_text(
        "name: o\nlearners: 20\ndays: 2\nroles:\n  ideator: {cadence: 1}\n"
        "llm: {decider: openai, api_key_env: LEARNCOMM_TEST_UNSET_KEY}\n"
    )
    monkeypatch.delenv("LEARNCOMM_TEST_UNSET_KEY", raising=False)
    res = CliRunner().invoke(app, ["sweep", str(sweep_file(tmp_path, scenario)), "--out", str(tmp_path / "s")])
    assert res.exit_code == 2, res.output
    assert "LEARNCOMM_TEST_UNSET_KEY" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "s").exists()


def test_a_sweep_sends_the_key_the_command_line_allows_and_takes_its_cache(tmp_path: Path, server: _Server) -> None:
    path = sweep_file(tmp_path, scenario_file(tmp_path, server.url))
    cache = tmp_path / "elsewhere" / "cache.sqlite"
    res = cli(
        "sweep", str(path), "--out", str(tmp_path / "s"), "--workers", "1", "--no-dashboard",
        "--allow-endpoint", server.url, "--api-key-env", "LEARNCOMM_TEST_SECRET", "--llm-cache", str(cache),
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr + res.stdout
    assert server.auth and set(server.auth) == {f"Bearer {SECRET}"}  # the workers had the user's say
    assert cache.is_file() and not (tmp_path / "s" / "llm-cache.sqlite").exists()
    for f in (tmp_path / "s").rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f


def test_the_sweep_options_lift_the_sweep_files_cache_rule(tmp_path: Path, server: _Server) -> None:
    path = sweep_file(tmp_path, scenario_file(tmp_path, server.url), extra=f"llm_cache: {tmp_path / 'x.sqlite'}\n")
    base = ["sweep", str(path), "--out", str(tmp_path / "s"), "--dry-run", "--allow-endpoint", server.url]
    res = CliRunner().invoke(app, [*base, "--api-key-env", "LEARNCOMM_TEST_SECRET"])
    assert res.exit_code == 2 and "llm_cache" in res.output  # the file alone may not place it there
    res = CliRunner().invoke(app, [*base, "--api-key-env", "LEARNCOMM_TEST_SECRET", "--llm-cache", "y.sqlite"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, [*base, "--api-key-env", "NOT A NAME"])
    assert res.exit_code == 2 and "expected an environment variable name" in res.output


def test_compare_refuses_a_key_before_anything_is_written(tmp_path: Path, server: _Server) -> None:
    path = scenario_file(tmp_path, server.url)
    args = ["compare", str(path), "community", "--seeds", "2", "--days", "2", "--learners", "20", "--no-dashboard"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "c")])
    assert res.exit_code == 2, res.output
    assert "--allow-endpoint" in res.output and "Traceback" not in res.output and SECRET not in res.output
    assert server.auth == [] and not (tmp_path / "c").exists() and not (tmp_path / "results").exists()


def test_compare_sends_the_key_the_command_line_allows(tmp_path: Path, server: _Server) -> None:
    path = scenario_file(tmp_path, server.url)
    cache = tmp_path / "elsewhere" / "cache.sqlite"
    res = CliRunner().invoke(
        app,
        [
            "compare", str(path), "community", "--seeds", "2", "--days", "2", "--learners", "20", "--no-dashboard",
            "--out", str(tmp_path / "c"), "--allow-endpoint", server.url, "--api-key-env", "LEARNCOMM_TEST_SECRET",
            "--llm-cache", str(cache),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert server.auth and set(server.auth) == {f"Bearer {SECRET}"} and cache.is_file()
    assert (tmp_path / "c" / "comparison.parquet").is_file()


def test_compare_keeps_a_scenarios_cache_under_results(tmp_path: Path, server: _Server) -> None:
    path = scenario_file(tmp_path, server.url, extra=f"  cache: {tmp_path / 'elsewhere' / 'c.sqlite'}\n")
    res = CliRunner().invoke(
        app, ["compare", str(path), "community", "--seeds", "2", "--days", "2", "--out", str(tmp_path / "c")]
    )
    assert res.exit_code == 2 and "--llm-cache" in res.output and not (tmp_path / "elsewhere").exists()


def test_run_with_no_key_and_no_endpoint_is_a_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It was a DeciderError traceback from the decider's constructor."""
    scenario = tmp_path / "openai.yaml"
    scenario.write_text("name: o\nlearners: 20\ndays: 2\nroles:\n  ideator: {cadence: 1}\nllm: {decider: openai}\n")
    res = CliRunner().invoke(app, ["run", str(scenario), "--out", str(tmp_path / "r"), "--no-dashboard"])
    assert res.exit_code == 2, res.output
    assert "OPENAI_API_KEY" in res.output and "Traceback" not in res.output and not (tmp_path / "r").exists()
