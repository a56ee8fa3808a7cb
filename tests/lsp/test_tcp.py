"""``codegen-lsp serve --tcp HOST:PORT``: the same server over a socket (for editors that connect)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loopback.processes import free_port

pytestmark = pytest.mark.e2e


def _send(conn: socket.socket, message: dict[str, object]) -> None:
    body = json.dumps(message).encode()
    conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)


def _receive(conn: socket.socket, buffer: bytearray) -> dict[str, object]:
    while b"\r\n\r\n" not in buffer:
        buffer += conn.recv(65536)
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1]
    )
    while len(rest) < length:
        rest += conn.recv(65536)
    buffer[:] = rest[length:]
    return json.loads(rest[:length])  # type: ignore[no-any-return]


def _connect(port: int, deadline: float) -> socket.socket:
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_serve_over_tcp_lists_code_actions(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEGEN_LSP_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "codegen_lsp",
            "serve",
            "--tcp",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        conn = _connect(port, time.monotonic() + 20)
        buffer = bytearray()
        uri = (tmp_path / "a.py").as_uri()
        _send(conn, {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                     "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}})  # fmt: skip
        initialized = _receive(conn, buffer)
        assert initialized["id"] == 1
        capabilities = initialized["result"]["capabilities"]  # type: ignore[index]
        assert "codegen.generate" in capabilities["executeCommandProvider"]["commands"]
        _send(conn, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
        _send(conn, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": "# add two numbers\n"}}})  # fmt: skip
        cursor = {"line": 0, "character": 3}
        _send(conn, {"jsonrpc": "2.0", "id": 2, "method": "textDocument/codeAction", "params": {
            "textDocument": {"uri": uri}, "range": {"start": cursor, "end": cursor},
            "context": {"diagnostics": []}}})  # fmt: skip
        while (answer := _receive(conn, buffer)).get("id") != 2:
            pass  # notifications (log messages) may come first
        titles = [action["title"] for action in answer["result"]]  # type: ignore[union-attr]
        assert titles == ["Codegen: Generate code from comment"]
        _send(conn, {"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
        while _receive(conn, buffer).get("id") != 3:
            pass
        _send(conn, {"jsonrpc": "2.0", "method": "exit"})
        conn.close()
        assert server.wait(timeout=10) == 0
        assert (
            server.stdout is not None and server.stdout.read() == b""
        )  # nothing but protocol, on the socket
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


@pytest.mark.parametrize(
    "address", [pytest.param("localhost", id="no-port"), pytest.param("h:p", id="bad-port")]
)
def test_serve_tcp_refuses_a_bad_address(address: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codegen_lsp", "serve", "--tcp", address],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "HOST:PORT" in done.stderr
