"""Team mode: codegen-lsp through a real LiteLLM gateway in front of two real llama.cpp servers.

What a team relies on when its editors share one model service: the CLI and the language server
generate through the gateway exactly what the model answers directly; the gateway learns who asks
(the developer's key, the ``user`` field, extra headers) and the key never shows up anywhere
codegen-lsp writes; a refused key is said clearly and not retried. Then one backend is killed
while it streams an answer: that answer fails cleanly (no edit, no second request, nothing
replayed: LiteLLM does not restart a started stream, and neither may we), and every request after
it succeeds through LiteLLM's retry on the other backend. Answers run at temperature 0 with small
``max_tokens``, so the reference answer (the model asked directly) is exact, code line for code line.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pytest_lsp.client import LanguageClient, make_test_lsp_client
from teamlib import Team

pytestmark = [pytest.mark.gateway, pytest.mark.model, pytest.mark.e2e, pytest.mark.timeout(600)]

TAGS = "codegen-lsp,team-a"
USER = "alice@example.com"
KEY_VARIABLE = "TEAM_LLM_KEY"
#: the document every successful generation starts from, and the comment line (0-based) to answer:
#: a task with one obvious answer. llama.cpp evaluates a prompt in other batch splits when it reuses
#: a cached prefix, so on a near-tie (`area(r)` vs `circle_area(radius)` was one) greedy decoding can
#: pick differently on two servers. The code is compared exactly; a comment line is not (see `code`).
SOURCE = "import operator\n\n# Define add(a, b), which returns a + b.\n\nprint(add(2, 3))\n"
COMMENT_LINE = 2
#: a comment whose answer is long, so a backend can be killed while it streams
LONG_SOURCE = (
    "# A class BankAccount with deposit, withdraw and transfer methods, each with a docstring,\n"
    "# raising ValueError on a negative amount or an overdraft.\n"
)
MAX_TOKENS = 64


def config_toml(base_url: str, *, through_gateway: bool) -> str:
    """The user's config file: the team's gateway (key, user, headers) or a backend directly."""
    lines = [
        'provider = "team"',
        "",
        "[providers.team]",
        f'base_url = "{base_url}"',
        'model = "codegen"',
        "temperature = 0.0",
        "max_retries = 2",
        "timeouts = { first_token = 120, idle = 60 }",
    ]
    if through_gateway:
        lines += [
            f'api_key_env = "{KEY_VARIABLE}"',
            f'user = "{USER}"',
            f'headers = {{ "x-litellm-tags" = "{TAGS}" }}',
        ]
    lines += ["", "[actions.generate_from_comment]", f"max_tokens = {MAX_TOKENS}", ""]
    return "\n".join(lines)


def home_with_config(root: Path, base_url: str, *, through_gateway: bool) -> dict[str, str]:
    """An environment whose user config (a trusted place) points at ``base_url``."""
    home = root / "home"
    config = home / "xdg" / "codegen-lsp" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(config_toml(base_url, through_gateway=through_gateway), encoding="utf-8")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CODEGEN_LSP_") and "PROXY" not in k.upper()
    }
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "xdg"), NO_PROXY="127.0.0.1", PYTHONUNBUFFERED="1")
    return env


def shapes_path(team: Team) -> Path:
    """The one path every generation of SOURCE uses: the prompt names the file, so it must not vary."""
    return team.workdir / "project" / "shapes.py"


def run_cli(team: Team, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], str]:
    """``codegen-lsp generate --write`` on a fresh copy of SOURCE; the process and the file's new text."""
    path = shapes_path(team)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SOURCE, encoding="utf-8")
    project = path.parent
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "codegen_lsp",
            "generate",
            str(path),
            "--line",
            str(COMMENT_LINE + 1),
            "--write",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done, path.read_text(encoding="utf-8")


def code(answer: str) -> list[str]:
    """An answer's code lines, exactly. Comment-only and blank lines are left out: after
    `return a + b` the 0.5B model is on a near-tie between ending and adding a stray comment line
    ("# Add the comment to this line"), which a warm prefix cache flips. A replayed, spliced or cut
    answer still differs in its code."""
    return [line for line in answer.split("\n") if line.strip() and not line.lstrip().startswith("#")]


def inserted(text: str) -> str:
    """What the generation put between the comment and the rest of SOURCE."""
    head, tail = SOURCE.split("\n\nprint")
    assert text.startswith(head + "\n") and text.endswith("\nprint" + tail), text
    return text[len(head) + 1 : len(text) - len("\nprint" + tail)]


def assert_nowhere(secret: str, places: dict[str, str]) -> None:
    leaked = [name for name, text in places.items() if secret in text]
    assert not leaked, f"the key appeared in: {leaked}"


