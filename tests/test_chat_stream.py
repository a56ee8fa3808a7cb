"""The stream-decoding stack (httpx bytes → SSE decoder → ChatStreamDecoder, as the provider reads it)
fed every split of real-looking streams, plus the decoder's rules one by one (the <think> filter's own
are in tests/core/test_think.py).

Each recorded stream is cut at every byte offset (and, once, into single bytes) and pushed through
an ``httpx.Response`` exactly as the provider reads it; every cut must decode to the same text,
finish reason and error. No socket is needed for that: the loopback tests cover the wire.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from codegen_lsp.core.types import Delta, Usage
from codegen_lsp.errors import (
    AuthError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    ServerError,
    StreamError,
)
from codegen_lsp.providers.chat_stream import ChatStreamDecoder, error_from_payload
from codegen_lsp.providers.fim_stream import CompletionsStreamDecoder
from loopback import chat_chunk, sse_event
from stream_splits import Expect, Outcome, byte_by_byte, check, outcome, three_way, two_way


def chunk(content: str | None = None, finish: str | None = None, **delta: str) -> str:
    """One chunk's JSON as the decoder receives it; multibyte text unescaped, as providers send it."""
    return json.dumps(chat_chunk(content, finish_reason=finish, **delta), ensure_ascii=False)


def data(*events: str, eol: str = "\n") -> bytes:
    return b"".join(sse_event(event, eol=eol) for event in events)


