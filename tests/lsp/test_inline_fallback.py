"""The completion fallback under a client without inline completion (Neovim 0.11's profile, as
Helix and eglot also lack it), opted into with ``inline.completionFallback``.

A slow model never holds the completion list up: the answer comes within ``completionWait``,
incomplete, and the suggestion is there on the next request; the item replaces the identifier
being typed with itself plus the suggestion (so the editor's filter keeps it), multi-line
suggestions keep their indentation, and typing through a suggestion asks no model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_lsp
from inline_client import SERVER, fim_reply, fim_requests, inline_options, settle, start
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient, client_capabilities

from conftest import Editor
from loopback import LoopbackServer

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

WAIT = 0.1


@pytest_lsp.fixture(scope="module", config=SERVER)
async def fallback_client(
    lsp_client: LanguageClient, lb: LoopbackServer, workspace: Path
) -> AsyncIterator[None]:
    options = inline_options(lb, completionFallback=True, completionWait=WAIT)
    result = await start(lsp_client, client_capabilities("neovim@0.11"), lb, workspace, options)
    lsp_client.initialize_result = result  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def editor(fallback_client: LanguageClient) -> Iterator[Editor]:
    ed: Editor = fallback_client.editor  # type: ignore[attr-defined]
    ed.reset()
    yield ed
    assert ed.loopback.pending == 0, "a scripted reply was not used"


async def complete(editor: Editor, uri: str, offset: int) -> lsp.CompletionList:
    answer = await editor.client.text_document_completion_async(
        lsp.CompletionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=editor.pos(uri, offset)
        )
    )
    assert isinstance(answer, lsp.CompletionList)
    assert answer.is_incomplete  # always: the editor asks again as the user types
    return answer


async def complete_when_ready(editor: Editor, uri: str, offset: int) -> lsp.CompletionItem:
    for _ in range(40):
        answer = await complete(editor, uri, offset)
        if answer.items:
            (item,) = answer.items
            return item
        await asyncio.sleep(0.05)
    raise AssertionError("no suggestion came")


async def test_advertised_on_opt_in(editor: Editor) -> None:
    result: lsp.InitializeResult = editor.client.initialize_result  # type: ignore[attr-defined]
    assert result.capabilities.completion_provider is not None


async def test_a_slow_model_never_holds_the_list_up(editor: Editor) -> None:
    text = "def add(a, b):\n    return ad\n"
    uri = editor.open(text)
    offset = text.index("ad\n") + 2
    count = len(editor.loopback.requests)
    editor.loopback.script(fim_reply("d(a, b)\n", delay=1.5))
    started = time.perf_counter()
    first = await complete(editor, uri, offset)
    assert time.perf_counter() - started < 1.0  # answered long before the model could
    assert not first.items
    # the request runs on; once it has answered, the same cursor gets the suggestion
    item = await complete_when_ready(editor, uri, offset)
    assert len(fim_requests(editor.loopback, count)) == 1
    assert item.label == "add(a, b)"
    assert item.filter_text is not None and item.filter_text.startswith("ad")
    assert item.text_edit == lsp.TextEdit(
        range=lsp.Range(start=editor.pos(uri, offset - 2), end=editor.pos(uri, offset)), new_text="add(a, b)"
    )


async def test_typing_through_the_item(editor: Editor) -> None:
    text = "def add(a, b):\n    return \n"
    uri = editor.open(text)
    offset = text.index("return ") + 7
    editor.loopback.script(fim_reply("a + b\n"))
    item = await complete_when_ready(editor, uri, offset)
    assert item.text_edit is not None and item.text_edit.new_text == "a + b"
    count = len(editor.loopback.requests)
    editor.type(uri, offset, offset, "a")
    item = await complete_when_ready(editor, uri, offset + 1)
    assert item.text_edit is not None and item.text_edit.new_text == "a + b"
    assert item.text_edit.range.start == editor.pos(uri, offset)
    assert len(editor.loopback.requests) == count


async def test_multi_line_item(editor: Editor) -> None:
    text = "def area(r):\n    \n"
    uri = editor.open(text)
    offset = text.index("\n    \n") + 5
    editor.loopback.script(fim_reply("x = r * r\n    return 3.14 * x\n"))
    item = await complete_when_ready(editor, uri, offset)
    assert item.label == "x = r * r …"
    assert item.text_edit is not None and item.text_edit.new_text == "x = r * r\n    return 3.14 * x"
    assert item.insert_text_mode == lsp.InsertTextMode.AsIs


async def test_nothing_when_turned_off(editor: Editor) -> None:
    editor.configure(inline={"provider": "fim", "completionFallback": False})
    uri = editor.open("x = \n")
    count = len(editor.loopback.requests)
    answer = await editor.client.text_document_completion_async(
        lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=editor.pos(uri, 4))
    )
    assert not answer
    await asyncio.sleep(0.2)
    assert len(editor.loopback.requests) == count
    editor.configure()
    await settle(editor.loopback, count)
