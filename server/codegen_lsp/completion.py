"""The seed API: ``create_completion`` and its async twin ``acreate_completion``.

It keeps the call shape of the project's ancestor — ``create_completion(model, messages,
stream=True, **kwargs)`` yielding text chunks as they arrive — on top of the real providers::

    from codegen_lsp import create_completion

    messages = [{"role": "user", "content": "Write a Python function factorial(n)."}]
    for chunk in create_completion("qwen2.5-coder:1.5b", messages, provider="ollama"):
        print(chunk, end="", flush=True)

With neither ``provider`` nor ``base_url`` the call uses the configuration the rest of the program
uses (config files, ``CODEGEN_LSP_*`` variables; see :mod:`codegen_lsp.core.config`). Naming one
makes the call self-contained: configuration files and ``CODEGEN_LSP_*`` variables are then not
read, only the key variable of the chosen provider. Retries and fallbacks behave as in the
editor. Every failure raises a :class:`~codegen_lsp.errors.CodegenError` subclass. The sync
generator runs the async one on a private event loop in a helper thread (so it also works from
code that already runs an event loop) and closes the HTTP stream when the caller stops early.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncGenerator, Awaitable, Coroutine, Generator, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from codegen_lsp.core.settings import Settings
from codegen_lsp.core.types import CompletionRequest, Message
from codegen_lsp.errors import ConfigError

logger = logging.getLogger("codegen_lsp.completion")

T = TypeVar("T")

MessageLike = Message | Mapping[str, Any]

#: keyword arguments of both functions; anything else is refused with a ConfigError
KWARGS = (
    "temperature",
    "max_tokens",
    "stop",
    "provider",
    "base_url",
    "api_key",
    "api_key_env",
    "timeout",
    "connect_timeout",
    "first_token_timeout",
    "idle_timeout",
    "total_timeout",
    "max_retries",
    "fallback",
)
_ROLES = ("system", "user", "assistant")


def create_completion(
    model: str | None,
    messages: Sequence[MessageLike],
    stream: bool = True,
    **kwargs: Any,
) -> Generator[str, None, None]:
    """Yield the answer's text chunks as they arrive (``stream=False``: the whole text, once).

    ``model`` may be None for the provider's default. Keyword arguments: ``temperature``,
    ``max_tokens``, ``stop`` (a string or list), ``provider`` (a preset or configured name),
    ``base_url`` (any OpenAI-compatible server), ``api_key`` or ``api_key_env``, ``timeout`` (sets
    the connect, first-token and idle timeouts) or ``connect_timeout`` / ``first_token_timeout`` /
    ``idle_timeout`` (s), ``total_timeout`` (s, the whole request; default 600),
    ``max_retries``, ``fallback`` (provider names tried in order if the first fails before any
    output).
    """
    # Validate now, not at the first next(): a wrong call fails where it is made.
    prepared = _prepare(model, messages, kwargs)
    return _sync_chunks(prepared, stream)


async def acreate_completion(
    model: str | None,
    messages: Sequence[MessageLike],
    stream: bool = True,
    **kwargs: Any,
) -> AsyncGenerator[str, None]:
    """The async twin of :func:`create_completion` (an async generator of text chunks)."""
    prepared = _prepare(model, messages, kwargs)
    async for chunk in _chunks(prepared, stream):
        yield chunk


# -- preparing a call ------------------------------------------------------------------------------


class _Prepared:
    def __init__(self, settings: Settings, request: CompletionRequest) -> None:
        self.settings = settings
        self.request = request


def _prepare(model: str | None, messages: Sequence[MessageLike], kwargs: Mapping[str, Any]) -> _Prepared:
    unknown = sorted(set(kwargs) - set(KWARGS))
    if unknown:
        raise ConfigError(
            f"create_completion: unknown argument(s) {', '.join(unknown)}; accepted: {', '.join(KWARGS)}"
        )
    if model is not None and not isinstance(model, str):
        raise ConfigError(f"create_completion: model must be a string or None, got {type(model).__name__}")
    request = CompletionRequest(
        messages=_messages(messages),
        model=model or None,
        temperature=kwargs.get("temperature"),
        max_tokens=kwargs.get("max_tokens"),
        stop=_stop(kwargs.get("stop")),
    )
    return _Prepared(_settings(model, kwargs), request)


def _messages(messages: Sequence[MessageLike]) -> tuple[Message, ...]:
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise ConfigError('create_completion: messages must be a list of {"role": ..., "content": ...}')
    result: list[Message] = []
    for index, item in enumerate(messages):
        if isinstance(item, Message):
            result.append(item)
            continue
        role = item.get("role") if isinstance(item, Mapping) else None
        content = item.get("content") if isinstance(item, Mapping) else None
        if role not in _ROLES or not isinstance(content, str):
            raise ConfigError(
                f"create_completion: messages[{index}] must have a role ({', '.join(_ROLES)}) "
                f"and a string content, got {item!r}"
            )
        result.append(Message(role, content))
    if not result:
        raise ConfigError("create_completion: messages is empty")
    return tuple(result)


def _stop(stop: Any) -> tuple[str, ...]:
    if stop is None:
        return ()
    if isinstance(stop, str):
        return (stop,)
    if isinstance(stop, Sequence) and all(isinstance(s, str) for s in stop):
        return tuple(stop)
    raise ConfigError(f"create_completion: stop must be a string or a list of strings, got {stop!r}")


def _settings(model: str | None, kwargs: Mapping[str, Any]) -> Settings:
    from codegen_lsp.core import config
    from codegen_lsp.core.presets import get_preset

    name = kwargs.get("provider")
    # A preset or a URL is complete in itself; any other name is looked up in the config files.
    explicit = kwargs.get("base_url") is not None or (isinstance(name, str) and get_preset(name) is not None)
    overrides: dict[str, Any] = {
        "provider": kwargs.get("provider"),
        "base_url": kwargs.get("base_url"),
        "model": model or None,
        "api_key": kwargs.get("api_key"),
        "api_key_env": kwargs.get("api_key_env"),
    }
    fallback = kwargs.get("fallback")
    if fallback is not None:
        overrides["fallback"] = [fallback] if isinstance(fallback, str) else list(fallback)
    timeouts = _timeouts(kwargs)
    if timeouts:
        overrides["timeouts"] = timeouts
    environ: Mapping[str, str] = os.environ
    if explicit:
        # An explicit provider makes the call self-contained: the program's own CODEGEN_LSP_*
        # choices must not redirect it (other variables stay: they hold the keys).
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CODEGEN_LSP_")}
    settings = config.resolve(
        environ=environ,
        overrides=overrides,
        overrides_source="create_completion arguments",
        use_files=not explicit,
    )
    if settings.untrusted is not None:
        how = f"run `codegen-lsp trust {settings.untrusted.path.parent}`"
        logger.warning("%s", settings.untrusted.message(how))
    max_retries = kwargs.get("max_retries")
    if max_retries is not None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(
                f"create_completion: max_retries must be a whole number ≥ 0, got {max_retries!r}"
            )
        providers = {name: replace(ps, max_retries=max_retries) for name, ps in settings.providers.items()}
        settings = replace(settings, providers=providers)
    return settings


def _timeouts(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    timeouts: dict[str, Any] = {}
    overall = kwargs.get("timeout")
    if overall is not None:
        timeouts = {"connect": overall, "first_token": overall, "idle": overall}
    for key in ("connect", "first_token", "idle", "total"):
        value = kwargs.get(f"{key}_timeout")
        if value is not None:
            timeouts[key] = value
    return timeouts


# -- running it ------------------------------------------------------------------------------------


async def _chunks(prepared: _Prepared, stream: bool) -> AsyncGenerator[str, None]:
    from codegen_lsp.providers.factory import build_chain

    provider = build_chain(prepared.settings)
    collected: list[str] = []
    try:
        async with contextlib.aclosing(provider.stream(prepared.request)) as deltas:
            async for delta in deltas:
                if delta.finish_reason == "length":
                    logger.warning("the answer was cut at max_tokens (finish_reason: length)")
                if not delta.text:
                    continue
                if stream:
                    yield delta.text
                else:
                    collected.append(delta.text)
        if not stream:
            yield "".join(collected)
    finally:
        await provider.aclose()


def _sync_chunks(prepared: _Prepared, stream: bool) -> Generator[str, None, None]:
    runner = _LoopThread()
    chunks = _chunks(prepared, stream)
    try:
        while True:
            try:
                yield runner.run(_await(anext(chunks)))
            except StopAsyncIteration:
                return
    finally:
        # Runs on early exit too (break, close(), garbage collection): closes the HTTP stream.
        with contextlib.suppress(Exception):
            runner.run(_await(chunks.aclose()))
        runner.stop()


async def _await(awaitable: Awaitable[T]) -> T:
    # run_coroutine_threadsafe takes coroutines only, not anext()/aclose() awaitables
    return await awaitable


class _LoopThread:
    """A private event loop on a helper thread, driven one coroutine at a time."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="codegen-completion", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except BaseException:
            # KeyboardInterrupt in the caller's thread: cancel the step so the loop is free to close
            future.cancel()
            raise

    def stop(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