@pytest.fixture(scope="module")
def reference(team: Team, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The model's answer to SOURCE asked directly (no gateway), through the same CLI."""
    root = tmp_path_factory.mktemp("direct")
    env = home_with_config(root, team.backends[1].base_url, through_gateway=False)
    done, text = run_cli(team, env)
    assert done.returncode == 0, done.stderr
    answer = inserted(text)
    # whatever the model's quality (tests/model judges that), an answer that is there and clean
    assert answer.strip() and "```" not in answer, answer
    return answer


# --- the CLI --------------------------------------------------------------------------------------


def test_cli_generates_through_the_gateway_and_the_gateway_knows_who(
    team: Team, reference: str, tmp_path: Path
) -> None:
    env = home_with_config(tmp_path, team.gateway.base_url, through_gateway=True)
    env[KEY_VARIABLE] = team.key
    before = len(team.records())
    done, text = run_cli(team, env)
    assert done.returncode == 0, done.stderr
    assert code(inserted(text)) == code(reference)
    # the key identified alice to the gateway; the user field and the extra header arrived
    assert team.records()[before:] == [
        {"user_id": "alice", "end_user": USER, "headers": {"x-litellm-tags": TAGS}}
    ]
    assert_nowhere(team.key, {"stdout": done.stdout, "stderr": done.stderr, "file": text, **team.logs()})


def test_cli_refused_key_is_said_once_and_never_echoed(team: Team, tmp_path: Path) -> None:
    wrong = "sk-" + "W" * 32
    env = home_with_config(tmp_path, team.gateway.base_url, through_gateway=True)
    env[KEY_VARIABLE] = wrong
    counts = team.counts()
    records = len(team.records())
    log_size = team.gateway.log.stat().st_size
    done, text = run_cli(team, env)
    assert done.returncode != 0
    assert text == SOURCE
    assert "401" in done.stderr and KEY_VARIABLE in done.stderr, done.stderr
    assert_nowhere(wrong, {"stdout": done.stdout, "stderr": done.stderr, **team.logs()})
    # an auth failure is not retried: one request reached the gateway, none a backend
    gateway_log = team.gateway.log.read_bytes()[log_size:].decode(errors="replace")
    assert gateway_log.count("POST /v1/chat/completions") == 1, gateway_log
    assert team.counts() == counts and len(team.records()) == records


# --- the language server ----------------------------------------------------------------------------


@dataclass
class Session:
    """A pytest-lsp client on ``codegen-lsp serve`` that records every message and applies edits."""

    client: LanguageClient
    log_file: Path
    stderr_file: Path
    received: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    edits: list[str] = field(default_factory=list)

    def open(self, path: Path, text: str) -> str:
        uri = path.as_uri()
        self.texts[uri] = text
        self.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )
        return uri

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(
            lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(uri=uri))
        )

    async def generate(self, uri: str, line: int) -> dict[str, Any]:
        argument = {
            "uri": uri,
            "version": 1,
            "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}},
            "action": "generate_from_comment",
        }
        result: dict[str, Any] = await self.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command="codegen.generate", arguments=[argument])
        )
        return result

    def progress(self) -> list[str]:
        return [
            getattr(report, "message", None) or ""
            for reports in self.client.progress_reports.values()
            for report in reports
        ]

    def everything(self) -> dict[str, str]:
        return {
            "messages to the editor": "\n".join(self.received),
            "server stderr": self.stderr_file.read_text(errors="replace"),
            "server log file": self.log_file.read_text(errors="replace") if self.log_file.exists() else "",
        }


def _apply(session: Session, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
    """Single-edit documents only: enough for generate_from_comment, checked rather than assumed."""
    for change in params.edit.document_changes or []:
        assert isinstance(change, lsp.TextDocumentEdit)
        uri = change.text_document.uri
        lines = session.texts[uri].split("\n")
        for edit in change.edits:
            assert isinstance(edit, lsp.TextEdit)
            start, end = edit.range.start, edit.range.end
            assert start == end, "generate_from_comment inserts"
            before = (
                "\n".join(lines[: start.line])
                + ("\n" if start.line else "")
                + lines[start.line][: start.character]
            )
            after = session.texts[uri][len(before) :]
            session.texts[uri] = before + edit.new_text + after
            session.edits.append(edit.new_text)
    return lsp.ApplyWorkspaceEditResult(applied=True)


async def start_session(team: Team, folder: Path) -> Session:
    log_file, stderr_file = folder / "server.log", folder / "server.stderr"
    env = home_with_config(folder, team.gateway.base_url, through_gateway=True)  # makes the folder
    env[KEY_VARIABLE] = team.key
    client = make_test_lsp_client()
    session = Session(client, log_file, stderr_file)
    original = client.protocol.handle_message

    def recording(message: Any) -> None:
        session.received.append(repr(message))
        original(message)

    client.protocol.handle_message = recording  # type: ignore[method-assign]
    client.feature(lsp.WORKSPACE_APPLY_EDIT)(lambda params: _apply(session, params))
    # stderr to a file (through a shell), so the secret check reads all of it
    await client.start_io(
        "/bin/sh",
        "-c",
        'exec "$0" -m codegen_lsp serve --log-file "$1" --log-level debug 2>"$2"',
        sys.executable,
        str(log_file),
        str(stderr_file),
        env=env,
    )
    await client.initialize_session(
        lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(
                window=lsp.WindowClientCapabilities(work_done_progress=True),
                workspace=lsp.WorkspaceClientCapabilities(
                    apply_edit=True, workspace_edit=lsp.WorkspaceEditClientCapabilities(document_changes=True)
                ),
            ),
            root_uri=folder.as_uri(),
        )
    )
    return session


