"""Hostile endings: exit in the middle of a job, requests after shutdown, a client that stops
reading or vanishes, a flood of broken messages. Each server is fresh (these cases end it).

The exit status follows the LSP specification: 0 when ``shutdown`` came first, else 1. After
any of these endings the log holds a few lines and no traceback.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from leaks import Emitted, assert_no_secret
from rpc import RawServer, clean_env, emitted_fixture, frame, start_server_fixture  # noqa: F401 (fixtures)

from loopback import LoopbackServer, chat_reply

pytestmark = pytest.mark.e2e  # the server or the CLI as a subprocess

SOURCE = "# add a and b\n\n"
SECRET = "sk-adversarial-0f1e2d3c4b5a69788796a5b4"
MAX_LOG = 20_000  # bytes; the flood this guards against was 28 MB


def _generate(server: RawServer, uri: str) -> str:
    arguments = {"uri": uri, "version": 1, "action": "generate_from_comment",
                 "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}}  # fmt: skip
    return str(
        server.request("workspace/executeCommand", {"command": "codegen.generate", "arguments": [arguments]})
    )


def _quiet(server: RawServer) -> None:
    text = server.log + server.stderr
    assert "Traceback" not in text
    assert len(server.log.encode()) < MAX_LOG and len(server.stderr.encode()) < MAX_LOG


@pytest.mark.parametrize("transport", ["stdio", "tcp"])
def test_exit_without_shutdown_during_a_job_ends_it_with_status_1(
    start_server: Callable[..., RawServer],
    loopback: LoopbackServer,
    tmp_path: Path,
    transport: str,
    emitted: Emitted,
) -> None:
    server = start_server(transport, CODEGEN_LSP_API_KEY=SECRET)
    server.initialize(tmp_path, {"baseUrl": loopback.base_url, "model": "m", "autoLocal": False})
    uri = (tmp_path / "a.py").as_uri()
    server.open(uri, SOURCE)
    loopback.script(
        chat_reply("```python\n", "def add(a, b):\n", finish_reason=None, usage=False, done=False, end="hang")
    )
    _generate(server, uri)
    assert loopback.wait_requests(1, 60), "the job never reached the provider"
    time.sleep(0.2)  # the stream is open and waiting

    asked = time.monotonic()
    server.notify("exit")
    assert server.wait_exit(10) == 1
    assert time.monotonic() - asked < 5
    assert loopback.wait_disconnected(5), "the upstream stream was left open"
    server.close()
    _quiet(server)
    assert "exit without shutdown: exit status 1" in server.log
    assert_no_secret(server.emitted(), [SECRET])


def test_requests_after_shutdown_are_refused_and_exit_then_says_0(
    start_server: Callable[..., RawServer], tmp_path: Path
) -> None:
    server = start_server()
    server.initialize(tmp_path, {"autoLocal": False})
    assert server.call("shutdown").get("result", "missing") is None
    late = server.call("textDocument/codeAction", {"textDocument": {"uri": "file:///x.py"}})
    assert late["error"]["code"] == -32600 and "after shutdown" in late["error"]["message"]
    assert server.call("shutdown")["error"]["code"] == -32600  # a second shutdown too
    server.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///x.py", "languageId": "python",
                                                             "version": 1, "text": ""}})  # fmt: skip
    mark = server.mark()
    server.notify("exit")
    assert server.wait_exit(10) == 0
    server.close()
    assert server.responses(mark) == []  # the ignored notification got nothing
    _quiet(server)


@pytest.mark.parametrize(
    ("shutdown_first", "status"),
    [pytest.param(True, 0, id="after-shutdown"), pytest.param(False, 1, id="without-shutdown")],
)
def test_end_of_input_ends_the_server(
    start_server: Callable[..., RawServer], tmp_path: Path, shutdown_first: bool, status: int
) -> None:
    server = start_server()
    server.initialize(tmp_path, {"autoLocal": False})
    if shutdown_first:
        server.call("shutdown")
    server.end_input()
    assert server.wait_exit(10) == status
    server.close()
    _quiet(server)


def test_a_client_that_stops_reading_ends_the_server_quietly(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "codegen_lsp", "serve", "--log-file", str(log), "--log-level", "debug"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(tmp_path),
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdout.close()  # nobody will ever read what the server writes
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"processId": None, "capabilities": {}},
    }
    try:
        for _ in range(3):
            proc.stdin.write(frame(initialize))
            proc.stdin.flush()
        status = proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdin.close()
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    text = log.read_text()
    assert status == 1
    assert "the client can no longer be written to" in text
    assert "Traceback" not in text + stderr
    assert len(text) < MAX_LOG


def test_a_flood_of_broken_messages_costs_a_few_log_lines(
    start_server: Callable[..., RawServer], tmp_path: Path
) -> None:
    server = start_server()
    server.initialize(tmp_path, {"autoLocal": False})
    bad_notification = frame(
        {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": 1}}
    )
    server.write(bad_notification * 3000 + frame(b"{nope") * 3000 + b"garbage\r\n" * 3000)
    assert server.call("textDocument/codeAction", {"textDocument": {"uri": "file:///x.py"},
                       "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                       "context": {"diagnostics": []}})["result"] is None  # fmt: skip
    parse_errors = [r for r in server.responses() if r.get("error", {}).get("code") == -32700]
    assert len(parse_errors) == 3000  # every broken request is still answered
    lines = server.log.splitlines()
    assert sum("ignored textDocument/didChange" in line for line in lines) <= 5
    assert sum("not JSON" in line for line in lines) <= 5
    assert any("more like this in the next" in line for line in lines)
    _quiet(server)