USAGE_EMPTY = json.dumps({"id": "c1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}})
USAGE_NULL = json.dumps({"id": "c1", "choices": None, "usage": {"prompt_tokens": 9, "completion_tokens": 4}})


STREAMS = [
    pytest.param(
        data(
            chunk("", role="assistant"),
            chunk("def f():\n"),
            chunk("    return 1\n"),
            chunk(finish="stop"),
            USAGE_EMPTY,
            "[DONE]",
        ),
        Expect("def f():\n    return 1\n", usage=Usage(5, 3)),
        id="openai-usage-choices-empty",
    ),
    pytest.param(
        b": OPENROUTER PROCESSING\r\n\r\n"
        + data(chunk("x = 1\n"), chunk("y = 'é€😀'\n"), chunk(finish="stop"), "[DONE]", eol="\r\n"),
        Expect("x = 1\ny = 'é€😀'\n"),
        id="openrouter-crlf-keepalive-multibyte",
    ),
    pytest.param(
        data(chunk("a"), eol="\r") + data(chunk("b", finish="stop"), "[DONE]", eol="\r"),
        Expect("ab"),
        id="cr-only-line-ends",
    ),
    pytest.param(
        data(
            chunk(role="assistant"),
            chunk(reasoning_content="Let me think about factorials."),
            chunk(reasoning_content=" Recursion."),
            chunk("return n"),
            chunk(finish="stop"),
            USAGE_NULL,
            "[DONE]",
        ),
        Expect("return n", usage=Usage(9, 4)),
        id="llamacpp-reasoning-content-usage-null",
    ),
    pytest.param(
        data(chunk(reasoning="thinking…"), chunk("ok", reasoning=""), chunk(finish="stop"), "[DONE]"),
        Expect("ok"),
        id="ollama-reasoning-field",
    ),
    pytest.param(
        data(
            chunk("<think>\nThe user wants"),
            chunk(" code.\n</think>\n\n"),
            chunk("print(1)\n", finish="stop"),
        )
        + data("[DONE]"),
        Expect("print(1)\n"),
        id="think-block-in-content",
    ),
    pytest.param(
        data(chunk("</think>"), chunk("\n\n    return 2\n"), chunk(finish="stop"), "[DONE]"),
        Expect("    return 2\n"),
        id="r1-bare-closing-think",
    ),
    pytest.param(
        data(chunk("s = 'a\u2028b'\n"), chunk(finish="stop"), "[DONE]"),
        Expect("s = 'a\u2028b'\n"),
        id="unicode-line-separator-inside-json",
    ),
    pytest.param(
        data(chunk("partial"), chunk(finish="length"), "[DONE]"),
        Expect("partial", finish="length"),
        id="finish-length",
    ),
    pytest.param(
        data(chunk("complete"), chunk(finish="stop")),
        Expect("complete"),
        id="no-done-after-finish",
    ),
    pytest.param(
        data(chunk("cut"), chunk(" off")),
        Expect("cut off", error=StreamError, says="truncated"),
        id="no-done-no-finish-truncated",
    ),
    pytest.param(
        data(chunk("some "), json.dumps({"error": {"message": "Provider overloaded", "code": 502}})),
        Expect("some ", error=ServerError, says="Provider overloaded"),
        id="openrouter-error-event-under-200",
    ),
    pytest.param(
        data(chunk("x"), '{"choices": [{"delta": {"content": "y"'),
        Expect("x", error=StreamError, says="malformed"),
        id="malformed-json",
    ),
    pytest.param(
        b"event: error\ndata: "
        + json.dumps({"message": "quota", "type": "rate_limit_error"}).encode()
        + b"\n\n",
        Expect("", error=RateLimitError, says="quota"),
        id="sse-error-event-type",
    ),
    pytest.param(
        data(chunk("done"), chunk(finish="stop"), "[DONE]", chunk("ignored after done")),
        Expect("done"),
        id="noise-after-done",
    ),
]


class _Parts(httpx.SyncByteStream):
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[bytes]:
        yield from self.parts


class _AsyncParts(httpx.AsyncByteStream):
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            await asyncio.sleep(0)
            yield part


HEADERS = {"content-type": "text/event-stream; charset=utf-8"}


def _collect(deltas: list[Delta], error: ProviderError | None) -> Outcome:
    final = [d for d in deltas if d.finish_reason is not None or d.usage is not None]
    return outcome(deltas, error, final=final)


def _feed(decoder: CompletionsStreamDecoder, piece: bytes, deltas: list[Delta]) -> None:
    """One piece as the provider feeds it: an error held behind text is raised at once."""
    deltas += decoder.feed(piece)
    if decoder.holding:
        deltas += decoder.feed(b"")


def decode(parts: list[bytes]) -> Outcome:
    response = httpx.Response(200, headers=HEADERS, stream=_Parts(parts))
    decoder = CompletionsStreamDecoder(host="example.test", provider="t")
    deltas: list[Delta] = []
    try:
        for piece in response.iter_bytes():
            _feed(decoder, piece, deltas)
            if decoder.done:
                break
        else:
            deltas += decoder.finish()
    except ProviderError as exc:
        return _collect(deltas, exc)
    return _collect(deltas, None)


async def adecode(parts: list[bytes]) -> Outcome:
    response = httpx.Response(200, headers=HEADERS, stream=_AsyncParts(parts))
    decoder = CompletionsStreamDecoder(host="example.test", provider="t")
    deltas: list[Delta] = []
    try:
        async for piece in response.aiter_bytes():
            _feed(decoder, piece, deltas)
            if decoder.done:
                break
        else:
            deltas += decoder.finish()
    except ProviderError as exc:
        return _collect(deltas, exc)
    return _collect(deltas, None)


@pytest.mark.parametrize(("raw", "expect"), STREAMS)
def test_every_two_way_split_decodes_the_same(raw: bytes, expect: Expect) -> None:
    for parts in two_way(raw):
        check(decode(parts), expect)


@pytest.mark.parametrize(("raw", "expect"), STREAMS)
def test_three_way_splits_around_every_event_boundary(raw: bytes, expect: Expect) -> None:
    for parts in three_way(raw):
        check(decode(parts), expect)


@pytest.mark.parametrize(("raw", "expect"), STREAMS)
async def test_byte_by_byte_through_the_async_path(raw: bytes, expect: Expect) -> None:
    check(await adecode(byte_by_byte(raw)), expect)


@pytest.mark.parametrize(
    ("payload", "status", "error", "says"),
    [
        pytest.param(
            {"error": {"message": "slow down", "code": 429}}, None, RateLimitError, "slow down", id="429"
        ),
        pytest.param(
            {"error": {"message": "m", "code": "rate_limit_exceeded"}},
            None,
            RateLimitError,
            "m",
            id="rate-code",
        ),
        pytest.param({"error": {"message": "bad key", "code": 401}}, None, AuthError, "bad key", id="401"),
        pytest.param(
            {"error": {"message": "no model", "code": "model_not_found"}}, None, NotFoundError, "", id="404"
        ),
        pytest.param(
            {"error": {"message": "boom", "type": "server_error"}}, None, ServerError, "boom", id="5xx-type"
        ),
        pytest.param({"error": "plain text"}, None, StreamError, "plain text", id="bare-string"),
        pytest.param({"message": "overloaded"}, 503, ServerError, "overloaded", id="bare-object-with-status"),
    ],
)
def test_error_payloads_map_onto_the_tree(
    payload: object, status: int | None, error: type[ProviderError], says: str
) -> None:
    exc = error_from_payload(payload, host="h.example", provider="p", status=status)
    assert type(exc) is error
    assert says in exc.message
    assert "h.example" in exc.message


def test_retryable_in_stream_errors() -> None:
    assert error_from_payload({"error": {"code": 429}}).retryable
    assert not error_from_payload({"error": "x"}).retryable


def test_final_delta_carries_finish_reason_and_usage_once() -> None:
    decoder = ChatStreamDecoder()
    assert decoder.feed(chunk("hi", finish="length")) == [Delta("hi")]
    assert decoder.feed(USAGE_EMPTY) == []
    assert decoder.feed("[DONE]") == [Delta(finish_reason="length", usage=Usage(5, 3))]
    assert decoder.finish() == []
    assert decoder.feed(chunk("late")) == []


def test_progress_grows_with_reasoning_content_and_finish_not_with_heartbeats() -> None:
    decoder = ChatStreamDecoder()
    for heartbeat in (
        chunk("", role="assistant"),
        chunk(),
        chunk(""),
        USAGE_EMPTY,
        json.dumps({"choices": []}),
    ):
        decoder.feed(heartbeat)
    assert decoder.progress == 0
    decoder.feed(chunk(reasoning_content="hmm"))
    assert decoder.progress == 3
    decoder.feed(chunk("<think>"))
    assert decoder.progress == 10  # hidden from the answer, but the model is working
    decoder.feed(chunk(finish="stop"))
    decoder.feed(chunk(finish="stop"))
    assert decoder.progress == 11  # the first finish reason only
