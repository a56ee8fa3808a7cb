"""A real, scripted HTTP/1.1 server on 127.0.0.1 for provider, CLI, LSP and benchmark tests.

``LoopbackServer`` runs its own asyncio event loop in a background thread and listens on an
ephemeral port, so it serves equally well an in-process async test, a sync test, and a language
server or console script started as a subprocess (hand it ``server.base_url``). Each incoming
request takes the next scripted :class:`Reply` from a FIFO queue (or asks ``responder`` when the
queue is empty), is recorded as a :class:`RecordedRequest`, and is answered exactly as scripted:
status, headers, a whole body, or a stream of raw byte pieces sent one HTTP chunk each with
:class:`Pause` items in between (slow tokens, stalls), ending cleanly, by dropping the
connection, or by hanging until the client goes away. The server watches the socket while it
answers, so a test can wait for the client's disconnect (cancellation tests).

Typical use (the ``loopback`` fixture in ``tests/conftest.py`` starts and stops one)::

    loopback.script(chat_reply("def f():\\n", "    return 1\\n", token_delay=0.05))
    loopback.script(error_reply(429, "slow down", headers={"Retry-After": "1"}))
    ... point the client at loopback.base_url ("http://127.0.0.1:PORT/v1") ...
    assert loopback.requests[0].json["stream"] is True
    assert loopback.wait_disconnected(timeout=2)

The chunk builders (``chat_chunk``, ``chat_chunks``, ``sse_event``) produce OpenAI-style
``/chat/completions`` streaming bodies; anything else can be scripted as raw bytes.
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
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = [
    "LoopbackServer",
    "Pause",
    "RecordedRequest",
    "Reply",
    "chat_chunk",
    "chat_chunks",
    "chat_completion_json",
    "chat_reply",
    "error_reply",
    "json_reply",
    "self_signed_cert",
    "server_ssl_context",
    "sse_event",
    "sse_reply",
]

DEFAULT_MODEL = "loopback-model"

#: How a streamed reply ends: ``"finish"`` sends the terminating empty chunk (a clean end of the
#: body), ``"abort"`` drops the TCP connection mid-body, ``"hang"`` keeps the connection open
#: without sending anything more until the client disconnects or the server stops.
End = Literal["finish", "abort", "hang"]


@dataclass(frozen=True)
class Pause:
    """Wait ``seconds`` before sending the next piece of a streamed reply (slow token, stall)."""

    seconds: float


Piece = bytes | str | Pause


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    With ``stream`` None the ``body`` is sent whole with a Content-Length. Otherwise the body is
    sent with ``Transfer-Encoding: chunked``, one HTTP chunk per ``bytes``/``str`` piece (so a test
    controls where the client's reads split), sleeping at each :class:`Pause`, and ends as ``end``
    says. ``delay`` stalls before the status line (a server that accepts but never answers).
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Sequence[Piece] | None = None
    end: End = "finish"
    delay: float = 0.0


@dataclass
class RecordedRequest:
    """A request as the server saw it. Header names are lower-cased."""

    method: str
    target: str  # as sent: "/v1/chat/completions", or an absolute URL when sent to a proxy
    path: str  # the path part of target, without the query
    headers: dict[str, str]
    body: bytes
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


# --- builders -------------------------------------------------------------------------------


def sse_event(data: str | Mapping[str, Any], *, event: str | None = None) -> bytes:
    """One SSE event: ``data: <json or text>`` followed by a blank line."""
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    lines = "".join(f"data: {line}\n" for line in text.split("\n"))
    return f"{head}{lines}\n".encode()


def chat_chunk(
    content: str | None = None,
    *,
    role: str | None = None,
    finish_reason: str | None = None,
    reasoning_content: str | None = None,
    reasoning: str | None = None,
    model: str = DEFAULT_MODEL,
    usage: Mapping[str, int] | None = None,
    no_choices: bool = False,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` object; ``no_choices`` gives the final usage-only chunk."""
    chunk: dict[str, Any] = {
        "id": "chatcmpl-loopback",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
    }
    if no_choices:
        chunk["choices"] = []
    else:
        delta: dict[str, Any] = {}
        if role is not None:
            delta["role"] = role
        if content is not None:
            delta["content"] = content
        if reasoning_content is not None:
            delta["reasoning_content"] = reasoning_content
        if reasoning is not None:
            delta["reasoning"] = reasoning
        chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    if usage is not None:
        chunk["usage"] = dict(usage)
    return chunk


def chat_chunks(
    *texts: str,
    finish_reason: str | None = "stop",
    usage: bool = True,
    done: bool = True,
    role: bool = True,
    model: str = DEFAULT_MODEL,
) -> list[bytes]:
    """A whole OpenAI-style stream as SSE events: a role-only chunk, one chunk per text, a
    finish chunk, a usage chunk with ``choices: []`` and ``data: [DONE]`` (each optional)."""
    events: list[bytes] = []
    if role:
        events.append(sse_event(chat_chunk(role="assistant", content="", model=model)))
    events.extend(sse_event(chat_chunk(t, model=model)) for t in texts)
    if finish_reason is not None:
        events.append(sse_event(chat_chunk(finish_reason=finish_reason, model=model)))
    if usage:
        counts = {"prompt_tokens": 7, "completion_tokens": len(texts), "total_tokens": 7 + len(texts)}
        events.append(sse_event(chat_chunk(no_choices=True, usage=counts, model=model)))
    if done:
        events.append(sse_event("[DONE]"))
    return events


