"""The provider for any OpenAI-compatible ``/chat/completions`` endpoint, streamed over httpx.

One :class:`OpenAIProvider` serves OpenAI, Ollama, llama-server, vLLM, LM Studio, OpenRouter,
Groq, DeepSeek, Mistral, Together, Gemini's compatible endpoint and the like. Events are parsed by
httpx-sse (which splits on CR/LF only, unlike ``aiter_lines``) and decoded by
:mod:`codegen_lsp.providers.chat_stream`. Three timeouts are kept apart: *connect* is httpx's own;
*first token* (request sent, nothing generated yet: prompt processing, model loading, queueing)
and *idle* (the gap between two chunks once generation started) are enforced here around each
read, because httpx's read timeout cannot tell them apart. HTTP statuses and transport failures
become :mod:`codegen_lsp.errors` types whose messages name the host and status and say what to
do; the API key is never part of a message, log line or repr. The client honours the standard
proxy variables and CA bundles (``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``,
``SSL_CERT_DIR``). Closing or cancelling the stream closes the HTTP response at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, NoReturn

import httpx
from httpx_sse import EventSource

from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.core.types import CompletionRequest, Delta
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
from codegen_lsp.providers.chat_stream import ChatStreamDecoder, error_from_payload

#: how much of an error body we read and quote: enough for any JSON error, bounded for HTML pages
_MAX_ERROR_BODY = 64 * 1024


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, else ``Retry-After`` (seconds or an
    HTTP date). None when absent or unreadable. Not capped here; the retry policy caps it."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def ssl_context_from_env(environ: Mapping[str, str]) -> ssl.SSLContext:
    """The TLS context for the CA bundle the environment asks for (certifi's by default).

    httpx itself reads only ``SSL_CERT_FILE``/``SSL_CERT_DIR``; the requests/curl variables are
    what corporate setups usually export, so they are honoured too. Loading a CA bundle costs
    ~40 ms and a context per request showed up as GC pauses in the benchmarks, so contexts are
    built once per (file, folder) and shared: an SSLContext is safe to share between clients.
    """
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        path = environ.get(name)
        if path and os.path.isfile(path):
            return _ssl_context(path, None)
    directory = environ.get("SSL_CERT_DIR")
    if directory and os.path.isdir(directory):
        return _ssl_context(None, directory)
    return _ssl_context(None, None)


@functools.cache
def _ssl_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile is None and capath is None:
        import certifi  # httpx's own default bundle

        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile, capath=capath)


class OpenAIProvider:
    """Streams chat completions from one OpenAI-compatible server. See the module docstring."""

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not settings.base_url:
            raise ProviderUnavailable(
                f"Provider '{settings.name}' has no base URL. Set base_url in [providers.{settings.name}] "
                "or CODEGEN_LSP_BASE_URL (for example http://localhost:11434/v1 for Ollama).",
                provider=settings.name,
            )
        self.settings = settings
        self.name = settings.name
        self.model = settings.model or ""
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._base_url = settings.base_url.rstrip("/")
        self._url = f"{self._base_url}/chat/completions"
        try:
            url = httpx.URL(self._url)
        except httpx.InvalidURL as exc:
            raise ProviderUnavailable(
                f"Provider '{self.name}': the base URL {self._base_url!r} is not a valid URL ({exc}).",
                provider=self.name,
            ) from None
        if url.scheme not in ("http", "https"):
            raise ProviderUnavailable(
                f"Provider '{self.name}': the base URL {self._base_url!r} must start with http:// or https://.",
                provider=self.name,
            )
        self.host = url.netloc.decode("ascii", "replace")
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"OpenAIProvider(name={self.name!r}, model={self.model!r}, base_url={self._base_url!r})"

    # -- public --------------------------------------------------------------------------------

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Delta]:
        """Stream one completion. Raises only :class:`~codegen_lsp.errors.ProviderError` types."""
        timeouts = self.settings.timeouts
        loop = asyncio.get_running_loop()
        first_deadline = loop.time() + timeouts.first_token
        decoder = ChatStreamDecoder(host=self.host, provider=self.name)
        response = await self._send(request, first_deadline)
        try:
            if not 200 <= response.status_code < 300:
                await self._raise_for_status(response)
            content_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
            if content_type == "application/json":
                # a server that ignored ``stream: true`` and answered with one JSON document
                async for delta in self._whole_json(response, decoder, first_deadline):
                    yield delta
                return
            if "text/event-stream" not in content_type:
                raise StreamError(
                    f"{self.host} answered {response.status_code} with {content_type or 'no content type'}"
                    f" instead of an event stream. Is {self._base_url} an OpenAI-compatible API?",
                    provider=self.name,
                    host=self.host,
                    status=response.status_code,
                )
            events = EventSource(response).aiter_sse()
            try:
                while not decoder.done:
                    if decoder.started:
                        limit, expired = timeouts.idle, self._idle_timeout
                    else:
                        limit, expired = first_deadline - loop.time(), self._first_token_timeout
                    scope = asyncio.timeout(max(limit, 0.0))
                    try:
                        async with scope:
                            sse = await anext(events)
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        if scope.expired():
                            expired()
                        raise
                    except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
                        if decoder.finish_reason is not None:
                            break  # the answer was complete; only the goodbye went missing
                        raise StreamError(
                            f"The connection to {self.host} broke in the middle of the answer "
                            f"({_reason(exc)}). Try again.",
                            provider=self.name,
                            host=self.host,
                        ) from None
                    except httpx.HTTPError as exc:
                        self._transport_error(exc)
                    for delta in self._redacted(decoder.feed, sse.data, sse.event):
                        yield delta
            finally:
                await events.aclose()
            if not decoder.done:
                for delta in self._redacted(decoder.finish):
                    yield delta
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- request ---------------------------------------------------------------------------------

    def _client_for_loop(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            connect = self.settings.timeouts.connect
            self._client = httpx.AsyncClient(
                trust_env=True,
                verify=ssl_context_from_env(self._environ),
                # read=None: the first-token and idle limits are enforced around each read instead
                timeout=httpx.Timeout(connect=connect, read=None, write=connect, pool=connect),
                follow_redirects=True,
            )
        return self._client

    def _api_key(self) -> str | None:
        return self.settings.resolve_api_key(self._environ)

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
        return body

    async def _send(self, request: CompletionRequest, deadline: float) -> httpx.Response:
        client = self._client_for_loop()
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store", **self.settings.headers}
        key = self._api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        http_request = client.build_request("POST", self._url, json=self._body(request), headers=headers)
        scope = asyncio.timeout_at(deadline)
        try:
            async with scope:
                return await client.send(http_request, stream=True)
        except TimeoutError:
            if scope.expired():
                self._first_token_timeout()
            raise
        except httpx.HTTPError as exc:
            self._transport_error(exc)

    # -- errors ----------------------------------------------------------------------------------

    def _first_token_timeout(self) -> NoReturn:
        limit = self.settings.timeouts.first_token
        raise FirstTokenTimeout(
            f"{self.host} produced no answer within {limit:g} s (first-token timeout). The model may be "
            "loading or the server busy; raise timeouts.first_token for slow local models.",
            provider=self.name,
            host=self.host,
        ) from None

    def _idle_timeout(self) -> NoReturn:
        limit = self.settings.timeouts.idle
        raise IdleTimeout(
            f"The stream from {self.host} stalled for more than {limit:g} s (idle timeout). "
            "Try again, or raise timeouts.idle.",
            provider=self.name,
            host=self.host,
        ) from None

    def _transport_error(self, exc: httpx.HTTPError) -> NoReturn:
        host, reason = self.host, _reason(exc)
        common: dict[str, Any] = {"provider": self.name, "host": host}
        if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout | httpx.WriteTimeout):
            limit = self.settings.timeouts.connect
            raise ConnectTimeout(
                f"Could not connect to {host} within {limit:g} s (connect timeout). Check that the server "
                "is reachable; raise timeouts.connect on a slow network.",
                **common,
            ) from None
        if _is_tls_failure(exc):
            raise TLSError(
                f"The TLS connection to {host} failed ({reason}). If a proxy or a private certificate "
                "authority sits in between, point SSL_CERT_FILE or REQUESTS_CA_BUNDLE at its CA bundle.",
                **common,
            ) from None
        if isinstance(exc, httpx.ProxyError):
            raise ConnectionFailed(
                f"The proxy refused the connection to {host} ({reason}). Check HTTP_PROXY/HTTPS_PROXY "
                "and NO_PROXY.",
                **common,
            ) from None
        if isinstance(exc, httpx.UnsupportedProtocol):
            raise ProviderUnavailable(
                f"Provider '{self.name}': cannot use the base URL {self._base_url!r} ({reason}).",
                **common,
            ) from None
        if isinstance(exc, httpx.ConnectError):
            raise ConnectionFailed(
                f"Could not connect to {host} ({reason}). Is the server running at {self._base_url}?",
                **common,
            ) from None
        raise ConnectionFailed(
            f"The connection to {host} failed before an answer arrived ({reason}). Try again.",
            **common,
        ) from None

    async def _raise_for_status(self, response: httpx.Response) -> NoReturn:
        status = response.status_code
        try:
            raw = b""
            async for part in response.aiter_bytes():
                raw += part
                if len(raw) >= _MAX_ERROR_BODY:
                    break
        except httpx.HTTPError:
            pass
        detail = self._redact(_error_detail(raw))
        said = f": {detail}" if detail else ""
        host = self.host
        phrase = f"{status} {response.reason_phrase}".strip()
        common: dict[str, Any] = {"provider": self.name, "host": host, "status": status}
        retry_after = parse_retry_after(response.headers)
        if status in (401, 403):
            raise AuthError(f"{host} refused the request ({phrase}){said}. {self._key_advice()}", **common)
        if status == 404:
            model = self.model or "(none)"
            raise NotFoundError(
                f"{host} answered {phrase} for {self._url}{said}. Check the model name ('{model}') and "
                "the base URL (most servers expect it to end in /v1).",
                **common,
            )
        if status == 429:
            wait = f" The server asks to wait {retry_after:g} s." if retry_after is not None else ""
            raise RateLimitError(
                f"{host} is rate limiting requests ({phrase}){said}.{wait} Wait a moment, or check the "
                "plan's quota.",
                retry_after=retry_after,
                **common,
            )
        if status in (408, 409) or status >= 500:
            raise ServerError(
                f"{host} failed to answer ({phrase}){said}. This is on the server's side; try again later.",
                retry_after=retry_after,
                **common,
            )
        error = ServerError(
            f"{host} rejected the request ({phrase}){said}. Check the model name and the options sent.",
            **common,
        )
        error.retryable = False  # a 4xx like 400/422 will fail the same way again
        raise error

    def _key_advice(self) -> str:
        env = self.settings.api_key_env
        if self._api_key() is None:
            if env:
                return f"No API key was sent: set the environment variable {env}."
            return (
                f"No API key was sent: set api_key_env in [providers.{self.name}] to the variable that "
                "holds the key, or set CODEGEN_LSP_API_KEY."
            )
        where = f"the key in {env}" if env and not self.settings.api_key else "the API key"
        return f"Check {where}: it may be wrong, expired, or lack access to this model."

    def _redact(self, text: str) -> str:
        key = self._api_key()
        if key and len(key) >= 4 and key in text:
            text = text.replace(key, "***")
        return text

    def _redacted(self, decode: Any, *args: Any) -> list[Delta]:
        """Run a decoder step; an error it raises from server text loses any echo of the key."""
        try:
            result: list[Delta] = decode(*args)
        except ProviderError as exc:
            exc.message = self._redact(exc.message)
            exc.args = (exc.message,)
            raise
        return result

    async def _whole_json(
        self, response: httpx.Response, decoder: ChatStreamDecoder, deadline: float
    ) -> AsyncIterator[Delta]:
        scope = asyncio.timeout_at(deadline)
        try:
            async with scope:
                raw = await response.aread()
        except TimeoutError:
            if scope.expired():
                self._first_token_timeout()
            raise
        except httpx.HTTPError as exc:
            self._transport_error(exc)
        try:
            payload = json.loads(raw)
        except json.JSONDecodeError:
            raise StreamError(
                f"{self.host} answered with malformed JSON: {raw[:80]!r}", provider=self.name, host=self.host
            ) from None
        if isinstance(payload, dict) and payload.get("error") is not None:
            raise error_from_payload(payload, host=self.host, provider=self.name)
        for delta in self._redacted(decoder.feed, json.dumps(payload)):
            yield delta
        for delta in self._redacted(decoder.finish):
            yield delta


def _error_detail(raw: bytes) -> str:
    """The human part of an error body: ``error.message`` of a JSON error, else a short text."""
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        return ""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        if text.lstrip().startswith("<"):
            return ""  # an HTML error page says nothing useful in one line
        return " ".join(text.split())[:300]
    body = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail") or body.get("msg")
        return " ".join(str(message).split())[:300] if message else ""
    return " ".join(str(body).split())[:300]


def _is_tls_failure(exc: BaseException) -> bool:
    return any(
        isinstance(cause, ssl.SSLError) for cause in _causes(exc)
    ) or "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 8 and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def _reason(exc: BaseException) -> str:
    """A short cause for a transport error: httpx often says only "All connection attempts
    failed", while the useful errno sits further down the exception chain."""
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(cause):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "the host name could not be resolved"
    text = str(exc).strip()
    return text or type(exc).__name__
