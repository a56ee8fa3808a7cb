"""One redactor for everything a user or a log can see.

Every text shown to a user — the language server's messages, log messages, command answers and
progress, the command line's output, exception messages — and every log record of every logger
(third-party ones included) passes through :func:`redact` at the edges: the language server's
message helpers and outgoing protocol messages, the command line's printing, and
:class:`RedactingFilter` on the logging handlers (:func:`install`). It hides two things:

- every secret in play, handed over by the code that learns it (:func:`remember`,
  :func:`remember_environment`, and ``core.config.remember_secrets`` for resolved settings):
  keys from the environment, the settings, the editor's settings and secret storage, credential
  headers, credentials in URLs;
- whatever has the shape of a credential even when nobody said so: ``sk-…``, ``ghp_…`` and the
  other well-known key formats, the value after ``Bearer``/``Basic`` or an ``Authorization:``
  or ``api-key`` label, ``user:pass@`` in a URL, ``?key=…`` in a query.

It depends on nothing else in the package (errors.py uses it), and knows no protocol. Secrets
are only ever added: once seen, a value stays hidden for the life of the process. Values
shorter than :data:`MIN_SECRET` characters are not treated as secrets (``OPENAI_API_KEY=ollama``
is a placeholder, and hiding every "ollama" would garble messages). The user's code — the edits
applied, the CLI's diff — is not a message and is never altered here.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

REDACTED = "***"
MIN_SECRET = 8

#: well-known key formats, hidden wherever they appear
_SHAPES = re.compile(
    "|".join(
        (
            r"\bsk-[A-Za-z0-9][A-Za-z0-9_\-]{15,}",  # OpenAI, Anthropic, OpenRouter, DeepSeek ...
            r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}",  # GitHub
            r"\bgithub_pat_[A-Za-z0-9_]{20,}",
            r"\bglpat-[A-Za-z0-9_\-]{20,}",  # GitLab
            r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",  # Slack
            r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key id
            r"\bAIza[0-9A-Za-z_\-]{35}",  # Google
            r"\bhf_[A-Za-z0-9]{30,}",  # Hugging Face
            r"\bgsk_[A-Za-z0-9]{20,}",  # Groq
            r"\br8_[A-Za-z0-9]{20,}",  # Replicate
            r"\bnvapi-[A-Za-z0-9_\-]{20,}",  # NVIDIA
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",  # JWT
        )
    )
)
#: a credential after its label; the label stays, the value goes. Values (and Bearer/Basic
#: values) must be 8 characters or more and hold a digit, so prose ("api_key: API keys must not",
#: "Bearer authentication") is left alone.
_LABELLED = re.compile(
    r"(?i)(\b(?:proxy-)?authorization|\bx-api-key|\bapi[-_]?key|\bx-goog-api-key|\bx-auth-token"
    r"|\bcookie|\bset-cookie)(['\"]?\s*[:=,]\s*b?['\"]?)((?:bearer|basic)\s+)?"
    r"(?=[^\s'\",;}\])]*\d)([^\s'\",;}\])]{8,})"
)
_SCHEME_VALUE = re.compile(r"(?i)\b(bearer|basic)(\s+)(?=[^\s'\"]*\d)[A-Za-z0-9._~+/=\-]{8,}")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/@'\"<>]+@")
_QUERY_SECRET = re.compile(
    r"(?i)([?&](?:api[_-]?key|key|token|access_token|secret|password|sig|signature)=)[^&\s#'\"]+"
)
#: a long run of letters and digits with no spaces: a key nobody told us about, probably
_OPAQUE = re.compile(r"(?=[^\s]*[A-Za-z])(?=[^\s]*\d)[A-Za-z0-9_\-.+/=]{24,}")
#: environment variables whose name says they hold a secret
_SECRET_NAME = re.compile(
    r"(?i)(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIALS?|AUTH)(?:_|$)"
)
_PATH_NAME = re.compile(r"(?i)_(?:DIR|PATH|FILE|SOCK|HOME|URL)$")
_CREDENTIAL_HEADER = re.compile(
    r"(?i)authorization|cookie|key|token|secret|password|auth|signature|credential"
)


class Redactor:
    """Known secrets plus key shapes; see the module docstring. Safe to use from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._known: re.Pattern[str] | None = None

    def remember(self, *values: str | None) -> None:
        """Hide each value (and its URL- and JSON-escaped forms) from now on."""
        new = {form for value in values if value and len(value) >= MIN_SECRET for form in _forms(value)}
        if new <= self._secrets:
            return
        with self._lock:
            secrets = self._secrets | new
            # Longest first, so a secret that contains another is hidden whole.
            ordered = sorted(secrets, key=len, reverse=True)
            # Ignoring case: a server may echo a key lower-cased (as a media type, say), and a
            # random key of 8+ characters never equals ordinary text in another case.
            self._known = re.compile("|".join(re.escape(s) for s in ordered), re.IGNORECASE)
            self._secrets = frozenset(secrets)

    def knows(self, value: str) -> bool:
        known = self._known
        return known is not None and known.fullmatch(value) is not None

    def redact(self, text: str) -> str:
        if not text:
            return text
        known = self._known
        if known is not None:
            text = known.sub(REDACTED, text)
        text = _SHAPES.sub(REDACTED, text)
        text = _LABELLED.sub(_keep_label, text)
        text = _SCHEME_VALUE.sub(rf"\1\2{REDACTED}", text)
        text = _URL_USERINFO.sub(rf"\1{REDACTED}@", text)
        return _QUERY_SECRET.sub(rf"\1{REDACTED}", text)


