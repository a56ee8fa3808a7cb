"""Server lifecycle end to end: shutdown during a job, no provider at all, checkProvider."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from codegen_lsp.lsp.commands import Status
from conftest import _HOME, Editor, _make_client, base_options, server_env
from loopback import LoopbackServer, chat_reply, error_reply

pytestmark = pytest.mark.e2e

SOURCE = "# return the sum of a and b\n\n"


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "codegen_lsp.lsp", "warning"],
        client_factory=_make_client,
        server_env=server_env(_HOME),
    ),
)
async def client(lsp_client: LanguageClient, tmp_path: Path) -> AsyncIterator[None]:
    lsp_client.editor = Editor(lsp_client, tmp_path, LoopbackServer())  # type: ignore[attr-defined]
    yield


async def initialize(client: LanguageClient, root: Path, options: dict[str, object]) -> Editor:
    editor: Editor = client.editor  # type: ignore[attr-defined]
    editor.root = root
    await client.initialize_session(
        lsp.InitializeParams(
            capabilities=client_capabilities("visual_studio_code"),
            root_uri=root.as_uri(),
            initialization_options={"codegen": options},
        )
    )
    return editor


async def test_shutdown_closes_the_upstream_stream(
    client: LanguageClient, loopback: LoopbackServer, tmp_path: Path
) -> None:
    editor = await initialize(client, tmp_path, base_options(loopback))
    uri = editor.open(SOURCE)
    loopback.script(chat_reply("```python\n", finish_reason=None, usage=False, done=False, end="hang"))
    arguments = {
        "uri": uri,
        "version": 1,
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
        "action": "generate_from_comment",
    }
    generate = asyncio.ensure_future(
        client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command="codegen.generate", arguments=[arguments])
        )
    )
    assert await asyncio.to_thread(loopback.wait_requests, 1, 5.0)
    await asyncio.sleep(0.1)
    asked = time.monotonic()
    await client.shutdown_async(None)
    assert await loopback.async_wait_disconnected(2.0)
    assert time.monotonic() - asked < 0.2
    # The command is answered too (cancelled), never left hanging.
    done, _ = await asyncio.wait({generate}, timeout=2.0)
    assert done
    client.exit(None)
    assert editor.texts[uri] == SOURCE


async def test_without_a_provider_actions_list_and_explain_setup(
    client: LanguageClient, tmp_path: Path
) -> None:
    # autoLocal off: the embedded model, when installed, would otherwise count as configured.
    editor = await initialize(client, tmp_path, {"autoLocal": False})
    uri = editor.open(SOURCE)
    cursor = editor.cursor_at(uri, "# return")
    actions = await editor.actions(uri, cursor)
    assert [a.title for a in actions] == ["Codegen: Generate code from comment"]
    result = await editor.execute("codegen.generate", actions[0].command.arguments[0])
    assert result["status"] == Status.FAILED
    (message,) = editor.messages(lsp.MessageType.Error)
    assert "no model provider is configured" in message and "codegen.provider" in message
    await client.shutdown_session()


async def test_check_provider_reports_success_and_failure(
    client: LanguageClient, loopback: LoopbackServer, tmp_path: Path
) -> None:
    editor = await initialize(client, tmp_path, {**base_options(loopback), "apiKey": "sk-test-SECRET"})
    loopback.script(chat_reply("OK"))
    result = await editor.execute("codegen.checkProvider")
    assert result["ok"] is True and "works" in result["message"]
    loopback.script(error_reply(401, "Incorrect API key provided: sk-test-SECRET"))
    result = await editor.execute("codegen.checkProvider")
    assert result["ok"] is False and "401" in result["message"]
    assert all("SECRET" not in m for m in editor.messages())
    assert loopback.requests[0].headers["authorization"] == "Bearer sk-test-SECRET"
    await client.shutdown_session()


def _silent_client() -> LanguageClient:
    """An editor like ALE 3.3: it never answers workspace/applyEdit."""
    from pytest_lsp.client import make_test_lsp_client

    client = make_test_lsp_client()

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    async def apply_edit(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        # Far longer than the server waits; short enough not to hold up the session's teardown.
        await asyncio.sleep(3)
        return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason="too late")

    return client


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "codegen_lsp.lsp", "warning"],
        client_factory=_silent_client,
        server_env=server_env(_HOME),
    ),
)
async def silent_client(lsp_client: LanguageClient, tmp_path: Path) -> AsyncIterator[None]:
    lsp_client.editor = Editor(lsp_client, tmp_path, LoopbackServer())  # type: ignore[attr-defined]
    yield


async def test_an_editor_that_never_answers_apply_edit_does_not_hang_the_job(
    silent_client: LanguageClient, loopback: LoopbackServer, tmp_path: Path
) -> None:
    editor = await initialize(silent_client, tmp_path, {**base_options(loopback), "applyTimeout": 0.5})
    uri = editor.open(SOURCE)
    loopback.script(chat_reply("```python\ndef add(a, b):\n    return a + b\n```\n"))
    started = time.monotonic()
    result = await editor.execute("codegen.generate", {
        "uri": uri,
        "version": 1,
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
        "action": "generate_from_comment",
    })  # fmt: skip
    assert result["status"] == Status.UNCONFIRMED
    assert time.monotonic() - started < 5
    (warning,) = editor.messages(lsp.MessageType.Warning)
    assert "did not confirm the edit (no answer within 0.5 s)" in warning
    assert len(loopback.requests) == 1
    await asyncio.sleep(3.2)  # the late answer arrives and is ignored: no retry, no second message
    assert len(editor.messages(lsp.MessageType.Warning)) == 1
    await silent_client.shutdown_session()
