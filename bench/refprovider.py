"""The reference provider: an OpenAI-compatible streaming server on loopback that stamps its bytes.

A :class:`loopback.http.LoopbackHTTPServer` (the tests' server base), but instead of a queue of
canned replies it answers every ``POST …/chat/completions`` (and fill-in-the-middle's
``POST …/completions``) from a :class:`Script` (time to
first token, the tokens, the gap between tokens), chosen per request by ``choose`` so that
concurrent jobs can be told apart by their prompt. Tokens go out at their due time measured from
the request, not after a pause from the previous write, so a slow write does not push the rest
back. For each request it records, with ``time.perf_counter()`` (``CLOCK_MONOTONIC``, comparable
with the benchmark client's stamps): when the request was read, when the first content byte,
the byte that completed the first line, and the last byte of the response were written. The
finish chunk, the usage chunk, ``data: [DONE]`` and the end of the chunked body go out in one
write, so "the provider's last byte" is one instant.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from loopback.http import (
    LAST_CHUNK,
    LoopbackHTTPServer,
    RecordedRequest,
    client_gone,
    http_chunk,
    response_head,
)
from loopback.openai import chat_chunks, completion_chunks, error_body


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


_STREAM_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "Transfer-Encoding": "chunked",
}


class RefProvider(LoopbackHTTPServer):
    """See the module docstring. Use as a context manager or call :meth:`start`/:meth:`stop`."""

    thread_name = "bench-provider"

    def __init__(self, choose: Callable[[dict[str, Any]], Script] | None = None) -> None:
        super().__init__()
        self.choose: Callable[[dict[str, Any]], Script] = choose or always(Script(["ok\n"]))
        self.served: list[Served] = []
        self._lock = threading.Lock()

    def take(self) -> list[Served]:
        """The records so far, emptying the list."""
        with self._lock:
            served, self.served = self.served, []
        return served

    async def answer(
        self, request: RecordedRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if request.method != "POST" or not request.path.endswith("/completions"):
            body = json.dumps(
                error_body("bench provider: only POST /v1/chat/completions or /v1/completions")
            ).encode()
            headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
            writer.write(response_head(404, headers) + body)
            await writer.drain()
            return True
        payload = request.json
        script = self.choose(payload)
        record = Served(tag=script.tag, body=payload, t_request=request.received)
        with self._lock:
            self.served.append(record)
        return await self._stream(
            script, record, reader, writer, chat=request.path.endswith("/chat/completions")
        )

    async def _stream(
        self,
        script: Script,
        record: Served,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        chat: bool = True,
    ) -> bool:
        # Everything is encoded before the first byte goes out, so the gaps are what was asked for.
        count = len(script.tokens)
        if chat:
            events = [http_chunk(event) for event in chat_chunks(*script.tokens, model="bench")]
        else:  # fill-in-the-middle (/completions): no role chunk comes first
            events = [http_chunk(event) for event in completion_chunks(*script.tokens, model="bench")]
        skip = 1 if chat else 0
        head, pieces = events[0] if chat else b"", events[skip : skip + count]
        tail = b"".join(events[skip + count :]) + LAST_CHUNK
        first_line = next((i for i, t in enumerate(script.tokens) if "\n" in t), None)
        writer.write(response_head(200, _STREAM_HEADERS) + head)
        await writer.drain()
        start = record.t_request
        try:
            for i, piece in enumerate(pieces):
                due = start + script.ttft + i * script.interval
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if client_gone(reader, writer):
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


def always(script: Script) -> Callable[[dict[str, Any]], Script]:
    """A ``choose`` that answers every request with ``script``."""
    return lambda body: script


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
