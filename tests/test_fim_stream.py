"""The fill-in-the-middle stream decoders (``providers/fim_stream.py``) fed every split of real-looking
bodies: llama.cpp ``/infill`` SSE, Ollama ``/api/generate`` NDJSON, ``/completions`` and Mistral
``/fim/completions`` SSE, with and without ``[DONE]``, keep-alive comments, CRLF and CR line ends,
multi-byte characters, in-stream errors of each dialect and truncation.

Each body is cut at every byte offset (and around every line break, three ways, and byte by byte);
every cut must decode to the same text, finish reason, usage and error. The decoders are pure, so
no socket is needed; the loopback tests (``test_fim_providers.py``) cover the wire.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from codegen_lsp.core.types import Delta, Usage
from codegen_lsp.errors import ProviderError, RateLimitError, ServerError, StreamError
from codegen_lsp.providers.fim_stream import (
    CompletionsStreamDecoder,
    LineSplitter,
    LlamaInfillDecoder,
    OllamaGenerateDecoder,
    SSEDecoder,
    SSEEvent,
)
from stream_splits import Expect, Outcome, byte_by_byte, check, outcome, three_way, two_way


def sse(*events: str | dict[str, Any], eol: str = "\n", field: str = "data") -> bytes:
    out = ""
    for event in events:
        text = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
        out += f"{field}: {text}{eol}{eol}"
    return out.encode()


def ndjson(*lines: dict[str, Any], eol: str = "\n") -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False) + eol for line in lines).encode()


def llama(content: str, **more: Any) -> dict[str, Any]:
    return {"index": 0, "content": content, "tokens": [], "stop": False, "id_slot": 0, **more}


def llama_end(stop_type: str = "eos", content: str = "", **more: Any) -> dict[str, Any]:
    return {
        "index": 0,
        "content": content,
        "stop": True,
        "stop_type": stop_type,
        "tokens_predicted": 4,
        "tokens_evaluated": 30,
        "timings": {"predicted_ms": 12.5},
        **more,
    }


def ollama(response: str, **more: Any) -> dict[str, Any]:
    return {
        "model": "qwen2.5-coder:1.5b",
        "created_at": "2026-11-30T10:00:00Z",
        "response": response,
        "done": False,
        **more,
    }


def ollama_end(reason: str = "stop") -> dict[str, Any]:
    return {
        "model": "qwen2.5-coder:1.5b",
        "response": "",
        "done": True,
        "done_reason": reason,
        "prompt_eval_count": 21,
        "eval_count": 5,
        "total_duration": 123456,
    }


def completion(
    text: str | None = None, finish: str | None = None, usage: dict[str, int] | None = None
) -> dict[str, Any]:
    chunk: dict[str, Any] = {"id": "cmpl-1", "object": "text_completion", "model": "m", "choices": []}
    if text is not None or finish is not None:
        chunk["choices"] = [{"index": 0, "text": text or "", "finish_reason": finish, "logprobs": None}]
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def mistral(
    content: str | None = None, finish: str | None = None, usage: dict[str, int] | None = None
) -> dict[str, Any]:
    delta = {"role": "assistant", "content": content} if content is not None else {}
    chunk: dict[str, Any] = {
        "id": "f1",
        "object": "chat.completion.chunk",
        "model": "codestral-latest",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        chunk["usage"] = usage
    return chunk


Make = Callable[[], Any]

LLAMA: Make = lambda: LlamaInfillDecoder(host="example.test", provider="t")  # noqa: E731
OLLAMA: Make = lambda: OllamaGenerateDecoder(host="example.test", provider="t")  # noqa: E731
COMPLETIONS: Make = lambda: CompletionsStreamDecoder(host="example.test", provider="t")  # noqa: E731

STREAMS = [
    # --- llama.cpp /infill -------------------------------------------------------------------
    pytest.param(
        LLAMA,
        sse(llama("    return"), llama(" a + b"), llama("\n"), llama_end()),
        Expect("    return a + b\n", usage=Usage(30, 4)),
        id="llamacpp-eos",
    ),
    pytest.param(
        LLAMA,
        b": ping\n\n" + sse(llama("x = 'é€😀'"), llama_end("limit"), eol="\r\n"),
        Expect("x = 'é€😀'", finish="length", usage=Usage(30, 4)),
        id="llamacpp-keepalive-crlf-multibyte-limit",
    ),
    pytest.param(
        LLAMA,
        sse(llama("a"), eol="\r") + sse(llama_end("word", content="b"), eol="\r"),
        Expect("ab"),
        id="llamacpp-cr-only-content-on-last-chunk",
    ),
    pytest.param(
        LLAMA,
        sse(llama("s = 'a\u2028b'"), llama_end()),
        Expect("s = 'a\u2028b'"),
        id="llamacpp-unicode-line-separator-inside-json",
    ),
    pytest.param(
        LLAMA,
        sse(llama("old"), {**llama("er"), "stopped_limit": True, "stop": True}),
        Expect("older", finish="length"),
        id="llamacpp-old-stopped-limit-flag",
    ),
    pytest.param(
        LLAMA,
        sse(llama("done"), llama_end(), "[DONE]", llama("ignored")),
        Expect("done"),
        id="llamacpp-noise-after-stop",
    ),
    pytest.param(
        LLAMA,
        sse(llama("cut"), llama(" off")),
        Expect("cut off", error=StreamError, says="truncated"),
        id="llamacpp-truncated",
    ),
    pytest.param(
        LLAMA,
        sse(llama("par"))
        + sse({"code": 500, "message": "slot unavailable", "type": "server_error"}, field="error"),
        Expect("par", error=ServerError, says="slot unavailable"),
        id="llamacpp-error-field-mid-stream",
    ),
    pytest.param(
        LLAMA,
        sse(
            {
                "code": 400,
                "message": "the request exceeds the available context size",
                "type": "exceed_context_size_error",
            },
            field="error",
        ),
        Expect("", error=StreamError, says="exceeds the available context size"),
        id="llamacpp-error-field-before-output",
    ),
    pytest.param(
        LLAMA,
        sse(llama("x"), '{"content": "y"'),
        Expect("x", error=StreamError, says="malformed"),
        id="llamacpp-malformed-json",
    ),
    pytest.param(
        LLAMA,
        sse(llama("x")) + b"data: " + json.dumps(llama_end()).encode() + b"\n",
        Expect("x"),
        id="llamacpp-last-event-without-blank-line",
    ),
    # --- Ollama /api/generate ----------------------------------------------------------------
    pytest.param(
        OLLAMA,
        ndjson(ollama("    return"), ollama(" a + b"), ollama_end()),
        Expect("    return a + b", usage=Usage(21, 5)),
        id="ollama-done",
    ),
    pytest.param(
        OLLAMA,
        ndjson(ollama("ü😀"), ollama(""), ollama_end("length"), eol="\r\n"),
        Expect("ü😀", finish="length", usage=Usage(21, 5)),
        id="ollama-crlf-multibyte-length",
    ),
    pytest.param(
        OLLAMA,
        ndjson(ollama("", thinking="hmm"), ollama("x = 1"), ollama_end()) + b"\n\n",
        Expect("x = 1"),
        id="ollama-thinking-ignored-blank-lines",
    ),
    pytest.param(
        OLLAMA,
        ndjson(ollama("a")) + json.dumps(ollama_end()).encode(),
        Expect("a"),
        id="ollama-last-line-without-newline",
    ),
    pytest.param(
        OLLAMA,
        ndjson(ollama("half")),
        Expect("half", error=StreamError, says="truncated"),
        id="ollama-truncated",
    ),
    pytest.param(
        OLLAMA,
        ndjson(ollama("pa"), {"error": "an error was encountered while running the model: unexpected EOF"}),
        Expect("pa", error=StreamError, says="unexpected EOF"),
        id="ollama-error-line-mid-stream",
    ),
    pytest.param(
        OLLAMA,
        ndjson(ollama("a")) + b'{"response": "b", "do',
        Expect("a", error=StreamError, says="malformed"),
        id="ollama-malformed-last-line",
    ),
    # --- /completions and Mistral /fim/completions -------------------------------------------
    pytest.param(
        COMPLETIONS,
        sse(
            completion("    return"),
            completion(" a + b"),
            completion(finish="stop"),
            completion(usage={"prompt_tokens": 9, "completion_tokens": 2}),
            "[DONE]",
        ),
        Expect("    return a + b", usage=Usage(9, 2)),
        id="completions-with-done",
    ),
    pytest.param(
        COMPLETIONS,
        sse(completion("x"), completion("", finish="length")),
        Expect("x", finish="length"),
        id="completions-without-done",
    ),
    pytest.param(
        COMPLETIONS,
        b": keep-alive\r\n\r\n" + sse(completion("é€"), completion(finish="stop"), "[DONE]", eol="\r\n"),
        Expect("é€"),
        id="completions-keepalive-crlf",
    ),
    pytest.param(
        COMPLETIONS,
        sse(completion("cut")),
        Expect("cut", error=StreamError, says="truncated"),
        id="completions-truncated",
    ),
    pytest.param(
        COMPLETIONS,
        sse(completion("a")) + sse({"code": 500, "message": "boom", "type": "server_error"}, field="error"),
        Expect("a", error=ServerError, says="boom"),
        id="completions-llamacpp-error-field",
    ),
    pytest.param(
        COMPLETIONS,
        sse(completion("a"), {"error": {"message": "slow down", "code": 429}}),
        Expect("a", error=RateLimitError, says="slow down"),
        id="completions-error-object-under-200",
    ),
    pytest.param(
        COMPLETIONS,
        sse(
            mistral("def"),
            mistral(" f():"),
            mistral("", finish="stop", usage={"prompt_tokens": 8, "completion_tokens": 3}),
            "[DONE]",
        ),
        Expect("def f():", usage=Usage(8, 3)),
        id="mistral-fim",
    ),
]


def decode(make: Make, parts: list[bytes]) -> Outcome:
    decoder = make()
    deltas: list[Delta] = []
    error: ProviderError | None = None
    try:
        for part in parts:
            deltas += decoder.feed(part)
            if decoder.done:
                break
        if not decoder.done:
            deltas += decoder.finish()
    except ProviderError as exc:
        error = exc
    final = [d for d in deltas if d.finish_reason is not None]
    assert len(final) <= 1, "one final delta at most"
    return outcome(deltas, error, final=final)


@pytest.mark.parametrize(("make", "raw", "expect"), STREAMS)
def test_every_two_way_split_decodes_the_same(make: Make, raw: bytes, expect: Expect) -> None:
    for parts in two_way(raw):
        check(decode(make, parts), expect)


@pytest.mark.parametrize(("make", "raw", "expect"), STREAMS)
def test_three_way_splits_around_every_line_break(make: Make, raw: bytes, expect: Expect) -> None:
    for parts in three_way(raw):
        check(decode(make, parts), expect)


@pytest.mark.parametrize(("make", "raw", "expect"), STREAMS)
def test_byte_by_byte(make: Make, raw: bytes, expect: Expect) -> None:
    check(decode(make, byte_by_byte(raw)), expect)


@pytest.mark.parametrize(
    ("make", "payload", "text", "finish"),
    [
        pytest.param(
            LLAMA,
            {"content": "return 1", "stop": True, "stop_type": "eos"},
            "return 1",
            "stop",
            id="llamacpp",
        ),
        pytest.param(LLAMA, {"content": "x"}, "x", "stop", id="llamacpp-no-stop-flag"),
        pytest.param(
            OLLAMA, {**ollama("y = 2"), "done": True, "done_reason": "stop"}, "y = 2", "stop", id="ollama"
        ),
        pytest.param(
            COMPLETIONS,
            {"choices": [{"index": 0, "text": "z", "finish_reason": "length"}]},
            "z",
            "length",
            id="completions",
        ),
        pytest.param(
            COMPLETIONS,
            {"choices": [{"index": 0, "message": {"content": "w"}, "finish_reason": "stop"}]},
            "w",
            "stop",
            id="mistral",
        ),
    ],
)
def test_whole_json_documents(make: Make, payload: dict[str, Any], text: str, finish: str) -> None:
    deltas = make().document(payload)
    assert "".join(d.text for d in deltas) == text
    assert [d.finish_reason for d in deltas if d.finish_reason] == [finish]


def test_progress_grows_with_text_not_with_pings() -> None:
    decoder = LlamaInfillDecoder()
    decoder.feed(b": ping\n\n")
    decoder.feed(sse(llama("")))
    assert decoder.progress == 0
    decoder.feed(sse(llama("ab")))
    assert decoder.progress == 2
    ollama_decoder = OllamaGenerateDecoder()
    ollama_decoder.feed(ndjson(ollama("")))
    assert ollama_decoder.progress == 0
    ollama_decoder.feed(ndjson(ollama("", thinking="plan")))
    assert ollama_decoder.progress == 4


@pytest.mark.parametrize(
    ("parts", "lines"),
    [
        pytest.param([b"a\r", b"\nb\n"], ["a", "b"], id="crlf-across-pieces"),
        pytest.param([b"a\r", b"\rb"], ["a", ""], id="two-cr"),
        pytest.param([b"a\rb\n\n"], ["a", "b", ""], id="cr-then-lf"),
        pytest.param([b"\xe2\x82", b"\xac\n"], ["€"], id="multibyte-across-pieces"),
        pytest.param([b"a\xe2\x80\xa8b\n"], ["a\u2028b"], id="u2028-is-not-a-line-end"),
        pytest.param([b"x", b"y", b"z"], [], id="no-line-end-yet"),
    ],
)
def test_line_splitter(parts: list[bytes], lines: list[str]) -> None:
    splitter = LineSplitter()
    assert [line for part in parts for line in splitter.feed(part)] == lines


def test_sse_decoder_fields() -> None:
    decoder = SSEDecoder()
    raw = b"id: 1\nretry: 10\nevent: note\ndata: a\ndata: b\n\n: comment\n\ndata:c\n\nunknown: x\n\n"
    assert decoder.feed(raw) == [SSEEvent("note", "a\nb"), SSEEvent("", "c")]
    assert decoder.feed(b"error: {}\n") == []
    assert decoder.flush() == [SSEEvent("error", "{}")]
