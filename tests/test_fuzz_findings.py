"""What tests/test_fuzz.py (and the runs behind it) found, each as the exact input that failed: a MemoryError or a
traceback or a hang before, a clean `file:line: problem` error (exit 2) within bounded time and memory now."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from learncomm.sim.schema.loading import MAX_FILE_BYTES, MAX_YAML_NODES, ScenarioError, parse_scenario, read_file

MEMORY = 2 * 1024**3


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def learncomm(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The command in a real process under a 2 GiB address-space limit."""
    return subprocess.run(
        [sys.executable, "-m", "learncomm", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limited,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_ten_million_values_in_a_flow_list_are_refused_before_they_are_built(tmp_path: Path) -> None:
    """A 19.8 MB file (under the 20 MB limit) of one flow list: the whole node tree was composed before the value
    count was checked, 20 s of CPU into a MemoryError under 2 GiB. Now the parser's events are counted first."""
    text = "name: x\nlearners: 10\nnetwork: [" + "0," * 9_900_000 + "0]\n"
    assert len(text) < MAX_FILE_BYTES
    (tmp_path / "big.yaml").write_text(text)
    start = time.process_time()
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "big.yaml")
    assert time.process_time() - start < 5
    assert f"big.yaml:3: the document holds more than {MAX_YAML_NODES:,} values" in str(exc.value)
    res = learncomm("validate", "big.yaml", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "MemoryError" not in res.stderr
    assert "big.yaml:3: the document holds more than 1,000,000 values" in res.stderr.replace("\n", "")


def test_a_file_of_gigabytes_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    """A 3 GB scenario file (or a sweep's base) was read whole before its size was checked: MemoryError."""
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as f:
        f.truncate(3 * 1024**3)  # sparse: no disk space used
    sweep = tmp_path / "sw.yaml"
    sweep.write_text("base: huge.yaml\nparameters:\n  days: {values: [5, 6]}\n")
    for args in (("validate", "huge.yaml"), ("run", "huge.yaml", "--days", "3"), ("sweep", "sw.yaml", "--dry-run")):
        res = learncomm(*args, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        assert "Traceback" not in res.stderr and "MemoryError" not in res.stderr
        assert f"huge.yaml: the file is larger than {MAX_FILE_BYTES:,} bytes" in res.stderr.replace("\n", "")
    assert not (tmp_path / "results").exists()


def test_a_read_that_would_wait_is_refused(tmp_path: Path) -> None:
    """`validate /proc/kmsg`, or a sweep file whose `base:` names it, blocked forever: it passes is_file() and its
    read waits for kernel messages. The file is now opened non-blocking; a FIFO with an idle writer stands in for
    it here (read_file is called directly, as load_scenario calls it after is_file())."""
    fifo = tmp_path / "wait.yaml"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)  # a writer that never writes: a blocking read would wait forever
    try:
        start = time.perf_counter()
        with pytest.raises(ScenarioError) as exc:
            read_file(fifo)
        assert time.perf_counter() - start < 5
    finally:
        os.close(writer)
    assert f"{fifo}: cannot read the file: reading it would wait" in str(exc.value)
    kmsg = Path("/proc/kmsg")
    if kmsg.is_file() and os.access(kmsg, os.R_OK):  # where the real thing is readable (as root, unmasked)
        (tmp_path / "sw.yaml").write_text("base: /proc/kmsg\nparameters:\n  days: {values: [5, 6]}\n")
        res = learncomm("sweep", "sw.yaml", "--dry-run", cwd=tmp_path, timeout=60)
        assert res.returncode == 2 and "reading it would wait" in res.stderr.replace("\n", "")


def test_an_llm_cache_path_with_a_nul_is_refused_where_it_is_written(tmp_path: Path) -> None:
    """`llm_cache: "a\\0b"` in a sweep file passed validation, then `sweep --dry-run` crashed resolving the path
    (ValueError: embedded null byte); a scenario's `llm.cache` likewise reached the decider. Both are file:line
    errors now."""
    (tmp_path / "nul.yaml").write_text('base: community\nllm_cache: "a\\0b"\nparameters:\n  days: {values: [5, 6]}\n')
    res = learncomm("sweep", "nul.yaml", "--dry-run", cwd=tmp_path, timeout=60)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert "nul.yaml:2: llm_cache: a file path cannot hold control characters" in res.stderr.replace("\n", "")
    with pytest.raises(ScenarioError) as exc:
        parse_scenario('name: x\nlearners: 5\nllm:\n  cache: "a\\0b"\n', "s.yaml")
    assert "s.yaml:4: llm.cache: a file path cannot hold control characters" in str(exc.value)


def test_a_file_name_too_long_for_the_file_system_is_no_such_file(tmp_path: Path) -> None:
    """`extends: '[[[...'` (1,000 characters) raised OSError (File name too long) from Path.is_file(); a sweep's
    `base:` and a name on the command line likewise. Now each is "no such file", with its file and line."""
    from learncomm.sim.schema.loading import load_scenario
    from learncomm.sim.sweeps.plan import load_sweep

    long = "[" * 1000
    (tmp_path / "ext.yaml").write_text(f"extends: '{long}'\nname: low-access\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path / "ext.yaml")
    assert f"ext.yaml:1: extends: {long}: no such file" in str(exc.value)
    (tmp_path / "sw.yaml").write_text(f"base: '{long}'\nparameters:\n  days: {{values: [5, 6]}}\n")
    with pytest.raises(ScenarioError) as exc:
        load_sweep(tmp_path / "sw.yaml")
    assert f"sw.yaml:1: base: {long}: no such file" in str(exc.value)
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(long)
    res = learncomm("validate", "x" * 300, cwd=tmp_path, timeout=60)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "no such file" in res.stderr
