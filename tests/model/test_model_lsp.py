"""The language server with the embedded model: generate from a comment, and cancel mid-generation.

``codegen-lsp serve`` runs as a subprocess under pytest-lsp with VS Code's capabilities and
settings that select the ``local`` provider at temperature 0. The test client behaves like an
editor: it keeps its own copy of the document, applies ``workspace/applyEdit`` to it and reports
the change back with ``didChange`` (live streaming waits for that echo). Documents are ASCII, so
UTF-16 positions equal code points.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from model_checks import SERVER_MODEL_ALIAS, assert_clean_code, inserted_between, model_env
from pygls.protocol.json_rpc import JsonRPCResponseMessage
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from codegen_lsp.lsp.commands import Status

pytestmark = [pytest.mark.model, pytest.mark.asyncio(loop_scope="module")]

BEFORE = "import math\n\n# Return the area of a circle of radius r.\n"
AFTER = "\nprint(area(2.0))\n"
# The model keeps writing for a long time here (it fills max_tokens), so a cancel lands mid-stream.
LONG = "# Define forty functions f1 to f40; each one returns its own number.\n\nprint(f1())\n"


class Document:
    """The client's copy of one open document."""

    def __init__(self, client: LanguageClient, uri: str, text: str) -> None:
        self.client, self.uri, self.text, self.version = client, uri, text, 1
        self.applied: list[lsp.ApplyWorkspaceEditParams] = []

    def offset(self, position: lsp.Position) -> int:
        lines = self.text.split("\n")
        return sum(len(line) + 1 for line in lines[: position.line]) + position.character

    def apply(self, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        self.applied.append(params)
        edits: list[lsp.TextEdit] = []
        for change in params.edit.document_changes or []:
            assert isinstance(change, lsp.TextDocumentEdit)
            if change.text_document.version not in (None, self.version):
                return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason="stale version")
            edits += [e for e in change.edits if isinstance(e, lsp.TextEdit)]
        edits += list((params.edit.changes or {}).get(self.uri, []))
        spans = sorted(
            ((self.offset(e.range.start), self.offset(e.range.end), e) for e in edits), reverse=True
        )
        for start, end, edit in spans:  # last first, so earlier offsets stay valid
            self.text = self.text[:start] + edit.new_text + self.text[end:]
        self.version += 1
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=[
                    lsp.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)
                    for _, _, edit in spans
                ],
            )
        )
        return lsp.ApplyWorkspaceEditResult(applied=True)


def _make_client() -> LanguageClient:
    from pytest_lsp.client import make_test_lsp_client

    client = make_test_lsp_client()
    client.documents = {}  # type: ignore[attr-defined]

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)  # type: ignore[untyped-decorator]
    def apply_edit(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        uris = {
            c.text_document.uri for c in params.edit.document_changes or [] if hasattr(c, "text_document")
        }
        uris |= set((params.edit.changes or {}).keys())
        (uri,) = uris
        document: Document = client.documents[uri]  # type: ignore[attr-defined]
        return document.apply(params)

    return client


def _server_env(home: Path) -> dict[str, str]:
    return {**model_env(home), "PYTHONUNBUFFERED": "1"}


OPTIONS: dict[str, Any] = {
    "provider": "local",
    "providers": {"local": {"type": "local", "temperature": 0.0}},
    "actions": {"generate_from_comment": {"maxTokens": 200}},
}


@pytest_lsp.fixture(  # type: ignore[untyped-decorator]
    scope="module",
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "codegen_lsp", "serve"],
        client_factory=_make_client,
        server_env=_server_env(Path(os.environ.get("TMPDIR", "/tmp"))),
    ),
)
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[None]:
    root = tmp_path_factory.mktemp("lsp-model")
    lsp_client.root = root  # type: ignore[attr-defined]
    lsp_client.set_configuration(OPTIONS, section="codegen")
    await lsp_client.initialize_session(
        lsp.InitializeParams(
            capabilities=client_capabilities("visual_studio_code"),
            root_uri=root.as_uri(),
            initialization_options={"codegen": OPTIONS},
        )
    )
    yield
    await lsp_client.shutdown_session()


def open_document(client: LanguageClient, name: str, text: str) -> Document:
    uri = (client.root / name).as_uri()  # type: ignore[attr-defined]
    document = Document(client, uri, text)
    client.documents[uri] = document  # type: ignore[attr-defined]
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    return document