def chat_completion_json(
    text: str, *, model: str = DEFAULT_MODEL, finish_reason: str = "stop"
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` body."""
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


def sse_reply(
    events: Iterable[Piece],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    token_delay: float = 0.0,
    end: End = "finish",
    delay: float = 0.0,
) -> Reply:
    """A ``text/event-stream`` reply; ``token_delay`` pauses between consecutive pieces."""
    pieces: list[Piece] = []
    for piece in events:
        if token_delay and pieces and not isinstance(piece, Pause):
            pieces.append(Pause(token_delay))
        pieces.append(piece)
    all_headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **(headers or {})}
    return Reply(status=status, headers=all_headers, stream=pieces, end=end, delay=delay)


def chat_reply(
    *texts: str,
    token_delay: float = 0.0,
    headers: Mapping[str, str] | None = None,
    end: End = "finish",
    delay: float = 0.0,
    **chunk_options: Any,
) -> Reply:
    """A streamed chat completion of ``texts``; ``chunk_options`` go to :func:`chat_chunks`."""
    return sse_reply(
        chat_chunks(*texts, **chunk_options), token_delay=token_delay, headers=headers, end=end, delay=delay
    )


def json_reply(status: int, obj: Any, *, headers: Mapping[str, str] | None = None) -> Reply:
    body = json.dumps(obj).encode()
    return Reply(status=status, headers={"Content-Type": "application/json", **(headers or {})}, body=body)


def error_reply(
    status: int,
    message: str = "scripted error",
    *,
    type: str = "invalid_request_error",  # the OpenAI field name
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """An OpenAI-style ``{"error": {...}}`` JSON reply."""
    return json_reply(status, {"error": {"message": message, "type": type, "code": code}}, headers=headers)


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


_REASONS = {
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


# --- the server -----------------------------------------------------------------------------


class LoopbackServer:
    """A scripted HTTP server on 127.0.0.1 with its own event loop thread. See the module doc.

    Thread-safe: scripting and inspection happen from the test's thread (or its event loop)
    while the server answers on its own.
    """

    def __init__(
        self,
        responder: Callable[[RecordedRequest], Reply] | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        #: answers requests once the scripted queue is empty; default: a 500 saying so
        self.responder = responder
        #: a server-side TLS context makes this an https:// server (see :func:`self_signed_cert`)
        self.ssl_context = ssl_context
        self.requests: list[RecordedRequest] = []
        #: set when a client disconnects before a reply was completely sent
        self.disconnected = threading.Event()
        self.port = 0
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # lifecycle

    def start(self) -> LoopbackServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, reuse_address=True, ssl=self.ssl_context)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="loopback-http", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("loopback server did not start")
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

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # scripting and inspection

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https`` with TLS; no trailing slash)."""
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    def script(self, *replies: Reply) -> LoopbackServer:
        """Queue replies; each request takes the next one."""
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """Scripted replies not yet used."""
        with self._lock:
            return len(self._queue)

    def wait_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` requests arrived."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.requests) >= count, timeout)

    def wait_disconnected(self, timeout: float = 5.0) -> bool:
        """Block until a client dropped a reply in flight (True) or the timeout passed (False)."""
        return self.disconnected.wait(timeout)

    def async_wait_disconnected(self, timeout: float = 5.0) -> Awaitable[bool]:
        """:meth:`wait_disconnected` for async tests: ``await server.async_wait_disconnected(2)``
        (waits in a worker thread, so the test's event loop stays free)."""
        return asyncio.to_thread(self.disconnected.wait, timeout)

    # serving

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(request)
        return error_reply(500, f"loopback: no scripted reply left for {request.method} {request.path}")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                reply = self._next_reply(request)
                keep_alive = await self._answer(reply, request, reader, writer)
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(
        self,
        reply: Reply,
        request: RecordedRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Send ``reply``; return whether the connection may serve another request."""

        def gone() -> bool:
            # EOF from the client (it closed its side) or a reset transport, observed without
            # consuming input: httpx sends nothing more while it reads a response.
            return reader.at_eof() or writer.transport.is_closing()

        async def wait(seconds: float) -> bool:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if gone():
                    return False
                await asyncio.sleep(min(0.005, max(0.0, deadline - time.monotonic())))
            return not gone()

        async def send(data: bytes) -> bool:
            if gone():
                return False
            try:
                writer.write(data)
                await writer.drain()
            except ConnectionError:
                return False
            return True

        def lost() -> bool:
            request.disconnected = True
            self.disconnected.set()
            return False

        if reply.delay and not await wait(reply.delay):
            return lost()
        headers = dict(reply.headers)
        lower = {k.lower() for k in headers}
        streaming = reply.stream is not None
        if streaming:
            headers.setdefault("Transfer-Encoding", "chunked")
        elif "content-length" not in lower:
            headers["Content-Length"] = str(len(reply.body))
        reason = _REASONS.get(reply.status, "Status")
        head = f"HTTP/1.1 {reply.status} {reason}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        if not streaming:
            if not await send(head.encode() + reply.body):
                return lost()
            request.completed = True
            return True
        if not await send(head.encode()):
            return lost()
        for piece in reply.stream or ():
            if isinstance(piece, Pause):
                if not await wait(piece.seconds):
                    return lost()
                continue
            data = piece.encode() if isinstance(piece, str) else piece
            if data and not await send(b"%x\r\n%s\r\n" % (len(data), data)):
                return lost()
        if reply.end == "abort":
            writer.transport.abort()
            request.completed = True
            return False
        if reply.end == "hang":
            # Polling: the socket state has no event to await without consuming input.
            while not gone():  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            return lost()
        if not await send(b"0\r\n\r\n"):
            return lost()
        request.completed = True
        return True


async def _read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
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
