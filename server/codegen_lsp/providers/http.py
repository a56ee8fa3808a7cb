"""What every provider that streams from an HTTP model server shares, whatever its wire format.

:class:`HTTPProvider` owns one httpx client per provider (honouring the standard proxy variables
and CA bundles, :mod:`~codegen_lsp.providers.tls`),
sends the request with the key, and keeps three timeouts apart: *connect* is httpx's own; *first
token* (request sent, nothing generated yet: prompt processing, model loading, queueing) and
*idle* (the gap between two pieces of content once generation started) are enforced here around
each read, because httpx's read timeout cannot tell them apart, and both run on *content* as the
decoder counts it: bytes that carry none (empty deltas sent as heartbeats, ``: keep-alive``)
reset nothing. The decoders refuse a line longer than 4 bytes per ``max_answer_chars`` (at least
1 MiB) before buffering it, a whole JSON answer is read under the same cap, and the request asks
for an uncompressed body, so no size is decided after inflating. (The total deadline and the
answer-size cap apply to every provider and live in :mod:`~codegen_lsp.providers.resilient`.) HTTP
statuses and transport failures become :mod:`codegen_lsp.errors` types whose messages name the host
and status and say what to do (:class:`~codegen_lsp.providers.http_errors.HTTPErrors`); the
API key is never part of a message, log line or repr: the provider hands its key, credential
headers and URL credentials to :mod:`codegen_lsp.redaction` before anything is sent, and text
from the server (reason phrase, content type, bodies) is shortened before it is quoted.
Redirects are followed only within the same origin (scheme, host and port), as curl does with
credentials: the key and custom headers (an Azure-style ``api-key``) never reach another origin,
and the error says so. Subclasses (one per wire format: chat
completions in :mod:`~codegen_lsp.providers.openai`, fill-in-the-middle in
:mod:`~codegen_lsp.providers.fim`) give the URL, body and decoder to :meth:`HTTPProvider._stream`,
whose :meth:`HTTPProvider._relay` runs the pure decoder over the body under those timeouts. Closing or cancelling the stream
closes the HTTP response at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any, Protocol, TypeVar

import httpx

from codegen_lsp import redaction
from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.core.types import Delta
from codegen_lsp.errors import (
    ProviderError,
    ProviderUnavailable,
    StreamError,
)
from codegen_lsp.providers.chat_stream import error_from_payload
from codegen_lsp.providers.deadline import deadline as deadline_at
from codegen_lsp.providers.fim_stream import line_too_long
from codegen_lsp.providers.http_errors import HTTPErrors, reason, short
from codegen_lsp.providers.tls import ssl_context_from_env

#: same-origin redirects followed before giving up
_MAX_REDIRECTS = 5
#: redirects that keep the POST (RFC 9110 lets clients keep the method on 301/302 too); a 303
#: asks for a GET of something else, which is not an answer to a completion request
_KEEPS_POST = frozenset({301, 302, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: the least a stream line may hold, whatever max_answer_chars says: llama.cpp's last chunk
#: repeats the whole prompt and its settings
_MIN_MAX_LINE = 1024 * 1024
#: seconds a finished stream waits for the end of its HTTP body (see _body_pieces)
_BODY_END_GRACE = 0.02

_T = TypeVar("_T")


def content_type(response: httpx.Response) -> str:
    """The media type of ``response``, lower case, without parameters (``""`` when absent)."""
    value: str = response.headers.get("content-type", "")
    return value.partition(";")[0].strip().lower()


class StreamState(Protocol):
    """What :meth:`HTTPProvider._relay` reads from a decoder besides the deltas it returns."""

    @property
    def progress(self) -> int:
        """Characters of model output seen so far (answer, thinking, reasoning); it grows only
        with content, never with empty chunks or keep-alives."""
        ...

    @property
    def done(self) -> bool:
        """The stream said it is complete ([DONE], done: true, stop: true, ...)."""
        ...

    @property
    def finish_reason(self) -> str | None:
        """The finish reason seen so far; a connection lost after it is not an error."""
        ...

    def finish(self) -> list[Delta]:
        """The transport ended: the final deltas, or a StreamError for a truncated stream."""
        ...


class BodyDecoder(StreamState, Protocol):
    """A pure decoder of a response body's bytes (see :mod:`~codegen_lsp.providers.fim_stream`)."""

    @property
    def holding(self) -> bool:
        """An error waits to be raised by the next :meth:`feed` (which may be ``feed(b"")``)."""
        ...

    def feed(self, data: bytes) -> list[Delta]: ...

    def document(self, payload: Any) -> list[Delta]:
        """The deltas of a whole JSON answer (a server that ignored ``stream: true``)."""
        ...


