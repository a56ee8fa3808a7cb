"""Many jobs in one document at once: every answer lands, each under its own comment.

Five and fifty "generate from comment" jobs run concurrently on as many comments of one file,
the provider answering each after its own delay (so they finish in a random order). Edits to one
document go out one after another, each made for the text the previous one left, so none is
refused for a stale version and none lands in the wrong place, also when the editor reports its
changes late and batched and silently skips stale versioned edits (Neovim 0.11 does both), when
the lines stream in live (also when a job's final edit waits for its turn while others' edits and
the user's typing land), and when the user types meanwhile. Each case runs under VS Code (utf-16)
and Neovim 0.11 (utf-8).
"""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any

import pytest
from lsp_editor import (  # noqa: F401 (fixtures)
    Editor,
    editor_client_fixture,
    editor_fixture,
    wait_until,
    workspace_fixture,
)
from lsprotocol import types as lsp

from codegen_lsp.lsp.commands import Status
from loopback import Pause, RecordedRequest, Reply, chat_chunks, chat_reply, sse_reply

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

#: the comment the prompt names as its task (the generate-from-comment prompt of core/actions.py)
_ASKED = re.compile(r"Task: [^\n]*\n\s*function f(\d+) returns")


def document(count: int) -> str:
    return "".join(f"# function f{n} returns {n}\n\n" for n in range(1, count + 1)) + "print('end')\n"


def answering(seed: int) -> Any:
    """The provider: each request gets the function its comment asks for, after its own delay."""
    rng = random.Random(seed)

    def respond(request: RecordedRequest) -> Reply:
        n = _ASKED.search(request.json["messages"][-1]["content"])
        assert n is not None, request.json["messages"][-1]["content"]
        number = n.group(1)
        return chat_reply(
            "```python\n",
            f"def f{number}():\n",
            f"    return {number}\n",
            "```\n",
            token_delay=rng.uniform(0.0, 0.1),
            delay=0.3 + rng.uniform(0.0, 0.4),  # every command is in before the first answer
        )

    return respond


def expected(count: int, top: str = "") -> str:
    return (
        top
        + "".join(
            f"# function f{n} returns {n}\ndef f{n}():\n    return {n}\n\n" for n in range(1, count + 1)
        )
        + "print('end')\n"
    )


async def run_all(editor: Editor, uri: str, count: int) -> list[dict[str, Any]]:
    """Start one job per comment, all at once, with the arguments a code action would carry."""
    converter = editor.client.protocol._converter
    calls = []
    for n in range(1, count + 1):
        cursor = editor.cursor_at(uri, f"# function f{n} returns")
        argument = {
            "uri": uri,
            "version": editor.versions[uri],
            "range": converter.unstructure(cursor),
            "action": "generate_from_comment",
        }
        calls.append(editor.execute("codegen.generate", argument))
    return list(await asyncio.gather(*calls))


CASES = [
    pytest.param(5, {}, id="5-jobs"),
    pytest.param(50, {}, id="50-jobs"),
    pytest.param(5, {"echo_delay": 0.15, "skip_stale": True}, id="5-jobs-late-batched-echo"),
    pytest.param(50, {"echo_delay": 0.05, "skip_stale": True}, id="50-jobs-late-batched-echo"),
]


@pytest.mark.parametrize(("count", "behaviour"), CASES)
async def test_concurrent_jobs_in_one_document_all_land(
    editor: Editor, count: int, behaviour: dict[str, Any]
) -> None:
    uri = editor.open(document(count))
    editor.loopback.responder = answering(count)
    for name, value in behaviour.items():
        setattr(editor, name, value)
    results = await run_all(editor, uri, count)
    lost = [r for r in results if r["status"] != Status.APPLIED]
    assert not lost, f"{len(lost)} of {count} lost: {lost[:3]}"
    await asyncio.sleep(behaviour.get("echo_delay", 0) * 2)
    assert editor.texts[uri] == expected(count)
    assert not editor.messages(lsp.MessageType.Warning)


async def test_concurrent_jobs_stream_live(editor: Editor) -> None:
    async with editor.configured(streamEdits=True):
        uri = editor.open(document(5))
        editor.loopback.responder = answering(7)
        results = await run_all(editor, uri, 5)
        assert [r["status"] for r in results] == [Status.APPLIED] * 5, results
        assert editor.texts[uri] == expected(5)