async def test_server_generates_through_the_gateway(team: Team, reference: str, tmp_path: Path) -> None:
    session = await start_session(team, tmp_path)
    try:
        uri = session.open(shapes_path(team), SOURCE)
        answer = await session.generate(uri, COMMENT_LINE)
        assert answer["status"] == "applied", answer
        assert code(inserted(session.texts[uri])) == code(reference)
        assert team.records()[-1] == {
            "user_id": "alice",
            "end_user": USER,
            "headers": {"x-litellm-tags": TAGS},
        }
    finally:
        await session.client.shutdown_session()
    assert_nowhere(team.key, {**session.everything(), **team.logs()})


# --- a backend dies mid-run ---------------------------------------------------------------------------


async def first_token(session: Session, within: float = 120.0) -> None:
    """Wait until the server reported the job's first streamed token."""
    deadline = asyncio.get_running_loop().time() + within
    while not any(message.endswith(" tokens") for message in session.progress()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no token within {within:g} s")
        await asyncio.sleep(0.01)


def posts_since(team: Team, offset: int) -> int:
    return team.gateway.log.read_bytes()[offset:].decode(errors="replace").count("POST /v1/chat/completions")


async def test_backend_killed_mid_run(team: Team, reference: str, tmp_path: Path) -> None:
    session = await start_session(team, tmp_path / "lsp")
    killed = None
    try:
        # 1. a long answer starts streaming; the backend serving it dies at its first token
        long_uri = session.open(tmp_path / "bank.py", LONG_SOURCE)
        counts, gateway_offset = team.counts(), team.gateway.log.stat().st_size
        job = asyncio.ensure_future(session.generate(long_uri, 1))
        await first_token(session)
        serving = team.serving(counts)
        assert len(serving) == 1, f"expected one backend streaming, got {[b.name for b in serving]}"
        killed = serving[0]
        killed.kill()
        answer = await asyncio.wait_for(job, 120)
        # the started answer is not replayed: it fails, the document is untouched, and exactly
        # one request left codegen-lsp for it (no retry of ours, no restart by LiteLLM)
        assert answer["status"] == "failed", answer
        assert session.texts[long_uri] == LONG_SOURCE
        assert session.edits == []
        assert posts_since(team, gateway_offset) == 1
        assert sum(team.counts()) == sum(counts) + 1

        # 2. every later request succeeds through LiteLLM's failover, each with one clean answer
        survivor = next(b for b in team.backends if b is not killed)
        for _ in range(2):
            uri = session.open(shapes_path(team), SOURCE)
            answer = await session.generate(uri, COMMENT_LINE)
            assert answer["status"] == "applied", answer
            assert code(inserted(session.texts[uri])) == code(reference)
            session.close(uri)
        assert [code(edit) for edit in session.edits] == [code(reference)] * 2
        assert survivor.requests() >= 2
    finally:
        await session.client.shutdown_session()
    assert_nowhere(team.key, {**session.everything(), **team.logs()})
    # the failed job told the user what happened, in one message
    errors = [m.message for m in session.client.messages if m.type == lsp.MessageType.Error]
    assert len(errors) == 1, errors

    # 3. the CLI too keeps working while a backend is down
    env = home_with_config(tmp_path / "cli", team.gateway.base_url, through_gateway=True)
    env[KEY_VARIABLE] = team.key
    done, text = run_cli(team, env)
    assert done.returncode == 0, done.stderr
    assert code(inserted(text)) == code(reference)
    assert_nowhere(team.key, {"stdout": done.stdout, "stderr": done.stderr, **team.logs()})
    if killed is not None:
        killed.start()  # leave the team whole for whatever runs next
