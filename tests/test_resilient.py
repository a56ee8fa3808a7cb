"""Retries and fallback (``ResilientProvider``, ``build_chain``) against real loopback servers.

The rule under test: retry or fall back only while nothing visible has reached the consumer, honour
the server's Retry-After, and never replay or mix output. Waits are recorded through the
``sleep`` hook so the suite stays fast; one test sleeps for real to show Retry-After is honoured.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable

import pytest

from codegen_lsp.core.settings import ActionSettings, ProviderSettings, Settings, Timeouts
from codegen_lsp.core.types import CompletionRequest, Delta, Message
from codegen_lsp.errors import (
    AuthError,
    ConnectionFailed,
    FirstTokenTimeout,
    ProviderUnavailable,
    RateLimitError,
    ServerError,
    StreamError,
)
from codegen_lsp.providers.factory import build_chain, build_provider
from codegen_lsp.providers.openai import OpenAIProvider
from codegen_lsp.providers.resilient import Notice, ResilientProvider, backoff_delay
from loopback import LoopbackServer, chat_reply, error_reply, sse_event, sse_reply

REQUEST = CompletionRequest(messages=(Message("user", "go"),))
FAST = Timeouts(connect=1, first_token=0.5, idle=0.5)


def provider_for(server: LoopbackServer | str, name: str = "a") -> OpenAIProvider:
    base_url = server if isinstance(server, str) else server.base_url
    return OpenAIProvider(ProviderSettings(name=name, base_url=base_url, model="m", timeouts=FAST))


class Recorder:
    """Collects notices and the waits the provider asked for (without waiting)."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []
        self.sleeps: list[float] = []
        #: how many notices had been given when each wait began
        self.told_before_sleep: list[int] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.told_before_sleep.append(len(self.notices))
        await asyncio.sleep(0)

    def resilient(self, *providers: OpenAIProvider, max_retries: int = 2) -> ResilientProvider:
        return ResilientProvider(
            providers, max_retries=max_retries, on_notice=self.notices.append, sleep=self.sleep
        )


async def collect(provider: ResilientProvider) -> list[Delta]:
    try:
        return [d async for d in provider.stream(REQUEST)]
    finally:
        await provider.aclose()


def text(deltas: list[Delta]) -> str:
    return "".join(d.text for d in deltas)


@pytest.mark.parametrize(
    ("first", "wait"),
    [
        pytest.param(
            error_reply(429, "slow", headers={"Retry-After": "3"}), 3.0, id="429-retry-after-seconds"
        ),
        pytest.param(
            error_reply(429, "slow", headers={"retry-after-ms": "250"}), 0.25, id="429-retry-after-ms"
        ),
        pytest.param(error_reply(503, "busy"), None, id="503-backoff"),
        pytest.param(error_reply(408, "timeout"), None, id="408-backoff"),
        pytest.param(error_reply(409, "conflict"), None, id="409-backoff"),
    ],
)
async def test_retryable_failure_then_success(
    loopback: LoopbackServer, first: object, wait: float | None
) -> None:
    loopback.script(first, chat_reply("ok"))  # type: ignore[arg-type]
    rec = Recorder()
    assert text(await collect(rec.resilient(provider_for(loopback)))) == "ok"
    assert len(loopback.requests) == 2
    assert len(rec.sleeps) == 1
    if wait is not None:
        assert rec.sleeps[0] == wait
    else:
        assert 0.375 <= rec.sleeps[0] <= 0.5  # first backoff: 0.5 s less up to 25 % jitter
    assert [n.kind for n in rec.notices] == ["retry"]
    assert "Retrying in" in rec.notices[0].message
    assert rec.told_before_sleep == [1]  # the user hears of the wait before it starts
    assert rec.notices[0].delay == rec.sleeps[0]


