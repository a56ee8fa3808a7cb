"""OpenAIProvider against a real scripted HTTP server on 127.0.0.1 (the ``loopback`` package).

Covers the wire contract: the request sent, slow tokens arriving one by one, each error status with
its message, Retry-After, malformed and mid-stream errors, the three timeouts kept apart, streams
that end early, cancellation seen by the server, proxies and CA bundles from the environment, and
the key never showing up in a message or repr.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from codegen_lsp.core.settings import ProviderSettings, Timeouts
from codegen_lsp.core.types import CompletionRequest, Delta, Message
from codegen_lsp.errors import (
    AuthError,
    ConnectionFailed,
    ConnectTimeout,
    FirstTokenTimeout,
    IdleTimeout,
    NotFoundError,
    ProviderError,
    ProviderUnavailable,
    RateLimitError,
    ServerError,
    StreamError,
    TLSError,
)
from codegen_lsp.providers.openai import OpenAIProvider, parse_retry_after
from loopback import (
    LoopbackServer,
    Pause,
    Reply,
    chat_chunk,
    chat_completion_json,
    chat_reply,
    error_reply,
    json_reply,
    self_signed_cert,
    server_ssl_context,
    sse_event,
    sse_reply,
)
from loopback.processes import free_port

KEY = "sk-test-0123456789abcdef"
REQUEST = CompletionRequest(messages=(Message("system", "be brief"), Message("user", "factorial")))


def settings(base_url: str, **changes: object) -> ProviderSettings:
    fields: dict[str, object] = {
        "name": "test",
        "base_url": base_url,
        "model": "coder-1",
        "api_key_env": "TEST_PROVIDER_KEY",
        "timeouts": Timeouts(connect=2, first_token=2, idle=2),
    }
    fields.update(changes)
    return ProviderSettings(**fields)  # type: ignore[arg-type]


async def run(provider: OpenAIProvider, request: CompletionRequest = REQUEST) -> list[Delta]:
    try:
        return [d async for d in provider.stream(request)]
    finally:
        await provider.aclose()


def text(deltas: list[Delta]) -> str:
    return "".join(d.text for d in deltas)


async def test_request_shape_and_streamed_answer(loopback: LoopbackServer) -> None:
    loopback.script(chat_reply("def f():\n", "    return 1\n"))
    provider = OpenAIProvider(
        settings(loopback.base_url, api_key=KEY, headers={"X-Team": "a"}, user="alice@example.com")
    )
    request = CompletionRequest(
        messages=REQUEST.messages, temperature=0.0, max_tokens=64, stop=("\n\n\n",), model="other"
    )
    deltas = await run(provider, request)
    assert text(deltas) == "def f():\n    return 1\n"
    assert deltas[-1].finish_reason == "stop"
    assert deltas[-1].usage is not None and deltas[-1].usage.prompt_tokens == 7
    sent = loopback.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["x-team"] == "a"
    assert sent.json == {
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "factorial"}],
        "model": "other",
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.0,
        "max_tokens": 64,
        "stop": ["\n\n\n"],
        "user": "alice@example.com",
    }


async def test_settings_fill_model_temperature_and_key_from_env(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_PROVIDER_KEY", KEY)
    loopback.script(chat_reply("ok"))
    await run(OpenAIProvider(settings(loopback.base_url + "/", temperature=0.5, max_tokens=None)))
    sent = loopback.requests[0]
    assert sent.path == "/v1/chat/completions"  # a trailing slash on base_url is fine
    assert sent.json["model"] == "coder-1"
    assert sent.json["temperature"] == 0.5
    assert "max_tokens" not in sent.json
    assert "user" not in sent.json  # only sent when configured
    assert sent.headers["authorization"] == f"Bearer {KEY}"


async def test_slow_tokens_arrive_one_by_one(loopback: LoopbackServer) -> None:
    loopback.script(chat_reply("a", "b", "c", "d", token_delay=0.1))
    provider = OpenAIProvider(settings(loopback.base_url))
    started = time.monotonic()
    arrivals = []
    try:
        async for delta in provider.stream(REQUEST):
            if delta.text:
                arrivals.append(time.monotonic() - started)
    finally:
        await provider.aclose()
    assert len(arrivals) == 4
    assert arrivals[0] < 0.35 < arrivals[-1]  # the first token did not wait for the last


@pytest.mark.parametrize(
    ("reply", "key", "error", "says"),
    [
        pytest.param(
            error_reply(401, "Incorrect API key"),
            None,
            AuthError,
            "set the environment variable TEST_PROVIDER_KEY",
            id="401-no-key",
        ),
        pytest.param(
            error_reply(401, "Incorrect API key"), KEY, AuthError, "Check the API key", id="401-wrong-key"
        ),
        pytest.param(error_reply(403, "no access to model"), KEY, AuthError, "no access to model", id="403"),
        pytest.param(
            error_reply(404, "model 'coder-1' not found"),
            None,
            NotFoundError,
            "Check the model name ('coder-1')",
            id="404",
        ),
        pytest.param(error_reply(429, "Rate limit reached"), None, RateLimitError, "rate limiting", id="429"),
        pytest.param(
            error_reply(400, "max_tokens too large"),
            None,
            ServerError,
            "rejected the request (400 Bad Request): max_tokens too large",
            id="400",
        ),
        pytest.param(error_reply(408, "timeout"), None, ServerError, "408", id="408"),
        pytest.param(error_reply(500, "internal"), None, ServerError, "500 Internal Server Error", id="500"),
        pytest.param(error_reply(503, "overloaded"), None, ServerError, "overloaded", id="503"),
        pytest.param(
            json_reply(502, {"message": "bare error object"}),
            None,
            ServerError,
            "bare error object",
            id="502-bare",
        ),
        pytest.param(error_reply(500, ""), None, ServerError, "try again later", id="500-empty"),
    ],
)
async def test_error_statuses(
    loopback: LoopbackServer, reply: Reply, key: str | None, error: type[ProviderError], says: str
) -> None:
    loopback.script(reply)
    with pytest.raises(error) as caught:
        await run(OpenAIProvider(settings(loopback.base_url, api_key=key), environ={}))
    message = str(caught.value)
    assert says in message
    assert f"127.0.0.1:{loopback.port}" in message
    assert caught.value.status == reply.status
    assert caught.value.retryable == (error in (RateLimitError, ServerError) and reply.status != 400)


async def test_html_error_page_is_not_quoted(loopback: LoopbackServer) -> None:
    loopback.script(
        Reply(status=502, headers={"Content-Type": "text/html"}, body=b"<html><h1>Bad</h1></html>")
    )
    with pytest.raises(ServerError) as caught:
        await run(OpenAIProvider(settings(loopback.base_url)))
    assert "<html>" not in str(caught.value)
    assert "502 Bad Gateway" in str(caught.value)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        pytest.param({"Retry-After": "7"}, 7.0, id="seconds"),
        pytest.param({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5, id="ms-wins"),
        pytest.param({"Retry-After": "soon"}, None, id="unreadable"),
        pytest.param({}, None, id="absent"),
    ],
)
async def test_retry_after_reaches_the_error(
    loopback: LoopbackServer, headers: dict[str, str], seconds: float | None
) -> None:
    loopback.script(error_reply(429, "slow down", headers=headers))
    with pytest.raises(RateLimitError) as caught:
        await run(OpenAIProvider(settings(loopback.base_url)))
    assert caught.value.retry_after == seconds


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=now) == pytest.approx(30)
    assert parse_retry_after({"Retry-After": email.utils.formatdate(now - 30, usegmt=True)}, now=now) == 0


@pytest.mark.parametrize(
    ("reply", "error", "says", "text_before"),
    [
        pytest.param(
            sse_reply([sse_event(chat_chunk("ok ")), b"data: {not json}\n\n"]),
            StreamError,
            "malformed",
            "ok ",
            id="malformed-json",
        ),
        pytest.param(
            sse_reply(
                [
                    sse_event(chat_chunk("part")),
                    sse_event({"error": {"message": "upstream died", "code": 502}}),
                ]
            ),
            ServerError,
            "upstream died",
            "part",
            id="mid-stream-error-event",
        ),
        pytest.param(
            chat_reply("half", finish_reason=None, usage=False, done=False),
            StreamError,
            "truncated",
            "half",
            id="clean-end-without-done-or-finish",
        ),
        pytest.param(
            chat_reply("half", finish_reason=None, usage=False, done=False, end="abort"),
            StreamError,
            "broke in the middle",
            "half",
            id="connection-dropped",
        ),
        pytest.param(
            sse_reply([b"<html>not sse</html>"], headers={"Content-Type": "text/html"}),
            StreamError,
            "instead of an event stream",
            "",
            id="wrong-content-type",
        ),
    ],
)
async def test_broken_streams(
    loopback: LoopbackServer, reply: Reply, error: type[ProviderError], says: str, text_before: str
) -> None:
    loopback.script(reply)
    provider = OpenAIProvider(settings(loopback.base_url))
    got: list[str] = []
    with pytest.raises(error) as caught:
        async for delta in provider.stream(REQUEST):
            got.append(delta.text)
    await provider.aclose()
    assert says in str(caught.value)
    assert "".join(got) == text_before


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(chat_reply("fine", done=False), id="finish-without-done"),
        pytest.param(chat_reply("fine", done=False, end="abort"), id="finish-then-dropped"),
        pytest.param(json_reply(200, chat_completion_json("fine")), id="server-ignored-stream-true"),
    ],
)
async def test_complete_answers_without_the_usual_ending(loopback: LoopbackServer, reply: Reply) -> None:
    loopback.script(reply)
    deltas = await run(OpenAIProvider(settings(loopback.base_url)))
    assert text(deltas) == "fine"
    assert deltas[-1].finish_reason == "stop"


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param(chat_reply("x", delay=3), FirstTokenTimeout, id="no-headers"),
        pytest.param(
            sse_reply([sse_event(chat_chunk("", role="assistant")), Pause(3), sse_event(chat_chunk("late"))]),
            FirstTokenTimeout,
            id="headers-and-role-but-no-content",
        ),
        pytest.param(
            sse_reply([sse_event(chat_chunk("early")), Pause(3), sse_event(chat_chunk("late"))]),
            IdleTimeout,
            id="stall-after-content",
        ),
        pytest.param(sse_reply([b": keep-alive\n\n", Pause(3)]), FirstTokenTimeout, id="keepalives-only"),
    ],
)
async def test_first_token_and_idle_timeouts(
    loopback: LoopbackServer, reply: Reply, error: type[ProviderError]
) -> None:
    loopback.script(reply)
    provider = OpenAIProvider(
        settings(loopback.base_url, timeouts=Timeouts(connect=2, first_token=0.4, idle=0.4))
    )
    started = time.monotonic()
    with pytest.raises(error) as caught:
        await run(provider)
    assert time.monotonic() - started < 2
    assert "0.4 s" in str(caught.value)
    assert loopback.wait_disconnected(2)  # the response was closed, not left hanging


async def test_first_token_limit_does_not_apply_once_tokens_flow(loopback: LoopbackServer) -> None:
    # 6 tokens 0.15 s apart take ~0.9 s in all: longer than first_token, each gap shorter than idle
    loopback.script(chat_reply(*"abcdef", token_delay=0.15))
    provider = OpenAIProvider(
        settings(loopback.base_url, timeouts=Timeouts(connect=2, first_token=0.5, idle=0.4))
    )
    assert text(await run(provider)) == "abcdef"


async def test_slow_prompt_processing_within_first_token_limit(loopback: LoopbackServer) -> None:
    # a long silence before the first token is fine under first_token even when longer than idle
    loopback.script(chat_reply("a", delay=0.5))
    provider = OpenAIProvider(
        settings(loopback.base_url, timeouts=Timeouts(connect=2, first_token=2, idle=0.2))
    )
    assert text(await run(provider)) == "a"


async def test_cancelling_the_consumer_closes_the_connection(loopback: LoopbackServer) -> None:
    loopback.script(chat_reply("first ", "second", token_delay=0.1, end="hang", done=False))
    provider = OpenAIProvider(settings(loopback.base_url))
    got_first = asyncio.Event()

    async def consume() -> None:
        async for delta in provider.stream(REQUEST):
            if delta.text:
                got_first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_first.wait(), 2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await loopback.async_wait_disconnected(1)
    assert loopback.requests[0].disconnected
    await provider.aclose()


async def test_closing_the_stream_early_closes_the_connection(loopback: LoopbackServer) -> None:
    loopback.script(chat_reply("a", "b", "c", token_delay=0.2))
    provider = OpenAIProvider(settings(loopback.base_url))
    stream = provider.stream(REQUEST)
    async for delta in stream:
        if delta.text:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    assert await loopback.async_wait_disconnected(1)
    await provider.aclose()


async def test_connection_refused_names_host_and_is_retryable() -> None:
    port = free_port()
    with pytest.raises(ConnectionFailed) as caught:
        await run(OpenAIProvider(settings(f"http://127.0.0.1:{port}/v1")))
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "connection refused" in str(caught.value)
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("base_url", "says"),
    [
        pytest.param(None, "has no base URL", id="missing"),
        pytest.param("ftp://example.test/v1", "must start with http", id="scheme"),
    ],
)
def test_bad_base_url(base_url: str | None, says: str) -> None:
    with pytest.raises(ProviderUnavailable, match=says):
        OpenAIProvider(settings(base_url))  # type: ignore[arg-type]


async def test_http_proxy_from_environment(
    make_loopback: Callable[[], LoopbackServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = make_loopback()
    proxy.script(chat_reply("via proxy"))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    # example.invalid never resolves: only a proxy can have answered
    assert text(await run(OpenAIProvider(settings("http://example.invalid/v1")))) == "via proxy"
    assert proxy.requests[0].proxied
    assert proxy.requests[0].target == "http://example.invalid/v1/chat/completions"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    made = self_signed_cert(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("openssl is not installed")
    return made


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
async def test_custom_ca_bundle_from_environment(certificate: tuple[Path, Path], variable: str) -> None:
    cert, key = certificate
    with LoopbackServer(ssl_context=server_ssl_context(cert, key)) as server:
        server.script(chat_reply("secure"))
        # Unknown CA: a TLS error with advice. (environ={} keeps the machine's own bundle out.)
        with pytest.raises(TLSError) as caught:
            await run(OpenAIProvider(settings(server.base_url), environ={}))
        assert "SSL_CERT_FILE" in str(caught.value)
        assert not caught.value.retryable
        assert (
            text(await run(OpenAIProvider(settings(server.base_url), environ={variable: str(cert)})))
            == "secure"
        )


async def test_the_key_never_leaks(loopback: LoopbackServer) -> None:
    loopback.script(
        error_reply(401, f"Incorrect API key provided: {KEY}"),
        sse_reply([sse_event({"error": {"message": f"key {KEY} revoked", "code": 401}})]),
    )
    provider = OpenAIProvider(settings(loopback.base_url, api_key=KEY))
    for _ in range(2):
        with pytest.raises(AuthError) as caught:
            await run(provider)
        assert KEY not in str(caught.value)
        assert KEY not in repr(caught.value.args)
    assert KEY not in repr(provider)
    assert KEY not in repr(provider.settings)


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose accept queue is full: the kernel drops further SYNs, so connecting hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in (*fillers, server):
        sock.close()


async def test_connect_timeout(unanswered_port: int) -> None:
    timeouts = Timeouts(connect=0.3, first_token=5, idle=5)
    provider = OpenAIProvider(settings(f"http://127.0.0.1:{unanswered_port}/v1", timeouts=timeouts))
    started = time.monotonic()
    with pytest.raises(ConnectTimeout) as caught:
        await run(provider)
    assert time.monotonic() - started < 2
    assert "within 0.3 s (connect timeout)" in str(caught.value)
    assert caught.value.retryable


async def test_cancelling_while_the_model_is_still_silent_closes_the_connection(
    loopback: LoopbackServer,
) -> None:
    # the usual case with a slow local model: cancelled during prompt processing, before any header
    loopback.script(chat_reply("never", delay=5))
    provider = OpenAIProvider(settings(loopback.base_url))
    task = asyncio.create_task(run(provider))
    assert await asyncio.to_thread(loopback.wait_requests, 1, 2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await loopback.async_wait_disconnected(1)
