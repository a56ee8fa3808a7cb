"""The scripted loopback server of the tests: each request takes the next canned reply.

:class:`LoopbackServer` (a :class:`~loopback.http.LoopbackHTTPServer`) records each request as a
:class:`~loopback.http.RecordedRequest` and answers it with the next :class:`Reply` from a FIFO
queue (or asks ``responder`` when the queue is empty), exactly as scripted: status, headers, a
whole body, or a stream of raw byte pieces sent one HTTP chunk each with :class:`Pause` items in
between (slow tokens, stalls), ending cleanly, by dropping the connection, or by hanging until
the client goes away. The server watches the socket while it answers, so a test can wait for
the client's disconnect (cancellation tests).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from loopback.http import (
    LAST_CHUNK,
    LoopbackHTTPServer,
    RecordedRequest,
    client_gone,
    http_chunk,
    response_head,
)
from loopback.openai import chat_chunks, error_body

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
    A hostile server: ``reason`` replaces the reason phrase; ``extra_head`` is raw bytes sent
    among the header lines as they are (an illegal header line, say).
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Sequence[Piece] | None = None
    end: End = "finish"
    delay: float = 0.0
    reason: str | None = None
    extra_head: bytes = b""


# --- builders -------------------------------------------------------------------------------


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
    return json_reply(status, error_body(message, type=type, code=code), headers=headers)


# --- the server -----------------------------------------------------------------------------


class LoopbackServer(LoopbackHTTPServer):
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
        super().__init__(ssl_context=ssl_context)
        #: answers requests once the scripted queue is empty; default: a 500 saying so
        self.responder = responder
        self.requests: list[RecordedRequest] = []
        #: set when a client disconnects before a reply was completely sent
        self.disconnected = threading.Event()
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    # scripting and inspection

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

    async def answer(
        self, request: RecordedRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Send the next scripted reply; return whether the connection may serve another request."""
        reply = self._next_reply(request)

        def gone() -> bool:
            return client_gone(reader, writer)

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
        head = response_head(reply.status, headers, reply.reason)
        if reply.extra_head:
            head = head[:-2] + reply.extra_head + b"\r\n"  # before the blank line
        if not streaming:
            if not await send(head + reply.body):
                return lost()
            request.completed = True
            return True
        if not await send(head):
            return lost()
        for piece in reply.stream or ():
            if isinstance(piece, Pause):
                if not await wait(piece.seconds):
                    return lost()
                continue
            data = piece.encode() if isinstance(piece, str) else piece
            if data and not await send(http_chunk(data)):
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
        if not await send(LAST_CHUNK):
            return lost()
        request.completed = True
        return True
