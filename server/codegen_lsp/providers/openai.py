"""The provider for any OpenAI-compatible ``/chat/completions`` endpoint, streamed over httpx.

One :class:`OpenAIProvider` serves OpenAI, Ollama, llama-server, vLLM, LM Studio, OpenRouter,
Groq, DeepSeek, Mistral, Together, Gemini's compatible endpoint and the like. The body's bytes are
split into events by the pure SSE decoder of :mod:`codegen_lsp.providers.fim_stream` (CR/LF only,
unlike ``aiter_lines``; a line or event over the size cap is refused before it is buffered whole)
and the events decoded by :mod:`codegen_lsp.providers.chat_stream`. The HTTP machinery — client,
key, the timeouts (connect, first token, idle), statuses and transport failures mapped onto
:mod:`codegen_lsp.errors` with the key redacted, proxies and CA bundles from the environment — is
:class:`~codegen_lsp.providers.http.HTTPProvider`'s. Closing or cancelling the stream closes the
HTTP response at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.core.types import CompletionRequest, Delta
from codegen_lsp.providers.fim_stream import CompletionsStreamDecoder
from codegen_lsp.providers.http import HTTPProvider
from codegen_lsp.providers.http_errors import parse_retry_after
from codegen_lsp.providers.tls import ssl_context_from_env

__all__ = ["OpenAIProvider", "parse_retry_after", "ssl_context_from_env"]


class OpenAIProvider(HTTPProvider):
    """Streams chat completions from one OpenAI-compatible server. See the module docstring."""

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(settings, environ=environ)
        self._url = f"{self._base_url}/chat/completions"

    # -- public --------------------------------------------------------------------------------

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[Delta, None]:
        """Stream one completion. Raises only :class:`~codegen_lsp.errors.ProviderError` types."""
        decoder = CompletionsStreamDecoder(host=self.host, provider=self.name, max_line=self._max_line)
        async with contextlib.aclosing(self._stream(self._url, self._body(request), decoder)) as deltas:
            async for delta in deltas:
                yield delta

    # -- request ---------------------------------------------------------------------------------

    def _body(self, request: CompletionRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        model = request.model or self.model
        if model:
            body["model"] = model
        temperature = request.temperature if request.temperature is not None else self.settings.temperature
        if temperature is not None:
            body["temperature"] = temperature
        max_tokens = request.max_tokens if request.max_tokens is not None else self.settings.max_tokens
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if request.stop:
            body["stop"] = list(request.stop)
        if self.settings.user:
            body["user"] = self.settings.user
        return body
