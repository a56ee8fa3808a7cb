"""Retries and fallback around other providers, only ever before the first content arrives.

:class:`ResilientProvider` (chat) and :class:`ResilientInfiller` (fill-in-the-middle) try their
providers in order. A failure whose error is ``retryable``
(408/409/429/5xx, connection failures, connect timeouts) is retried on the same provider with
exponential backoff and jitter (0.5 s doubling up to 8 s, like the official OpenAI SDK), or after
exactly the server's ``Retry-After`` / ``retry-after-ms`` when it gave one; a server asking for
longer than ``max_retry_after`` is not waited for. When a provider is out of retries, or fails in a
way retrying cannot fix, the next one takes over. All of this happens **only until the first
visible text has been yielded**: after that an error goes straight to the consumer, so output is
never replayed or mixed from two sources. Each retry and fallback is logged on the
``codegen_lsp.providers`` logger and passed to an optional ``on_notice`` callback *before* any
wait, with the reason and the seconds, so the CLI and the language server can show it ("rate-limited
by openai, retrying in 23 s"); :meth:`~_Resilient.notifying` gives a shared chain a sink per caller.

Every attempt also runs under the provider's :class:`Caps`, here and so once for every kind of
provider (HTTP, FIM, in-process): a total deadline (``timeouts.total``) however steadily the content
arrives, and an answer-size cap (``max_answer_chars``), for a server that ignores ``max_tokens``.
Either ends the attempt with :class:`~codegen_lsp.errors.TotalTimeout` or
:class:`~codegen_lsp.errors.AnswerTooLarge`, and the stream is closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy as _copy
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, NoReturn, Protocol, Self, TypeVar

from codegen_lsp.core.infill import Infiller, InfillRequest
from codegen_lsp.core.provider import Provider
from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.core.types import CompletionRequest, Delta
from codegen_lsp.errors import (
    AnswerTooLarge,
    ConnectionFailed,
    ConnectTimeout,
    ProviderError,
    ProviderUnavailable,
    RateLimitError,
    TotalTimeout,
)
from codegen_lsp.providers.deadline import deadline

logger = logging.getLogger("codegen_lsp.providers")


@dataclass(frozen=True, slots=True)
class Notice:
    """What the resilience layer is about to do, for the user."""

    kind: Literal["retry", "fallback"]
    provider: str  # the provider that failed
    error: ProviderError
    delay: float = 0.0  # retry: seconds until the next attempt
    attempt: int = 0  # retry: the number of the next attempt (2 = first retry)
    next_provider: str | None = None  # fallback: who takes over

    @property
    def message(self) -> str:
        """The whole story, for the log: the error's own message and what happens next."""
        if self.kind == "retry":
            return f"{self.provider}: {self.error.message} Retrying in {self.delay:.1f} s (attempt {self.attempt})."
        return f"{self.provider}: {self.error.message} Falling back to {self.next_provider}."

    @property
    def summary(self) -> str:
        """One short line for a progress report: "rate-limited by openai, retrying in 23 s"."""
        if self.kind == "retry":
            return f"{self.reason}, retrying in {_seconds(self.delay)} (attempt {self.attempt})"
        return f"{self.reason}, falling back to {self.next_provider}"

    @property
    def reason(self) -> str:
        error, name = self.error, self.provider
        if isinstance(error, RateLimitError):
            return f"rate-limited by {name}"
        if isinstance(error, ConnectTimeout):
            return f"{name} did not accept a connection in time"
        if isinstance(error, ConnectionFailed):
            return f"could not reach {name}"
        if error.status is not None:
            return f"{name} answered {error.status}"
        return f"{name} failed ({type(error).__name__})"


def _seconds(delay: float) -> str:
    return f"{delay:.0f} s" if delay >= 10 else f"{delay:.1f} s"


@dataclass(frozen=True, slots=True)
class Caps:
    """What one request to one provider may take at most; None: no cap."""

    #: seconds from the request to its last delta (``timeouts.total``)
    total: float | None = None
    #: characters of visible answer (``max_answer_chars``)
    max_chars: int | None = None

    @classmethod
    def of(cls, settings: ProviderSettings) -> Caps:
        return cls(settings.timeouts.total, settings.max_answer_chars)


async def capped(deltas: AsyncGenerator[Delta, None], caps: Caps, name: str) -> AsyncGenerator[Delta, None]:
    """``deltas`` under ``caps``: each read may last only until the deadline, and the text must
    stay within the size; either raises and leaves ``deltas`` to the caller to close."""
    loop = asyncio.get_running_loop()
    when = None if caps.total is None else loop.time() + caps.total
    size = 0

    def expired() -> NoReturn:
        raise TotalTimeout(
            f"{name} was still answering after {caps.total:g} s (total timeout), so the answer "
            "was dropped. Check that the server honours max_tokens, or raise timeouts.total "
            "for a model that is really this slow.",
            provider=name,
        ) from None

    while True:
        try:
            async with deadline(when, expired):
                delta = await anext(deltas)
        except StopAsyncIteration:
            return
        size += len(delta.text)
        if caps.max_chars is not None and size > caps.max_chars:
            raise AnswerTooLarge(
                f"{name} sent more than {caps.max_chars} characters of answer (max_answer_chars), so "
                "the answer was dropped. Check that the server honours max_tokens, or raise "
                "max_answer_chars.",
                provider=name,
            )
        yield delta


