"""Live insertion (``streamEdits``) against editors that say no: every ending leaves the document as it was.

An editor may answer a streamed edit with a JSON-RPC error (eglot does when the user declines a
server edit), with ``applied: false``, late or never; the user may cancel while an edit is in
flight, the provider may fail mid-answer, and the final replacement may be refused too. In
every case the lines streamed so far are removed (or, where the editor refuses even that, the
user is told they were left), the work-done progress ends, and the user is told what happened.
Each case runs under VS Code (utf-16) and Neovim 0.11 (utf-8).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from lsp_editor import (  # noqa: F401 (fixtures)
    ADD,
    ADDED,
    PY,
    Declined,
    Editor,
    editor_client_fixture,
    editor_fixture,
    generate,
    hanging,
    progress_ended,
    slow,
    started,
    wait_until,
    warnings,
    workspace_fixture,
)
from lsprotocol import types as lsp

from codegen_lsp.lsp.commands import Status
from loopback import chat_chunk, sse_event, sse_reply

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

Answer = Callable[[Editor, lsp.ApplyWorkspaceEditParams], Awaitable[lsp.ApplyWorkspaceEditResult]]


def nth_edit(n: int, answer: Answer) -> Callable[[Editor], Callable[..., Any]]:
    """An editor hook that applies every edit but the ``n``-th (1-based), which ``answer`` answers."""

    def install(editor: Editor) -> Callable[..., Any]:
        async def hook(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
            editor.edits.append(params)
            if len(editor.edits) == n:
                return await answer(editor, params)
            editor.edits.pop()
            return editor.apply(params)

        return hook

    return install


async def decline(editor: Editor, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
    raise Declined(message="User cancelled server edit", code=-32603)  # eglot 1.9's answer


async def decline_unknown(
    editor: Editor, params: lsp.ApplyWorkspaceEditParams
) -> lsp.ApplyWorkspaceEditResult:
    raise Declined(message="", code=-32001)


async def refuse(editor: Editor, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
    return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason="read-only buffer")


async def never(editor: Editor, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
    await asyncio.sleep(2.0)  # past applyTimeout; never applied
    return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason="too late")


APPLY_TIMEOUT = 0.6

#: (the hook, its edit number, the status, words the warning must hold)
REFUSALS = [
    pytest.param(decline, 1, Status.REJECTED, "User cancelled server edit", id="error-on-the-first-line"),
    pytest.param(decline, 2, Status.REJECTED, "User cancelled server edit", id="error-on-the-second-line"),
    pytest.param(decline_unknown, 2, Status.REJECTED, "error", id="error-without-a-message"),
    pytest.param(refuse, 2, Status.REJECTED, "read-only buffer", id="applied-false"),
    pytest.param(never, 2, Status.UNCONFIRMED, "did not confirm", id="no-answer"),
]


@pytest.mark.parametrize(("answer", "n", "status", "words"), REFUSALS)
async def test_a_refused_streamed_edit_restores_the_document(
    editor: Editor, answer: Answer, n: int, status: Status, words: str
) -> None:
    async with editor.configured(streamEdits=True, applyTimeout=APPLY_TIMEOUT):
        uri = editor.open(PY)
        before = len(editor.loopback.requests)
        editor.loopback.script(slow(*ADD, delay=0.2))
        editor.answer = nth_edit(n, answer)(editor)
        result = await generate(editor, uri)
        assert result["status"] == status, result
        await wait_until(lambda: editor.texts[uri] == PY, within=3.0)
        assert progress_ended(editor, result["jobId"])
        (warning,) = warnings(editor)
        assert words in warning and "internal error" not in warning.lower()
        assert len(editor.loopback.requests) == before + 1


async def test_a_refused_undo_is_reported(editor: Editor) -> None:
    async with editor.configured(streamEdits=True):
        uri = editor.open(PY)
        editor.loopback.script(slow(*ADD, delay=0.2))
        streamed: list[str] = []

        async def hook(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
            editor.edits.append(params)
            if len(editor.edits) == 1:
                editor.edits.pop()
                result = editor.apply(params)
                streamed.append(editor.texts[uri])
                return result
            raise Declined(message="User cancelled server edit", code=-32603)  # the line, then its removal

        editor.answer = hook
        result = await generate(editor, uri)
        assert result["status"] == Status.REJECTED, result
        assert editor.texts[uri] == streamed[0] != PY  # the editor kept the line it accepted
        assert progress_ended(editor, result["jobId"])
        assert any("left in place" in w for w in warnings(editor))


async def test_cancel_while_a_streamed_edit_is_in_flight(editor: Editor) -> None:
    async with editor.configured(streamEdits=True):
        uri = editor.open(PY)
        before = len(editor.loopback.requests)
        editor.loopback.script(hanging("```python\n", "def add(a, b):\n", "    x = 1\n"))
        in_flight = asyncio.Event()

        async def slow_answer(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
            in_flight.set()
            await asyncio.sleep(0.3)
            return editor.apply(params)

        editor.answer = slow_answer
        job = generate(editor, uri)
        await started(editor, before)
        await asyncio.wait_for(in_flight.wait(), 5.0)
        await editor.execute("codegen.cancel", uri)
        result = await job
        assert result["status"] == Status.CANCELLED, result
        await wait_until(lambda: editor.texts[uri] == PY)
        assert progress_ended(editor, result["jobId"])


async def test_a_provider_error_mid_stream_removes_the_lines(editor: Editor) -> None:
    async with editor.configured(streamEdits=True):
        uri = editor.open(PY)
        editor.loopback.script(
            sse_reply(
                [
                    sse_event(chat_chunk("```python\ndef add(a, b):\n    x = 1\n")),
                    sse_event(chat_chunk("    y = 2\n")),
                    sse_event({"error": {"message": "upstream overloaded", "code": 502}}),
                ],
                token_delay=0.3,
            )
        )
        result = await generate(editor, uri)
        assert result["status"] == Status.FAILED, result
        assert editor.texts[uri] == PY
        assert progress_ended(editor, result["jobId"])
        assert any("overloaded" in m for m in editor.messages(lsp.MessageType.Error))


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        pytest.param(decline, "User cancelled server edit", id="error"),
        pytest.param(refuse, "read-only buffer", id="applied-false"),
    ],
)
async def test_a_refused_final_replacement_removes_the_lines(
    editor: Editor, answer: Answer, words: str
) -> None:
    async with editor.configured(streamEdits=True):
        uri = editor.open(PY)
        editor.loopback.script(slow(*ADD, delay=0.1))
        final: list[bool] = []

        async def hook(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
            # the final replacement is the first edit that replaces text it did not insert
            if not final and "return a + b" in editor.texts[uri] and _replaces(editor, uri, params):
                final.append(True)
                editor.edits.append(params)
                return await answer(editor, params)
            return editor.apply(params)

        editor.answer = hook
        result = await generate(editor, uri)
        assert final, "no final replacement was sent"
        assert result["status"] == Status.REJECTED, result
        assert editor.texts[uri] == PY
        assert progress_ended(editor, result["jobId"])
        assert any(words in w for w in warnings(editor))


def _replaces(editor: Editor, uri: str, params: lsp.ApplyWorkspaceEditParams) -> bool:
    edits = [
        e for c in params.edit.document_changes or [] if isinstance(c, lsp.TextDocumentEdit) for e in c.edits
    ]
    edits += list((params.edit.changes or {}).get(uri, []))
    return any(e.range.start != e.range.end and e.new_text for e in edits)


async def test_streaming_without_trouble_still_applies(editor: Editor) -> None:
    # the control case for the hooks above: the same answer, an editor that says yes
    async with editor.configured(streamEdits=True):
        uri = editor.open(PY)
        editor.loopback.script(slow(*ADD, delay=0.1))
        result = await generate(editor, uri)
        assert result["status"] == Status.APPLIED, result
        assert editor.texts[uri] == ADDED
        assert progress_ended(editor, result["jobId"])
        assert not warnings(editor)
