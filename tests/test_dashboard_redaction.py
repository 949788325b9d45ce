"""Issue 12 leftover: a run folder recorded before reasons were redacted (or with a key this machine did not know)
gets its key-like `reason` texts redacted when `learncomm dashboard` (re)builds its page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from learncomm.sim.cli import app

OLD_KEY = "sk-proj-OLDkey0123456789abcdefXYZ"  # looks like a key
PLAIN = "opensesame.42"  # looks like no key: known only because this machine has it in a *_API_KEY variable


@pytest.fixture
def old_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "results" / "old"
    res = CliRunner().invoke(
        app,
        ["run", "community-roles", "--learners", "40", "--days", "8", "--decider", "policy", "--out", str(out),
         "--no-dashboard"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    inter = pd.read_parquet(out / "interventions.parquet")
    assert len(inter) >= 2
    # as an older learncomm recorded them: the server's error text with the key in it, unredacted
    inter.loc[0, ["fallback", "reason"]] = [True, f"AuthenticationError: Incorrect API key provided: {OLD_KEY}"]
    inter.loc[1, ["fallback", "reason"]] = [True, f"APIStatusError: bad key {PLAIN} for this model"]
    inter.to_parquet(out / "interventions.parquet", index=False)
    monkeypatch.setenv("LEARNCOMM_TEST_OLD_API_KEY", PLAIN)
    return out


@pytest.mark.parametrize("target", ["run", "root"])
def test_rebuilding_a_page_redacts_old_reasons(old_run: Path, target: str) -> None:
    res = CliRunner().invoke(app, ["dashboard", str(old_run if target == "run" else old_run.parent), "--force"])
    assert res.exit_code == 0, res.output
    page = (old_run / "dashboard.html").read_text(encoding="utf-8")
    assert OLD_KEY not in page and PLAIN not in page
    assert "Incorrect API key provided: [redacted]" in page and "bad key [redacted] for this model" in page
    assert OLD_KEY in pd.read_parquet(old_run / "interventions.parquet")["reason"].iloc[0]  # the data is left as is
