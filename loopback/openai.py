"""OpenAI-style ``/chat/completions`` and ``/completions`` bodies: streamed chunks, a whole
completion, an error.

Plain data builders shared by the scripted test server (:mod:`loopback.scripted`) and the
benchmark's reference provider, so both speak the same wire format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loopback.http import sse_event

DEFAULT_MODEL = "loopback-model"


def chat_chunk(
    content: str | None = None,
    *,
    role: str | None = None,
    finish_reason: str | None = None,
    reasoning_content: str | None = None,
    reasoning: str | None = None,
    model: str = DEFAULT_MODEL,
    usage: Mapping[str, int] | None = None,
    no_choices: bool = False,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` object; ``no_choices`` gives the final usage-only chunk."""
    chunk: dict[str, Any] = {
        "id": "chatcmpl-loopback",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
    }
    if no_choices:
        chunk["choices"] = []
    else:
        delta: dict[str, Any] = {}
        if role is not None:
            delta["role"] = role
        if content is not None:
            delta["content"] = content
        if reasoning_content is not None:
            delta["reasoning_content"] = reasoning_content
        if reasoning is not None:
            delta["reasoning"] = reasoning
        chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    if usage is not None:
        chunk["usage"] = dict(usage)
    return chunk


def chat_chunks(
    *texts: str,
    finish_reason: str | None = "stop",
    usage: bool = True,
    done: bool = True,
    role: bool = True,
    model: str = DEFAULT_MODEL,
) -> list[bytes]:
    """A whole OpenAI-style stream as SSE events: a role-only chunk, one chunk per text, a
    finish chunk, a usage chunk with ``choices: []`` and ``data: [DONE]`` (each optional)."""
    events: list[bytes] = []
    if role:
        events.append(sse_event(chat_chunk(role="assistant", content="", model=model)))
    events.extend(sse_event(chat_chunk(t, model=model)) for t in texts)
    if finish_reason is not None:
        events.append(sse_event(chat_chunk(finish_reason=finish_reason, model=model)))
    if usage:
        counts = {"prompt_tokens": 7, "completion_tokens": len(texts), "total_tokens": 7 + len(texts)}
        events.append(sse_event(chat_chunk(no_choices=True, usage=counts, model=model)))
    if done:
        events.append(sse_event("[DONE]"))
    return events


def completion_chunks(*texts: str, model: str = DEFAULT_MODEL, done: bool = True) -> list[bytes]:
    """A streamed legacy ``/completions`` answer (fill-in-the-middle): a ``text_completion``
    chunk per text, a finish chunk and ``data: [DONE]`` (optional: some servers omit it)."""
    events = [
        sse_event({"object": "text_completion", "model": model, "choices": [{"index": 0, "text": t}]})
        for t in texts
    ]
    events.append(
        sse_event(
            {
                "object": "text_completion",
                "model": model,
                "choices": [{"index": 0, "text": "", "finish_reason": "stop"}],
            }
        )
    )
    if done:
        events.append(sse_event("[DONE]"))
    return events


def chat_completion_json(
    text: str, *, model: str = DEFAULT_MODEL, finish_reason: str = "stop"
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` body."""
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


def error_body(
    message: str, *, type: str = "invalid_request_error", code: str | None = None
) -> dict[str, Any]:
    """An OpenAI-style ``{"error": {...}}`` body (``type`` is the OpenAI field name)."""
    return {"error": {"message": message, "type": type, "code": code}}
