"""No secret is ever shown or logged, whatever a hostile upstream sends; keys never cross origins.

A hostile OpenAI-compatible server on loopback echoes the user's secrets wherever it can: in the
reason phrase, a 200 JSON error, an in-stream error, a malformed body, an illegal header line,
the Content-Type, echoed response headers (which httpcore logs at debug level), error bodies,
``Retry-After``, a redirect's Location. Each case runs through the three ways in: ``codegen-lsp
generate``, ``codegen-lsp check`` and the language server (``codegen.generate``), all at debug
log level, and then everything they emitted — every JSON-RPC message, stderr, the log file, the
CLI's stdout and stderr — is searched for every secret in play (``hostile.SECRETS``), in every
spelling. A redirect to another origin (another loopback port) must reach nothing there. The
last cases are values the user typed into the wrong field: a key as ``api_key_env``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hostile import (
    ANSWER,
    GITHUB_TOKEN,
    HEADER_SECRET,
    KEY,
    SECRETS,
    SHAPED_KEY,
    URL_PASSWORD,
    User,
    everything,
    generate,
    messages,
)
from leaks import Emitted, assert_no_secret
from rpc import emitted_fixture  # noqa: F401 (fixtures)

from loopback import (
    LoopbackServer,
    Reply,
    chat_chunks,
    chat_reply,
    error_reply,
    json_reply,
    sse_event,
    sse_reply,
)

pytestmark = pytest.mark.e2e  # the CLI and the server as subprocesses

Script = Callable[[LoopbackServer, LoopbackServer], list[Reply]]


def _stream_error(upstream: LoopbackServer, other: LoopbackServer) -> list[Reply]:
    error = {"error": {"message": f"key {KEY} has no access; header {HEADER_SECRET}", "code": 401}}
    return [sse_reply([sse_event(error)])]


def _mid_stream_error(upstream: LoopbackServer, other: LoopbackServer) -> list[Reply]:
    events = chat_chunks("def add(a, b):\n", finish_reason=None, usage=False, done=False)
    return [sse_reply([*events, sse_event({"error": {"message": f"quota of {KEY} exhausted"}})])]


def _redirect(status: int, location: Callable[[LoopbackServer, LoopbackServer], str]) -> Script:
    return lambda upstream, other: [Reply(status, headers={"Location": location(upstream, other)})]


# (id, replies, a fragment of the error the user sees; None: the request succeeds)
CASES: list[tuple[str, Script, str | None]] = [
    ("reason-phrase-401", lambda u, o: [Reply(401, reason=f"Unauthorized {KEY}", body=b"no")], "refused the request"),
    ("reason-phrase-500", lambda u, o: [Reply(500, reason=f"boom {HEADER_SECRET}", body=b"")], "failed to answer"),
    ("error-body-echoes-headers", lambda u, o: [Reply(400, headers={"Content-Type": "text/plain"},
        body=f"bad request: Authorization: Bearer {KEY}, api-key: {HEADER_SECRET}".encode())], "rejected the request"),
    ("json-error-under-200", lambda u, o: [json_reply(200, {"error": {"message": f"invalid key {KEY}"}})], "invalid key"),
    ("stream-error-under-200", _stream_error, "has no access"),
    ("error-after-content", _mid_stream_error, "exhausted"),
    ("malformed-200-body", lambda u, o: [Reply(200, headers={"Content-Type": "application/json"},
        body=f'{{"choices": [{{"text": "{KEY}'.encode())], "malformed JSON"),
    ("illegal-header-line", lambda u, o: [Reply(200, headers={"Content-Type": "text/event-stream"},
        extra_head=f"X-Leak {KEY}\r\n".encode(), body=b"data: [DONE]\n\n")], "illegal header line"),
    ("key-as-content-type", lambda u, o: [Reply(200, headers={"Content-Type": KEY}, body=b"x")], "instead of an event stream"),
    ("retry-after-and-body", lambda u, o: [error_reply(429, f"slow down, {KEY}", headers={"Retry-After": KEY})],
        "rate limiting"),
    ("echoed-response-headers", lambda u, o: [chat_reply(*ANSWER, headers={"X-Echo-Key": KEY,
        "X-Echo-Api-Key": HEADER_SECRET, "Set-Cookie": f"session={GITHUB_TOKEN}"})], None),
    ("shaped-key-in-message", lambda u, o: [error_reply(401, f"key {SHAPED_KEY} revoked")], "refused the request"),
    ("redirect-to-other-origin", _redirect(307, lambda u, o: f"{o.base_url}/chat/completions"), "another origin"),
    ("redirect-with-credentials", _redirect(302, lambda u, o: f"http://u:{KEY}@127.0.0.1:{o.port}/v1/x?key={KEY}"),
        "another origin"),
    ("redirect-to-other-scheme", _redirect(308, lambda u, o: f"https://127.0.0.1:{u.port}/v1/chat/completions"),
        "another origin"),
    ("redirect-within-origin", lambda u, o: [Reply(307, headers={"Location": f"{u.base_url}/chat/completions?v=2"}),
        chat_reply(*ANSWER)], None),
]  # fmt: skip

CHANNELS = ["generate", "check", "server"]


@pytest.fixture
def other() -> LoopbackServer:
    """Another origin (another port): a redirect target that must receive nothing."""
    with LoopbackServer() as server:
        yield server


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(("script", "fragment"), [pytest.param(s, f, id=i) for i, s, f in CASES])
def test_a_hostile_upstream_learns_nothing_new_and_leaks_nothing(
    tmp_path: Path,
    loopback: LoopbackServer,
    other: LoopbackServer,
    emitted: Emitted,
    channel: str,
    script: Script,
    fragment: str | None,
) -> None:
    user = User(tmp_path, loopback, emitted)
    replies = script(loopback, other)
    loopback.script(*replies)
    servers = []
    if channel == "server":
        server = user.server()
        servers.append(server)
        answer = generate(server, user.source.as_uri())
        server.close()
        told = "\n".join([*messages(server), str(answer.get("message"))])
        succeeded = answer.get("status") == "applied"
    else:
        done = user.generate() if channel == "generate" else user.cli("check")
        told = done.stderr
        succeeded = done.returncode == 0
    if fragment is None:
        assert succeeded, told
    else:
        assert not succeeded and fragment in told, told
    assert loopback.wait_requests(1, 5)
    # the user's own upstream got the key and the header; the other origin got nothing at all
    assert loopback.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert loopback.requests[0].headers["api-key"] == HEADER_SECRET
    assert other.requests == []
    assert_no_secret(everything(emitted, *servers), SECRETS)


@pytest.mark.parametrize("channel", CHANNELS)
def test_credentials_in_the_base_url_are_never_shown(
    tmp_path: Path, loopback: LoopbackServer, emitted: Emitted, channel: str
) -> None:
    user = User(tmp_path, loopback, emitted)
    user.configure(f"http://alice:{URL_PASSWORD}@127.0.0.1:{loopback.port}/v1")
    loopback.script(error_reply(404, "no such model"))
    if channel == "server":
        server = user.server()
        answer = generate(server, user.source.as_uri())
        server.close()
        assert "404" in str(answer.get("message")), answer
        texts = everything(emitted, server)
    else:
        done = user.generate() if channel == "generate" else user.cli("check")
        assert done.returncode == 3 and "404" in done.stderr, done.stderr
        texts = everything(emitted)
    assert loopback.wait_requests(1, 5)
    # httpx sends URL credentials as Basic authentication (in place of the Bearer key)
    assert loopback.requests[0].headers["authorization"].startswith("Basic ")
    assert_no_secret(texts, SECRETS)


# --- a key typed into the wrong field ------------------------------------------------------------

WRONG_FIELD = [
    pytest.param(["--api-key-env", KEY], id="cli-flag-plain-key"),
    pytest.param(["--api-key-env", SHAPED_KEY], id="cli-flag-shaped-key"),
]


@pytest.mark.parametrize("flags", WRONG_FIELD)
def test_a_key_given_as_the_variable_name_is_refused_unseen_on_the_cli(
    tmp_path: Path, loopback: LoopbackServer, emitted: Emitted, flags: list[str]
) -> None:
    user = User(tmp_path, loopback, emitted)
    done = user.generate(*flags)
    assert done.returncode == 2
    assert "must be the NAME of an environment variable" in done.stderr and "not shown" in done.stderr
    assert loopback.requests == []
    assert_no_secret(everything(emitted), SECRETS)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"apiKeyEnv": KEY}, id="apiKeyEnv-plain-key"),
        pytest.param({"apiKeyEnv": SHAPED_KEY}, id="apiKeyEnv-shaped-key"),
        pytest.param({"providers": {"mine": {"apiKeyEnv": KEY}}}, id="provider-apiKeyEnv"),
        pytest.param({"apiKey": 12345678901234567890}, id="apiKey-not-a-string"),
    ],
)
def test_a_key_in_the_wrong_editor_setting_is_left_out_unseen(
    tmp_path: Path, loopback: LoopbackServer, emitted: Emitted, options: dict[str, object]
) -> None:
    user = User(tmp_path, loopback, emitted)
    loopback.script(chat_reply(*ANSWER))
    server = user.server(**options)
    answer = generate(server, user.source.as_uri())
    server.close()
    assert answer.get("status") == "applied", answer  # the rest of the settings still apply
    warnings = [m for m in messages(server) if "ignored an invalid setting" in m]
    assert len(warnings) == 1 and "not shown" in warnings[0], messages(server)
    assert_no_secret(everything(emitted, server), [*SECRETS, "12345678901234567890"])


def test_a_key_in_the_users_own_config_as_variable_name_is_refused_unseen(
    tmp_path: Path, loopback: LoopbackServer, emitted: Emitted
) -> None:
    user = User(tmp_path, loopback, emitted)
    config = tmp_path / "xdg" / "codegen-lsp" / "config.toml"
    config.write_text(config.read_text().replace('"HOSTILE_KEY"', f'"{SHAPED_KEY}"'), encoding="utf-8")
    done = user.cli("check")
    assert done.returncode == 2 and "api_key_env" in done.stderr
    assert_no_secret(everything(emitted), SECRETS)
