"""Hostile upstreams through the provider API: every request ends, in bounded time and memory.

A server that sends heartbeats forever, streams forever, drips slower than the deadline, or
sends a 50 MB line must end the request with a clear error (the idle and first-token limits
count content only; ``timeouts.total``; ``max_answer_chars`` and the line cap that follows from
it), and close the connection. The same caps hold on the fill-in-the-middle wire formats and,
since the resilience layer applies the deadline and the answer cap once for every provider, on
an in-process provider too. Waits (a 429 with Retry-After) are announced before they start.
The CLI and the server run the same cases in ``test_stream_caps_cli.py`` and
``test_stream_caps_server.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

import hostile_streams as hs
import pytest

from codegen_lsp.completion import create_completion
from codegen_lsp.core.infill import InfillRequest
from codegen_lsp.core.settings import ProviderSettings, Settings, Timeouts
from codegen_lsp.core.types import CompletionRequest, Delta, Message
from codegen_lsp.errors import (
    AnswerTooLarge,
    FirstTokenTimeout,
    ProviderError,
    RateLimitError,
    TotalTimeout,
)
from codegen_lsp.providers.factory import build_chain, build_infill_chain
from codegen_lsp.providers.resilient import Caps, Notice, ResilientProvider
from loopback import LoopbackServer, Pause, Reply, sse_event

REQUEST = CompletionRequest(messages=(Message("user", "add two numbers"),), max_tokens=16)
INFILL = InfillRequest(prefix="def add(a, b):\n    ", suffix="\n")
#: how long any capped case may take: the deadline, plus room for a busy machine
BOUNDED = hs.TOTAL + 3.0


def provider_settings(base_url: str, **extra: Any) -> ProviderSettings:
    table = hs.settings_table()
    return ProviderSettings(
        name="loopback",
        base_url=base_url,
        model="loopback-model",
        timeouts=Timeouts(**table["timeouts"]),
        max_answer_chars=table["max_answer_chars"],
        max_retries=1,
        **extra,
    )


def settings_for(base_url: str, **extra: Any) -> Settings:
    return Settings(providers={"loopback": provider_settings(base_url, **extra)}, provider="loopback")


async def drain(stream: AsyncGenerator[Delta, None]) -> str:
    text = ""
    async with contextlib.aclosing(stream) as deltas:
        async for delta in deltas:
            text += delta.text
    return text


async def expect_capped(
    loopback: LoopbackServer, reply: Reply, run: Callable[[], AsyncGenerator[Delta, None]]
) -> ProviderError:
    loopback.script(reply)
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        await drain(run())
    assert time.monotonic() - started < BOUNDED
    # the connection was given up, not left to the hostile server
    assert await loopback.async_wait_disconnected(5)
    return caught.value


def check_refused_early(reply: Reply) -> None:
    stream = reply.stream
    assert isinstance(stream, hs.Endless)
    assert stream.bytes_taken() < hs.REFUSED_WITHIN, f"{stream.bytes_taken()} bytes were read"


# --- chat completions ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in hs.CASES])
async def test_chat_stream_caps(loopback: LoopbackServer, case: hs.Case) -> None:
    chain = build_chain(settings_for(loopback.base_url))
    reply = case.reply()
    try:
        error = await expect_capped(loopback, reply, lambda: chain.stream(REQUEST))
    finally:
        await chain.aclose()
    assert type(error) is case.error, error
    assert case.says in error.message
    assert len(loopback.requests) == 1  # none of these is worth retrying
    if case.refused_early:
        check_refused_early(reply)


async def test_the_default_caps_bound_a_fifty_mb_line(loopback: LoopbackServer) -> None:
    # no max_answer_chars set: the default (256 Ki characters, so 1 MiB lines) still refuses it
    ps = ProviderSettings(name="loopback", base_url=loopback.base_url, model="m")
    chain = build_chain(Settings(providers={"loopback": ps}, provider="loopback"))
    reply = hs.fifty_mb_line()
    try:
        error = await expect_capped(loopback, reply, lambda: chain.stream(REQUEST))
    finally:
        await chain.aclose()
    assert isinstance(error, AnswerTooLarge)
    check_refused_early(reply)


async def test_content_within_the_limits_still_flows(loopback: LoopbackServer) -> None:
    # the caps must not cut a normal answer: 40 lines at 0.02 s, heartbeats in between
    pieces: list[Any] = []
    for n in range(40):
        pieces += [hs.content(f"x{n} = {n}\n"), sse_event({"choices": [{"delta": {}}]}), Pause(0.02)]
    pieces.append(sse_event("[DONE]"))
    loopback.script(hs.endless_sse(hs.Endless(*pieces, limit=len(pieces))))
    chain = build_chain(settings_for(loopback.base_url))
    try:
        text = await drain(chain.stream(REQUEST))
    finally:
        await chain.aclose()
    assert text == "".join(f"x{n} = {n}\n" for n in range(40))


def test_the_seed_api_takes_a_total_timeout(loopback: LoopbackServer) -> None:
    loopback.script(hs.slow_drip())
    messages = [{"role": "user", "content": "count"}]
    started = time.monotonic()
    with pytest.raises(TotalTimeout) as caught:
        list(create_completion("m", messages, base_url=loopback.base_url, total_timeout=1, max_retries=0))
    assert 1 <= time.monotonic() - started < 4
    assert "after 1 s (total timeout)" in caught.value.message


# --- fill in the middle --------------------------------------------------------------------------

LLAMA_BEAT = sse_event({"content": "", "stop": False})
OLLAMA_BEAT = b'{"model":"m","response":"","done":false}\n'


def ndjson_reply(stream: hs.Endless) -> Reply:
    return Reply(headers={"Content-Type": "application/x-ndjson"}, stream=stream)


FIM_CASES = [
    pytest.param(
        "llamacpp-infill",
        lambda: hs.endless_sse(hs.Endless(LLAMA_BEAT, Pause(0.05))),
        FirstTokenTimeout,
        False,
        id="llamacpp-heartbeats",
    ),
    pytest.param(
        "llamacpp-infill",
        lambda: hs.endless_sse(hs.Endless(sse_event({"content": "x = 1\n", "stop": False}))),
        AnswerTooLarge,
        False,
        id="llamacpp-endless",
    ),
    pytest.param(
        "llamacpp-infill",
        lambda: hs.endless_sse(
            hs.Endless(b"a" * hs.PIECE, head=[b'data: {"content":"'], limit=1 + hs.FIFTY_MB // hs.PIECE)
        ),
        AnswerTooLarge,
        True,
        id="llamacpp-fifty-mb-line",
    ),
    pytest.param(
        "ollama",
        lambda: ndjson_reply(hs.Endless(OLLAMA_BEAT, Pause(0.05))),
        FirstTokenTimeout,
        False,
        id="ollama-heartbeats",
    ),
    pytest.param(
        "ollama",
        lambda: ndjson_reply(hs.Endless(Pause(0.2), b'{"response":"y = 2\\n","done":false}\n')),
        TotalTimeout,
        False,
        id="ollama-slow-drip",
    ),
    pytest.param(
        "ollama",
        lambda: ndjson_reply(
            hs.Endless(b"b" * hs.PIECE, head=[b'{"response":"'], limit=1 + hs.FIFTY_MB // hs.PIECE)
        ),
        AnswerTooLarge,
        True,
        id="ollama-fifty-mb-line",
    ),
    pytest.param(
        "completions",
        lambda: hs.endless_sse(hs.Endless(sse_event({"choices": [{"index": 0, "text": "z = 3\n"}]}))),
        AnswerTooLarge,
        False,
        id="completions-endless",
    ),
    pytest.param(
        "completions",
        lambda: hs.endless_sse(hs.Endless(sse_event({"choices": [{"index": 0, "text": ""}]}), Pause(0.05))),
        FirstTokenTimeout,
        False,
        id="completions-heartbeats",
    ),
]


@pytest.mark.parametrize(("fim_format", "make", "error", "refused_early"), FIM_CASES)
async def test_fill_in_the_middle_caps(
    loopback: LoopbackServer,
    fim_format: str,
    make: Callable[[], Reply],
    error: type[ProviderError],
    refused_early: bool,
) -> None:
    chain = build_infill_chain(settings_for(loopback.base_url, fim_format=fim_format))
    reply = make()
    try:
        caught = await expect_capped(loopback, reply, lambda: chain.stream_infill(INFILL))
    finally:
        await chain.aclose()
    assert type(caught) is error, caught
    if refused_early:
        check_refused_early(reply)


# --- an in-process provider (what the local llama.cpp provider is to the chain) ------------------


class InProcess:
    """A provider whose model never stops, producing ``token`` every ``every`` seconds."""

    name = "local"
    model = "in-process"

    def __init__(self, token: str, every: float) -> None:
        self.token = token
        self.every = every
        self.closed = False

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[Delta, None]:
        try:
            while True:
                await asyncio.sleep(self.every)
                yield Delta(self.token)
        finally:
            self.closed = True  # llama.cpp stops between two tokens here

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize(
    ("token", "every", "error", "says"),
    [
        pytest.param("x = 1\n", 0.0, AnswerTooLarge, "max_answer_chars", id="endless"),
        pytest.param("x = 1\n", 0.2, TotalTimeout, "total timeout", id="slow-drip"),
    ],
)
async def test_an_in_process_provider_gets_the_same_caps(
    token: str, every: float, error: type[ProviderError], says: str
) -> None:
    model = InProcess(token, every)
    caps = Caps.of(provider_settings("http://unused.invalid/v1"))
    chain = ResilientProvider([model], caps=caps)
    started = time.monotonic()
    with pytest.raises(error) as caught:
        await drain(chain.stream(REQUEST))
    assert time.monotonic() - started < BOUNDED
    assert says in caught.value.message
    assert model.closed


# --- waits are announced ---------------------------------------------------------------------------


async def test_a_429_wait_is_announced_before_it_starts(loopback: LoopbackServer) -> None:
    loopback.script(hs.rate_limited(1), hs.answer("x = 1\n"))
    notices: list[tuple[float, Notice]] = []
    chain = build_chain(
        settings_for(loopback.base_url), on_notice=lambda n: notices.append((time.monotonic(), n))
    )
    started = time.monotonic()
    try:
        assert await drain(chain.stream(REQUEST)) == "x = 1\n"
    finally:
        await chain.aclose()
    assert time.monotonic() - started >= 1.0  # the server's Retry-After was honoured
    [(told, notice)] = notices
    assert told - started < 0.5  # told at the start of the wait, not after it
    assert notice.summary == "rate-limited by loopback, retrying in 1.0 s (attempt 2)"


@pytest.mark.parametrize(
    ("retry_after", "waited", "summary"),
    [
        pytest.param(23, [23.0], "rate-limited by loopback, retrying in 23 s (attempt 2)", id="23s"),
        pytest.param(60, [60.0], "rate-limited by loopback, retrying in 60 s (attempt 2)", id="60s"),
    ],
)
async def test_long_waits_say_how_long(
    loopback: LoopbackServer, retry_after: int, waited: list[float], summary: str
) -> None:
    loopback.script(hs.rate_limited(retry_after), hs.answer("ok\n"))
    notices: list[Notice] = []
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        assert notices, "the wait began before it was announced"
        sleeps.append(seconds)

    inner = build_chain(settings_for(loopback.base_url)).providers
    chain = ResilientProvider(inner, max_retries=1, on_notice=notices.append, sleep=sleep)
    try:
        assert await drain(chain.stream(REQUEST)) == "ok\n"
    finally:
        await chain.aclose()
    assert sleeps == waited
    assert [n.summary for n in notices] == [summary]


async def test_a_wait_longer_than_a_minute_is_not_taken_silently(loopback: LoopbackServer) -> None:
    loopback.script(hs.rate_limited(3600))
    chain = build_chain(settings_for(loopback.base_url))
    started = time.monotonic()
    try:
        with pytest.raises(RateLimitError) as caught:
            await drain(chain.stream(REQUEST))
    finally:
        await chain.aclose()
    assert time.monotonic() - started < 2
    assert "asks to wait 3600 s" in caught.value.message
