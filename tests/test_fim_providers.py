"""The fill-in-the-middle providers against a real scripted HTTP server on 127.0.0.1 (``tests/loopback.py``).

Per wire format: the request sent (path, body, key), the streamed answer, each format's quirks
(llama.cpp's SSE without ``[DONE]`` and its ``error:`` lines, Ollama's NDJSON and its error
lines, ``/completions`` with and without ``[DONE]``), statuses, the first-token and idle timeouts,
truncation, a server that ignores ``stream: true``, cancellation closing the connection, retries
and fallback before output, the chat fill-in prompt, and the factory choosing by ``fim_format``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from codegen_lsp.core.config import resolve
from codegen_lsp.core.infill import CURSOR_MARK, ContextFile, FimFormat, InfillRequest
from codegen_lsp.core.settings import ProviderSettings, Settings, Timeouts
from codegen_lsp.core.types import Delta
from codegen_lsp.errors import (
    AuthError,
    ConfigError,
    FirstTokenTimeout,
    IdleTimeout,
    NotFoundError,
    ProviderError,
    ServerError,
    StreamError,
)
from codegen_lsp.providers.factory import build_infill_chain, build_infiller
from codegen_lsp.providers.fim import (
    ChatInfiller,
    CompletionsInfiller,
    HTTPInfiller,
    LlamaCppInfiller,
    MistralInfiller,
    OllamaInfiller,
)
from codegen_lsp.providers.openai import OpenAIProvider
from loopback import (
    LoopbackServer,
    Pause,
    Reply,
    chat_reply,
    error_reply,
    json_reply,
    sse_event,
    sse_reply,
)

KEY = "sk-fim-0123456789abcdef"
REQUEST = InfillRequest(
    prefix="def add(a, b):\n    return ",
    suffix="\n\nprint(add(1, 2))\n",
    language_id="python",
    path="calc.py",
    max_tokens=32,
    temperature=0.0,
    stop=("\n",),
    extra=(ContextFile("util.py", "def sub(a, b):\n    return a - b\n"),),
)


def settings(base_url: str, fim_format: FimFormat | None, **changes: Any) -> ProviderSettings:
    fields: dict[str, Any] = {
        "name": "fim",
        "base_url": base_url,
        "model": "coder-fim",
        "fim_format": fim_format,
        "api_key_env": "TEST_FIM_KEY",
        "timeouts": Timeouts(connect=2, first_token=2, idle=2),
    }
    fields.update(changes)
    return ProviderSettings(**fields)


# --- replies in each dialect -----------------------------------------------------------------


def completions_reply(*texts: str, done: bool = True, **options: Any) -> Reply:
    events = [sse_event({"object": "text_completion", "choices": [{"index": 0, "text": t}]}) for t in texts]
    events.append(sse_event({"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]}))
    if done:
        events.append(sse_event("[DONE]"))
    return sse_reply(events, **options)


def mistral_reply(*texts: str, **options: Any) -> Reply:
    events = [
        sse_event({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": t}}]})
        for t in texts
    ]
    events += [
        sse_event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        sse_event("[DONE]"),
    ]
    return sse_reply(events, **options)


def llama_reply(*texts: str, stop: bool = True, **options: Any) -> Reply:
    events: list[bytes | Pause] = [sse_event({"content": t, "stop": False}) for t in texts]
    if stop:
        events.append(
            sse_event({"content": "", "stop": True, "stop_type": "eos", "tokens_predicted": len(texts)})
        )
    return sse_reply(events, **options)


def ndjson_reply(*lines: dict[str, Any] | Pause, end: Any = "finish", delay: float = 0.0) -> Reply:
    pieces = [line if isinstance(line, Pause) else json.dumps(line) + "\n" for line in lines]
    return Reply(headers={"Content-Type": "application/x-ndjson"}, stream=pieces, end=end, delay=delay)


def ollama_reply(*texts: str, done: bool = True, **options: Any) -> Reply:
    lines: list[dict[str, Any] | Pause] = [{"model": "m", "response": t, "done": False} for t in texts]
    if done:
        lines.append(
            {"model": "m", "response": "", "done": True, "done_reason": "stop", "eval_count": len(texts)}
        )
    return ndjson_reply(*lines, **options)


REPLIES: dict[FimFormat, Callable[..., Reply]] = {
    "completions": completions_reply,
    "mistral": mistral_reply,
    "llamacpp-infill": llama_reply,
    "ollama": ollama_reply,
}
HTTP_FORMATS: list[FimFormat] = ["completions", "mistral", "llamacpp-infill", "ollama"]


async def run(infiller: Any, request: InfillRequest = REQUEST) -> list[Delta]:
    try:
        return [d async for d in infiller.stream_infill(request)]
    finally:
        await infiller.aclose()


def text(deltas: list[Delta]) -> str:
    return "".join(d.text for d in deltas)


# --- the request and the answer, per format ------------------------------------------------------

EXPECTED_REQUESTS = [
    pytest.param(
        "completions",
        "/v1/completions",
        {
            "prompt": REQUEST.prefix,
            "suffix": REQUEST.suffix,
            "stream": True,
            "stream_options": {"include_usage": True},
            "model": "coder-fim",
            "max_tokens": 32,
            "temperature": 0.0,
            "stop": ["\n"],
        },
        id="completions",
    ),
    pytest.param(
        "mistral",
        "/v1/fim/completions",
        {
            "prompt": REQUEST.prefix,
            "suffix": REQUEST.suffix,
            "stream": True,
            "model": "coder-fim",
            "max_tokens": 32,
            "temperature": 0.0,
            "stop": ["\n"],
        },
        id="mistral",
    ),
    pytest.param(
        "llamacpp-infill",
        "/infill",
        {
            "input_prefix": REQUEST.prefix,
            "input_suffix": REQUEST.suffix,
            "input_extra": [{"filename": "util.py", "text": "def sub(a, b):\n    return a - b\n"}],
            "stream": True,
            "cache_prompt": True,
            "model": "coder-fim",
            "n_predict": 32,
            "temperature": 0.0,
            "stop": ["\n"],
        },
        id="llamacpp-infill",
    ),
    pytest.param(
        "ollama",
        "/api/generate",
        {
            "prompt": REQUEST.prefix,
            "suffix": REQUEST.suffix,
            "stream": True,
            "model": "coder-fim",
            "options": {"num_predict": 32, "temperature": 0.0, "stop": ["\n"]},
        },
        id="ollama",
    ),
]


@pytest.mark.parametrize(("fim_format", "path", "body"), EXPECTED_REQUESTS)
async def test_request_shape_and_streamed_answer(
    loopback: LoopbackServer, fim_format: FimFormat, path: str, body: dict[str, Any]
) -> None:
    loopback.script(REPLIES[fim_format]("a", " + ", "b"))
    deltas = await run(build_infiller(settings(loopback.base_url, fim_format, api_key=KEY), environ={}))
    assert text(deltas) == "a + b"
    assert deltas[-1].finish_reason == "stop"
    sent = loopback.requests[0]
    assert (sent.method, sent.path) == ("POST", path)
    assert sent.json == body
    assert sent.headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("fim_format", HTTP_FORMATS)
async def test_settings_fill_what_the_request_leaves_open(
    loopback: LoopbackServer, fim_format: FimFormat
) -> None:
    loopback.script(REPLIES[fim_format]("x"))
    request = InfillRequest(prefix="p", suffix="")
    await run(build_infiller(settings(loopback.url, fim_format, temperature=0.5, max_tokens=None)), request)
    sent = json.dumps(loopback.requests[0].json)
    assert '"coder-fim"' in sent and "0.5" in sent
    assert "max_tokens" not in sent and "n_predict" not in sent and "num_predict" not in sent
    assert "authorization" not in loopback.requests[0].headers


@pytest.mark.parametrize(
    ("fim_format", "base", "path"),
    [
        pytest.param("llamacpp-infill", "/v1", "/infill", id="llamacpp-beside-v1"),
        pytest.param("llamacpp-infill", "", "/infill", id="llamacpp-root"),
        pytest.param("ollama", "/v1/", "/api/generate", id="ollama-beside-v1"),
        pytest.param("completions", "/beta", "/beta/completions", id="completions-under-base"),
    ],
)
async def test_native_endpoints_sit_beside_v1(
    loopback: LoopbackServer, fim_format: FimFormat, base: str, path: str
) -> None:
    loopback.script(REPLIES[fim_format]("x"))
    await run(build_infiller(settings(loopback.url + base, fim_format)))
    assert loopback.requests[0].path == path


# --- each format's quirks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fim_format", "reply", "expected"),
    [
        pytest.param(
            "completions", completions_reply("no", " done", done=False), "no done", id="completions-no-done"
        ),
        pytest.param(
            "completions", completions_reply("fine", end="abort"), "fine", id="completions-done-then-dropped"
        ),
        pytest.param(
            "llamacpp-infill",
            sse_reply(
                [
                    b": ping\n\n",
                    sse_event({"content": "x", "stop": False}),
                    sse_event({"content": "y", "stop": True}),
                ]
            ),
            "xy",
            id="llamacpp-ping-and-text-on-last-chunk",
        ),
        pytest.param(
            "llamacpp-infill",
            json_reply(200, {"content": "whole", "stop": True, "stop_type": "eos"}),
            "whole",
            id="llamacpp-ignored-stream",
        ),
        pytest.param(
            "ollama",
            json_reply(200, {"model": "m", "response": "whole", "done": True, "done_reason": "stop"}),
            "whole",
            id="ollama-ignored-stream",
        ),
        pytest.param(
            "completions",
            json_reply(200, {"choices": [{"index": 0, "text": "whole", "finish_reason": "stop"}]}),
            "whole",
            id="completions-ignored-stream",
        ),
    ],
)
async def test_complete_answers_in_each_dialect(
    loopback: LoopbackServer, fim_format: FimFormat, reply: Reply, expected: str
) -> None:
    loopback.script(reply)
    deltas = await run(build_infiller(settings(loopback.base_url, fim_format)))
    assert text(deltas) == expected
    assert deltas[-1].finish_reason == "stop"


@pytest.mark.parametrize(
    ("fim_format", "reply", "error", "says", "before"),
    [
        pytest.param(
            "llamacpp-infill",
            sse_reply(
                [  # one piece: the text and the error arrive in the same read
                    sse_event({"content": "par", "stop": False})
                    + b'error: {"code": 500, "message": "slot crashed", "type": "server_error"}\n\n'
                ],
                end="hang",
            ),
            ServerError,
            "slot crashed",
            "par",
            id="llamacpp-error-line-then-silence",
        ),
        pytest.param(
            "ollama",
            ndjson_reply(
                {"response": "pa", "done": False}, {"error": "model runner has unexpectedly stopped"}
            ),
            StreamError,
            "unexpectedly stopped",
            "pa",
            id="ollama-error-line",
        ),
        pytest.param(
            "llamacpp-infill",
            llama_reply("half", stop=False),
            StreamError,
            "truncated",
            "half",
            id="llamacpp-truncated",
        ),
        pytest.param(
            "ollama",
            ollama_reply("half", done=False, end="abort"),
            StreamError,
            "broke in the middle",
            "half",
            id="ollama-dropped",
        ),
        pytest.param(
            "ollama",
            sse_reply([sse_event({"response": "x"})]),
            StreamError,
            "instead of an NDJSON stream",
            "",
            id="ollama-wrong-media-type",
        ),
        pytest.param(
            "mistral",
            Reply(headers={"Content-Type": "text/html"}, body=b"<html>portal</html>"),
            StreamError,
            "instead of an event stream",
            "",
            id="html-page",
        ),
    ],
)
async def test_broken_streams(
    loopback: LoopbackServer,
    fim_format: FimFormat,
    reply: Reply,
    error: type[ProviderError],
    says: str,
    before: str,
) -> None:
    loopback.script(reply)
    infiller = build_infiller(settings(loopback.base_url, fim_format))
    got: list[str] = []
    started = time.monotonic()
    with pytest.raises(error) as caught:
        async for delta in infiller.stream_infill(REQUEST):
            got.append(delta.text)
    await infiller.aclose()
    assert says in str(caught.value)
    assert "".join(got) == before
    assert time.monotonic() - started < 1.5  # not waiting for the idle timeout


@pytest.mark.parametrize("fim_format", HTTP_FORMATS)
@pytest.mark.parametrize(
    ("status", "error", "says"),
    [
        pytest.param(404, NotFoundError, "Set fim_format", id="404"),
        pytest.param(401, AuthError, "Check the key in TEST_FIM_KEY", id="401"),
        pytest.param(503, ServerError, "try again later", id="503"),
    ],
)
async def test_error_statuses_name_the_fix_and_never_the_key(
    loopback: LoopbackServer, fim_format: FimFormat, status: int, error: type[ProviderError], says: str
) -> None:
    loopback.script(error_reply(status, f"bad key {KEY}"))
    with pytest.raises(error) as caught:
        await run(build_infiller(settings(loopback.base_url, fim_format), environ={"TEST_FIM_KEY": KEY}))
    assert says in str(caught.value)
    assert KEY not in str(caught.value)
    assert f"127.0.0.1:{loopback.port}" in str(caught.value)


@pytest.mark.parametrize("fim_format", ["llamacpp-infill", "ollama"])
@pytest.mark.parametrize(
    ("pieces", "error"),
    [
        pytest.param("nothing", FirstTokenTimeout, id="no-token"),
        pytest.param("stall", IdleTimeout, id="stall-after-token"),
    ],
)
async def test_first_token_and_idle_timeouts(
    loopback: LoopbackServer, fim_format: FimFormat, pieces: str, error: type[ProviderError]
) -> None:
    first: bytes | str
    if fim_format == "ollama":
        first = json.dumps({"response": "early", "done": False}) + "\n"
        reply = Reply(headers={"Content-Type": "application/x-ndjson"}, stream=[], end="hang")
    else:
        first = sse_event({"content": "early", "stop": False})
        reply = sse_reply([b": ping\n\n"], end="hang")
    if pieces == "stall":
        reply = Reply(status=reply.status, headers=reply.headers, stream=[first], end="hang")
    loopback.script(reply)
    infiller = build_infiller(
        settings(loopback.base_url, fim_format, timeouts=Timeouts(connect=2, first_token=0.4, idle=0.4))
    )
    started = time.monotonic()
    with pytest.raises(error) as caught:
        await run(infiller)
    assert time.monotonic() - started < 2
    assert "0.4 s" in str(caught.value)
    assert await loopback.async_wait_disconnected(2)


@pytest.mark.parametrize("fim_format", HTTP_FORMATS)
async def test_a_finished_stream_leaves_its_connection_for_the_next_request(
    loopback: LoopbackServer, fim_format: FimFormat
) -> None:
    """The end of the body is read after the stream said it was done, so the next keystroke's
    request goes over the same connection (no new TCP or TLS handshake)."""
    loopback.script(REPLIES[fim_format]("a"), REPLIES[fim_format]("b"))
    infiller = build_infiller(settings(loopback.base_url, fim_format))
    for expected in ("a", "b"):
        assert text([d async for d in infiller.stream_infill(REQUEST)]) == expected
    assert loopback.connections == 1
    await infiller.aclose()


@pytest.mark.parametrize("fim_format", HTTP_FORMATS)
async def test_leaving_the_stream_closes_the_connection(
    loopback: LoopbackServer, fim_format: FimFormat
) -> None:
    reply = REPLIES[fim_format]("first", "second")
    loopback.script(Reply(status=200, headers=reply.headers, stream=list(reply.stream or [])[:1], end="hang"))
    infiller = build_infiller(settings(loopback.base_url, fim_format))
    stream = infiller.stream_infill(REQUEST)
    first = await anext(stream)
    assert first.text == "first"
    await stream.aclose()  # type: ignore[attr-defined]
    assert await loopback.async_wait_disconnected(2)
    await infiller.aclose()


async def test_cancelling_the_consumer_closes_the_connection(loopback: LoopbackServer) -> None:
    loopback.script(llama_reply("a", stop=False, end="hang"))
    infiller = build_infiller(settings(loopback.base_url, "llamacpp-infill"))
    seen = asyncio.Event()

    async def consume() -> None:
        async for _ in infiller.stream_infill(REQUEST):
            seen.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(seen.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await loopback.async_wait_disconnected(2)
    await infiller.aclose()


# --- chat models, retries and fallback, the factory ------------------------------------------------


async def test_chat_models_get_a_fill_in_prompt(loopback: LoopbackServer) -> None:
    loopback.script(chat_reply("a + b"))
    infiller = build_infiller(settings(loopback.base_url, "chat"))
    assert isinstance(infiller, ChatInfiller)
    assert text(await run(infiller)) == "a + b"
    sent = loopback.requests[0]
    assert sent.path == "/v1/chat/completions"
    system, user = sent.json["messages"]
    assert system["role"] == "system" and "no Markdown fences" in system["content"]
    assert f"{REQUEST.prefix}{CURSOR_MARK}{REQUEST.suffix}" in user["content"]
    assert "File util.py:" in user["content"] and "calc.py (python)" in user["content"]
    assert "stop" not in sent.json  # a fence line must not end a chat answer at once
    assert sent.json["max_tokens"] == 32


async def test_a_provider_without_fim_format_is_asked_through_chat(loopback: LoopbackServer) -> None:
    infiller = build_infiller(settings(loopback.base_url, None))
    assert isinstance(infiller, ChatInfiller)
    assert isinstance(infiller.provider, OpenAIProvider)
    await infiller.aclose()


@pytest.mark.parametrize(
    ("fim_format", "cls"),
    [
        pytest.param("completions", CompletionsInfiller, id="completions"),
        pytest.param("mistral", MistralInfiller, id="mistral"),
        pytest.param("llamacpp-infill", LlamaCppInfiller, id="llamacpp-infill"),
        pytest.param("ollama", OllamaInfiller, id="ollama"),
    ],
)
def test_factory_picks_the_wire_format(fim_format: FimFormat, cls: type[HTTPInfiller]) -> None:
    infiller = build_infiller(settings("http://127.0.0.1:9/v1", fim_format))
    assert type(infiller) is cls
    assert "sk-" not in repr(infiller)


async def test_retry_before_output_then_fallback_to_another_format(
    make_loopback: Callable[[], LoopbackServer],
) -> None:
    down, up = make_loopback(), make_loopback()
    down.script(error_reply(503, "loading"), error_reply(503, "still loading"))
    up.script(ollama_reply("from ", "ollama"))
    config = Settings(
        providers={
            "llama": settings(down.base_url, "llamacpp-infill", name="llama", max_retries=1),
            "ollama": settings(up.base_url, "ollama", name="ollama"),
        },
        provider="llama",
        fallback=("ollama",),
    )
    notices: list[str] = []
    chain = build_infill_chain(config, on_notice=lambda n: notices.append(n.kind))
    chain._sleep = lambda _: asyncio.sleep(0)  # type: ignore[method-assign]
    assert text(await run(chain)) == "from ollama"
    assert [r.path for r in down.requests] == ["/infill", "/infill"]
    assert [r.path for r in up.requests] == ["/api/generate"]
    assert notices == ["retry", "fallback"]
    assert chain.name == "ollama"


async def test_no_retry_once_text_was_produced(make_loopback: Callable[[], LoopbackServer]) -> None:
    first, second = make_loopback(), make_loopback()
    first.script(llama_reply("partial", stop=False, end="abort"))
    second.script(ollama_reply("never"))
    config = Settings(
        providers={
            "a": settings(first.base_url, "llamacpp-infill", name="a"),
            "b": settings(second.base_url, "ollama", name="b"),
        },
        provider="a",
        fallback=("b",),
    )
    got: list[str] = []
    with pytest.raises(StreamError):
        async for delta in build_infill_chain(config).stream_infill(REQUEST):
            got.append(delta.text)
    assert got == ["partial"]
    assert second.requests == []


def test_chain_names_an_unknown_provider() -> None:
    with pytest.raises(ProviderError, match="'nope' is not configured"):
        build_infill_chain(Settings(), "nope")


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        pytest.param({"base_url": "http://127.0.0.1:9/v1", "fimFormat": "ollama"}, "ollama", id="given"),
        pytest.param({"preset": "ollama"}, "ollama", id="ollama-preset"),
        pytest.param({"preset": "llamacpp"}, "llamacpp-infill", id="llamacpp-preset"),
        pytest.param({"preset": "mistral"}, "mistral", id="mistral-preset"),
        pytest.param({"preset": "openai"}, None, id="chat-only-preset"),
        pytest.param({"preset": "ollama", "fim_format": "chat"}, "chat", id="override-a-preset"),
        pytest.param({"base_url": "http://127.0.0.1:9/v1", "fim_format": "fim"}, ConfigError, id="unknown"),
    ],
)
def test_fim_format_in_configuration(tmp_path: Any, provider: dict[str, str], expected: Any) -> None:
    overrides = {"providers": {"box": provider}, "provider": "box"}
    if expected is ConfigError:
        with pytest.raises(ConfigError, match="fim_format: expected one of completions, llamacpp-infill"):
            resolve(tmp_path, environ={}, overrides=overrides, use_files=False)
        return
    settings = resolve(tmp_path, environ={}, overrides=overrides, use_files=False)
    assert settings.providers["box"].fim_format == expected
