"""codegen.generate end to end: every action, the user's edits meanwhile, cancels, failures.

The server runs as a subprocess under the VS Code (utf-16) and Neovim 0.11 (utf-8) capability
profiles against the scripted loopback provider; the test editor applies the server's edits to
its own copy of each document, so every test asserts the text the user would see.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from lsprotocol import types as lsp

from codegen_lsp.lsp.commands import Status
from conftest import Editor, wait_until
from loopback import Pause, chat_chunk, chat_reply, error_reply, sse_event, sse_reply

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

PY = "import os\n\n# return the sum of a and b\n\nprint(1)\n"
ADD = ("```python\n", "def add(a, b):\n", "    return a + b\n", "```\n")
ADDED = "import os\n\n# return the sum of a and b\ndef add(a, b):\n    return a + b\n\nprint(1)\n"
FUNC = "def area(r):\n    pass\n\nprint(area(2))\n"


def slow(*texts: str, delay: float = 0.15) -> Any:
    return chat_reply(*texts, token_delay=delay)


def hanging(*texts: str) -> Any:
    """A stream that sends ``texts`` and then nothing until the client goes away."""
    return chat_reply(*texts, finish_reason=None, usage=False, done=False, end="hang")


async def started(editor: Editor, before: int) -> None:
    """Wait until the provider received the job's request."""
    assert await asyncio.to_thread(editor.loopback.wait_requests, before + 1, 5.0)


def errors(editor: Editor) -> list[str]:
    return editor.messages(lsp.MessageType.Error)


# --- each action ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle", "title", "reply", "expected"),
    [
        pytest.param(PY, None, "Generate code from comment", ADD, ADDED, id="generate-from-comment"),
        pytest.param(
            FUNC,
            "def area(r):\n    pass",
            "Implement",
            ("```python\ndef area(r):\n    return 3.14159 * r * r\n```",),
            "def area(r):\n    return 3.14159 * r * r\n\nprint(area(2))\n",
            id="implement",
        ),
        pytest.param(
            FUNC,
            "def area(r):\n    pass",
            "Rewrite selection",
            ("```python\ndef area(radius):\n    pass\n```",),
            "def area(radius):\n    pass\n\nprint(area(2))\n",
            id="rewrite",
        ),
        pytest.param(
            FUNC,
            "def area(r):\n    pass",
            "Add documentation",
            ('```python\ndef area(r):\n    """Area of a circle."""\n    pass\n```',),
            'def area(r):\n    """Area of a circle."""\n    pass\n\nprint(area(2))\n',
            id="document",
        ),
    ],
)
async def test_edit_actions(
    editor: Editor, text: str, needle: str | None, title: str, reply: tuple[str, ...], expected: str
) -> None:
    uri = editor.open(text)
    rng = editor.range_of(uri, needle) if needle else editor.cursor_at(uri, "# return")
    editor.loopback.script(chat_reply(*reply))
    result = await editor.run_action(uri, rng, title)
    assert result["status"] == Status.APPLIED, result
    assert editor.texts[uri] == expected
    (edit,) = editor.edits
    assert edit.label and edit.label.startswith("Codegen: ")
    # Work-done progress: titled after the action, reporting the model, then ended.
    token = f"codegen-{result['jobId'].split('-')[1]}"
    reports = editor.client.progress_reports[token]
    assert isinstance(reports[0], lsp.WorkDoneProgressBegin) and reports[0].title.startswith("Codegen: ")
    assert isinstance(reports[-1], lsp.WorkDoneProgressEnd)
    assert "loopback-model" in (reports[-1].message or "") and "tokens" in (reports[-1].message or "")
    if editor.document_changes:
        # Versioned documentChanges with the version the document had when the edit was sent.
        (change,) = edit.edit.document_changes or []
        assert change.text_document.version == 1
    else:
        assert list((edit.edit.changes or {}).keys()) == [uri]


