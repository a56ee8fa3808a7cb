"""The one error tree of codegen-lsp.

Every failure the core, the providers or the configuration can raise derives from
:class:`CodegenError`, and every message is written for the user: it says what happened, names
the host and the HTTP status where there is one, and says what to do. No message ever contains
an API key: every message passes :func:`codegen_lsp.redaction.redact` when the error is made
and again whenever it is turned into text.

    CodegenError
    ├── ConfigError              invalid or missing configuration (file, key, problem)
    ├── ActionError              the request cannot be served (bad range, unknown action, ...)
    └── ProviderError            talking to a model failed
        ├── ProviderUnavailable  no provider configured / optional dependency missing
        ├── AuthError            401/403: the key is missing, wrong or lacks access
        ├── NotFoundError        404: wrong model name or base URL
        ├── RateLimitError       429: rate limited or out of quota
        ├── ServerError          5xx and other unexpected statuses
        ├── ConnectionFailed     refused, DNS, reset before the first byte
        ├── TLSError             certificate or handshake failure
        ├── ProviderTimeout      one of the four timeouts:
        │   ├── ConnectTimeout     no TCP/TLS connection in time
        │   ├── FirstTokenTimeout  connected, but no content before the first-token limit
        │   ├── IdleTimeout        no content for longer than the idle limit (keep-alives do not count)
        │   └── TotalTimeout       the whole request took longer than its deadline
        └── StreamError          malformed stream, in-stream error event, truncated stream
            └── AnswerTooLarge   the answer (or one line of the stream) is over its size cap

``retryable`` tells the retry/fallback machinery whether trying again (before any content was
produced) can help; ``retry_after`` carries the server's own hint in seconds.
"""

from __future__ import annotations

from codegen_lsp.redaction import redact


class CodegenError(Exception):
    """Base class of every error codegen-lsp raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        # again: a secret may have become known since (an upstream echoed it before we learnt it)
        return redact(self.message)


class ConfigError(CodegenError):
    """Configuration is invalid or incomplete; the message names the source, key and problem.

    ``source`` (the layer: a file, the environment, the editor's settings) and ``key`` (dotted,
    snake_case: ``providers.work.base_url``) say the same for code, where they are known.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.key = key


class ActionError(CodegenError):
    """The request itself cannot be served (unknown action, range outside the document, ...)."""


class ProviderError(CodegenError):
    """Talking to a model provider failed."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        host: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.host = host
        self.status = status
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    """No provider is configured, or the one configured needs something not installed."""


class AuthError(ProviderError):
    """401/403: the API key is missing, wrong, or has no access to the model."""


class NotFoundError(ProviderError):
    """404: the model name or the base URL is wrong."""


class RateLimitError(ProviderError):
    """429: rate limited or out of quota."""

    retryable = True


class ServerError(ProviderError):
    """5xx, 408, 409 or another unexpected status."""

    retryable = True


class ConnectionFailed(ProviderError):
    """The connection could not be made or broke before any response."""

    retryable = True


class TLSError(ProviderError):
    """TLS handshake or certificate verification failed."""


class ProviderTimeout(ProviderError):
    """One of the four configurable timeouts expired."""


class ConnectTimeout(ProviderTimeout):
    """No connection within the connect timeout."""

    retryable = True


class FirstTokenTimeout(ProviderTimeout):
    """Connected, but the model produced nothing before the first-token timeout."""


class IdleTimeout(ProviderTimeout):
    """No content for longer than the idle timeout (empty deltas and keep-alives do not count)."""


class TotalTimeout(ProviderTimeout):
    """The request ran past its total deadline, however steadily the content arrived."""


class StreamError(ProviderError):
    """The stream was malformed, carried an error event, or ended early."""


class AnswerTooLarge(StreamError):
    """The answer grew past its size cap, or one line of the stream was too long to buffer."""
