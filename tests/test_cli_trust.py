"""Issue 12, items 2, 7 and 10: user and model text is never rich markup; `query` is read-only over its folder;
a scenario file cannot send a key where the user did not say."""

from __future__ import annotations

from pathlib import Path

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