async def test_fix_uses_the_diagnostic(editor: Editor) -> None:
    uri = editor.open("x = undefined_name + 1\n")
    diagnostic = lsp.Diagnostic(range=editor.range_of(uri, "undefined_name"), message="Undefined name")
    before = len(editor.loopback.requests)
    editor.loopback.script(chat_reply("```python\nx = 0 + 1\n```"))
    result = await editor.run_action(
        uri, editor.cursor_at(uri, "undefined"), "Fix: Undefined", diagnostics=[diagnostic]
    )
    assert result["status"] == Status.APPLIED
    assert editor.texts[uri] == "x = 0 + 1\n"
    prompt = str(editor.loopback.requests[before].json["messages"])
    assert "Undefined name" in prompt


async def test_explain_shows_the_answer(editor: Editor) -> None:
    uri = editor.open(FUNC)
    editor.loopback.script(chat_reply("It computes the **area** of a circle."))
    result = await editor.run_action(uri, editor.range_of(uri, "def area(r):\n    pass"), "Explain")
    assert result["status"] == Status.SHOWN
    assert editor.texts[uri] == FUNC and not editor.edits
    assert any("area** of a circle" in m for m in editor.messages(lsp.MessageType.Info))


async def test_tests_action_creates_a_file(editor: Editor) -> None:
    uri = editor.open(FUNC)
    editor.loopback.script(chat_reply("```python\ndef test_area():\n    assert area(1) > 3\n```"))
    result = await editor.run_action(uri, editor.range_of(uri, "def area(r):\n    pass"), "Write tests")
    assert editor.texts[uri] == FUNC
    if not editor.create_files:
        # No resource operations: the tests are shown instead.
        assert result["status"] == Status.SHOWN, result
        assert any("def test_area" in m for m in editor.messages(lsp.MessageType.Info))
        return
    assert result["status"] == Status.APPLIED, result
    assert editor.created[result["uri"]] == "def test_area():\n    assert area(1) > 3\n"
    assert result["uri"].startswith(editor.root.as_uri())


async def test_user_defined_action(editor: Editor) -> None:
    editor.configure(
        actions={"shout": {"title": "Shout it", "prompt": "Uppercase this:\n{selection}", "apply": "replace"}}
    )
    uri = editor.open("greeting = 'hello'\n")
    before = len(editor.loopback.requests)
    editor.loopback.script(chat_reply("```python\nGREETING = 'HELLO'\n```"))
    await wait_until(lambda: True)
    rng = editor.range_of(uri, "greeting = 'hello'")
    for _ in range(50):  # the pushed settings take a moment to arrive
        if any(a.title == "Codegen: Shout it" for a in await editor.actions(uri, rng)):
            break
        await asyncio.sleep(0.02)
    result = await editor.run_action(uri, rng, "Shout it")
    assert result["status"] == Status.APPLIED, result
    assert editor.texts[uri] == "GREETING = 'HELLO'\n"
    assert (
        "Uppercase this:\ngreeting = 'hello'"
        in editor.loopback.requests[before].json["messages"][-1]["content"]
    )
    editor.configure()


async def test_invalid_settings_warn_and_keep_serving(editor: Editor) -> None:
    editor.configure(context={"linesBefore": "many"})
    await wait_until(lambda: bool(editor.messages(lsp.MessageType.Warning)))
    assert (
        "linesBefore" in editor.messages(lsp.MessageType.Warning)[0]
        or "lines_before" in editor.messages(lsp.MessageType.Warning)[0]
    )
    uri = editor.open(PY)
    editor.loopback.script(chat_reply(*ADD))
    result = await editor.run_action(uri, editor.cursor_at(uri, "# return"), "Generate code from comment")
    assert result["status"] == Status.APPLIED
    editor.configure()


