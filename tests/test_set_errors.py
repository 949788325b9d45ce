"""Issue 12 leftover: a bad `--set` names the command line and the option, not a line of the scenario file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from learncomm.sim.cli import app
from learncomm.sim.schema.loading import ScenarioError, load_scenario


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("params.alpha_askk=0.3", "(command line) --set params.alpha_askk: unknown field: expected a field of params"),
        ("params.alpha_ask=abc", "(command line) --set params.alpha_ask: Input should be a valid number"),
        ("days=-3", "(command line) --set days: Input should be greater than or equal to 1 (got -3)"),
        ("days=true", "(command line) --set days:"),
        ("params=3", "(command line) --set params: Input should be a valid dictionary"),
        ("roles={ideator: {cadense: 3}}", "(command line) --set roles: ideator.cadense: unknown field"),
        ("params.alpha_ask.x=3", "(command line) --set params.alpha_ask.x: params.alpha_ask: Input should be"),
        ("name.x=3", "(command line) --set name.x: name is not a mapping"),
    ],
)
@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_bad_set_names_the_command_line(tmp_path: Path, command: str, setting: str, says: str) -> None:
    args = ["community", "community"] if command == "compare" else ["community"]
    res = CliRunner().invoke(app, [command, *args, "--set", setting, "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())  # the console wraps long lines
    assert says in out, out
    assert "community.yaml:" not in out and "Traceback" not in out and not (tmp_path / "o").exists()


def test_a_misspelt_field_gets_a_suggestion() -> None:
    res = CliRunner().invoke(app, ["run", "community", "--set", "params.alpha_askk=0.3", "--days", "1"])
    assert "did you mean alpha_ask" in " ".join(res.output.split())


def test_a_problem_in_the_file_still_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nlearners: 20\nparams:\n  alpha_askk: 0.3\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path, {"days": 3}, overrides_from="(command line) --set")
    assert f"{path}:4: params.alpha_askk: unknown field" in str(exc.value)
    assert "--set" not in str(exc.value)