def _keep_label(match: re.Match[str]) -> str:
    return f"{match[1]}{match[2]}{match[3] or ''}{REDACTED}"


def _forms(value: str) -> set[str]:
    forms = {value, quote(value, safe=""), json.dumps(value)[1:-1], repr(value)[1:-1]}
    return {form for form in forms if len(form) >= MIN_SECRET}


_REDACTOR = Redactor()


def redact(text: str) -> str:
    """``text`` with every known secret and every key-shaped value replaced by ``***``."""
    return _REDACTOR.redact(text)


def redact_data(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with :func:`redact` applied to every string."""
    if isinstance(value, str):
        return _REDACTOR.redact(value)
    if isinstance(value, Mapping):
        return {key: redact_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    return value


def remember(*values: str | None) -> None:
    """Hide these values in every message and log record from now on."""
    _REDACTOR.remember(*values)


def looks_like_key(value: Any) -> bool:
    """Whether ``value`` is, or has the shape of, a credential (never echo such a value)."""
    if not isinstance(value, str) or not value:
        return False
    return bool(_REDACTOR.knows(value) or _SHAPES.search(value) or _OPAQUE.fullmatch(value.strip()))


def is_credential_header(name: str) -> bool:
    """``Authorization``, ``api-key``, ``X-Auth-Token``, ``Cookie``, ...: a header carrying a secret."""
    return bool(_CREDENTIAL_HEADER.search(name))


def url_credentials(url: str | None) -> list[str]:
    """The secrets inside a URL: ``user:pass@`` (both, and the Basic header they become), ``token@``."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    user, password = parts.username, parts.password
    found = [unquote(v) for v in (user, password) if v]
    if user is not None and password is not None:
        pair = f"{unquote(user)}:{unquote(password)}".encode()
        found.append(base64.b64encode(pair).decode("ascii"))
    return found


def remember_environment(environ: Mapping[str, str]) -> None:
    """Hide the values of the variables whose name says they hold a secret (``*_API_KEY``,
    ``*_TOKEN``, ``*_SECRET``, ``*PASSWORD*`` ...), so a project that names one of them — or an
    upstream that echoes one — cannot make it appear in a message or a log."""
    _REDACTOR.remember(
        *(
            value
            for name, value in environ.items()
            if _SECRET_NAME.search(name) and not _PATH_NAME.search(name) and not value.startswith(("/", "~"))
        )
    )


def secret_header_values(headers: Mapping[str, str]) -> Iterable[str]:
    """The values of ``headers`` that are secrets: credential headers and key-shaped values."""
    return (value for name, value in headers.items() if is_credential_header(name) or looks_like_key(value))


# --- logging and the last line of defence ---------------------------------------------------------

_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """A handler filter that redacts each record's message, traceback and stack before output."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format: redact what there is
            message = str(record.msg)
        clean = _REDACTOR.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatted once here; the handler's formatter reuses the cached (redacted) text.
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _REDACTOR.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = _REDACTOR.redact(record.stack_info)
        return True


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    sys.stderr.write(_REDACTOR.redact("".join(traceback.format_exception(kind, value, tb))))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _excepthook(args.exc_type, args.exc_value, args.exc_traceback)


def install(handler: logging.Handler, environ: Mapping[str, str]) -> None:
    """Make ``handler`` (the process's one log handler) redact every record of every logger, route
    Python warnings through it, redact uncaught tracebacks, and learn the environment's secrets."""
    remember_environment(environ)
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())
    logging.captureWarnings(True)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