def backoff_delay(attempt: int, *, base: float = 0.5, cap: float = 8.0, rand: float | None = None) -> float:
    """Seconds before retry number ``attempt`` (0-based): doubling from ``base`` up to ``cap``,
    shortened by up to 25 % at random so that many clients do not retry in lockstep."""
    jitter = random.random() if rand is None else rand
    return min(base * 2.0**attempt, cap) * (1 - 0.25 * jitter)


class _Source(Protocol):
    name: str
    model: str

    async def aclose(self) -> None: ...


_S = TypeVar("_S", bound=_Source)


class _Resilient(Generic[_S]):
    """Retry and fall back over ``providers`` (see the module docstring), whatever they stream."""

    def __init__(
        self,
        providers: Sequence[_S],
        *,
        max_retries: int | Sequence[int] = 2,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        max_retry_after: float = 60.0,
        caps: Caps | Sequence[Caps] = Caps(),
        on_notice: Callable[[Notice], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not providers:
            raise ProviderUnavailable("No provider to use: the provider chain is empty.")
        self.providers = tuple(providers)
        retries = [max_retries] * len(providers) if isinstance(max_retries, int) else list(max_retries)
        if len(retries) != len(self.providers):
            raise ValueError("max_retries needs one count per provider")
        self._retries = retries
        self._caps = [caps] * len(providers) if isinstance(caps, Caps) else list(caps)
        if len(self._caps) != len(self.providers):
            raise ValueError("caps needs one Caps per provider")
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._max_retry_after = max_retry_after
        self.on_notice = on_notice
        self._sleep = sleep
        #: the provider serving (or that last served) the current request; name and model follow it
        self.active: _S = self.providers[0]
        self.name = self.active.name
        self.model = self.active.model

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(p.name for p in self.providers)})"

    def notifying(self, on_notice: Callable[[Notice], None] | None) -> Self:
        """The same providers and policy with notices going to ``on_notice``: a chain shared by
        many callers (the server's pool) gives each its own, so a job hears about its own waits.
        Closing stays the shared chain's business."""
        copy = _copy.copy(self)
        copy.on_notice = on_notice
        copy.active, copy.name, copy.model = (
            self.providers[0],
            self.providers[0].name,
            self.providers[0].model,
        )
        return copy

    async def _run(
        self, open_stream: Callable[[_S], AsyncGenerator[Delta, None]]
    ) -> AsyncGenerator[Delta, None]:
        last_error: ProviderError | None = None
        for index, provider in enumerate(self.providers):
            self.active, self.name, self.model = provider, provider.name, provider.model
            attempt = 0
            while True:
                produced = False
                delay: float | None = None
                try:
                    # an abandoned or cancelled consumer closes the inner stream (and its HTTP
                    # response) now, not whenever the generator is garbage-collected
                    async with contextlib.aclosing(open_stream(provider)) as deltas:
                        async for delta in capped(deltas, self._caps[index], provider.name):
                            if delta.text:
                                produced = True
                            yield delta
                    return
                except ProviderError as error:
                    if produced:
                        raise  # content already reached the consumer: never replay or mix
                    last_error = error
                    delay = self._retry_delay(error, attempt, self._retries[index])
                if delay is None:
                    break
                attempt += 1
                self._notify(Notice("retry", provider.name, last_error, delay=delay, attempt=attempt + 1))
                await self._sleep(delay)
            if index + 1 < len(self.providers) and last_error is not None:
                self._notify(
                    Notice(
                        "fallback", provider.name, last_error, next_provider=self.providers[index + 1].name
                    )
                )
        assert last_error is not None
        raise last_error

    async def aclose(self) -> None:
        for provider in self.providers:
            await provider.aclose()

    def _retry_delay(self, error: ProviderError, attempt: int, allowed: int) -> float | None:
        """Seconds to wait before retrying ``error``, or None to give up on this provider."""
        if not error.retryable or attempt >= allowed:
            return None
        if error.retry_after is not None:
            if error.retry_after > self._max_retry_after:
                return None  # a quota reset hours away: tell the user (or fall back) instead
            return error.retry_after
        return backoff_delay(attempt, base=self._base_delay, cap=self._max_delay)

    def _notify(self, notice: Notice) -> None:
        # a warning when nobody else tells the user; with a sink that does, the log only records it
        level = logging.WARNING if self.on_notice is None else logging.INFO
        logger.log(level, "%s", notice.message)
        if self.on_notice is not None:
            self.on_notice(notice)


class ResilientProvider(_Resilient[Provider]):
    """Chat completions with retries and fallback over ``providers``."""

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[Delta, None]:
        async with contextlib.aclosing(self._run(lambda provider: provider.stream(request))) as deltas:
            async for delta in deltas:
                yield delta


class ResilientInfiller(_Resilient[Infiller]):
    """Fill-in-the-middle with retries and fallback over ``providers`` (infillers)."""

    async def stream_infill(self, request: InfillRequest) -> AsyncGenerator[Delta, None]:
        async with contextlib.aclosing(self._run(lambda infiller: infiller.stream_infill(request))) as deltas:
            async for delta in deltas:
                yield delta