class HTTPProvider(HTTPErrors):
    """One HTTP model server: client, key, timeouts and errors. See the module docstring."""

    #: the media type of the stream, sent as Accept and expected back
    media_type = "text/event-stream"

    def __init__(self, settings: ProviderSettings, *, environ: Mapping[str, str] | None = None) -> None:
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
        try:
            url = httpx.URL(self._base_url)
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
        self.host = url.netloc.decode("ascii", "replace")  # host:port, never the user info
        #: the base URL as messages show it: without ``user:pass@``
        self._shown_url = str(url.copy_with(userinfo=b""))
        # Everything this provider will send that is a secret, known before anything is sent.
        redaction.remember(
            self._api_key(),
            *redaction.secret_header_values(settings.headers),
            *redaction.url_credentials(self._base_url),
        )
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, model={self.model!r}, base_url={self._shown_url!r})"
        )

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
                # httpx would carry custom headers (api-key) to any origin: _open follows itself
                follow_redirects=False,
            )
        return self._client

    @property
    def _max_line(self) -> int:
        """The most bytes one line of the stream (or a whole JSON answer) may take: room for
        ``max_answer_chars`` of text even if every character were a JSON escape, at least 1 MiB."""
        return max(4 * self.settings.max_answer_chars, _MIN_MAX_LINE)

    def _first_deadline(self) -> float:
        """The loop time by which the first token must have arrived."""
        return asyncio.get_running_loop().time() + self.settings.timeouts.first_token

    async def _open(
        self, url: str, body: Mapping[str, Any], deadline: float, *, accept: str = "text/event-stream"
    ) -> httpx.Response:
        """POST ``body`` as JSON and return the streaming response once its status is 2xx.

        Any other status is read and raised as the matching error (the response is closed).
        """
        client = self._client_for_loop()
        # identity: a compressed body would be inflated by httpx before any size cap could look
        headers = {
            "Accept": accept,
            "Accept-Encoding": "identity",
            "Cache-Control": "no-store",
            **self.settings.headers,
        }
        key = self._api_key()
        if key:
            redaction.remember(key)
            headers["Authorization"] = f"Bearer {key}"
        http_request = client.build_request("POST", url, json=body, headers=headers)
        try:
            async with deadline_at(deadline, self._first_token_timeout):
                response = await client.send(http_request, stream=True)
                for _ in range(_MAX_REDIRECTS):
                    if not response.has_redirect_location:
                        break
                    await response.aclose()
                    target = self._redirect_target(response)
                    http_request = client.build_request("POST", target, json=body, headers=headers)
                    response = await client.send(http_request, stream=True)
                if response.has_redirect_location:
                    await response.aclose()
                    raise self._not_followed(response, f"it redirected more than {_MAX_REDIRECTS} times")
        except httpx.HTTPError as exc:
            self._transport_error(exc)
        if not 200 <= response.status_code < 300:
            try:
                await self._raise_for_status(response)
            finally:
                await response.aclose()
        return response

    async def _stream(
        self, url: str, body: Mapping[str, Any], decoder: BodyDecoder
    ) -> AsyncGenerator[Delta, None]:
        """POST ``body`` to ``url`` and stream what ``decoder`` makes of the answer: a stream of
        :attr:`media_type`, or the one JSON document of a server that ignored ``stream: true``."""
        first_deadline = self._first_deadline()
        response = await self._open(url, body, first_deadline, accept=self.media_type)
        try:
            kind = content_type(response)
            if kind == "application/json":
                payload = await self._read_document(response, first_deadline)
                for delta in self._redacted(decoder.document, payload):
                    yield delta
                return
            if kind != self.media_type:
                self._not_a_stream(response)
            pieces = _body_pieces(response, decoder)
            async with contextlib.aclosing(
                self._relay(pieces, decoder.feed, decoder, first_deadline)
            ) as deltas:
                async for delta in deltas:
                    yield delta
        finally:
            await response.aclose()

    async def _relay(
        self,
        items: AsyncIterator[_T],
        feed: Callable[[_T], list[Delta]],
        state: StreamState,
        first_deadline: float,
    ) -> AsyncGenerator[Delta, None]:
        """The deltas ``feed`` decodes from each of ``items`` (SSE events, byte chunks, ...), under
        the first-token and idle timeouts, ending with ``state.finish()`` unless the stream said
        it was done. Transport failures become our errors; ``items`` is closed on the way out."""
        idle = self.settings.timeouts.idle
        loop = asyncio.get_running_loop()
        # Both clocks run on content only: the idle one restarts when the decoder saw more model
        # output, not when any bytes came, so heartbeats (empty deltas, ``: keep-alive``) cannot
        # hold a request open; the first-token one is a fixed point in time from the start.
        deadline, expired = first_deadline, self._first_token_timeout
        seen = state.progress
        try:
            while not state.done:
                if state.progress != seen:
                    seen = state.progress
                    deadline, expired = loop.time() + idle, self._idle_timeout
                try:
                    async with deadline_at(deadline, expired):
                        item = await anext(items)
                except StopAsyncIteration:
                    break
                except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
                    if state.finish_reason is not None:
                        break  # the answer was complete; only the goodbye went missing
                    raise StreamError(
                        f"The connection to {self.host} broke in the middle of the answer "
                        f"({reason(exc)}). Try again.",
                        provider=self.name,
                        host=self.host,
                    ) from None
                except httpx.HTTPError as exc:
                    self._transport_error(exc)
                for delta in self._redacted(feed, item):
                    yield delta
            if not state.done:
                for delta in self._redacted(state.finish):
                    yield delta
        finally:
            close = getattr(items, "aclose", None)
            if close is not None:
                await close()

    async def _read_document(self, response: httpx.Response, deadline: float) -> Any:
        """The whole JSON body of a server that answered without streaming; an ``error`` object in
        it is raised as the matching error."""
        limit = self._max_line
        try:
            async with deadline_at(deadline, self._first_token_timeout):
                pieces: list[bytes] = []
                size = 0
                async for piece in response.aiter_bytes():
                    size += len(piece)
                    if size > limit:
                        raise line_too_long(limit, host=self.host, provider=self.name)
                    pieces.append(piece)
                raw = b"".join(pieces)
        except httpx.HTTPError as exc:
            self._transport_error(exc)
        try:
            payload = json.loads(raw)
        except json.JSONDecodeError:
            raise StreamError(
                f"{self.host} answered with malformed JSON: {raw[:80]!r}", provider=self.name, host=self.host
            ) from None
        if isinstance(payload, dict) and payload.get("error") is not None:
            error = error_from_payload(payload, host=self.host, provider=self.name)
            error.message = self._redact(error.message)
            error.args = (error.message,)
            raise error
        return payload

    def _redirect_target(self, response: httpx.Response) -> httpx.URL:
        """Where a redirect of ours may go: only to the same origin, keeping the POST."""
        try:
            target = response.request.url.join(response.headers["location"])
        except (httpx.InvalidURL, UnicodeError):
            raise self._not_followed(response, "its Location is not a valid URL") from None
        if _origin(target) != _origin(response.request.url):
            raise self._not_followed(
                response,
                f"it points to another origin ({_shown_origin(target)}). Requests, with your API key "
                "and headers, are only ever sent on within the same scheme, host and port, so nothing "
                "was sent there; if you trust that address, set base_url to it",
            )
        if response.status_code not in _KEEPS_POST:
            raise self._not_followed(response, "a 303 asks for a GET elsewhere, not an answer")
        return target

    def _redacted(self, decode: Callable[..., list[Delta]], *args: Any) -> list[Delta]:
        """Run a decoder step; an error it raises from server text loses any echo of the key."""
        try:
            return decode(*args)
        except ProviderError as exc:
            exc.message = self._redact(exc.message)
            exc.args = (exc.message,)
            raise


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _shown_origin(url: httpx.URL) -> str:
    """``scheme://host[:port]`` of a URL a server sent: its path and query are not quoted."""
    port = f":{url.port}" if url.port else ""
    return short(f"{url.scheme}://{url.host}{port}", 120)


async def _body_pieces(response: httpx.Response, decoder: BodyDecoder) -> AsyncIterator[bytes]:
    """The body's bytes as they arrive; after a piece whose text came before an error, an empty
    piece, so the decoder raises that error at once instead of after the server's next bytes.

    Once the stream has said it is done (``[DONE]``, a final NDJSON line), the end of the body
    is read too, for at most :data:`_BODY_END_GRACE` seconds: a response read to its end leaves
    its connection open for the next request, which for inline completion is the next keystroke
    (a new connection to a remote server costs a TLS handshake)."""
    body = response.aiter_bytes()
    try:
        async for piece in body:
            yield piece
            if decoder.holding:
                yield b""
    finally:
        if decoder.done:
            with contextlib.suppress(httpx.HTTPError, TimeoutError):
                async with asyncio.timeout(_BODY_END_GRACE):
                    async for _ in body:
                        pass
        close = getattr(body, "aclose", None)  # httpx's iterator is an async generator
        if close is not None:
            await close()