async def test_concurrent_jobs_while_the_user_types(editor: Editor) -> None:
    uri = editor.open(document(5))
    editor.loopback.responder = answering(11)
    before = len(editor.loopback.requests)
    jobs = asyncio.ensure_future(run_all(editor, uri, 5))
    assert await asyncio.to_thread(editor.loopback.wait_requests, before + 5, 10.0)  # all started
    editor.type(uri, 0, 0, "\n")  # a new line above every comment, then a word on it, key by key
    typed = ""
    for key in "import os":
        await asyncio.sleep(0.03)
        editor.type(uri, len(typed), len(typed), key)
        typed += key
    typed += "\n"
    results = await jobs
    assert [r["status"] for r in results] == [Status.APPLIED] * 5, results
    assert editor.texts[uri] == expected(5, top=typed)


#: where the user types while f2 waits for its turn, and how f2 ends
TYPED_MEANWHILE = [
    pytest.param("# function f2", Status.APPLIED, id="above-its-streamed-lines"),
    pytest.param("    return 2", Status.CONFLICT, id="into-its-streamed-lines"),
]


@pytest.mark.parametrize(("where", "status"), TYPED_MEANWHILE)
async def test_a_job_waiting_for_its_turn_follows_what_changes_meanwhile(
    editor: Editor, where: str, status: Status
) -> None:
    # The race of five live jobs under load, made to happen: f2's lines are in and its stream has
    # ended, but its final edit waits for the document's turn, because f1's final edit was
    # applied and has not come back yet. The editor then reports f1's edit together with a line
    # the user typed (Neovim batches didChange). Typed above f2's streamed lines, they moved a
    # line down and f2 must find them there; typed into them, f2 must not apply.
    async with editor.configured(streamEdits=True, timeouts={"idle": 3.0}):
        uri = editor.open(document(2))
        f2_request: list[RecordedRequest] = []

        def respond(request: RecordedRequest) -> Reply:
            n = _ASKED.search(request.json["messages"][-1]["content"])
            assert n is not None
            if n.group(1) == "1":  # after f2's lines are in
                return chat_reply("```python\n", "def f1():\n", "    return 1\n", "```\n", delay=0.4)
            f2_request.append(request)
            events = chat_chunks("```python\n", "def f2():\n", "    return 2\n", "```\n")
            # role, fence, both lines; the closing fence (the end) comes after f1's final edit
            return sse_reply([*events[:4], Pause(1.2), *events[4:]])

        async def answer(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
            if any("def f1" in e.new_text and e.range.start != e.range.end for e in _edits(params)):
                editor.hold = True  # f1's final edit: applied, reported later
            return editor.apply(params)

        editor.loopback.responder = respond
        editor.answer = answer
        jobs = asyncio.ensure_future(run_all(editor, uri, 2))
        await wait_until(lambda: editor.hold, within=10.0)
        await wait_until(lambda: bool(f2_request) and (f2_request[0].completed or f2_request[0].disconnected))
        await asyncio.sleep(0.3)  # f2's end reaches the server; its delivery waits for f1's report
        at = editor.texts[uri].index(where)
        editor.type(uri, at, at, "x = 0\n")
        typed = editor.texts[uri]
        editor.release(uri)
        results = await jobs
        assert [r["status"] for r in results] == [Status.APPLIED, status], results
        if status == Status.APPLIED:
            text = expected(2)
            at = text.index(where)
            assert editor.texts[uri] == text[:at] + "x = 0\n" + text[at:]
            assert not editor.messages(lsp.MessageType.Warning)
        else:
            assert editor.texts[uri] == typed  # the user's edit is theirs: nothing written over it
            assert any("edited meanwhile" in w for w in editor.messages(lsp.MessageType.Warning))


def _edits(params: lsp.ApplyWorkspaceEditParams) -> list[lsp.TextEdit]:
    found = [
        e
        for change in params.edit.document_changes or []
        if isinstance(change, lsp.TextDocumentEdit)
        for e in change.edits
        if isinstance(e, lsp.TextEdit)
    ]
    for edits in (params.edit.changes or {}).values():
        found += edits
    return found
