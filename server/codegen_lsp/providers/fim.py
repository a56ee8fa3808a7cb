"""Fill-in-the-middle providers: one :class:`~codegen_lsp.core.infill.Infiller` per wire format.

=====================  ====================================  ===============================
``fim_format``         request                               stream
=====================  ====================================  ===============================
``completions``        ``POST {base}/completions``           SSE, ``choices[0].text``,
                       ``prompt`` + ``suffix``               ``[DONE]`` or not
``mistral``            ``POST {base}/fim/completions``       SSE, ``choices[0].delta.content``
                       ``prompt`` + ``suffix``               then ``[DONE]``
``llamacpp-infill``    ``POST {root}/infill`` ``input_prefix``  SSE ``{"content", "stop"}``,
                       + ``input_suffix`` + ``input_extra``  no ``[DONE]``
``ollama``             ``POST {root}/api/generate``          NDJSON ``{"response", "done"}``
                       ``prompt`` + ``suffix``
``chat``               the provider's chat endpoint, with    whatever that provider streams
                       :func:`~codegen_lsp.core.infill.chat_infill_messages`
=====================  ====================================  ===============================

``{base}`` is the provider's ``base_url``; ``{root}`` is the same without a trailing ``/v1``, since
llama.cpp's and Ollama's native endpoints sit beside their OpenAI-compatible ones. The HTTP
machinery (timeouts, errors, redaction, closing) is :class:`~codegen_lsp.providers.http.HTTPProvider`'s
and the decoding is the pure decoders' of :mod:`codegen_lsp.providers.fim_stream`; retries and
fallback come from :class:`~codegen_lsp.providers.resilient.ResilientInfiller`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Mapping
from typing import Any, ClassVar

from codegen_lsp.core.infill import FimFormat, Infiller, InfillRequest, chat_infill_messages
from codegen_lsp.core.provider import Provider
from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.core.types import CompletionRequest, Delta
from codegen_lsp.providers.fim_stream import (
    CompletionsStreamDecoder,
    LlamaInfillDecoder,
    OllamaGenerateDecoder,
)
from codegen_lsp.providers.http import BodyDecoder, HTTPProvider


class HTTPInfiller(HTTPProvider):
    """A fill-in-the-middle endpoint over HTTP; subclasses give the path, body and decoder."""

    fim_format: ClassVar[FimFormat]
    #: the endpoint, relative to ``base_url`` (or to the server's root with ``from_root``)
    path: ClassVar[str]
    from_root: ClassVar[bool] = False
    #: ask for the token counts in the last chunk (``stream_options.include_usage``)
    include_usage: ClassVar[bool] = False

    def __init__(self, settings: ProviderSettings, *, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(settings, environ=environ)
        base = self._base_url.removesuffix("/v1") if self.from_root else self._base_url
        self._url = f"{base}{self.path}"

    async def stream_infill(self, request: InfillRequest) -> AsyncGenerator[Delta, None]:
        """Stream the middle. Raises only :class:`~codegen_lsp.errors.ProviderError` types."""
        async with contextlib.aclosing(
            self._stream(self._url, self._body(request), self._decoder())
        ) as deltas:
            async for delta in deltas:
                yield delta

    def _not_found_advice(self) -> str:
        return (
            f"Does this server offer {self._url}? Set fim_format in [providers.{self.name}] to the "
            "fill-in-the-middle API it speaks (completions, llamacpp-infill, mistral, ollama, or chat "
            f"for any chat model); the model is '{self.model or '(none)'}'."
        )

    def _decoder(self) -> BodyDecoder:
        return CompletionsStreamDecoder(host=self.host, provider=self.name, max_line=self._max_line)

    def _body(self, request: InfillRequest) -> dict[str, Any]:
        """``prompt`` + ``suffix`` with the OpenAI names (``/completions``, Mistral)."""
        return _set(
            {"prompt": request.prefix, "suffix": request.suffix, "stream": True},
            stream_options={"include_usage": True} if self.include_usage else None,
            model=self._model(request),
            max_tokens=self._max_tokens(request),
            temperature=self._temperature(request),
            stop=list(request.stop),
        )

    # the values every format sends, under its own names

    def _model(self, request: InfillRequest) -> str | None:
        return request.model or self.model or None

    def _max_tokens(self, request: InfillRequest) -> int | None:
        return request.max_tokens if request.max_tokens is not None else self.settings.max_tokens

    def _temperature(self, request: InfillRequest) -> float | None:
        return request.temperature if request.temperature is not None else self.settings.temperature


def _set(body: dict[str, Any], **values: Any) -> dict[str, Any]:
    """``body`` with the values that are set (not None, not empty)."""
    body.update({k: v for k, v in values.items() if v is not None and v != [] and v != ""})
    return body


class CompletionsInfiller(HTTPInfiller):
    """OpenAI-compatible ``/completions`` with ``suffix`` (Ollama's OpenAI API, DeepSeek beta, …).

    ``request.extra`` is not sent: the format has no place for other files.
    """

    fim_format = "completions"
    path = "/completions"
    api_description = "an OpenAI-compatible API with /completions"
    include_usage = True


class MistralInfiller(HTTPInfiller):
    """Mistral's ``/fim/completions`` (Codestral)."""

    fim_format = "mistral"
    path = "/fim/completions"
    api_description = "Mistral's API (or another with /fim/completions)"


class LlamaCppInfiller(HTTPInfiller):
    """llama.cpp's native ``/infill``; other files go to ``input_extra`` (repo-level FIM when the
    model has the tokens for it). ``cache_prompt`` lets the server reuse the evaluated prefix."""

    fim_format = "llamacpp-infill"
    path = "/infill"
    from_root = True
    api_description = "a llama.cpp server (llama-server)"

    def _decoder(self) -> BodyDecoder:
        return LlamaInfillDecoder(host=self.host, provider=self.name, max_line=self._max_line)

    def _body(self, request: InfillRequest) -> dict[str, Any]:
        return _set(
            {
                "input_prefix": request.prefix,
                "input_suffix": request.suffix,
                "stream": True,
                "cache_prompt": True,
            },
            input_extra=[{"filename": f.path, "text": f.text} for f in request.extra],
            model=self._model(request),
            n_predict=self._max_tokens(request),
            temperature=self._temperature(request),
            stop=list(request.stop),
        )


class OllamaInfiller(HTTPInfiller):
    """Ollama's native ``/api/generate`` with ``suffix`` (the model's template must support it)."""

    fim_format = "ollama"
    path = "/api/generate"
    from_root = True
    media_type = "application/x-ndjson"
    api_description = "an Ollama server"
    stream_description = "an NDJSON stream"

    def _decoder(self) -> BodyDecoder:
        return OllamaGenerateDecoder(host=self.host, provider=self.name, max_line=self._max_line)

    def _body(self, request: InfillRequest) -> dict[str, Any]:
        options = _set({}, num_predict=self._max_tokens(request), temperature=self._temperature(request))
        _set(options, stop=list(request.stop))
        return _set(
            {"prompt": request.prefix, "suffix": request.suffix, "stream": True},
            model=self._model(request),
            options=options or None,
        )


class ChatInfiller:
    """Any chat provider as an infiller, through a fill-in prompt. Stop sequences are not passed
    on: a chat answer often opens with a fence line that a ``"\\n"`` stop would end at once; the
    inline logic cuts the answer instead."""

    fim_format: ClassVar[FimFormat] = "chat"

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.name = provider.name
        self.model = provider.model

    def __repr__(self) -> str:
        return f"ChatInfiller({self.provider!r})"

    async def stream_infill(self, request: InfillRequest) -> AsyncGenerator[Delta, None]:
        completion = CompletionRequest(
            messages=chat_infill_messages(request),
            model=request.model,
            temperature=request.temperature,
            max_tokens=request.max_tokens,
        )
        async with contextlib.aclosing(self.provider.stream(completion)) as deltas:
            async for delta in deltas:
                yield delta

    async def aclose(self) -> None:
        await self.provider.aclose()


HTTP_INFILLERS: Mapping[FimFormat, type[HTTPInfiller]] = {
    cls.fim_format: cls for cls in (CompletionsInfiller, MistralInfiller, LlamaCppInfiller, OllamaInfiller)
}


def infiller_for(provider: Provider) -> Infiller:
    """The provider itself when it fills in the middle natively (an in-process model whose
    ``stream_infill`` writes its own FIM tokens), else a :class:`ChatInfiller` around it."""
    if isinstance(provider, Infiller):
        return provider
    return ChatInfiller(provider)