@pytest.mark.parametrize(
    ("notice", "summary"),
    [
        pytest.param(
            Notice("retry", "openai", RateLimitError("x", retry_after=23), delay=23, attempt=2),
            "rate-limited by openai, retrying in 23 s (attempt 2)",
            id="429",
        ),
        pytest.param(
            Notice("retry", "vllm", ServerError("x", status=503), delay=0.43, attempt=3),
            "vllm answered 503, retrying in 0.4 s (attempt 3)",
            id="503-backoff",
        ),
        pytest.param(
            Notice("retry", "ollama", ConnectionFailed("x"), delay=1, attempt=2),
            "could not reach ollama, retrying in 1.0 s (attempt 2)",
            id="refused",
        ),
        pytest.param(
            Notice("fallback", "openai", RateLimitError("x"), next_provider="ollama"),
            "rate-limited by openai, falling back to ollama",
            id="fallback",
        ),
    ],
)
def test_notice_summary_says_why_and_how_long(notice: Notice, summary: str) -> None:
    assert notice.summary == summary


async def test_notices_are_warnings_when_nobody_shows_them(
    loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    loopback.script(error_reply(503, "busy"), chat_reply("ok"))
    chain = ResilientProvider([provider_for(loopback)], sleep=Recorder().sleep)
    with caplog.at_level(logging.INFO, logger="codegen_lsp.providers"):
        assert text(await collect(chain)) == "ok"
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "Retrying in" in caplog.text


async def test_retry_after_is_really_waited_for(loopback: LoopbackServer) -> None:
    loopback.script(error_reply(429, "slow", headers={"Retry-After": "0.3"}), chat_reply("ok"))
    provider = ResilientProvider([provider_for(loopback)])
    started = time.monotonic()
    assert text(await collect(provider)) == "ok"
    assert time.monotonic() - started >= 0.3


async def test_gives_up_after_max_retries_with_growing_backoff(loopback: LoopbackServer) -> None:
    loopback.script(*(error_reply(500, "down") for _ in range(4)))
    rec = Recorder()
    with pytest.raises(ServerError, match="down"):
        await collect(rec.resilient(provider_for(loopback), max_retries=3))
    assert len(loopback.requests) == 4
    assert len(rec.sleeps) == 3
    assert rec.sleeps[0] < rec.sleeps[1] < rec.sleeps[2]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param(error_reply(401, "bad key"), AuthError, id="401"),
        pytest.param(error_reply(400, "bad request"), ServerError, id="400"),
        pytest.param(
            error_reply(429, "quota", headers={"Retry-After": "3600"}),
            RateLimitError,
            id="retry-after-too-long",
        ),
    ],
)
async def test_not_retried(loopback: LoopbackServer, reply: object, error: type[Exception]) -> None:
    loopback.script(reply, chat_reply("never"))  # type: ignore[arg-type]
    rec = Recorder()
    with pytest.raises(error):
        await collect(rec.resilient(provider_for(loopback)))
    assert len(loopback.requests) == 1
    assert rec.sleeps == []


async def test_connection_refused_is_retried() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rec = Recorder()
    with pytest.raises(Exception, match="connection refused"):
        await collect(rec.resilient(provider_for(f"http://127.0.0.1:{port}/v1"), max_retries=2))
    assert len(rec.sleeps) == 2


async def test_fallback_to_a_second_server(
    make_loopback: Callable[[], LoopbackServer], caplog: pytest.LogCaptureFixture
) -> None:
    first, second = make_loopback(), make_loopback()
    first.script(error_reply(503, "overloaded"), error_reply(503, "overloaded"))
    second.script(chat_reply("from b"))
    rec = Recorder()
    chain = rec.resilient(provider_for(first, "a"), provider_for(second, "b"), max_retries=1)
    with caplog.at_level(logging.INFO, logger="codegen_lsp.providers"):
        deltas = await collect(chain)
    assert text(deltas) == "from b"
    assert chain.name == "b"
    assert [n.kind for n in rec.notices] == ["retry", "fallback"]
    assert rec.notices[1].next_provider == "b"
    assert "Falling back to b" in caplog.text
    assert (len(first.requests), len(second.requests)) == (2, 1)


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(error_reply(401, "bad key"), id="auth"),
        pytest.param(
            sse_reply([sse_event({"choices": []}), sse_event("[DONE]")], delay=2), id="first-token-timeout"
        ),
    ],
)
async def test_non_retryable_failures_still_fall_back(
    make_loopback: Callable[[], LoopbackServer], failure: object
) -> None:
    first, second = make_loopback(), make_loopback()
    first.script(failure)  # type: ignore[arg-type]
    second.script(chat_reply("b answered"))
    rec = Recorder()
    assert (
        text(await collect(rec.resilient(provider_for(first, "a"), provider_for(second, "b"))))
        == "b answered"
    )
    assert [n.kind for n in rec.notices] == ["fallback"]