# --- positions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle", "expected"),
    [
        pytest.param("s = '😀😀' + f(x)\n", "f(x)", "s = '😀😀' + g(y)\n", id="emoji-before-selection"),
        pytest.param("名前 = 値(x)\n", "値(x)", "名前 = g(y)\n", id="cjk"),
        pytest.param("e\u0301 = f(x)\n", "f(x)", "e\u0301 = g(y)\n", id="combining-mark"),
        pytest.param(
            "a = 1\r\n# 😀\r\nb = f(x)\r\nc = 3\r\n",
            "f(x)",
            "a = 1\r\n# 😀\r\nb = g(y)\r\nc = 3\r\n",
            id="crlf",
        ),
    ],
)
async def test_unicode_and_crlf_positions(editor: Editor, text: str, needle: str, expected: str) -> None:
    uri = editor.open(text)
    editor.loopback.script(chat_reply("```python\ng(y)\n```"))
    result = await editor.run_action(uri, editor.range_of(uri, needle), "Rewrite selection")
    assert result["status"] == Status.APPLIED, result
    assert editor.texts[uri] == expected


async def test_crlf_multiline_answer_keeps_crlf(editor: Editor) -> None:
    uri = editor.open("# add a and b\r\n\r\nx = 1\r\n")
    editor.loopback.script(chat_reply(*ADD))
    result = await editor.run_action(uri, editor.cursor_at(uri, "# add"), "Generate code from comment")
    assert result["status"] == Status.APPLIED
    assert editor.texts[uri] == "# add a and b\r\ndef add(a, b):\r\n    return a + b\r\n\r\nx = 1\r\n"


# --- the user edits while the model writes ----------------------------------------------------


async def test_edit_above_moves_the_answer(editor: Editor) -> None:
    uri = editor.open(PY)
    before = len(editor.loopback.requests)
    editor.loopback.script(slow(*ADD))
    job = asyncio.ensure_future(
        editor.run_action(uri, editor.cursor_at(uri, "# return"), "Generate code from comment")
    )
    await started(editor, before)
    editor.type(uri, 0, 0, "import sys  # 😀\n")
    editor.type(uri, len(editor.texts[uri]), len(editor.texts[uri]), "print(2)\n")
    result = await job
    assert result["status"] == Status.APPLIED, result
    assert editor.texts[uri] == "import sys  # 😀\n" + ADDED + "print(2)\n"


async def test_edit_inside_the_target_refuses(editor: Editor) -> None:
    uri = editor.open(FUNC)
    before = len(editor.loopback.requests)
    editor.loopback.script(slow("```python\n", "def area(r):\n", "    return 0\n", "```\n"))
    job = asyncio.ensure_future(
        editor.run_action(uri, editor.range_of(uri, "def area(r):\n    pass"), "Implement")
    )
    await started(editor, before)
    offset = editor.texts[uri].index("pass")
    editor.type(uri, offset, offset + 4, "return 1")
    result = await job
    assert result["status"] == Status.CONFLICT, result
    assert editor.texts[uri] == FUNC.replace("pass", "return 1")
    assert any("edited meanwhile" in m for m in editor.messages(lsp.MessageType.Warning))


async def test_typing_during_the_round_trip_retries_with_the_new_version(editor: Editor) -> None:
    if not editor.document_changes:
        pytest.skip("plain `changes` carry no version: no client can refuse a stale edit")
    uri = editor.open(PY)
    editor.loopback.script(chat_reply(*ADD))
    typed: list[bool] = []

    def type_first(params: lsp.ApplyWorkspaceEditParams) -> None:
        if not typed:
            typed.append(True)
            editor.type(uri, 0, 0, "#!\n")  # the edit in flight now carries a stale version

    editor.before_apply = type_first
    result = await editor.run_action(uri, editor.cursor_at(uri, "# return"), "Generate code from comment")
    assert result["status"] == Status.APPLIED, result
    assert editor.texts[uri] == "#!\n" + ADDED
    assert len(editor.edits) == 2


# --- cancelling -----------------------------------------------------------------------------------


