"""The HTTP/1.1 server on 127.0.0.1 that every loopback provider is built on.

:class:`LoopbackHTTPServer` runs its own asyncio event loop in a background thread and listens on
an ephemeral port, so it serves an in-process async test, a sync test, a benchmark, and a language
server or console script started as a subprocess alike (hand it ``server.base_url``). It reads
each request (:func:`read_request`, Content-Length or chunked bodies, keep-alive) and hands it to
the subclass's :meth:`~LoopbackHTTPServer.answer`, which writes the response with the framing
helpers below. Two subclasses exist: the scripted :class:`loopback.LoopbackServer` of the tests
and the timed reference provider of ``bench/refprovider.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

#: The last chunk of a chunked body: a clean end of the response.
LAST_CHUNK = b"0\r\n\r\n"


@dataclass
class RecordedRequest:
    """A request as the server saw it. Header names are lower-cased."""

    method: str
    target: str  # as sent: "/v1/chat/completions", or an absolute URL when sent to a proxy
    path: str  # the path part of target, without the query
    headers: dict[str, str]
    body: bytes
    #: ``time.perf_counter()`` when the whole request had been read (comparable with benchmark stamps)
    received: float = field(default_factory=time.perf_counter)
    #: the client went away before the reply was completely sent
    disconnected: bool = False
    #: the reply was completely sent
    completed: bool = False

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def proxied(self) -> bool:
        """The request line carried an absolute URL: the client talked to us as its proxy."""
        return "://" in self.target


def response_head(status: int, headers: Mapping[str, str], reason: str | None = None) -> bytes:
    """The status line and headers of a response, up to and including the blank line."""
    head = f"HTTP/1.1 {status} {REASONS.get(status, 'Status') if reason is None else reason}\r\n"
    return (head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()


def http_chunk(data: bytes) -> bytes:
    """``data`` framed as one chunk of a ``Transfer-Encoding: chunked`` body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def sse_event(data: str | Mapping[str, Any], *, event: str | None = None, eol: str = "\n") -> bytes:
    """One server-sent event: ``data: <json or text>`` followed by a blank line, lines ending in
    ``eol`` (SSE allows ``\\n``, ``\\r\\n`` and ``\\r``). JSON is compact, as OpenAI sends it."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}{eol}" if event else ""
    lines = "".join(f"data: {line}{eol}" for line in text.split("\n"))
    return f"{head}{lines}{eol}".encode()


async def read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
    """Read one HTTP/1.1 request (Content-Length or chunked body); None at a clean EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(p[:-2] for p in parts)
    path = urlsplit(target).path if "://" in target else target.split("?", 1)[0]
    return RecordedRequest(method=method, target=target, path=path, headers=headers, body=body)


def client_gone(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """EOF from the client (it closed its side) or a reset transport, observed without consuming
    input: an HTTP client sends nothing more while it reads a response."""
    return reader.at_eof() or writer.transport.is_closing()


class LoopbackHTTPServer:
    """An HTTP/1.1 server on 127.0.0.1 with its own event loop thread; subclasses implement
    :meth:`answer`. Use as a context manager or call :meth:`start` / :meth:`stop`."""

    thread_name = "loopback-http"

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        #: a server-side TLS context makes this an https:// server (see :func:`self_signed_cert`)
        self.ssl_context = ssl_context
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: connections accepted so far (a client that keeps its connection alive opens one)
        self.connections = 0

    async def answer(
        self, request: RecordedRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Write the response to ``request``; return whether the connection may serve another."""
        raise NotImplementedError

    # lifecycle

    def start(self) -> Self:
        ready = threading.Event()
        loop = self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, reuse_address=True, ssl=self.ssl_context)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https`` with TLS; no trailing slash)."""
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            while (request := await read_request(reader)) is not None:
                if not await self.answer(request, reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


# --- TLS ------------------------------------------------------------------------------------


def self_signed_cert(folder: Path) -> tuple[Path, Path] | None:
    """A certificate for ``127.0.0.1`` (and ``localhost``) with its key, made by the ``openssl``
    command; None when openssl is not installed. The certificate is its own CA bundle."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = folder / "loopback-cert.pem", folder / "loopback-key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_ssl_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side of :func:`self_signed_cert`, for ``LoopbackServer(ssl_context=...)``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
