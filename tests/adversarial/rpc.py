"""A raw JSON-RPC client for hostile tests: the server as a subprocess, spoken to in bytes.

pytest-lsp's client can only send well-formed messages; these tests need to send anything. A
:class:`RawServer` starts ``python -m codegen_lsp serve`` over stdio or ``--tcp``, writes
whatever bytes a test gives it, and reads what the server sends back on a thread with a strict
framer: every message is kept in order (``messages``), and any output that is not a well-formed
frame is recorded in ``violations`` (a test fails on it: the server's own framing must be
perfect whatever it was sent). Its stderr and its ``--log-file`` are kept too, so
:meth:`RawServer.emitted` returns everything the server said, for leak checks. The fixtures at
the end start servers in a clean environment and collect what they emitted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from leaks import Emitted

from loopback.processes import free_port

#: leave "params" out of a request altogether
OMIT: Any = object()

_HEADER = re.compile(rb"Content-Length: (\d+)\r\n(?:Content-Type: [^\r\n]*\r\n)?\r\n")


def frame(message: Any) -> bytes:
    """``message`` (bytes as they are, anything else as JSON) with a correct header."""
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without the machine's ``CODEGEN_LSP_*`` and proxies."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CODEGEN_LSP_") and "PROXY" not in k.upper()
    }
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "xdg"), PYTHONUNBUFFERED="1", **extra)
    return env


class RawServer:
    """One server process and a byte-level connection to it (see the module doc)."""

    def __init__(
        self,
        home: Path,
        env: dict[str, str],
        *,
        transport: str = "stdio",
        log_level: str = "debug",
    ) -> None:
        self.home = home
        self.env = env
        self.transport = transport
        self.log_file = home / "server.log"
        self.log_level = log_level
        self.messages: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self._stderr = bytearray()
        self._stdout_extra = bytearray()  # over TCP, stdout must stay empty
        self._changed = threading.Condition()
        self._ids = 0
        self._write_lock = threading.Lock()
        #: how the client answers the server's own requests, by method (a callable gets the
        #: request); other methods get -32601
        self.replies: dict[str, Any] = {
            "window/workDoneProgress/create": None,
            "workspace/configuration": lambda request: [None] * len(request["params"]["items"]),
            "workspace/applyEdit": {"applied": True},
            "window/showMessageRequest": None,
            "client/registerCapability": None,
        }
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    # lifecycle

    def start(self, timeout: float = 30.0) -> RawServer:
        command = [sys.executable, "-m", "codegen_lsp", "serve", "--log-file", str(self.log_file),
                   "--log-level", self.log_level]  # fmt: skip
        if self.transport == "tcp":
            port = free_port()
            command += ["--tcp", f"127.0.0.1:{port}"]
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if self.transport == "stdio" else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            cwd=self.home,
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._spawn(self._collect, self._proc.stderr.fileno(), self._stderr)
        if self.transport == "tcp":
            self._spawn(self._collect, self._proc.stdout.fileno(), self._stdout_extra)
            self._sock = self._connect(port, time.monotonic() + timeout)
            self._spawn(self._read_frames, lambda: self._sock.recv(1 << 16) if self._sock else b"")
        else:
            fd = self._proc.stdout.fileno()
            self._spawn(self._read_frames, lambda: os.read(fd, 1 << 16))
        return self

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _connect(self, port: int, deadline: float) -> socket.socket:
        while True:
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=30)
            except OSError:
                if time.monotonic() > deadline or (self._proc and self._proc.poll() is not None):
                    raise
                time.sleep(0.05)

    def close(self, timeout: float = 10.0) -> int | None:
        """End the connection (stdin or socket) and wait for the process; kill it if it hangs."""
        self.end_input()
        assert self._proc is not None
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
            self.violations.append(f"did not exit within {timeout} s of end of input")
        for thread in self._threads:
            thread.join(2)
        return self._proc.returncode

    def end_input(self) -> None:
        with contextlib.suppress(OSError):
            if self._sock is not None:
                self._sock.shutdown(socket.SHUT_WR)
            elif self._proc is not None and self._proc.stdin is not None and not self._proc.stdin.closed:
                self._proc.stdin.close()

    def wait_exit(self, timeout: float) -> int | None:
        assert self._proc is not None
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    # output

    def _collect(self, fd: int, into: bytearray) -> None:
        while chunk := os.read(fd, 1 << 16):
            with self._changed:
                into += chunk

    def _read_frames(self, read: Callable[[], bytes]) -> None:
        buffer = bytearray()
        while True:
            try:
                chunk = read()
            except OSError:
                chunk = b""
            if not chunk:
                if buffer:
                    self.violations.append(f"output ended inside a frame: {bytes(buffer[:80])!r}")
                with self._changed:
                    self._changed.notify_all()
                return
            buffer += chunk
            while buffer:
                match = _HEADER.match(buffer)
                if match is None:
                    if len(buffer) > 200 or not b"Content-Length: ".startswith(bytes(buffer[:16])):
                        self.violations.append(f"not a frame header: {bytes(buffer[:80])!r}")
                        buffer.clear()
                    break
                end = match.end() + int(match.group(1))
                if len(buffer) < end:
                    break
                body = bytes(buffer[match.end() : end])
                del buffer[:end]
                try:
                    message = json.loads(body)
                except ValueError:
                    self.violations.append(f"a frame that is not JSON: {body[:80]!r}")
                    continue
                if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
                    self.violations.append(f"not a JSON-RPC 2.0 message: {body[:80]!r}")
                with self._changed:
                    self.messages.append(message)
                    self._changed.notify_all()
                if isinstance(message, dict) and "method" in message and "id" in message:
                    self._reply_to(message)

    def _reply_to(self, request: dict[str, Any]) -> None:
        method = request["method"]
        if method not in self.replies:
            answer: dict[str, Any] = {"error": {"code": -32601, "message": f"not here: {method}"}}
        else:
            reply = self.replies[method]
            answer = {"result": reply(request) if callable(reply) else reply}
        with contextlib.suppress(OSError):  # the server is gone; the test will see it
            self.send({"jsonrpc": "2.0", "id": request["id"], **answer})

    @property
    def stderr(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    @property
    def log(self) -> str:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def emitted(self) -> dict[str, str]:
        """Everything the server said so far: its messages, stderr, stdout (TCP) and log file."""
        with self._changed:
            messages = "\n".join(json.dumps(m, ensure_ascii=False) for m in self.messages)
            extra = self._stdout_extra.decode("utf-8", "replace")
        return {"messages": messages, "stderr": self.stderr, "stdout": extra, "log": self.log}

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0, start: int = 0
    ) -> dict[str, Any]:
        """The first message from index ``start`` on that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.messages[start:]:
                    if predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"no such message within {timeout} s; got {self.messages[start:][-5:]}"
                    )
                self._changed.wait(left)

    def responses(self, start: int = 0) -> list[dict[str, Any]]:
        with self._changed:
            return [m for m in self.messages[start:] if "method" not in m]

    def mark(self) -> int:
        with self._changed:
            return len(self.messages)

    # input

    def write(self, data: bytes) -> None:
        with self._write_lock:  # the reader thread answers the server's requests meanwhile
            if self._sock is not None:
                self._sock.sendall(data)
            else:
                assert self._proc is not None and self._proc.stdin is not None
                self._proc.stdin.write(data)
                self._proc.stdin.flush()

    def dribble(self, chunks: Iterable[bytes], pause: float = 0.002) -> None:
        for chunk in chunks:
            self.write(chunk)
            time.sleep(pause)

    def send(self, message: Any) -> None:
        self.write(frame(message))

    def next_id(self) -> str:
        self._ids += 1
        return f"t{self._ids}"

    def request(self, method: str, params: Any = OMIT, *, msg_id: Any = None) -> Any:
        msg_id = self.next_id() if msg_id is None else msg_id
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not OMIT:
            message["params"] = params
        self.send(message)
        return msg_id

    def response(self, msg_id: Any, timeout: float = 10.0, start: int = 0) -> dict[str, Any]:
        return self.wait_for(lambda m: "method" not in m and m.get("id") == msg_id, timeout, start)

    def call(self, method: str, params: Any = OMIT, timeout: float = 10.0) -> dict[str, Any]:
        return self.response(self.request(method, params), timeout)

    def notify(self, method: str, params: Any = OMIT) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not OMIT:
            message["params"] = params
        self.send(message)

    def answer(self, request: dict[str, Any], result: Any) -> None:
        self.send({"jsonrpc": "2.0", "id": request["id"], "result": result})

    def initialize(
        self,
        root: Path,
        options: dict[str, Any] | None = None,
        timeout: float = 30.0,
        *,
        window: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``initialize`` + ``initialized``; ``window`` adds to the client's window capabilities
        (``{"showMessage": {}}``: it can answer ``window/showMessageRequest``)."""
        capabilities = {
            "window": {"workDoneProgress": True, **(window or {})},
            "workspace": {"applyEdit": True},
        }
        params = {"processId": None, "rootUri": root.as_uri(), "capabilities": capabilities,
                  "initializationOptions": {"codegen": options or {}}}  # fmt: skip
        answer = self.call("initialize", params, timeout)
        self.notify("initialized", {})
        return answer

    def open(self, uri: str, text: str, language_id: str = "python", version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": language_id,
                                                              "version": version, "text": text}})  # fmt: skip


# Fixtures. They live here, not in a conftest.py: tests/lsp imports helpers with
# ``from conftest import ...``, which a second conftest module on the path would shadow. A test
# module uses them with ``from rpc import emitted_fixture, start_server_fixture``.


@pytest.fixture(name="emitted")
def emitted_fixture() -> Emitted:
    """What this test's servers (and the CLI runs it adds) emitted, for ``assert_no_secret``."""
    return Emitted()


@pytest.fixture(name="start_server")
def start_server_fixture(tmp_path: Path, emitted: Emitted) -> Iterator[Callable[..., RawServer]]:
    """``start_server(transport="stdio", **env)``: a started :class:`RawServer` in a clean
    environment; at teardown each is closed, its output added to ``emitted``, and its framing
    checked."""
    servers: list[RawServer] = []

    def start(transport: str = "stdio", **env: str) -> RawServer:
        home = tmp_path / f"server{len(servers) + 1}"
        home.mkdir()
        server = RawServer(home, clean_env(home, **env), transport=transport).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
        for source, text in server.emitted().items():
            emitted.add(f"server {source}", text)
        assert server.violations == [], server.violations
