"""What an HTTP provider says when a request fails: every status, timeout and transport failure.

:class:`HTTPErrors` (a base of :class:`~codegen_lsp.providers.http.HTTPProvider`) turns HTTP
statuses, the first-token and idle timeouts, refused redirects and transport failures into
:mod:`codegen_lsp.errors` types whose messages name the host and status and say what to do. Text
from the server (reason phrase, content type, bodies) is shortened before it is quoted and passes
the redactor, so the API key is never part of a message. :func:`parse_retry_after` reads how long
a server asks us to wait.
"""

from __future__ import annotations

import email.utils
import json
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any, NoReturn

import httpx

from codegen_lsp import redaction
from codegen_lsp.core.settings import ProviderSettings
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

#: how much of an error body we read and quote: enough for any JSON error, bounded for HTML pages
_MAX_ERROR_BODY = 64 * 1024


class HTTPErrors:
    """The error messages of one HTTP provider (its name, host, settings and key)."""

    #: what the server is supposed to be and to send, for the message about an unexpected answer
    api_description = "an OpenAI-compatible API"
    stream_description = "an event stream"

    name: str
    model: str
    host: str
    settings: ProviderSettings
    _environ: Mapping[str, str]
    #: the base URL as messages show it: without ``user:pass@``
    _shown_url: str

    def _api_key(self) -> str | None:
        return self.settings.resolve_api_key(self._environ)

    def _redact(self, text: str) -> str:
        redaction.remember(self._api_key())
        return redaction.redact(text)

    def _not_followed(self, response: httpx.Response, why: str) -> ServerError:
        error = ServerError(
            f"{self.host} redirected the request ({phrase(response)}); not followed: {why}.",
            provider=self.name,
            host=self.host,
            status=response.status_code,
        )
        error.retryable = False  # the same request is redirected the same way again
        return error

    def _not_a_stream(self, response: httpx.Response) -> NoReturn:
        # as sent, not lower-cased: the redactor must recognise whatever a server echoes here
        kind = short(response.headers.get("content-type", "").partition(";")[0], 60) or "no content type"
        raise StreamError(
            f"{self.host} answered {response.status_code} with {kind} instead of {self.stream_description}. "
            f"Is {self._shown_url} {self.api_description}?",
            provider=self.name,
            host=self.host,
            status=response.status_code,
        )

    def _first_token_timeout(self) -> NoReturn:
        self._timed_out(
            FirstTokenTimeout,
            f"{self.host} produced no answer within {self.settings.timeouts.first_token:g} s (first-token "
            "timeout). The model may be loading or the server busy; raise timeouts.first_token for slow "
            "local models.",
        )

    def _idle_timeout(self) -> NoReturn:
        self._timed_out(
            IdleTimeout,
            f"The stream from {self.host} brought no content for more than {self.settings.timeouts.idle:g} s "
            "(idle timeout; keep-alives and empty chunks do not count). Try again, or raise timeouts.idle.",
        )

    def _timed_out(self, kind: type[ProviderError], message: str) -> NoReturn:
        raise kind(message, provider=self.name, host=self.host) from None

    def _transport_error(self, exc: httpx.HTTPError) -> NoReturn:
        host, cause = self.host, reason(exc)
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
                f"The TLS connection to {host} failed ({cause}). If a proxy or a private certificate "
                "authority sits in between, point SSL_CERT_FILE or REQUESTS_CA_BUNDLE at its CA bundle.",
                **common,
            ) from None
        if isinstance(exc, httpx.ProxyError):
            raise ConnectionFailed(
                f"The proxy refused the connection to {host} ({cause}). Check HTTP_PROXY/HTTPS_PROXY "
                "and NO_PROXY.",
                **common,
            ) from None
        if isinstance(exc, httpx.UnsupportedProtocol):
            raise ProviderUnavailable(
                f"Provider '{self.name}': cannot use the base URL {self._shown_url!r} ({cause}).",
                **common,
            ) from None
        if isinstance(exc, httpx.ConnectError):
            raise ConnectionFailed(
                f"Could not connect to {host} ({cause}). Is the server running at {self._shown_url}?",
                **common,
            ) from None
        raise ConnectionFailed(
            f"The connection to {host} failed before an answer arrived ({cause}). Try again.",
            **common,
        ) from None

    def _not_found_advice(self) -> str:
        model = self.model or "(none)"
        return f"Check the model name ('{model}') and the base URL (most servers expect it to end in /v1)."

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
        status_line = phrase(response)
        common: dict[str, Any] = {"provider": self.name, "host": host, "status": status}
        retry_after = parse_retry_after(response.headers)
        if status in (401, 403):
            raise AuthError(
                f"{host} refused the request ({status_line}){said}. {self._key_advice()}", **common
            )
        if status == 404:
            raise NotFoundError(
                f"{host} answered {status_line} for {without_userinfo(response.request.url)}{said}. "
                f"{self._not_found_advice()}",
                **common,
            )
        if status == 429:
            wait = f" The server asks to wait {retry_after:g} s." if retry_after is not None else ""
            raise RateLimitError(
                f"{host} is rate limiting requests ({status_line}){said}.{wait} Wait a moment, or check the "
                "plan's quota.",
                retry_after=retry_after,
                **common,
            )
        if status in (408, 409) or status >= 500:
            raise ServerError(
                f"{host} failed to answer ({status_line}){said}. This is on the server's side; try again later.",
                retry_after=retry_after,
                **common,
            )
        error = ServerError(
            f"{host} rejected the request ({status_line}){said}. Check the model name and the options sent.",
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


def short(text: str, limit: int) -> str:
    """Server text fit to quote in one line: printable, at most ``limit`` characters."""
    clean = "".join(c if c.isprintable() else " " for c in text).strip()
    return clean if len(clean) <= limit else f"{clean[: limit - 1]}…"


def phrase(response: httpx.Response) -> str:
    """``404 Not Found``: the status and, shortened, the reason phrase the server chose."""
    return f"{response.status_code} {short(response.reason_phrase, 60)}".strip()


def without_userinfo(url: httpx.URL) -> str:
    return str(url.copy_with(userinfo=b""))


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


def reason(exc: BaseException) -> str:
    """A short cause for a transport error: httpx often says only "All connection attempts
    failed", while the useful errno sits further down the exception chain."""
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(cause):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "the host name could not be resolved"
    text = str(exc).strip()
    return text or type(exc).__name__
