"""Claiming an output folder before the work starts, and taking over the claim of a killed run.

A claim is the folder itself (created with an exclusive `os.mkdir`) holding one file, `.in-progress`: JSON with the
claimer's pid, host, start time and the process's own start time (so a reused pid does not pass for the claimer).
The claimer holds an exclusive `flock` on that file for as long as it works; the kernel drops it when the process
ends, however it ends (SIGKILL included). A later claim of the same folder takes it over only when the claim is
provably stale: the lock is free, the claimer ran on this host and is no longer running, and the folder holds
nothing but the marker. A claim from another host is never taken (learncomm cannot tell whether it still runs),
nor a live one.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import shutil
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

IN_PROGRESS = ".in-progress"  # in a claimed folder while its run is being written; readers need manifest.json
RESERVED = ".tmp"  # the staging folder beside every target
_held: dict[str, int] = {}  # claimed folder -> the open, locked marker (closed when the claim ends)


class ResultsError(Exception):
    """A problem with a results folder that the user can fix (exists already, not a run, ...)."""


def process_start(pid: int) -> str | None:
    """The process's start time (Linux: /proc/PID/stat field 22), None when it is gone or a zombie; elsewhere
    "alive" while a signal 0 reaches it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        if not Path("/proc/self/stat").exists():  # no /proc (macOS): is the pid still there?
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return None
            except PermissionError:
                pass
            except OverflowError:
                return None
            return "alive"
        return None
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def _marker_text() -> str:
    return json.dumps(
        {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "process_start": process_start(os.getpid()),
        }
    )


def read_marker(path: Path) -> dict[str, Any]:
    """The claim's record; {} when it is unreadable (then nobody can tell whether its claimer runs)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace")[:10_000])
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def claimer_state(marker: dict[str, Any]) -> str:
    """`alive`, `gone` (ran on this host and no longer runs) or `unknown` (another host, or no usable record)."""
    pid = marker.get("pid")
    if marker.get("host") != socket.gethostname() or isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return "unknown"
    now = process_start(pid)
    if now is None:
        return "gone"
    return "alive" if marker.get("process_start") in (None, now) else "gone"  # else: the pid was reused


def describe(marker: dict[str, Any]) -> str:
    if not marker:
        return "an unreadable .in-progress marker"
    host = "this host" if marker.get("host") == socket.gethostname() else f"host {marker.get('host')}"
    return f"pid {marker.get('pid')} on {host}, started {marker.get('started')}"


def unwritable(target: Path, exc: OSError) -> ResultsError:
    return ResultsError(f"{target}: cannot be written ({exc.strerror or exc}); choose another --out")


def _file_above(target: Path) -> Path:
    for p in [target, *target.parents]:
        if p.exists() and not p.is_dir():
            return p
    return target.parent


def _lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _take_over(target: Path) -> dict[str, Any] | None:
    """Take over a stale claim of `target`; the dead claimer's record, or None when the claim is not stale."""
    marker = target / IN_PROGRESS
    try:
        fd = os.open(marker, os.O_RDWR)
    except OSError:
        return None
    taken = False
    try:
        if not _lock(fd):  # held: the claimer (or someone taking it over) is alive
            return None
        # under the lock: still this marker, and nothing else in the folder (a run never writes there itself)
        if os.fstat(fd).st_ino != os.stat(marker).st_ino or set(os.listdir(target)) != {IN_PROGRESS}:
            return None
        old = read_marker(marker)
        if claimer_state(old) != "gone":
            return None
        os.ftruncate(fd, 0)
        os.pwrite(fd, _marker_text().encode(), 0)
        _held[os.path.abspath(target)] = fd
        taken = True
        return old
    except OSError:
        return None
    finally:
        if not taken:
            os.close(fd)


def _claim(target: Path, on_stale: Callable[[str], None] | None = None) -> bool:
    """Create `target` (os.mkdir: exclusive) with its locked in-progress marker, or take over a stale claim of it;
    False if it exists already (and is not a stale claim)."""
    if target.name == RESERVED:
        raise ResultsError(f"{target}: the name {RESERVED} is reserved for folders being written; choose another --out")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(target)
    except FileExistsError:
        if not target.parent.is_dir():
            raise ResultsError(
                f"{target}: {_file_above(target)} is a file, not a folder; choose another --out"
            ) from None
        old = _take_over(target) if target.is_dir() else None
        if old is None:
            return False
        for left in (target.parent / RESERVED).glob(f"{glob.escape(target.name)}-{old.get('pid')}-*"):
            shutil.rmtree(left, ignore_errors=True)  # what the dead run was writing (atomic_dir's staging name)
        with contextlib.suppress(OSError):
            (target.parent / RESERVED).rmdir()
        if on_stale is not None:
            on_stale(f"{target}: taking over the claim of {describe(old)}, which is no longer running")
        return True
    except NotADirectoryError:
        raise ResultsError(f"{target}: {_file_above(target)} is a file, not a folder; choose another --out") from None
    except OSError as exc:
        raise unwritable(target, exc) from None
    try:
        fd = os.open(target / IN_PROGRESS, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise unwritable(target, exc) from None
    _lock(fd)  # a fresh file: nobody else holds it
    _held[os.path.abspath(target)] = fd
    try:
        os.write(fd, _marker_text().encode())
    except OSError as exc:
        release_dir(target)
        raise unwritable(target, exc) from None
    return True


def stamped_dir(root: Path, prefix: str, claim: bool = False) -> Path:
    """results/<prefix>-<UTC timestamp>, with -1, -2, ... when that folder exists: one folder per run.

    With `claim`, the folder is also created (see `claim_dir`), retrying the next suffix when another process
    took the name first, so two runs started in the same second never share a folder."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{prefix}-{stamp}"
    path, i = base, 1
    while True:
        if not path.exists() and (not claim or _claim(path)):
            return path
        path, i = Path(f"{base}-{i}"), i + 1


def claim_dir(target: Path, on_stale: Callable[[str], None] | None = None) -> Path:
    """Claim `target` before any work: create it at once (exclusive), so a second writer fails now, not at the end.

    The folder holds only an `.in-progress` marker until `atomic_dir` moves the finished run into it. The stale
    claim of a killed run is taken over (`on_stale` is told); a live one, or one from another host, is an error
    that says whose it is."""
    target = Path(target)
    if not _claim(target, on_stale):
        note = ""
        if (target / IN_PROGRESS).is_file():
            marker = read_marker(target / IN_PROGRESS)
            state = claimer_state(marker)
            if state == "alive":
                note = f" (another run is writing it: {describe(marker)})"
            elif state == "gone":
                note = (
                    f" (claimed by {describe(marker)}, which is no longer running, but the folder holds other "
                    "files too; remove it if they are not wanted)"
                )
            else:
                note = (
                    f" (claimed by {describe(marker)}; learncomm cannot tell from here whether that run still "
                    "writes it: remove the folder if it does not)"
                )
        raise ResultsError(f"{target}: already exists{note}; choose another --out or remove it")
    return target


def end_claim(target: Path) -> None:
    """Let go of the lock on `target`'s marker (the claim ends: the run is in place, or released)."""
    fd = _held.pop(os.path.abspath(target), None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def release_dir(target: Path) -> None:
    """Give up a claim: remove `target` if it still holds nothing but its in-progress marker."""
    target = Path(target)
    try:
        with contextlib.suppress(OSError):
            if {p.name for p in target.iterdir()} <= {IN_PROGRESS}:
                (target / IN_PROGRESS).unlink(missing_ok=True)
                target.rmdir()
    finally:
        end_claim(target)