async def _cancel_case(editor: Editor, how: str) -> tuple[Any, float]:
    uri = editor.open(PY)
    before = len(editor.loopback.requests)
    editor.loopback.script(hanging("```python\n", "def add(a, b):\n"))
    params = lsp.ExecuteCommandParams(
        command="codegen.generate",
        arguments=[
            {
                "uri": uri,
                "version": 1,
                "range": editor.client.protocol._converter.unstructure(editor.cursor_at(uri, "# return")),
                "action": "generate_from_comment",
            }
        ],
    )
    msg_id = f"generate-{how}-{before}"
    future = asyncio.wrap_future(
        editor.client.protocol.send_request(lsp.WORKSPACE_EXECUTE_COMMAND, params, msg_id=msg_id)
    )
    await started(editor, before)
    await asyncio.sleep(0.1)
    cancelled_at = time.monotonic()
    if how == "command":
        answer = await editor.execute("codegen.cancel", uri)
        assert len(answer["cancelled"]) == 1
    elif how == "progress":
        tokens = [
            t
            for t, reports in editor.client.progress_reports.items()
            if reports and not any(isinstance(r, lsp.WorkDoneProgressEnd) for r in reports)
        ]
        assert len(tokens) == 1, editor.client.progress_reports
        begin = editor.client.progress_reports[tokens[0]][0]
        assert begin.title == "Codegen: Generate code from comment" and begin.cancellable
        editor.client.window_work_done_progress_cancel(lsp.WorkDoneProgressCancelParams(token=tokens[0]))
    else:
        editor.client.cancel_request(lsp.CancelParams(id=msg_id))
    assert await editor.loopback.async_wait_disconnected(2.0)
    elapsed = time.monotonic() - cancelled_at
    try:
        result = await future
    except Exception as exc:  # $/cancelRequest: the request is answered with RequestCancelled
        result = exc
    assert editor.texts[uri] == PY
    return result, elapsed


@pytest.mark.parametrize("how", ["command", "progress", "cancel-request"])
async def test_cancel_closes_the_upstream_stream(editor: Editor, how: str) -> None:
    result, elapsed = await _cancel_case(editor, how)
    assert elapsed < 0.2, f"upstream closed {elapsed * 1000:.0f} ms after the cancel"
    if how == "cancel-request":
        assert "cancel" in str(result).lower()
    else:
        assert result["status"] == Status.CANCELLED
    assert not errors(editor)


async def test_overlapping_job_replaces_the_older(editor: Editor) -> None:
    uri = editor.open(PY)
    before = len(editor.loopback.requests)
    editor.loopback.script(hanging("```python\n"), chat_reply(*ADD))
    cursor = editor.cursor_at(uri, "# return")
    first = asyncio.ensure_future(editor.run_action(uri, cursor, "Generate code from comment"))
    await started(editor, before)
    second = await editor.run_action(uri, cursor, "Generate code from comment")
    assert second["status"] == Status.APPLIED
    result = await first
    assert result["status"] == Status.CANCELLED and "replaced" in result["message"]
    assert editor.texts[uri] == ADDED


async def test_concurrent_jobs_in_two_documents(editor: Editor) -> None:
    one, two = editor.open(PY), editor.open(FUNC)
    editor.loopback.script(
        slow(*ADD, delay=0.05), slow("```python\ndef area(r):\n    return r\n```", delay=0.05)
    )
    results = await asyncio.gather(
        editor.run_action(one, editor.cursor_at(one, "# return"), "Generate code from comment"),
        editor.run_action(two, editor.range_of(two, "def area(r):\n    pass"), "Implement"),
    )
    assert [r["status"] for r in results] == [Status.APPLIED, Status.APPLIED]
    assert editor.texts[one] == ADDED
    assert editor.texts[two] == "def area(r):\n    return r\n\nprint(area(2))\n"


