"""The reference provider: an OpenAI-compatible streaming server on loopback that stamps its bytes.

Like ``tests/loopback.py`` it runs its own event loop in a background thread, but instead of a
queue of canned replies it answers every ``POST …/chat/completions`` from a :class:`Script`
(time to first token, the tokens, the gap between tokens), chosen per request by ``choose`` so
that concurrent jobs can be told apart by their prompt. For each request it records, with
``time.perf_counter()`` (``CLOCK_MONOTONIC``, comparable with the benchmark client's stamps):
when the request was read, when the first content byte, the byte that completed the first
line, and the last byte of the response were written. The finish chunk, the usage chunk,
``data: [DONE]`` and the end of the chunked body go out in one write, so "the provider's last
byte" is one instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Script:
    """How to answer one request."""

    tokens: Sequence[str]
    ttft: float = 0.0  # seconds from the request to the first content token
    interval: float = 0.0  # seconds between tokens; 0 writes them back to back
    tag: str = ""  # copied into the record (which job this was)


@dataclass
class Served:
    """What happened to one request, in ``perf_counter`` seconds."""

    tag: str
    body: dict[str, Any]
    t_request: float
    t_first: float | None = None
    t_first_line: float | None = None
    t_last: float | None = None
    tokens: int = 0
    #: when each content token was written
    t_tokens: list[float] = field(default_factory=list)
    disconnected: bool = False


def _event(obj: Any) -> bytes:
    data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    payload = f"data: {data}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _chunk(content: str | None = None, finish: str | None = None, role: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class RefProvider:
    """See the module docstring. Use as a context manager or call :meth:`start`/:meth:`stop`."""

    def __init__(self, choose: Callable[[dict[str, Any]], Script] | None = None) -> None:
        self.choose: Callable[[dict[str, Any]], Script] = choose or (lambda body: Script(["ok\n"]))
        self.served: list[Served] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> RefProvider:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="bench-provider", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("reference provider did not start")
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

    def __enter__(self) -> RefProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def take(self) -> list[Served]:
        """The records so far, emptying the list."""
        with self._lock:
            served, self.served = self.served, []
        return served

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                t_request = time.perf_counter()
                if method != "POST" or not target.split("?")[0].endswith("/chat/completions"):
                    body = b'{"error":{"message":"bench provider: only POST /v1/chat/completions"}}'
                    writer.write(
                        b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                    )
                    await writer.drain()
                    continue
                request = json.loads(raw)
                script = self.choose(request)
                record = Served(tag=script.tag, body=request, t_request=t_request)
                with self._lock:
                    self.served.append(record)
                if not await self._stream(script, record, reader, writer):
                    return
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _stream(
        self, script: Script, record: Served, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        # Everything is encoded before the first byte goes out, so the gaps are what was asked for.
        pieces = [_event(_chunk(token)) for token in script.tokens]
        tail = (
            _event(_chunk(finish="stop"))
            + _event(
                {
                    "id": "chatcmpl-bench",
                    "object": "chat.completion.chunk",
                    "created": 1_700_000_000,
                    "model": "bench",
                    "choices": [],
                    "usage": {"prompt_tokens": 10, "completion_tokens": len(pieces), "total_tokens": 10},
                }
            )
            + _event("[DONE]")
            + b"0\r\n\r\n"
        )
        first_line = next((i for i, t in enumerate(script.tokens) if "\n" in t), None)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + _event(_chunk(role="assistant", content=""))
        )
        await writer.drain()
        start = record.t_request
        try:
            for i, piece in enumerate(pieces):
                due = start + script.ttft + i * script.interval
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if reader.at_eof() or writer.transport.is_closing():
                    record.disconnected = True
                    return False
                t = time.perf_counter()
                writer.write(piece)
                if i == 0:
                    record.t_first = t
                if i == first_line:
                    record.t_first_line = t
                record.tokens += 1
                record.t_tokens.append(t)
                if script.interval:
                    await writer.drain()
            await writer.drain()
            record.t_last = time.perf_counter()
            writer.write(tail)
            await writer.drain()
        except ConnectionError:
            record.disconnected = True
            return False
        return True


JOB_TAG = re.compile(r"bench-job-\d+")


def by_tag(make: Callable[[str], Script]) -> Callable[[dict[str, Any]], Script]:
    """A ``choose`` that finds the first ``bench-job-N`` in the prompt and asks ``make(tag)``.

    Concurrent jobs run on documents whose comment names their tag, so the record of each
    request can be matched to the ``workspace/applyEdit`` of its job."""

    def choose(body: dict[str, Any]) -> Script:
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", ()))
        found = JOB_TAG.search(prompt)
        return make(found.group(0) if found else "")

    return choose
