"""The port the core streams answers through: the :class:`Provider` protocol every provider implements.

The core owns it because the core consumes it (:func:`codegen_lsp.core.pipeline.run`); the
implementations live in :mod:`codegen_lsp.providers`, one module per wire format. A provider turns
a :class:`~codegen_lsp.core.types.CompletionRequest` into an async generator of
:class:`~codegen_lsp.core.types.Delta` whose ``text`` is visible answer only (reasoning and
``<think>`` blocks removed, through :class:`codegen_lsp.core.think.ThinkFilter`). It raises only
:class:`~codegen_lsp.errors.ProviderError` subclasses. The stream owns its resources: closing it
(``async with contextlib.aclosing(provider.stream(request))``, which every caller uses) or
cancelling the task consuming it releases them at once: the HTTP response is closed, llama.cpp
stops between two tokens.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol, runtime_checkable

from codegen_lsp.core.types import CompletionRequest, Delta


@runtime_checkable
class Provider(Protocol):
    #: the configured name ("openai", "work-vllm", "local", ...)
    name: str
    #: the model used when the request names none
    model: str

    def stream(self, request: CompletionRequest) -> AsyncGenerator[Delta, None]:
        """Stream the answer: an async generator function in every implementation."""
        ...

    async def aclose(self) -> None:
        """Release connections / models. Safe to call twice."""
        ...
