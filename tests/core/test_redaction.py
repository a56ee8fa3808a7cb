"""The one redactor: known secrets in every spelling, key shapes, prose left alone, log records."""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from codegen_lsp import redaction
from codegen_lsp.core import options
from codegen_lsp.errors import ConfigError, ServerError


def fresh_secret(prefix: str = "") -> str:
    """A secret no pattern knows (unless ``prefix`` gives it a shape): only remember() can hide it."""
    return prefix + secrets.token_hex(12)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("key sk-proj-AbCdEfGhIjKlMnOpQrSt123 refused", id="openai"),
        pytest.param("sk-ant-api03-AbCdEfGhIjKlMnOpQrSt", id="anthropic"),
        pytest.param("sk-or-v1-0123456789abcdef0123", id="openrouter"),
        pytest.param("token ghp_0123456789abcdefABCDEF0123", id="github"),
        pytest.param("github_pat_11ABCDEFG0123456789_abcdefghij", id="github-fine-grained"),
        pytest.param("glpat-0123456789abcdefghij", id="gitlab"),
        pytest.param("xoxb-0123456789-abcdefghij", id="slack"),
        pytest.param("AKIAABCDEFGHIJKLMNOP", id="aws"),
        pytest.param("AIzaSyA0123456789abcdefghijklmnopqrstuv", id="google"),
        pytest.param("hf_abcdefghijklmnopqrstuvwxyz012345", id="huggingface"),
        pytest.param("gsk_0123456789abcdefghijkl", id="groq"),
        pytest.param("eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4f", id="jwt"),
        pytest.param("Authorization: Bearer abcdefgh12345678", id="bearer"),
        pytest.param("(b'api-key', b'zq9zq9zq9zq9zq9')", id="httpcore-header-tuple"),
        pytest.param('{"x-api-key": "zq9zq9zq9zq9zq9"}', id="json-header"),
        pytest.param("GET https://h/v1?key=zq9zq9zq9zq9&alt=sse", id="query-key"),
    ],
)
def test_key_shapes_are_hidden_unasked(text: str) -> None:
    clean = redaction.Redactor().redact(text)  # a fresh one: no secret remembered by other tests
    assert redaction.REDACTED in clean
    for word in text.replace("'", " ").replace('"', " ").split():
        if any(c.isdigit() for c in word) and len(word) >= 12 and "://" not in word:
            assert word not in clean


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        pytest.param("http://user:pa55word@host:8080/v1 failed", "http://***@host:8080/v1 failed", id="url-userinfo"),
        pytest.param("https://ghtoken123@github.com/x", "https://***@github.com/x", id="url-token"),
    ],
)  # fmt: skip
def test_url_credentials_are_hidden(text: str, clean: str) -> None:
    assert redaction.Redactor().redact(text) == clean


@pytest.mark.parametrize(
    "text",
    [
        "providers.x.api_key: API keys must not be written in configuration files",
        "Bearer authentication failed; check the key",
        "127.0.0.1:8080 answered 404 Not Found for http://127.0.0.1:8080/v1/chat/completions",
        "task-0123456789abcdefghij is done",
        "the key in OPENAI_API_KEY may be wrong",
        "def add(a, b):\n    return a + b",
        "context.token_budget = 16000",
        "codegen: implement with ollama (qwen2.5-coder:1.5b)…",
    ],
)
def test_prose_is_left_alone(text: str) -> None:
    assert redaction.Redactor().redact(text) == text


def test_a_remembered_secret_is_hidden_in_every_spelling() -> None:
    secret = fresh_secret('k"/+ ')
    assert redaction.redact(f"x {secret} y") == f"x {secret} y"  # nobody said
    redaction.remember(secret)
    for spelled in (secret, quote(secret, safe=""), json.dumps(secret)[1:-1]):
        assert redaction.redact(f"<{spelled}>") == "<***>"
    assert redaction.redact_data({"a": [f"1{secret}2", 3], "b": None}) == {"a": ["1***2", 3], "b": None}


def test_a_remembered_secret_is_hidden_in_any_case() -> None:
    secret = fresh_secret("MixedCase")
    redaction.remember(secret)
    assert redaction.redact(f"media type {secret.lower()}; {secret.upper()}") == "media type ***; ***"
    assert redaction.looks_like_key(secret.lower())


def test_short_placeholders_are_not_secrets() -> None:
    redaction.remember("ollama", "", None)
    assert redaction.redact("provider ollama failed") == "provider ollama failed"


