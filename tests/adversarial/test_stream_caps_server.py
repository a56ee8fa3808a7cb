"""Hostile upstreams through the language server: each job ends, the document as it was.

The server runs as a subprocess under pytest-lsp with ``streamEdits`` on (the harder path: code
goes into the document while it streams, and must come out again) and the limits of
:mod:`hostile_streams`. A small editor here applies every ``workspace/applyEdit`` to its own
copy and reports it back with ``didChange``, as a real one does. After every endless or
oversized answer the command answers ``failed`` with the clear message, the user was shown it,
the progress ended, and the document is exactly as before. A 429 with Retry-After shows in the
job's progress ("rate-limited by …, retrying in 1.0 s") before the answer lands.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import hostile_streams as hs
import pytest
import pytest_lsp
from lsp_session import initialize, server_env
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from loopback import LoopbackServer

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

SOURCE = "import math\n\n# Return the sum of a and b.\n\nprint(math.pi)\n"
COMMENT_LINE = 2


def offset(text: str, position: lsp.Position) -> int:
    """ASCII text with ``\\n`` line ends: every encoding counts code points."""
    lines = text.split("\n")
    return sum(len(line) + 1 for line in lines[: position.line]) + position.character


class Editor:
    """Applies the server's edits to its copy and reports them back, like an editor."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.edits = 0

    def open(self, uri: str, text: str) -> None:
        self.texts[uri], self.versions[uri] = text, 1
        self.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )

    def apply(self, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        self.edits += 1
        for item in params.edit.document_changes or []:
            assert isinstance(item, lsp.TextDocumentEdit)
            uri = item.text_document.uri
            if item.text_document.version not in (None, self.versions[uri]):
                return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason="stale version")
            edits = sorted(
                (e for e in item.edits if isinstance(e, lsp.TextEdit)),
                key=lambda e: (e.range.start.line, e.range.start.character),
                reverse=True,
            )
            for edit in edits:  # last first: the earlier ranges stay valid
                text = self.texts[uri]
                start, end = offset(text, edit.range.start), offset(text, edit.range.end)
                self.texts[uri] = text[:start] + edit.new_text + text[end:]
            self.versions[uri] += 1
            self.client.text_document_did_change(
                lsp.DidChangeTextDocumentParams(
                    text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                    content_changes=[
                        lsp.TextDocumentContentChangePartial(range=e.range, text=e.new_text) for e in edits
                    ],
                )
            )
        return lsp.ApplyWorkspaceEditResult(applied=True)


def _make_client() -> LanguageClient:
    from pytest_lsp.client import make_test_lsp_client

    client = make_test_lsp_client()

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        editor: Editor = client.editor  # type: ignore[attr-defined]
        return editor.apply(params)

    return client


_HOME = Path(tempfile.mkdtemp(prefix="codegen-lsp-caps-"))


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "codegen_lsp.lsp", "warning"],
        client_factory=_make_client,
        server_env=server_env(_HOME, PYTHONUNBUFFERED="1"),
    ),
)
async def client(lsp_client: LanguageClient, lb: LoopbackServer) -> AsyncIterator[LanguageClient]:
    lsp_client.editor = Editor(lsp_client)  # type: ignore[attr-defined]
    limits = hs.settings_table()
    options = {
        "baseUrl": lb.base_url,
        "model": "loopback-model",
        "streamEdits": True,
        "timeouts": {"firstToken": hs.FIRST_TOKEN, "idle": hs.IDLE, "total": hs.TOTAL, "connect": 2},
        "maxAnswerChars": limits["max_answer_chars"],
    }
    await initialize(lsp_client, _HOME, options)
    yield lsp_client
    await lsp_client.shutdown_session()


_names = iter(range(10**6))


async def generate(client: LanguageClient) -> tuple[str, dict[str, Any]]:
    """Open a new document and run generate-from-comment on it; (uri, the command's answer)."""
    editor: Editor = client.editor  # type: ignore[attr-defined]
    uri = (_HOME / f"calc_{next(_names)}.py").as_uri()
    editor.open(uri, SOURCE)
    point = {"line": COMMENT_LINE, "character": 0}
    arguments = {
        "uri": uri,
        "version": 1,
        "range": {"start": point, "end": point},
        "action": "generate_from_comment",
    }
    answer = await asyncio.wait_for(
        client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command="codegen.generate", arguments=[arguments])
        ),
        hs.TOTAL + 20,
    )
    return uri, answer


def progress_messages(client: LanguageClient, token: str) -> list[str]:
    return [getattr(r, "message", None) or "" for r in client.progress_reports.get(token, [])]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in hs.CASES])
async def test_a_capped_job_fails_clearly_and_leaves_the_document(
    client: LanguageClient, lb: LoopbackServer, case: hs.Case
) -> None:
    editor: Editor = client.editor  # type: ignore[attr-defined]
    lb.disconnected.clear()
    client.messages.clear()
    reply = case.reply()
    lb.script(reply)
    edits_before = editor.edits
    uri, answer = await generate(client)
    assert answer["status"] == "failed", answer
    assert case.says in answer["message"]
    assert editor.texts[uri] == SOURCE  # whatever was streamed in came out again
    if case.streams_lines:
        assert editor.edits - edits_before >= 2  # lines went in, and one edit took them out
    shown = [m.message for m in client.messages if m.type == lsp.MessageType.Error]
    assert any(case.says in m for m in shown), shown
    reports = client.progress_reports[answer["jobId"]]
    assert isinstance(reports[-1], lsp.WorkDoneProgressEnd)
    assert await lb.async_wait_disconnected(5)
    if case.refused_early:
        assert isinstance(reply.stream, hs.Endless)
        assert reply.stream.bytes_taken() < hs.REFUSED_WITHIN


async def test_a_429_wait_shows_in_the_progress(client: LanguageClient, lb: LoopbackServer) -> None:
    editor: Editor = client.editor  # type: ignore[attr-defined]
    lb.script(hs.rate_limited(1), hs.answer("def add(a, b):\n", "    return a + b\n"))
    uri, answer = await generate(client)
    assert answer["status"] == "applied", answer
    messages = progress_messages(client, answer["jobId"])
    waits = [m for m in messages if re.fullmatch(r"rate-limited by \S+, retrying in 1\.0 s \(attempt 2\)", m)]
    assert waits, messages
    assert "    return a + b\n" in editor.texts[uri]
