"""textDocument/inlineCompletion end to end: the server as a subprocess under a VS Code profile that
declares inline completion, its own scripted FIM provider on loopback.

One line and a block, the selected completion item, typing through a suggestion without a model
call, a newer cursor superseding an older request (which is answered, empty, at once), the
debounce, ``$/cancelRequest`` closing the upstream request, automatic requests in the middle of
code, one message for many failures, closing the document, and the setting that turns it off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_lsp
from inline_client import (
    SERVER,
    fim_reply,
    fim_requests,
    inline,
    inline_options,
    inline_params,
    insert_text,
    settle,
    start,
    with_inline,
)
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from conftest import Editor, wait_until
from loopback import LoopbackServer, error_reply

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

ADD = "def add(a, b):\n    return \n\nprint(add(1, 2))\n"
AT_RETURN = ADD.index("return ") + len("return ")


@pytest_lsp.fixture(scope="module", config=SERVER)
async def inline_client(
    lsp_client: LanguageClient, lb: LoopbackServer, workspace: object
) -> AsyncIterator[None]:
    result = await start(lsp_client, with_inline("visual_studio_code"), lb, workspace, inline_options(lb))  # type: ignore[arg-type]
    lsp_client.initialize_result = result  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def editor(inline_client: LanguageClient) -> Iterator[Editor]:
    ed: Editor = inline_client.editor  # type: ignore[attr-defined]
    ed.reset()
    ed.configure()  # back to the initialization options
    yield ed
    assert ed.loopback.pending == 0, "a scripted reply was not used"


def warnings(editor: Editor) -> list[str]:
    return editor.messages(lsp.MessageType.Warning)


async def test_advertised(editor: Editor) -> None:
    result: lsp.InitializeResult = editor.client.initialize_result  # type: ignore[attr-defined]
    assert result.capabilities.inline_completion_provider
    # the completion fallback is opt-in
    assert result.capabilities.completion_provider is None


async def test_one_line(editor: Editor) -> None:
    uri = editor.open(ADD)
    count = len(editor.loopback.requests)
    # the suggestion is complete at its line end: the rest of the stream is never waited for
    editor.loopback.script(fim_reply("a", " + b", "\n    # more", hang=True))
    items = await inline(editor, uri, AT_RETURN)
    assert [insert_text(i) for i in items] == ["a + b"]
    cursor = editor.pos(uri, AT_RETURN)
    assert items[0].range == lsp.Range(start=cursor, end=cursor)
    (body,) = fim_requests(editor.loopback, count)
    assert body["prompt"] == "def add(a, b):\n    return "
    assert body["suffix"] == "\n\nprint(add(1, 2))\n"
    assert (body["model"], body["stop"], body["max_tokens"]) == ("fim-model", ["\n"], 64)
    assert await editor.loopback.async_wait_disconnected(2)


async def test_block(editor: Editor) -> None:
    text = "def area(r):\n    \n\nprint(area(2))\n"
    uri = editor.open(text)
    offset = text.index("\n    \n") + 5
    count = len(editor.loopback.requests)
    editor.loopback.script(fim_reply("x = r * r\n", "    return 3.14159 * x\n", "def other():\n"))
    items = await inline(editor, uri, offset)
    assert [insert_text(i) for i in items] == ["x = r * r\n    return 3.14159 * x"]
    (body,) = fim_requests(editor.loopback, count)
    assert (body["stop"], body["max_tokens"]) == (["\n\n\n"], 256)


async def test_selected_completion_item(editor: Editor) -> None:
    """The item selected in the completion list is part of the prefix; the answer extends it
    over the same range, as VS Code requires."""
    text = "import os\n\nos.pa\n"
    uri = editor.open(text)
    start_at = text.index("pa")
    count = len(editor.loopback.requests)
    editor.loopback.script(fim_reply(".join('a', 'b')\n"))
    items = await inline(editor, uri, start_at + 2, selected=(start_at, start_at + 2, "path"))
    assert [insert_text(i) for i in items] == ["path.join('a', 'b')"]
    assert items[0].range == lsp.Range(start=editor.pos(uri, start_at), end=editor.pos(uri, start_at + 2))
    (body,) = fim_requests(editor.loopback, count)
    assert body["prompt"] == "import os\n\nos.path"
    assert body["suffix"] == "\n"


async def test_typing_through_asks_no_model(editor: Editor) -> None:
    uri = editor.open(ADD)
    editor.loopback.script(fim_reply("a + b\n"))
    assert [insert_text(i) for i in await inline(editor, uri, AT_RETURN, automatic=True)] == ["a + b"]
    count = len(editor.loopback.requests)
    for typed, rest in (("a", " + b"), (" +", " b")):
        at = AT_RETURN + len(editor.texts[uri]) - len(ADD)
        editor.type(uri, at, at, typed)
        at += len(typed)
        started = time.perf_counter()
        items = await inline(editor, uri, at, automatic=True)
        assert [insert_text(i) for i in items] == [rest]
        assert time.perf_counter() - started < 1.0
    assert len(editor.loopback.requests) == count
    # a character the suggestion did not say: the model is asked again
    at = AT_RETURN + 3
    editor.type(uri, at, at, "-")
    editor.loopback.script(fim_reply(" c\n"))
    assert [insert_text(i) for i in await inline(editor, uri, at + 1, automatic=True)] == [" c"]
    assert fim_requests(editor.loopback, count)[0]["prompt"].endswith("return a +-")


async def test_another_cursor_supersedes(editor: Editor) -> None:
    uri = editor.open(ADD)
    count = len(editor.loopback.requests)
    editor.loopback.script(fim_reply("a", hang=True), fim_reply("2, 3\n"))
    older = asyncio.ensure_future(inline(editor, uri, AT_RETURN, automatic=True))
    await settle(editor.loopback, count + 1)
    # the user goes elsewhere: the older upstream request is of no use any more
    at = editor.texts[uri].index("1, 2") + 3
    editor.type(uri, at, at + 1, "")
    started = time.perf_counter()
    newer = await inline(editor, uri, at, automatic=True)
    assert await asyncio.wait_for(older, 1.0) == []  # answered, empty, not left hanging
    assert [insert_text(i) for i in newer] == ["2, 3"]
    assert time.perf_counter() - started < 2.0
    assert await editor.loopback.async_wait_disconnected(2)
    assert editor.loopback.requests[count].disconnected


async def test_typing_on_waits_for_the_flight(editor: Editor) -> None:
    """Keys typed while a suggestion is on its way: when it starts with them, it answers the
    newer cursor too, and no second request goes out."""
    uri = editor.open(ADD)
    count = len(editor.loopback.requests)
    editor.loopback.script(fim_reply("a", " + b\n", token_delay=0.4))
    older = asyncio.ensure_future(inline(editor, uri, AT_RETURN, automatic=True))
    await settle(editor.loopback, count + 1)
    editor.type(uri, AT_RETURN, AT_RETURN, "a")
    newer = await inline(editor, uri, AT_RETURN + 1, automatic=True)
    assert [insert_text(i) for i in newer] == [" + b"]
    assert [insert_text(i) for i in await older] == ["a + b"]
    assert len(fim_requests(editor.loopback, count)) == 1


async def test_typing_on_past_a_wrong_suggestion_asks_again(editor: Editor) -> None:
    uri = editor.open(ADD)
    count = len(editor.loopback.requests)
    editor.loopback.script(fim_reply("a", " + b\n", token_delay=0.4), fim_reply(" * a\n"))
    older = asyncio.ensure_future(inline(editor, uri, AT_RETURN, automatic=True))
    await settle(editor.loopback, count + 1)
    editor.type(uri, AT_RETURN, AT_RETURN, "b")
    newer = await inline(editor, uri, AT_RETURN + 1, automatic=True)
    assert [insert_text(i) for i in newer] == [" * a"]
    await older
    assert [b["prompt"][-8:] for b in fim_requests(editor.loopback, count)] == [" return ", "return b"]


async def test_debounce_skips_the_model_for_quick_keystrokes(editor: Editor) -> None:
    editor.configure(inline={"provider": "fim", "debounce": 0.4})
    uri = editor.open(ADD)
    count = len(editor.loopback.requests)
    editor.loopback.script(fim_reply(" + b\n"))
    first = asyncio.ensure_future(inline(editor, uri, AT_RETURN, automatic=True))
    await asyncio.sleep(0.05)
    editor.type(uri, AT_RETURN, AT_RETURN, "a")
    second = await inline(editor, uri, AT_RETURN + 1, automatic=True)
    assert await first == []
    assert [insert_text(i) for i in second] == [" + b"]
    # one upstream request, for the second cursor only
    assert [b["prompt"][-8:] for b in fim_requests(editor.loopback, count)] == ["return a"]


async def test_cancel_request_closes_upstream(editor: Editor) -> None:
    uri = editor.open(ADD)
    count = len(editor.loopback.requests)
    editor.loopback.script(fim_reply("a", hang=True))
    params = inline_params(editor, uri, AT_RETURN)
    future = editor.client.protocol.send_request(
        lsp.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="inline-cancel"
    )
    await settle(editor.loopback, count + 1)
    editor.client.protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id="inline-cancel"))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(asyncio.wrap_future(future), 2.0)
    assert await editor.loopback.async_wait_disconnected(2)


@pytest.mark.parametrize(
    ("automatic", "asked"),
    [pytest.param(True, False, id="automatic-skips"), pytest.param(False, True, id="invoked-asks")],
)
async def test_middle_of_code(editor: Editor, automatic: bool, asked: bool) -> None:
    text = "total = compute(x)\n"
    uri = editor.open(text)
    count = len(editor.loopback.requests)
    if asked:
        editor.loopback.script(fim_reply("y, \n"))
    items = await inline(editor, uri, text.index("x)"), automatic=automatic)
    assert [insert_text(i) for i in items] == (["y, "] if asked else [])
    assert len(fim_requests(editor.loopback, count)) == (1 if asked else 0)


async def test_failures_tell_once(editor: Editor) -> None:
    uri = editor.open(ADD)
    editor.loopback.script(*(error_reply(500, "the model crashed") for _ in range(3)))
    for typed in ("", "a", "b"):
        at = AT_RETURN + len(editor.texts[uri]) - len(ADD)
        editor.type(uri, at, at, typed)
        assert await inline(editor, uri, at + len(typed)) == []
    await wait_until(lambda: bool(warnings(editor)))
    await asyncio.sleep(0.2)
    (message,) = warnings(editor)
    assert message.startswith("Codegen inline completion:")
    assert "500" in message or "crashed" in message


async def test_closing_the_document_answers_and_closes_upstream(editor: Editor) -> None:
    uri = editor.open(ADD)
    count = len(editor.loopback.requests)
    editor.loopback.script(fim_reply("a", hang=True))
    pending = asyncio.ensure_future(inline(editor, uri, AT_RETURN))
    await settle(editor.loopback, count + 1)
    editor.client.text_document_did_close(lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(uri=uri)))
    assert await asyncio.wait_for(pending, 1.0) == []
    assert await editor.loopback.async_wait_disconnected(2)


async def test_disabled(editor: Editor) -> None:
    editor.configure(inline={"enabled": False})
    uri = editor.open(ADD)
    count = len(editor.loopback.requests)
    assert await inline(editor, uri, AT_RETURN) == []
    assert len(editor.loopback.requests) == count


async def test_completion_fallback_registered_when_turned_on_later(editor: Editor) -> None:
    """VS Code accepts dynamic registration: turning the fallback on registers completion."""
    editor.configure(inline={"provider": "fim", "completionFallback": True})
    await wait_until(lambda: bool(editor.client.registrations))  # type: ignore[attr-defined]
    (registration,) = editor.client.registrations  # type: ignore[attr-defined]
    assert registration.method == lsp.TEXT_DOCUMENT_COMPLETION
    uri = editor.open(ADD)
    count = len(editor.loopback.requests)
    editor.loopback.script(fim_reply("a + b\n"))
    params = lsp.CompletionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=editor.pos(uri, AT_RETURN)
    )
    for _ in range(20):
        answer = await editor.client.text_document_completion_async(params)
        assert isinstance(answer, lsp.CompletionList)
        assert answer.is_incomplete
        if answer.items:
            break
        await asyncio.sleep(0.1)
    assert [item.text_edit.new_text for item in answer.items if item.text_edit] == ["a + b"]
    assert len(fim_requests(editor.loopback, count)) == 1