def test_url_credentials_and_their_basic_header_are_found() -> None:
    found = redaction.url_credentials("http://al%40ice:s3cr%3At@h/v1")
    assert found == ["al@ice", "s3cr:t", base64.b64encode(b"al@ice:s3cr:t").decode()]
    assert redaction.url_credentials("http://h/v1") == []


def test_environment_secrets_by_name() -> None:
    token, key, path = fresh_secret(), fresh_secret(), "/run/user/1000/" + fresh_secret()
    redaction.remember_environment(
        {"GITHUB_TOKEN": token, "MY_API_KEY": key, "SSH_AUTH_SOCK": path, "EDITOR": fresh_secret()}
    )
    assert redaction.redact(f"{token} {key}") == "*** ***"
    assert redaction.redact(path) == path  # a path is not a secret


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        pytest.param("Authorization", "Bearer x", id="authorization"),
        pytest.param("api-key", "short", id="azure"),
        pytest.param("X-Anything", "sk-proj-0123456789abcdefghij", id="key-shaped-value"),
    ],
)
def test_secret_header_values(name: str, secret: str) -> None:
    assert list(redaction.secret_header_values({name: secret, "X-Title": "codegen-lsp"})) == [secret]


# --- rejected values are never echoed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        pytest.param({"apiKeyEnv": "sk-proj-Zz0123456789abcdefgh"}, "apiKeyEnv", id="openai-key-as-env"),
        pytest.param({"apiKeyEnv": "ghp_0123456789abcdefABCDEF0123"}, "apiKeyEnv", id="github-token-is-an-identifier"),
        pytest.param({"api_key_env": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4"}, "api_key_env", id="hex-key-is-an-identifier"),
        pytest.param({"apiKey": 12345678901234}, "apiKey", id="api-key-not-a-string"),
        pytest.param({"providers": {"x": {"headers": {"api-key": 12345678}}}}, "providers.x.headers", id="header"),
    ],
)  # fmt: skip
def test_a_rejected_key_is_never_echoed(raw: dict[str, object], shown: str) -> None:
    errors: list[ConfigError] = []
    options.validate_options(raw, "editor settings", from_file=False, on_invalid=errors.append)
    assert len(errors) == 1
    message = str(errors[0])
    assert shown in message and "not shown" in message
    value = json.dumps(raw)
    for token in value.replace('"', " ").replace(",", " ").replace("}", " ").split():
        if len(token) >= 8 and any(c.isdigit() for c in token):
            assert token not in message


def test_an_ordinary_rejected_value_is_still_quoted() -> None:
    with pytest.raises(ConfigError, match=r"got 'yes'"):
        options.validate_options({"streamEdits": "yes"}, "editor settings", from_file=False)


def test_upper_case_variable_names_stay_valid() -> None:
    data = options.validate_options({"api_key_env": "OPENROUTER_API_KEY_WORK_2024"}, "x", from_file=False)
    assert data == {"api_key_env": "OPENROUTER_API_KEY_WORK_2024"}


def test_errors_are_redacted_when_made_and_when_shown() -> None:
    early, late = fresh_secret(), fresh_secret()
    redaction.remember(early)
    error = ServerError(f"upstream said {early} and {late}")
    assert early not in error.message and early not in str(error)
    assert late in str(error)
    redaction.remember(late)  # learnt after the error was made
    assert late not in str(error)


# --- log records ------------------------------------------------------------------------------------


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    handler.addFilter(redaction.RedactingFilter())
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)


@pytest.mark.parametrize(
    "logger", ["httpcore.http11", "httpx", "pygls.protocol", "llama_cpp", "asyncio", "x"]
)
def test_every_logger_is_redacted(log_output: io.StringIO, logger: str) -> None:
    secret = fresh_secret()
    redaction.remember(secret)
    log = logging.getLogger(logger)
    log.debug(
        "receive_response_headers.complete return_value=%r", (b"HTTP/1.1", 200, [(b"X", secret.encode())])
    )
    try:
        raise ValueError(f"boom {secret}")
    except ValueError:
        log.exception("failed with %s", secret)
    log.warning("shape sk-proj-0123456789abcdefghij%s", "", stack_info=True)
    text = log_output.getvalue()
    assert secret not in text and "sk-proj-0123456789" not in text
    assert "boom ***" in text and "failed with ***" in text and "Traceback" in text
