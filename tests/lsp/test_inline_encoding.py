"""Inline completion in every position encoding: utf-16 (VS Code), utf-8 (Neovim), utf-32 (Emacs).

Each profile declares inline completion; documents mix emoji (two UTF-16 units, four UTF-8
bytes), CJK (three UTF-8 bytes) and CRLF line endings. The expected ranges come from the test
editor's own conversion, written independently of the server's; the suggestion comes back with
the document's line endings, and the model sees code points with ``\\n``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_lsp
from inline_client import (
    SERVER,
    fim_reply,
    fim_requests,
    inline,
    inline_options,
    insert_text,
    start,
    with_inline,
)
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from conftest import Editor
from loopback import LoopbackServer

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest_lsp.fixture(
    scope="module",
    config=SERVER,
    params=[
        pytest.param(("visual_studio_code", "utf-16"), id="vscode-utf16"),
        pytest.param(("neovim@0.11", "utf-8"), id="neovim-utf8"),
        pytest.param(("emacs", "utf-32"), id="emacs-utf32"),
    ],
)
async def inline_client(
    lsp_client: LanguageClient, request: pytest.FixtureRequest, lb: LoopbackServer, workspace: Path
) -> AsyncIterator[None]:
    profile, encoding = request.param
    await start(lsp_client, with_inline(profile), lb, workspace, inline_options(lb))
    assert lsp_client.editor.encoding == encoding  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def editor(inline_client: LanguageClient) -> Iterator[Editor]:
    ed: Editor = inline_client.editor  # type: ignore[attr-defined]
    ed.reset()
    yield ed
    assert ed.loopback.pending == 0, "a scripted reply was not used"


@pytest.mark.parametrize(
    ("marked", "reply", "expected", "prefix", "suffix"),
    [
        pytest.param(
            "greeting = '😀 日本'\r\nlabel = greeting + '字😀' + █\r\nprint(label)\r\n",
            "name\n",
            "name",
            "greeting = '😀 日本'\nlabel = greeting + '字😀' + ",
            "\nprint(label)\n",
            id="line-after-emoji-and-cjk-crlf",
        ),
        pytest.param(
            "def 面積(r):\r\n    █\r\n\r\nprint(面積(2))\r\n",
            "x = '😀'\n    return x\n",
            "x = '😀'\r\n    return x",
            "def 面積(r):\n    ",
            "\n\nprint(面積(2))\n",
            id="block-keeps-crlf",
        ),
        pytest.param(
            "s = '😀'█  # 日本\n",
            " * 2\n",
            " * 2",
            "s = '😀'",
            "  # 日本\n",
            id="emoji-before-and-cjk-after-the-cursor",
        ),
    ],
)
async def test_positions_and_line_endings(
    editor: Editor, marked: str, reply: str, expected: str, prefix: str, suffix: str
) -> None:
    offset = marked.index("█")
    uri = editor.open(marked.replace("█", ""))
    count = len(editor.loopback.requests)
    editor.loopback.script(fim_reply(reply))
    items = await inline(editor, uri, offset)
    assert [insert_text(i) for i in items] == [expected]
    cursor = editor.pos(uri, offset)
    assert items[0].range == lsp.Range(start=cursor, end=cursor)
    (body,) = fim_requests(editor.loopback, count)
    assert (body["prompt"], body["suffix"]) == (prefix, suffix)


async def test_selected_item_after_emoji(editor: Editor) -> None:
    text = "s = '😀日'; s.up\n"
    uri = editor.open(text)
    start_at = text.index("up")
    editor.loopback.script(fim_reply("()\n"))
    items = await inline(editor, uri, start_at + 2, selected=(start_at, start_at + 2, "upper"))
    assert [insert_text(i) for i in items] == ["upper()"]
    assert items[0].range == lsp.Range(start=editor.pos(uri, start_at), end=editor.pos(uri, start_at + 2))