async def test_last_error_is_raised_when_every_provider_fails(
    make_loopback: Callable[[], LoopbackServer],
) -> None:
    first, second = make_loopback(), make_loopback()
    first.script(error_reply(401, "a says no"))
    second.script(sse_reply([], delay=2))
    rec = Recorder()
    with pytest.raises(FirstTokenTimeout):
        await collect(rec.resilient(provider_for(first, "a"), provider_for(second, "b"), max_retries=0))


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(
            chat_reply("partial ", finish_reason=None, usage=False, done=False, end="abort"), id="dropped"
        ),
        pytest.param(
            sse_reply(
                [
                    sse_event({"choices": [{"index": 0, "delta": {"content": "partial "}}]}),
                    sse_event({"error": {"code": 503, "message": "x"}}),
                ]
            ),
            id="error-event-after-content",
        ),
    ],
)
async def test_no_retry_or_fallback_after_content(
    make_loopback: Callable[[], LoopbackServer], broken: object
) -> None:
    first, second = make_loopback(), make_loopback()
    first.script(broken, chat_reply("replayed"))  # type: ignore[arg-type]
    second.script(chat_reply("mixed"))
    rec = Recorder()
    got: list[str] = []
    with pytest.raises((StreamError, ServerError)):
        async for delta in rec.resilient(provider_for(first, "a"), provider_for(second, "b")).stream(REQUEST):
            got.append(delta.text)
    assert "".join(got) == "partial "
    assert (len(first.requests), len(second.requests)) == (1, 0)
    assert rec.notices == []


async def test_cancelling_closes_the_inner_stream(loopback: LoopbackServer) -> None:
    loopback.script(chat_reply("a", "b", token_delay=0.1, end="hang", done=False))
    chain = ResilientProvider([provider_for(loopback)])
    stream = chain.stream(REQUEST)
    async for delta in stream:
        if delta.text:
            break
    await stream.aclose()
    assert await loopback.async_wait_disconnected(1)
    await chain.aclose()


@pytest.mark.parametrize(
    ("attempt", "rand", "seconds"),
    [
        pytest.param(0, 0.0, 0.5, id="first"),
        pytest.param(1, 0.0, 1.0, id="doubles"),
        pytest.param(2, 1.0, 1.5, id="jitter-takes-a-quarter-off"),
        pytest.param(10, 0.0, 8.0, id="capped"),
    ],
)
def test_backoff_delay(attempt: int, rand: float, seconds: float) -> None:
    assert backoff_delay(attempt, rand=rand) == seconds


def test_build_chain_without_providers_says_how_to_configure() -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        build_chain(Settings())
    assert "CODEGEN_LSP_PROVIDER" in str(caught.value)
    assert "codegen-lsp providers" in str(caught.value)


def test_build_chain_follows_action_override_and_fallbacks() -> None:
    providers = {
        name: ProviderSettings(name=name, base_url=f"http://127.0.0.1:9/{name}", max_retries=i)
        for i, name in enumerate(["main", "backup", "fast"])
    }
    settings = Settings(
        providers=providers,
        provider="main",
        fallback=("backup",),
        actions={"explain": ActionSettings(name="explain", provider="fast")},
    )
    assert [p.name for p in build_chain(settings).providers] == ["main", "backup"]
    chain = build_chain(settings, "explain")
    assert [p.name for p in chain.providers] == ["fast", "main", "backup"]
    assert chain.name == "fast"


def test_build_provider_by_type() -> None:
    assert isinstance(
        build_provider(ProviderSettings(name="x", base_url="http://127.0.0.1:9/v1")), OpenAIProvider
    )
    with pytest.raises(ProviderUnavailable, match="unknown type"):
        build_provider(ProviderSettings(name="x", type="grpc"))  # type: ignore[arg-type]
