"""SIGTERM cleans up like Ctrl-C (issue 12): claims released, staging folders removed, sweep workers stopped,
finished sweep runs kept in the summary. Each test sends SIGTERM to a real `learncomm` process."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_claim import _alive, _descendants, _wait_for_claim

from learncomm.sim.sweeps.store import run_state

LEARNCOMM = [sys.executable, "-m", "learncomm"]
ROOT = Path(__file__).resolve().parents[1]
BIG = ["--learners", "20000", "--days", "400"]


def _terminate(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[str, float]:
    """SIGTERM, then wait: (stderr, seconds until it exited). A process still there after `timeout` gets SIGABRT,
    so that faulthandler shows where it hangs."""
    started = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"still running {timeout} s after SIGTERM; its stacks:\n{err[-6000:]}")
    finally:
        proc.kill()
    return err, time.perf_counter() - started


def _assert_clean_exit(proc: subprocess.Popen[str], err: str) -> None:
    assert proc.returncode == 143, err
    assert "Traceback" not in err, err
    assert "terminated (SIGTERM)" in err, err


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-m", "learncomm", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["run", "classroom", *BIG, "--out", "out", "--no-dashboard"],
        ["compare", "classroom", "classroom", "--seeds", "10", *BIG, "--out", "out", "--no-dashboard"],
        ["check", "--seeds", "300", "--scenario", "community", "--out", "out", "--no-dashboard"],
    ],
    ids=["run", "compare", "check"],
)
def test_sigterm_releases_the_claim_and_the_staging_folder(tmp_path: Path, args: list[str]) -> None:
    proc = _start(args, tmp_path)
    _wait_for_claim(tmp_path / "out", proc)  # type: ignore[arg-type]
    time.sleep(1.0)  # into the work
    err, took = _terminate(proc)
    _assert_clean_exit(proc, err)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / ".tmp").exists()
    assert took < 20


def test_ctrl_c_in_a_run_says_nothing_was_left_and_exits_130(tmp_path: Path) -> None:
    """Typer turns a Ctrl-C inside a command into exit 130 silently; `main` still says what happened (a large run:
    the interrupt lands while the second thread works too)."""
    args = ["run", "community", "--learners", "40000", "--days", "400", "--out", "out", "--no-dashboard"]
    # a shell that started the tests in the background ignores SIGINT, and children inherit that: not this one
    proc = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-m", "learncomm", *args],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _wait_for_claim(tmp_path / "out", proc)  # type: ignore[arg-type]
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted; nothing half-written was left behind" in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists() and not (tmp_path / ".tmp").exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_to_a_check_on_a_pool_stops_its_workers(tmp_path: Path) -> None:
    args = ["check", "--seeds", "300", "--scenario", "community", "--workers", "2", "--out", "out"]
    proc = _start([*args, "--no-dashboard"], tmp_path)
    _wait_for_claim(tmp_path / "out", proc)  # type: ignore[arg-type]
    deadline = time.monotonic() + 60
    while len(children := _descendants(proc.pid)) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    err, took = _terminate(proc)
    _assert_clean_exit(proc, err)
    assert took < 20  # the queued runs are cancelled, the running ones interrupted, not waited for
    assert not (tmp_path / "out").exists()
    time.sleep(2)
    alive = [p for p in children if _alive(p)]
    for p in alive:
        subprocess.run(["kill", "-9", str(p)], check=False)
    assert not alive


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_to_a_sweep_stops_workers_and_keeps_finished_runs(tmp_path: Path) -> None:
    sweep = str(ROOT / "scenarios" / "sweep-confidence-mix-size.yaml")
    proc = _start(["sweep", sweep, "--workers", "2", "--out", "sw", "--no-dashboard"], tmp_path)
    deadline = time.monotonic() + 90
    children: list[int] = []
    while time.monotonic() < deadline:
        children = _descendants(proc.pid)
        if len(children) >= 4 and len(list((tmp_path / "sw").glob("runs/point=*/seed=*"))) >= 2:
            break
        assert proc.poll() is None, "the sweep ended before it could be stopped"
        time.sleep(0.2)
    err, took = _terminate(proc)
    _assert_clean_exit(proc, err)
    assert took < 20
    runs = sorted((tmp_path / "sw").glob("runs/point=*/seed=*"))
    assert runs and all(run_state(d) == "ok" for d in runs)  # nothing half-written
    assert not list((tmp_path / "sw").rglob(".tmp"))
    summary = pq.read_table(tmp_path / "sw" / "summary.parquet")
    assert summary.num_rows == len(runs)  # every run that finished is in the summary, no other
    assert set(summary.column("status").to_pylist()) == {"ok"}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in children):
        time.sleep(0.1)
    alive = [p for p in children if _alive(p)]
    for p in alive:
        subprocess.run(["kill", "-9", str(p)], check=False)
    assert not alive, f"still running after SIGTERM: {alive}"
    resumed = subprocess.run(
        [*LEARNCOMM, "sweep", sweep, "--workers", "2", "--out", "sw", "--no-dashboard", "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr


def test_a_swallowed_sigterm_is_raised_again_by_the_next_progress_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception raised by the SIGTERM handler while a `__del__` runs is lost; the day and run progress
    callbacks raise it again, so the command still stops (and the handler ignores further SIGTERMs)."""
    from rich.console import Console

    from learncomm.sim.cli.app import TERMINATION, Terminated
    from learncomm.sim.cli.progress import count_progress, day_progress

    quiet = Console(file=io.StringIO())
    with day_progress(quiet, "x", 3) as day, count_progress(quiet, "y", 3) as run:
        day(1)
        run()
        monkeypatch.setitem(TERMINATION, "pending", True)
        with pytest.raises(Terminated):
            day(2)
        with pytest.raises(Terminated):
            run()
