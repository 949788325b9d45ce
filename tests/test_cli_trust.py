"""Issue 12, items 2, 7 and 10: user and model text is never rich markup; `query` is read-only over its folder;
a scenario file cannot send a key where the user did not say."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from learncomm.sim.cli import app


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    """The smallest folder `query` accepts: a summary.parquet."""
    folder = tmp_path / "sweep"
    folder.mkdir()
    duckdb.connect().execute(
        f"copy (select 0 as point, 1 as seed, 'ok' as status) to '{folder / 'summary.parquet'}' (format parquet)"
    )
    return folder


# ----- item 7: no text is rich markup -----


def test_error_messages_keep_brackets(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["run", "community", "--set", "name='[/x] [bold]b[/bold]'", "--out", str(tmp_path / "r"), "--days", "2"]
    )
    assert res.exit_code == 2, res.output
    assert "[/x] [bold]b[/bold]" in res.output and "MarkupError" not in res.output


def test_local_model_install_hint_keeps_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from learncomm.roles import local_server
    from learncomm.sim.cli import llm

    class Missing:
        def __init__(self, **kwargs: object) -> None:
            pass

        def start(self) -> str:
            raise local_server.LocalModelError(local_server.INSTALL_HINT)

    monkeypatch.setattr(llm, "LocalServer", Missing)
    res = CliRunner().invoke(app, ["llm", "serve"])
    assert res.exit_code == 2
    assert "learncomm[local-llm]" in res.output


def test_query_shows_values_and_column_names_literally(sweep_dir: Path) -> None:
    res = CliRunner().invoke(app, ["query", str(sweep_dir), "select '[bold]x[/bold]' as \"[/c]\", '[/x]' as y"])
    assert res.exit_code == 0, res.output
    assert "[bold]x[/bold]" in res.output and "[/c]" in res.output and "[/x]" in res.output


def test_query_sql_error_with_brackets_is_clean(sweep_dir: Path) -> None:
    res = CliRunner().invoke(app, ["query", str(sweep_dir), "select [/x] from nowhere_[/y]"])
    assert res.exit_code == 2 and "SQL" in res.output and "Traceback" not in res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)


# ----- item 10: query is read-only over the sweep folder -----


@pytest.mark.parametrize(
    "sql",
    [
        "select * from read_csv('/etc/passwd')",
        "select * from glob('/root/*')",
        "select * from read_parquet('https://example.com/x.parquet')",
    ],
)
def test_query_cannot_read_outside_the_folder(sweep_dir: Path, sql: str) -> None:
    res = CliRunner().invoke(app, ["query", str(sweep_dir), sql])
    assert res.exit_code == 2, res.output
    assert "root:" not in res.output and "Traceback" not in res.output


@pytest.mark.parametrize(
    "sql",
    [
        "copy (select 1) to '{out}/written.csv'",
        "copy (select 1) to '{inside}/written.csv'",
        "attach '{out}/written.db'",
        "attach '{inside}/written.db'",
        "export database '{out}/written'",
        "install httpfs",
        "load httpfs",
        "set enable_external_access = true",
        "select 1; copy (select 1) to '{inside}/written.csv'",
    ],
)
def test_query_cannot_write_attach_or_load(sweep_dir: Path, tmp_path: Path, sql: str) -> None:
    out = tmp_path / "outside"
    out.mkdir()
    res = CliRunner().invoke(app, ["query", str(sweep_dir), sql.format(out=out, inside=sweep_dir)])
    assert res.exit_code == 2, res.output
    assert "--unsafe-sql" in res.output and "Traceback" not in res.output
    assert list(out.iterdir()) == [] and sorted(p.name for p in sweep_dir.iterdir()) == ["summary.parquet"]


def test_query_reads_its_folder_through_the_views(sweep_dir: Path) -> None:
    res = CliRunner().invoke(app, ["query", str(sweep_dir), "select status, seed from runs"])
    assert res.exit_code == 0 and "ok" in res.output


def test_query_unsafe_sql_lifts_the_sandbox(sweep_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("a\nfrom-outside\n")
    res = CliRunner().invoke(app, ["query", str(sweep_dir), f"select * from read_csv('{other}')"])
    assert res.exit_code == 2
    res = CliRunner().invoke(app, ["query", str(sweep_dir), f"select * from read_csv('{other}')", "--unsafe-sql"])
    assert res.exit_code == 0 and "from-outside" in res.output


# ----- item 2: a scenario file alone cannot send a key -----

SECRET = "sk-test-SECRETvalue0123456789abcdefXYZ"
PLAIN = "opensesame.42"  # a key that looks like no key: redacted because it is the key sent


class _Server:
    """A fake OpenAI-compatible endpoint on loopback: records each request's Authorization header and answers
    401 with the key echoed in its error text (as some servers do)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen = self.auth = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                auth = self.headers.get("Authorization", "")
                seen.append(auth)
                key = auth.removeprefix("Bearer ")
                body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}", "type": "auth"}})
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No trust from the machine running the tests; the results folder in a temporary directory."""
    monkeypatch.setenv("LEARNCOMM_TRUST_FILE", str(tmp_path / "no-trust.yaml"))
    for var in ("LEARNCOMM_TRUSTED_ENDPOINTS", "LEARNCOMM_TRUSTED_KEY_ENVS", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LEARNCOMM_TEST_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)


def scenario_file(tmp_path: Path, url: str, extra: str = "", key_env: str = "LEARNCOMM_TEST_SECRET") -> Path:
    path = tmp_path / "shared.yaml"
    path.write_text(
        "name: shared\nsetting: community\nlearners: 30\ndays: 4\nseed: 1\ntopics: 3\n"
        "roles:\n  ideator: {cadence: 1}\n"
        f"llm:\n  decider: openai\n  base_url: {url}\n  api_key_env: {key_env}\n  max_retries: 0\n  timeout_s: 5\n"
        + extra
    )
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["run", *args, "--no-dashboard"])


def test_a_scenario_alone_cannot_send_a_key(tmp_path: Path, server: _Server) -> None:
    res = run(str(scenario_file(tmp_path, server.url)), "--out", str(tmp_path / "r"))
    assert res.exit_code == 2, res.output
    assert "--allow-endpoint" in res.output and "--api-key-env LEARNCOMM_TEST_SECRET" in res.output
    assert "Traceback" not in res.output and SECRET not in res.output
    assert server.auth == [] and not (tmp_path / "r").exists()


def test_not_even_the_openai_key_to_a_scenario_endpoint(
    tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    res = run(str(scenario_file(tmp_path, server.url, key_env="OPENAI_API_KEY")), "--out", str(tmp_path / "r"))
    assert res.exit_code == 2 and "--allow-endpoint" in res.output and "--api-key-env" not in res.output
    assert server.auth == []


def test_no_key_set_the_scenario_endpoint_gets_none(
    tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEARNCOMM_TEST_SECRET")
    res = run(str(scenario_file(tmp_path, server.url)), "--out", str(tmp_path / "r"))
    assert res.exit_code == 0, res.output
    assert server.auth and set(server.auth) == {"Bearer not-needed"}


def reasons(run_dir: Path) -> list[str]:
    import pyarrow.parquet as pq

    return [str(r) for r in pq.read_table(run_dir / "interventions.parquet").column("reason").to_pylist() if r]


def test_the_command_line_allows_the_key_and_echoed_keys_are_redacted(tmp_path: Path, server: _Server) -> None:
    out = tmp_path / "r"
    res = CliRunner().invoke(
        app,
        [
            "run",
            str(scenario_file(tmp_path, server.url)),
            "--out",
            str(out),
            "--allow-endpoint",
            server.url + "/",
            "--api-key-env",
            "LEARNCOMM_TEST_SECRET",
        ],
    )
    assert res.exit_code == 0, res.output
    assert server.auth and set(server.auth) == {f"Bearer {SECRET}"}  # the user said so: the key was sent
    why = reasons(out)
    assert why and all(SECRET not in r and "[redacted]" in r for r in why), why[:2]
    for f in out.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f  # not in any table, the manifest or dashboard.html


@pytest.mark.parametrize("how", ["file", "env"])
def test_the_user_config_allows_the_key(
    tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "file":
        (tmp_path / "no-trust.yaml").write_text(f"endpoints: [{server.url}]\napi_key_envs: [LEARNCOMM_TEST_SECRET]\n")
    else:
        monkeypatch.setenv("LEARNCOMM_TRUSTED_ENDPOINTS", f"https://other.example/v1, {server.url}")
        monkeypatch.setenv("LEARNCOMM_TRUSTED_KEY_ENVS", "LEARNCOMM_TEST_SECRET")
    res = run(str(scenario_file(tmp_path, server.url)), "--out", str(tmp_path / "r"))
    assert res.exit_code == 0, res.output
    assert set(server.auth) == {f"Bearer {SECRET}"}


def test_a_key_that_looks_like_no_key_is_redacted_too(
    tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEARNCOMM_TEST_PLAIN", PLAIN)
    out = tmp_path / "r"
    path = scenario_file(tmp_path, server.url, key_env="LEARNCOMM_TEST_PLAIN")
    res = run(str(path), "--out", str(out), "--allow-endpoint", server.url, "--api-key-env", "LEARNCOMM_TEST_PLAIN")
    assert res.exit_code == 0, res.output
    assert set(server.auth) == {f"Bearer {PLAIN}"}
    why = reasons(out)
    assert why and all(PLAIN not in r for r in why), why[:2]


def test_allowing_the_endpoint_alone_does_not_allow_another_variable(tmp_path: Path, server: _Server) -> None:
    res = run(str(scenario_file(tmp_path, server.url)), "--out", str(tmp_path / "r"), "--allow-endpoint", server.url)
    assert res.exit_code == 2 and "--api-key-env LEARNCOMM_TEST_SECRET" in res.output and server.auth == []


def test_a_bad_trust_file_is_a_clean_error(tmp_path: Path, server: _Server) -> None:
    (tmp_path / "no-trust.yaml").write_text("endpoints: http://x\n")
    res = run(str(scenario_file(tmp_path, server.url)), "--out", str(tmp_path / "r"))
    assert res.exit_code == 2 and "no-trust.yaml" in res.output and "endpoints" in res.output
    assert "Traceback" not in res.output


def test_the_cache_stays_under_the_results_folder(tmp_path: Path, server: _Server) -> None:
    elsewhere = tmp_path / "elsewhere" / "cache.sqlite"
    path = scenario_file(tmp_path, server.url, extra=f"  cache: {elsewhere}\n")
    res = run(str(path), "--out", str(tmp_path / "r"), "--allow-endpoint", server.url, "--api-key-env", "HOME")
    assert res.exit_code == 2 and "--llm-cache" in res.output and "llm.cache" in res.output
    assert not elsewhere.parent.exists() and server.auth == []
    res = run(str(path), "--out", str(tmp_path / "r2"), "--llm-cache", str(elsewhere))
    assert res.exit_code == 2 and "--allow-endpoint" in res.output  # the cache is allowed; the key still is not
    path = scenario_file(tmp_path, server.url, extra="  cache: results/../../escape.sqlite\n")
    res = run(str(path), "--out", str(tmp_path / "r3"))
    assert res.exit_code == 2 and "llm.cache" in res.output


def test_the_default_cache_follows_results(tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEARNCOMM_TEST_SECRET")
    res = run(str(scenario_file(tmp_path, server.url)), "--results", str(tmp_path / "mine"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "mine" / ".llm-cache.sqlite").is_file() and not (tmp_path / "results").exists()


def test_redact() -> None:
    from learncomm.roles.trust import redact

    text = (
        "Incorrect API key provided: sk-proj-abcDEF123456789. Authorization: Bearer abc.def-123456 "
        "token=ghp_0123456789abcdefABCDEF hex 0123456789abcdef0123456789abcdef and "
        "b64 QWxhZGRpbjpvcGVuIHNlc2FtZQ3xYzAbCdEf== and my own hunter2secret; path /work/results/sweeps/s1/runs/point=1"
    )
    out = redact(text, ["hunter2secret"])
    for s in ("sk-proj-abc", "abc.def-123456", "ghp_0123", "0123456789abcdef0123", "QWxhZGRp", "hunter2secret"):
        assert s not in out, (s, out)
    assert "/work/results/sweeps/s1/runs/point=1" in out and "Incorrect API key provided" in out
    assert redact(out) == out


def test_a_sweep_file_cannot_place_its_cache_anywhere(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    elsewhere = tmp_path / "elsewhere" / "cache.sqlite"
    body = "base: community\nfixed: {days: 2, learners: 20}\nparameters:\n  params.alpha_ask: {values: [0.2, 0.3]}\n"
    path.write_text(body + f"llm_cache: {elsewhere}\n")
    res = CliRunner().invoke(app, ["sweep", str(path), "--dry-run", "--out", str(tmp_path / "s")])
    assert res.exit_code == 2 and "llm_cache" in res.output and "Traceback" not in res.output
    path.write_text(body + "llm_cache: s/cache.sqlite\n")
    res = CliRunner().invoke(app, ["sweep", str(path), "--dry-run", "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output


def test_a_variant_of_a_scenario_cannot_send_a_key_either(tmp_path: Path, server: _Server) -> None:
    """`extends`: the trust model holds for the merged scenario, whichever file named the endpoint."""
    scenario_file(tmp_path, server.url)  # shared.yaml, naming the endpoint and the key variable
    variant = tmp_path / "variant.yaml"
    variant.write_text("extends: shared.yaml\nname: variant\ndays: 3\n")
    res = run(str(variant), "--out", str(tmp_path / "r"))
    assert res.exit_code == 2, res.output
    assert "--allow-endpoint" in res.output and SECRET not in res.output and "Traceback" not in res.output
    assert server.auth == [] and not (tmp_path / "r").exists()
