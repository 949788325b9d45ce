"""`learncomm run --by/--group`: outcomes per subgroup in summary.json, on screen and on the run page (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from learncomm.sim.cli import app


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(
        app, ["run", "low-access", "--days", "12", "--learners", "120", "--out", str(tmp_path / "r"), *args]
    )
    return r.exit_code, r.output


def test_run_reports_each_requested_group_as_its_learners_say(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--by", "access_class", "--group", "patchy=access < 0.5")
    assert code == 0, output
    assert "Outcomes per group" in output and "patchy" in output
    rows = json.loads((tmp_path / "r" / "summary.json").read_text())["subgroups"]["requested"]
    learners = pd.read_parquet(tmp_path / "r" / "learners.parquet")
    names = [r["group"] for r in rows]
    assert names[0] == "all" and "patchy" in names and len([n for n in names if n.startswith("access_class=")]) == 2
    for r in rows:  # each row is the mean over exactly its learners, computed here independently
        if r["group"] == "all":
            sub = learners
        elif r["group"] == "patchy":
            sub = learners[learners["access"] < 0.5]
        else:
            sub = learners[learners["access_class"] == r["group"].split("=", 1)[1]]
        assert r["learners"] == len(sub) > 0
        for o in ("knowledge_gain", "confidence_change", "retained", "days_present"):
            assert abs(r[o] - sub[o].mean()) < 1e-12, (r["group"], o)
    html = (tmp_path / "r" / "dashboard.html").read_text()
    assert "Outcomes per subgroup" in html and "groups asked for (--by, --group)" in html and "patchy" in html


def test_a_group_nobody_is_in_or_a_bad_split_is_a_clean_error_and_writes_nothing(tmp_path: Path) -> None:
    for args, words in (
        (["--group", "nobody=access > 2"], "--group nobody: matches no learner"),
        (["--by", "shoe_size"], "--by shoe_size: not a learner attribute"),
        (["--group", "x=read_text('/etc/passwd') is not null"], "not allowed"),
        (["--group", "low"], "give a definition"),
    ):
        code, output = run(tmp_path, *args)
        assert code == 2 and words in output and "Traceback" not in output, (args, output)
        assert not (tmp_path / "r").exists()  # the claimed folder is released, nothing half-written
