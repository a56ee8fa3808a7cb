"""The one small interface every provider implements.

A provider turns a :class:`~codegen_lsp.core.types.CompletionRequest` into an async stream of
:class:`~codegen_lsp.core.types.Delta`. It raises only :class:`~codegen_lsp.errors.ProviderError`
subclasses. Cancelling the consuming task (or closing the async generator) must release the
underlying resource at once: close the HTTP response, stop llama.cpp between two tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from codegen_lsp.core.types import CompletionRequest, Delta


@runtime_checkable
class Provider(Protocol):
    #: the configured name ("openai", "work-vllm", "local", ...)
    name: str
    #: the model used when the request names none
    model: str

    def stream(self, request: CompletionRequest) -> AsyncIterator[Delta]:
        """Stream the answer. An async generator function in every implementation."""
        ...

    async def aclose(self) -> None:
        """Release connections / models. Safe to call twice."""
        ...