async def generate_command(client: LanguageClient, document: Document, line: int) -> lsp.Command:
    cursor = lsp.Range(start=lsp.Position(line, 2), end=lsp.Position(line, 2))
    params = lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=document.uri),
        range=cursor,
        context=lsp.CodeActionContext(diagnostics=[]),
    )
    msg_id = f"code-action-{document.uri}-{time.monotonic_ns()}"
    future = client.protocol.send_request(lsp.TEXT_DOCUMENT_CODE_ACTION, params, msg_id=msg_id)
    # lsprotocol would read a CodeAction whose command carries an object argument as a Command:
    # take the raw answer and structure CodeActions, which is all this server sends.
    client.protocol._result_types[msg_id] = JsonRPCResponseMessage
    raw = await asyncio.wrap_future(future)
    actions = [client.protocol._converter.structure(item, lsp.CodeAction) for item in raw or []]
    chosen = [a for a in actions if "from comment" in a.title]
    assert chosen, f"no generate-from-comment action in {[a.title for a in actions]}"
    command = chosen[0].command
    assert command is not None
    return command


async def execute(client: LanguageClient, command: lsp.Command) -> Any:
    return await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command=command.command, arguments=command.arguments)
    )


async def wait_until(predicate: Callable[[], bool], what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {within:g} s")
        await asyncio.sleep(0.05)


def tokens_reported(client: LanguageClient) -> int:
    """The highest token count in the server's progress reports ("<model>: N tokens")."""
    counts = [0]
    for reports in client.progress_reports.values():
        for report in reports:
            if isinstance(report, lsp.WorkDoneProgressReport) and report.message:
                words = report.message.split()
                if len(words) >= 2 and words[-1] == "tokens" and words[-2].isdigit():
                    counts.append(int(words[-2]))
    return max(counts)


def configure(client: LanguageClient, **changes: Any) -> None:
    """Push the ``codegen`` settings (OPTIONS with ``changes``), as an editor does on a change.

    The client answers ``workspace/configuration`` with the same settings, like a real editor:
    the server's own pull after ``initialized`` may be answered after this push arrived.
    """
    section = {**OPTIONS, **changes}
    client.set_configuration(section, section="codegen")
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings={"codegen": section}))


def assert_code_below_comment(text: str) -> None:
    assert_clean_code(inserted_between(text, BEFORE, AFTER))


async def test_generate_from_comment_inserts_code_below_the_comment(client: LanguageClient) -> None:
    configure(client)
    document = open_document(client, "shapes.py", BEFORE + AFTER)
    result = await execute(client, await generate_command(client, document, 2))
    assert result["status"] == Status.APPLIED, result
    assert_code_below_comment(document.text)


async def test_generate_from_comment_through_llama_cpp_server(
    client: LanguageClient, llama_server: str
) -> None:
    server = {"baseUrl": llama_server, "model": SERVER_MODEL_ALIAS, "temperature": 0.0}
    configure(client, provider="llamacpp", providers={**OPTIONS["providers"], "llamacpp": server})
    try:
        document = open_document(client, "shapes_server.py", BEFORE + AFTER)
        result = await execute(client, await generate_command(client, document, 2))
    finally:
        configure(client)
    assert result["status"] == Status.APPLIED, result
    assert_code_below_comment(document.text)


@pytest.mark.parametrize("stream_edits", [False, True], ids=["whole-edit", "stream-edits"])
async def test_cancel_mid_generation_leaves_the_document_as_it_was(
    client: LanguageClient, stream_edits: bool
) -> None:
    configure(client, streamEdits=stream_edits)
    document = open_document(client, f"long_{stream_edits}.py", LONG)
    command = await generate_command(client, document, 0)
    client.progress_reports.clear()
    job = asyncio.ensure_future(execute(client, command))

    await wait_until(lambda: job.done() or tokens_reported(client) >= 30, "30 tokens")
    assert not job.done(), job.result()
    if stream_edits:
        # Live insertion really did touch the document before the cancel.
        await wait_until(lambda: bool(document.applied), "a live edit")

    cancelled_at = time.monotonic()
    answer = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="codegen.cancel", arguments=[document.uri])
    )
    assert answer is not None and len(answer["cancelled"]) == 1, answer
    result = await asyncio.wait_for(job, 10)
    elapsed = time.monotonic() - cancelled_at
    assert result["status"] == Status.CANCELLED, result
    print(f"cancel → job answered in {elapsed * 1000:.0f} ms")
    assert elapsed < 2.0, f"the job ended {elapsed:.2f} s after the cancel"
    assert document.text == LONG
    if not stream_edits:
        assert not document.applied

    # The model was released: the next job runs at once, not after the cancelled one's tokens.
    short = open_document(client, f"after_{stream_edits}.py", BEFORE + AFTER)
    result = await asyncio.wait_for(execute(client, await generate_command(client, short, 2)), 30)
    assert result["status"] == Status.APPLIED, result
