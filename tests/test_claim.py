"""Output folders are claimed before any work (issue 12, item 1) and sweep workers end with their sweep (item 6)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from learncomm.sim.runs.claim import (
    IN_PROGRESS,
    ResultsError,
    claim_dir,
    process_start,
    read_marker,
    release_dir,
    stamped_dir,
)
from learncomm.sim.runs.store import atomic_dir

LEARNCOMM = [sys.executable, "-m", "learncomm"]
ROOT = Path(__file__).resolve().parents[1]


def learncomm(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LEARNCOMM, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def clean_error(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr
    for n in needles:
        assert n in res.stderr, res.stderr


# ---- the store ------------------------------------------------------------------------------------------------


def test_claim_is_exclusive_and_released(tmp_path: Path) -> None:
    target = claim_dir(tmp_path / "r")
    assert {p.name for p in target.iterdir()} == {IN_PROGRESS}
    with pytest.raises(ResultsError, match="already exists.*another run is writing it"):
        claim_dir(target)
    release_dir(target)
    assert not target.exists()


def test_atomic_dir_claims_on_entry(tmp_path: Path) -> None:
    """The folder exists (claimed) while the block runs, so a second writer fails before doing any work."""
    target = tmp_path / "r"
    with atomic_dir(target) as tmp:
        assert (target / IN_PROGRESS).is_file()
        with pytest.raises(ResultsError, match="already exists"), atomic_dir(target):
            pytest.fail("the second writer must not start")
        (tmp / "manifest.json").write_text("{}")
    assert {p.name for p in target.iterdir()} == {"manifest.json"}
    assert not (tmp_path / ".tmp").exists()


def test_atomic_dir_never_replaces_at_the_end(tmp_path: Path) -> None:
    """Something written into the claimed folder meanwhile is kept; the finished run is not renamed over it."""
    target = tmp_path / "r"
    with pytest.raises(ResultsError, match="something else wrote"), atomic_dir(target) as tmp:
        (tmp / "manifest.json").write_text('{"mine": 1}')
        (target / "theirs.txt").write_text("keep me")
    assert (target / "theirs.txt").read_text() == "keep me"
    assert not (target / "manifest.json").exists()


def test_atomic_dir_failure_releases_the_claim(tmp_path: Path) -> None:
    target = tmp_path / "r"
    with pytest.raises(RuntimeError), atomic_dir(target):
        raise RuntimeError("the run failed")
    assert not target.exists()


def test_stamped_dir_claims_unique_names(tmp_path: Path) -> None:
    first = stamped_dir(tmp_path, "x", claim=True)
    second = stamped_dir(tmp_path, "x", claim=True)
    assert first != second and first.is_dir() and second.is_dir()


# ---- the command line -----------------------------------------------------------------------------------------


def test_two_runs_into_one_folder_one_wins(tmp_path: Path) -> None:
    """The concurrency test of issue 12: both start at once; exactly one writes the folder, the other fails
    cleanly and at once (long before the winner's simulation ends)."""
    args = [*LEARNCOMM, "run", "classroom", "--learners", "20000", "--days", "400", "--out", "same", "--no-dashboard"]
    procs = [subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    deadline = time.monotonic() + 30
    while not (tmp_path / "same").exists() and time.monotonic() < deadline:  # the first has claimed the folder
        time.sleep(0.05)
    started = time.perf_counter()
    procs.append(subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    loser_out, loser_err = procs[1].communicate(timeout=120)
    loser_s = time.perf_counter() - started
    assert procs[0].poll() is None, "the loser must fail while the winner is still simulating, not after"
    winner_out, winner_err = procs[0].communicate(timeout=600)
    assert procs[0].returncode == 0, winner_err
    assert procs[1].returncode == 2, loser_out + loser_err
    assert "already exists" in loser_err and "Traceback" not in loser_err
    assert "same" in loser_err
    assert loser_s < 20
    assert (tmp_path / "same" / "manifest.json").is_file()
    assert not (tmp_path / "same" / IN_PROGRESS).exists()


def test_same_second_default_names_differ(tmp_path: Path) -> None:
    """Two runs of one scenario and seed with different --set, started together: two folders, both complete."""
    procs = [
        subprocess.Popen(
            [*LEARNCOMM, "run", "pottery", "--days", "5", "--set", f"params.alpha_ask={v}", "--no-dashboard"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for v in (0.2, 0.3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    folders = sorted(p for p in (tmp_path / "results").iterdir() if p.is_dir())
    assert len(folders) == 2
    assert all((f / "manifest.json").is_file() and not (f / IN_PROGRESS).exists() for f in folders)


def test_existing_out_fails_before_simulating(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    started = time.perf_counter()
    res = learncomm("run", "classroom", "--learners", "100000", "--days", "400", "--out", "taken", cwd=tmp_path)
    clean_error(res, "taken: already exists")
    assert time.perf_counter() - started < 15  # the simulation would take minutes


@pytest.mark.parametrize("command", ["run", "compare"])
def test_unwritable_targets_are_clean_errors(tmp_path: Path, command: str) -> None:
    (tmp_path / "afile").write_text("x")
    extra = ["classroom", "--seeds", "2"] if command == "compare" else []
    for out, needle in [
        ("afile/sub", "afile is a file, not a folder"),
        ("x/.tmp", "reserved"),
        ("/proc/learncomm-out", "cannot be written"),
    ]:
        res = learncomm(command, "pottery", *extra, "--days", "3", "--out", out, cwd=tmp_path)
        clean_error(res, needle)
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_a_clean_error(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        clean_error(learncomm("run", "pottery", "--days", "3", "--out", "ro/r", cwd=tmp_path), "cannot be written")
        clean_error(learncomm("dashboard", "ro", cwd=tmp_path))
    finally:
        ro.chmod(0o755)


def test_dashboard_unwritable_is_a_clean_error(tmp_path: Path) -> None:
    assert learncomm("run", "pottery", "--days", "3", "--out", "r", "--no-dashboard", cwd=tmp_path).returncode == 0
    (tmp_path / "r" / "dashboard.html").mkdir()  # stands in for a read-only folder (root writes into those)
    clean_error(learncomm("dashboard", "r", cwd=tmp_path), "r/dashboard.html: the dashboard cannot be written")


def test_sweep_out_unwritable_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    sweep = str(ROOT / "scenarios" / "sweep-confidence-mix-size.yaml")
    res = learncomm("sweep", sweep, "--workers", "1", "--out", "afile/sw", cwd=tmp_path)
    clean_error(res, "cannot be written")


# ---- orphans --------------------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            out.setdefault(ppid, []).append(int(d))
    return out


def _descendants(pid: int) -> list[int]:
    children, found, todo = _children(), [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sweep_children_die_with_a_killed_sweep(tmp_path: Path) -> None:
    """SIGKILL of `learncomm sweep`: its forkserver, resource tracker and workers are all gone within seconds."""
    sweep = str(ROOT / "scenarios" / "sweep-confidence-mix-size.yaml")
    proc = subprocess.Popen(
        [*LEARNCOMM, "sweep", sweep, "--workers", "2", "--out", "sw", "--no-dashboard"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    children: list[int] = []
    while time.monotonic() < deadline:  # wait for the pool: forkserver, resource tracker and both workers
        children = _descendants(proc.pid)
        if len(children) >= 4 and list((tmp_path / "sw").glob("runs/point=*/seed=*")):
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    assert len(children) >= 4, children
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in children):
        time.sleep(0.1)
    alive = [p for p in children if _alive(p)]
    for p in alive:  # leave no orphans behind even when the test fails
        os.kill(p, signal.SIGKILL)
    assert not alive, f"still running after the sweep was killed: {alive}"


# ---- stale claims ---------------------------------------------------------------------------------------------


def _marker(folder: Path, **fields: object) -> None:
    folder.mkdir()
    (folder / IN_PROGRESS).write_text(json.dumps(fields))


def _wait_for_claim(path: Path, proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        marker = read_marker(path / IN_PROGRESS)
        if marker.get("pid") == proc.pid:
            return marker
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    raise AssertionError(f"{path} was never claimed")


def test_a_killed_runs_claim_is_taken_over_and_a_live_one_never(tmp_path: Path) -> None:
    """SIGKILL of `learncomm run` leaves its claim; while it runs nobody takes it, once it is dead the next run
    into the folder takes it over (saying whose it was) and removes what the dead run was writing."""
    args = [*LEARNCOMM, "run", "classroom", "--learners", "20000", "--days", "400", "--out", "big", "--no-dashboard"]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        marker = _wait_for_claim(tmp_path / "big", proc)
        assert marker["host"] == socket.gethostname() and marker["started"] and marker["process_start"]
        live = learncomm("run", "pottery", "--days", "3", "--out", "big", "--no-dashboard", cwd=tmp_path)
        clean_error(live, "big: already exists", f"another run is writing it: pid {proc.pid} on this host")
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert {p.name for p in (tmp_path / "big").iterdir()} == {IN_PROGRESS}  # the claim outlives the killed run
    assert list((tmp_path / ".tmp").glob(f"big-{proc.pid}-*"))  # and what it was writing
    res = learncomm("run", "pottery", "--days", "3", "--out", "big", "--no-dashboard", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    flat = " ".join(res.stderr.split())
    assert f"taking over the claim of pid {proc.pid} on this host" in flat and "no longer running" in flat, flat
    assert (tmp_path / "big" / "manifest.json").is_file() and not (tmp_path / "big" / IN_PROGRESS).exists()
    assert not (tmp_path / ".tmp").exists()


def test_a_claim_from_another_host_is_never_taken(tmp_path: Path) -> None:
    _marker(tmp_path / "r", pid=1, host="elsewhere.example", started="2026-01-01T00:00:00+00:00")
    with pytest.raises(ResultsError, match="pid 1 on host elsewhere.example.*cannot tell from here"):
        claim_dir(tmp_path / "r")
    assert read_marker(tmp_path / "r" / IN_PROGRESS)["host"] == "elsewhere.example"


def test_an_unreadable_or_old_style_claim_is_never_taken(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / IN_PROGRESS).write_text("pid 12345 started 2026-01-01T00:00:00+00:00\n")  # before pid records
    with pytest.raises(ResultsError, match="unreadable .in-progress marker.*cannot tell"):
        claim_dir(tmp_path / "r")


def test_a_claim_whose_pid_lives_on_is_not_taken_even_unlocked(tmp_path: Path) -> None:
    """A marker naming a running process (here: this one, with its real start time) is live, lock or no lock."""
    _marker(tmp_path / "r", pid=os.getpid(), host=socket.gethostname(), process_start=process_start(os.getpid()))
    with pytest.raises(ResultsError, match=f"another run is writing it: pid {os.getpid()} on this host"):
        claim_dir(tmp_path / "r")


def test_a_reused_pid_does_not_keep_a_claim_alive(tmp_path: Path) -> None:
    """The claimer's pid now belongs to another process (its start time differs): the claim is stale."""
    _marker(tmp_path / "r", pid=os.getpid(), host=socket.gethostname(), process_start="1", started="then")
    told: list[str] = []
    claim_dir(tmp_path / "r", on_stale=told.append)
    assert told and "no longer running" in told[0]
    assert read_marker(tmp_path / "r" / IN_PROGRESS)["process_start"] == process_start(os.getpid())
    release_dir(tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_a_dead_claim_beside_other_files_is_not_taken(tmp_path: Path) -> None:
    _marker(tmp_path / "r", pid=2**22 + 12345, host=socket.gethostname(), process_start="1")
    (tmp_path / "r" / "mine.txt").write_text("keep")
    with pytest.raises(ResultsError, match="no longer running, but the folder holds other files"):
        claim_dir(tmp_path / "r")
    assert (tmp_path / "r" / "mine.txt").read_text() == "keep"


def test_two_checks_into_one_folder_one_wins(tmp_path: Path) -> None:
    """`learncomm check` claims its --out as `run` does: the second check into the folder fails at once, naming the
    first; the first writes check.json undisturbed."""
    args = [*LEARNCOMM, "check", "--seeds", "30", "--scenario", "pottery", "--out", "c", "--no-dashboard"]
    first = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_claim(tmp_path / "c", first)
        second = learncomm(*args[3:], cwd=tmp_path)
        clean_error(second, "c: already exists", f"another run is writing it: pid {first.pid}")
        assert first.poll() is None, "the second check must fail while the first is still running"
        out, err = first.communicate(timeout=600)
    finally:
        first.kill()
    assert first.returncode in (0, 1), err  # 1: a fact failed on this small scenario, which is not the point here
    assert {p.name for p in (tmp_path / "c").iterdir()} == {"check.json"}
    assert json.loads((tmp_path / "c" / "check.json").read_text())["seeds"] == list(range(1, 31))


def test_check_out_that_exists_is_an_error_before_any_run(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    started = time.perf_counter()
    clean_error(learncomm("check", "--seeds", "30", "--out", "c", "--no-dashboard", cwd=tmp_path), "c: already exists")
    assert time.perf_counter() - started < 30
