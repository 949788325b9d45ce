"""Issue 12 leftover: a page references plotly.min.js only inside the results root it is written to, never one
found above it (a plotly.min.js planted in /tmp or a parent folder may be anyone's script)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs
from typer.testing import CliRunner

from learncomm.sim.cli import app
from learncomm.sim.dashboard import write_dashboard

PLANTED = "window.__planted = 1;"


@pytest.fixture(scope="module")
def one_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("made") / "run"
    res = CliRunner().invoke(
        app, ["run", "community", "--learners", "20", "--days", "2", "--out", str(out), "--no-dashboard"]
    )
    assert res.exit_code == 0, res.output
    return out


def script_of(page: Path) -> Path:
    """The plotly.min.js the page loads, as a resolved path."""
    srcs = re.findall(r'<script src="([^"]+)"', page.read_text(encoding="utf-8"))
    assert len(srcs) == 1, srcs
    return (page.parent / srcs[0]).resolve()


def plant(*folders: Path) -> None:
    for f in folders:
        f.mkdir(parents=True, exist_ok=True)
        (f / "plotly.min.js").write_text(PLANTED)


def test_a_run_page_never_loads_a_plotly_above_its_results_folder(one_run: Path, tmp_path: Path) -> None:
    plant(tmp_path, tmp_path / "a")  # one and two folders above the results folder
    run = tmp_path / "a" / "results" / "run1"
    shutil.copytree(one_run, run)
    js = script_of(write_dashboard(run))
    assert js == (tmp_path / "a" / "results" / "plotly.min.js").resolve()
    assert js.read_text(encoding="utf-8") == get_plotlyjs()
    assert (tmp_path / "plotly.min.js").read_text() == PLANTED  # left as it was, and not used


def test_a_results_root_shares_its_own_plotly_only(one_run: Path, tmp_path: Path) -> None:
    root = tmp_path / "results"
    plant(tmp_path)
    for rel in ("run1", "sweeps/deep/run2"):
        shutil.copytree(one_run, root / rel)
    res = CliRunner().invoke(app, ["dashboard", str(root)])
    assert res.exit_code == 0, res.output
    for rel in ("run1", "sweeps/deep/run2"):
        js = script_of(root / rel / "dashboard.html")
        assert js == (root / "plotly.min.js").resolve(), rel  # one shared copy, inside the root
    # the deep folder alone: its own results folder is sweeps/deep, and nothing above it is used
    plant(root / "sweeps")
    js = script_of(write_dashboard(root / "sweeps" / "deep" / "run2"))
    assert js == (root / "sweeps" / "deep" / "plotly.min.js").resolve()
    assert js.read_text(encoding="utf-8") == get_plotlyjs()


def test_a_sweep_run_page_uses_the_sweeps_folder(one_run: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "results" / "s"
    run = sweep / "runs" / "point=00000" / "seed=1"
    shutil.copytree(one_run, run)
    (sweep / "sweep.json").write_text("{}")
    plant(tmp_path)
    assert script_of(write_dashboard(run)) == (tmp_path / "results" / "plotly.min.js").resolve()
