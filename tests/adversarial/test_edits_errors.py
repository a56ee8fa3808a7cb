"""Unclear endings made clear: an editor's error answer, an empty or malformed model answer.

An editor may answer ``workspace/applyEdit`` with a JSON-RPC error instead of ``applied: false``
(eglot does when the user declines), or with no result at all; a provider may answer with no
choices, with ``content`` that is not a string, or with an empty code block. Each
ending is told to the user in words that say what happened (never "internal error"), the
document is left as it was, and the command's answer carries a status that says the same. Each
case runs under VS Code (utf-16) and Neovim 0.11 (utf-8).
"""

from __future__ import annotations

from typing import Any

import pytest
from lsp_editor import (  # noqa: F401 (fixtures)
    ADD,
    PY,
    Declined,
    Editor,
    editor_client_fixture,
    editor_fixture,
    generate,
    progress_ended,
    warnings,
    workspace_fixture,
)
from lsprotocol import types as lsp

from codegen_lsp.lsp.commands import Status
from loopback import chat_chunk, chat_reply, sse_event, sse_reply

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

FUNC = "def area(r):\n    pass\n\nprint(area(2))\n"


def told(editor: Editor) -> list[str]:
    """Everything shown to the user as a warning or an error."""
    return editor.messages(lsp.MessageType.Warning) + editor.messages(lsp.MessageType.Error)


# --- the editor answers workspace/applyEdit with an error -----------------------------------------


@pytest.mark.parametrize(
    ("code", "message", "words"),
    [
        pytest.param(-32603, "User cancelled server edit", "User cancelled server edit", id="eglot-decline"),
        pytest.param(-32800, "Request cancelled", "Request cancelled", id="request-cancelled"),
        pytest.param(-32001, "buffer is read-only", "buffer is read-only", id="unknown-code"),
        pytest.param(-32603, "", "error", id="no-message"),
        pytest.param(-32603, "x" * 5000, "xxxx", id="huge-message"),
    ],
)
async def test_an_error_answer_to_the_edit_is_explained(
    editor: Editor, code: int, message: str, words: str
) -> None:
    uri = editor.open(PY)
    editor.loopback.script(chat_reply(*ADD))

    async def answer(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        editor.edits.append(params)
        raise Declined(message=message, code=code)

    editor.answer = answer
    result = await generate(editor, uri)
    assert result["status"] == Status.REJECTED, result
    assert editor.texts[uri] == PY
    (warning,) = told(editor)
    assert words in warning and "error" in warning
    assert "internal error" not in warning.lower() and "JsonRpc" not in warning
    assert len(warning) < 1000, "the editor's text is quoted, not dumped"
    assert progress_ended(editor, result["jobId"])
    assert len(editor.edits) == 1, "an error answer is final: no retry"


async def test_an_edit_answered_without_a_result_is_explained(editor: Editor) -> None:
    uri = editor.open(PY)
    editor.loopback.script(chat_reply(*ADD))

    async def answer(params: lsp.ApplyWorkspaceEditParams) -> Any:
        return None  # "result": null

    editor.answer = answer
    result = await generate(editor, uri)
    assert result["status"] == Status.UNCONFIRMED, result
    (warning,) = told(editor)
    assert "did not confirm" in warning and "internal error" not in warning.lower()
    assert progress_ended(editor, result["jobId"])


# --- the model's answer is empty or not text ------------------------------------------------------


def events(*deltas: dict[str, Any]) -> Any:
    """A 200 stream of raw chunk objects, then a finish chunk and [DONE]."""
    return sse_reply(
        [*(sse_event(d) for d in deltas), sse_event(chat_chunk(finish_reason="stop")), sse_event("[DONE]")]
    )


def content(value: Any) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": value}}],
    }


EMPTY_ANSWERS = [
    pytest.param(sse_reply([sse_event("[DONE]")]), id="only-done"),
    pytest.param(events({"id": "c", "choices": []}, {"id": "c", "choices": []}), id="no-choices"),
    pytest.param(events({"id": "c", "choices": None}), id="null-choices"),
    pytest.param(events(content(42)), id="number-content"),
    pytest.param(events(content(["def add(a, b):"])), id="list-content"),
    pytest.param(events(content({"text": "def add(a, b):"})), id="object-content"),
    pytest.param(events(content(None)), id="null-content"),
    pytest.param(chat_reply("   \n\n  "), id="whitespace"),
    pytest.param(chat_reply("```python\n```\n"), id="empty-code-block"),
]


@pytest.mark.parametrize("reply", EMPTY_ANSWERS)
async def test_an_empty_answer_is_always_told(editor: Editor, reply: Any) -> None:
    uri = editor.open(PY)
    editor.loopback.script(reply)
    result = await generate(editor, uri)
    assert result["status"] == Status.FAILED, result
    assert editor.texts[uri] == PY and not editor.edits
    (message,) = told(editor)
    assert "answer" in message and ("empty" in message or "no code" in message)
    assert result.get("message") == message
    assert progress_ended(editor, result["jobId"])


@pytest.mark.parametrize(
    ("title", "reply"),
    [
        pytest.param("Explain", events(content(42)), id="explain-number-content"),
        pytest.param("Explain", chat_reply(" \n "), id="explain-whitespace"),
        pytest.param("Write tests", events({"id": "c", "choices": []}), id="tests-no-choices"),
        pytest.param("Write tests", chat_reply("```python\n```"), id="tests-empty-code-block"),
    ],
)
async def test_an_empty_answer_shows_or_creates_nothing(editor: Editor, title: str, reply: Any) -> None:
    uri = editor.open(FUNC)
    editor.loopback.script(reply)
    result = await editor.run_action(uri, editor.range_of(uri, "def area(r):\n    pass"), title)
    assert result["status"] == Status.FAILED, result
    assert editor.texts[uri] == FUNC and not editor.created and not editor.edits
    (message,) = told(editor)
    assert "answer" in message and ("empty" in message or "no code" in message)
    assert not editor.messages(lsp.MessageType.Info)
