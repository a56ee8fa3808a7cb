"""A pure, incremental decoder for OpenAI-compatible chat-completion streams.

It takes the ``data`` of each server-sent event (the byte-level SSE decoder of
:mod:`~codegen_lsp.providers.fim_stream` has already split the bytes into events on CR/LF boundaries) and returns :class:`~codegen_lsp.core.types.Delta`
objects with visible text only. It knows the dialects real servers speak: ``data: [DONE]``, the
usage-only chunk whose ``choices`` is ``[]`` or ``null``, role-only deltas, reasoning sent as
``reasoning_content`` / ``reasoning`` (ignored), ``<think>`` sent as content (dropped by
:class:`~codegen_lsp.core.think.ThinkFilter`, the filter every provider uses), and an
``error`` object inside an HTTP-200 stream (raised as the matching
:class:`~codegen_lsp.errors.ProviderError`). The finish reason and usage are held back and
delivered on one final delta, so ``finish_reason == "length"`` reaches the consumer, which warns.
No I/O happens here, which is what lets the tests feed it every possible split of a stream.
"""

from __future__ import annotations

import json
from typing import Any

from codegen_lsp.core.think import ThinkFilter
from codegen_lsp.core.types import Delta, Usage
from codegen_lsp.errors import (
    AuthError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    ServerError,
    StreamError,
)


def error_from_payload(
    payload: Any,
    *,
    host: str | None = None,
    provider: str | None = None,
    status: int | None = None,
) -> ProviderError:
    """Map an OpenAI-style error object (``{"error": {...}}``, a bare one, or a string) to our tree."""
    body = payload.get("error", payload) if isinstance(payload, dict) else payload
    message = ""
    code: Any = None
    kind = ""
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("detail") or "").strip()
        code = body.get("code") if body.get("code") is not None else body.get("status")
        kind = str(body.get("type") or "")
    elif body is not None:
        message = str(body).strip()
    numeric = status
    if isinstance(code, int):
        numeric = code
    elif isinstance(code, str) and code.isdigit():
        numeric = int(code)
    words = f"{kind} {code}".lower()
    where = host or "the provider"
    # the upstream's own sentence ends where ours goes on: no "error.. Try again"
    detail = f": {message.rstrip('.')}" if message else ""
    if numeric == 429 or "rate_limit" in words or "quota" in words:
        cls: type[ProviderError] = RateLimitError
        text = f"{where} reported a rate limit during the answer{detail}. Wait a moment and try again."
    elif numeric in (401, 403) or "auth" in words or "api_key" in words or "permission" in words:
        cls = AuthError
        text = f"{where} refused the API key during the answer{detail}."
    elif numeric == 404 or "not_found" in words:
        cls = NotFoundError
        text = f"{where} could not find the model{detail}. Check the model name."
    elif (numeric is not None and numeric >= 500) or "server" in words or "overload" in words:
        cls = ServerError
        text = f"{where} failed while answering{detail}. Try again later."
    else:
        cls = StreamError
        text = f"{where} sent an error inside the stream{detail}."
    return cls(text, provider=provider, host=host, status=numeric)


class ChatStreamDecoder:
    """Turns the ``data`` of each SSE event of one chat-completions stream into deltas.

    Call :meth:`feed` per event and :meth:`finish` when the transport ends. ``progress`` counts
    the characters of model output seen (content, ``<think>`` text and reasoning, and one for the
    first finish reason): the provider's
    first-token and idle timeouts restart only when it grows, so a server that sends empty deltas
    as heartbeats cannot keep a stream alive.
    """

    def __init__(self, *, host: str | None = None, provider: str | None = None) -> None:
        self.host = host
        self.provider = provider
        self.done = False
        self.progress = 0
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self._think = ThinkFilter()
        self._final_sent = False

    def feed(self, data: str, event: str = "message") -> list[Delta]:
        """Decode one event; raises a :class:`ProviderError` for an in-stream error or bad JSON."""
        if self.done:
            return []  # anything after [DONE] is noise
        if data.strip() == "[DONE]":
            self.done = True
            return self._final()
        if not data.strip():
            return []
        chunk = parse_chunk(data, host=self.host, provider=self.provider, error=event == "error")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = Usage(
                prompt_tokens=_int(usage.get("prompt_tokens")),
                completion_tokens=_int(usage.get("completion_tokens")),
            )
        deltas: list[Delta] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # we always ask for n=1
            delta = choice.get("delta") or choice.get("message") or {}
            content = delta.get("content") if isinstance(delta, dict) else None
            if content is None and isinstance(choice.get("text"), str):
                content = choice["text"]  # legacy completions dialect
            if isinstance(delta, dict):
                for key in ("reasoning_content", "reasoning"):
                    reasoning = delta.get(key)
                    if isinstance(reasoning, str):
                        self.progress += len(reasoning)
            if isinstance(content, str) and content:
                self.progress += len(content)
                visible = self._think.feed(content)
                if visible:
                    deltas.append(Delta(text=visible))
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                if self.finish_reason is None:
                    self.progress += 1  # the model's last word; the usage and [DONE] follow
                self.finish_reason = reason
        return deltas

    def finish(self) -> list[Delta]:
        """The transport ended. Fine after ``[DONE]`` or a finish reason; otherwise truncated."""
        if self.done or self.finish_reason is not None:
            self.done = True
            return self._final()
        raise truncated(host=self.host, provider=self.provider)

    def _final(self) -> list[Delta]:
        if self._final_sent:
            return []
        self._final_sent = True
        deltas = []
        rest = self._think.flush()
        if rest:
            deltas.append(Delta(text=rest))
        deltas.append(Delta(finish_reason=self.finish_reason, usage=self.usage))
        return deltas


def parse_chunk(data: str, *, host: str | None, provider: str | None, error: bool = False) -> dict[str, Any]:
    """One JSON chunk of a stream; an error chunk (or any chunk of an ``error`` event) is raised as
    the matching :class:`ProviderError`, and so is a chunk that is not a JSON object."""
    try:
        chunk = json.loads(data)
    except json.JSONDecodeError:
        raise StreamError(
            f"{host or 'the provider'} sent a malformed stream chunk (not JSON): {data[:80]!r}",
            provider=provider,
            host=host,
        ) from None
    if error or (isinstance(chunk, dict) and chunk.get("error") is not None):
        raise error_from_payload(chunk, host=host, provider=provider)
    if not isinstance(chunk, dict):
        raise StreamError(
            f"{host or 'the provider'} sent an unexpected stream chunk: {data[:80]!r}",
            provider=provider,
            host=host,
        )
    return chunk


def truncated(*, host: str | None, provider: str | None) -> StreamError:
    """The error for a stream that ended before the answer was complete."""
    return StreamError(
        f"The stream from {host or 'the provider'} ended before the answer was complete (truncated). "
        "Try again; if it keeps happening, check the server's logs or a proxy's timeout.",
        provider=provider,
        host=host,
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None