# --- provider failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replies", "status", "needle"),
    [
        pytest.param([error_reply(401, "Incorrect API key provided")], Status.FAILED, "401", id="401"),
        pytest.param(
            [error_reply(429, "slow down", headers={"Retry-After": "0"}), chat_reply(*ADD)],
            Status.APPLIED,
            None,
            id="429-then-success",
        ),
        pytest.param(
            [
                sse_reply(
                    [
                        sse_event(chat_chunk("```python\ndef add(a, b):\n")),
                        sse_event({"error": {"message": "upstream overloaded", "code": 502}}),
                    ]
                )
            ],
            Status.FAILED,
            "overloaded",
            id="mid-stream-error",
        ),
        pytest.param(
            [sse_reply([sse_event(chat_chunk("```python\n")), Pause(5.0)])],
            Status.FAILED,
            None,
            id="stall",
        ),
    ],
)
async def test_provider_failures(
    editor: Editor, replies: list[Any], status: Status, needle: str | None
) -> None:
    uri = editor.open(PY)
    editor.loopback.script(*replies)
    result = await editor.run_action(uri, editor.cursor_at(uri, "# return"), "Generate code from comment")
    assert result["status"] == status, result
    if status == Status.APPLIED:
        assert editor.texts[uri] == ADDED
        assert not errors(editor)
        return
    assert editor.texts[uri] == PY
    (message,) = errors(editor)
    if needle:
        assert needle in message
    assert "sk-" not in message
    # The server keeps serving after a failure.
    assert await editor.actions(uri, editor.cursor_at(uri, "# return"))


# --- live streaming -------------------------------------------------------------------------------


async def test_stream_edits_line_by_line(editor: Editor) -> None:
    async with editor.configured(streamEdits=True):
        uri = editor.open(PY)
        editor.loopback.script(slow(*ADD, delay=0.1))
        result = await editor.run_action(uri, editor.cursor_at(uri, "# return"), "Generate code from comment")
        assert result["status"] == Status.APPLIED, result
        assert editor.texts[uri] == ADDED
        assert len(editor.edits) >= 3  # live lines, then the final cleaned replacement


@pytest.mark.parametrize("stream_edits", [False, True], ids=["whole-edit", "stream-edits"])
async def test_a_bash_block_before_the_code_never_reaches_the_document(
    editor: Editor, stream_edits: bool
) -> None:
    # issue 9: the live lines and the final edit come from one cleanup, which passes over the bash block
    async with editor.configured(streamEdits=stream_edits):
        uri = editor.open(PY)
        editor.loopback.script(
            slow("Install it:\n", "```bash\n", "pip install numpy\n", "```\n", *ADD, delay=0.05)
        )
        result = await editor.run_action(uri, editor.cursor_at(uri, "# return"), "Generate code from comment")
        assert result["status"] == Status.APPLIED, result
        assert editor.texts[uri] == ADDED
        assert "pip install" not in repr(editor.edits)


async def test_stream_edits_cancel_restores_the_document(editor: Editor) -> None:
    async with editor.configured(streamEdits=True):
        uri = editor.open(PY)
        before = len(editor.loopback.requests)
        editor.loopback.script(hanging("```python\n", "def add(a, b):\n", "    x = 1\n"))
        job = asyncio.ensure_future(
            editor.run_action(uri, editor.cursor_at(uri, "# return"), "Generate code from comment")
        )
        await started(editor, before)
        await wait_until(lambda: "def add(a, b):" in editor.texts[uri])
        editor.type(uri, 0, 0, "# typed above\n")
        await editor.execute("codegen.cancel")
        result = await job
        assert result["status"] == Status.CANCELLED
        assert editor.texts[uri] == "# typed above\n" + PY


@pytest.mark.parametrize("stream_edits", [False, True], ids=["whole-edit", "stream-edits"])
async def test_an_answer_of_comments_only_is_reported_and_leaves_the_document(
    editor: Editor, stream_edits: bool
) -> None:
    # issue 11: a coder model may answer a comment with more comment lines; nothing is applied
    async with editor.configured(streamEdits=stream_edits):
        uri = editor.open(PY)
        editor.loopback.script(
            slow("```python\n", "# add two numbers\n", "# and return the sum\n", "```\n", delay=0.05)
        )
        result = await editor.run_action(uri, editor.cursor_at(uri, "# return"), "Generate code from comment")
        assert result["status"] == Status.FAILED, result
        assert "brought no new code" in result["message"]
        assert editor.texts[uri] == PY
