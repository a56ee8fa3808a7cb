"""Servers that tests and the benchmark run on 127.0.0.1: a free port, waiting for one, stopping it.

``tests/model`` and ``bench/model_bench.py`` start ``python -m llama_cpp.server`` the same way and
wait for the same sign of life (``GET /models`` answering 200); each reports a server that never
came up in its own way (a failed test, or the benchmark's exit), from :class:`NotServing`.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NotServing(Exception):
    """The server exited (``returncode``) or did not answer in time (``returncode`` None)."""

    def __init__(self, returncode: int | None) -> None:
        super().__init__("exited" if returncode is not None else "not ready in time")
        self.returncode = returncode


def wait_until_serving(
    process: subprocess.Popen[bytes], base_url: str, *, timeout: float, poll: float
) -> None:
    """Return once ``GET {base_url}/models`` answers 200; :class:`NotServing` when the process
    exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise NotServing(process.returncode)
        try:
            if httpx.get(f"{base_url}/models", timeout=1.0, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise NotServing(None)
        time.sleep(poll)


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Ctrl-C (the server shuts down cleanly), then kill after ``grace`` seconds."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
