"""Edits in the wrong place: typing at the insertion point, an edited instruction, a reopened document.

The user keeps working while the model writes. Generated code never shares a line with what the
user typed at the insertion point (nor at the edge of a replaced selection); an answer to a
comment that changed meanwhile is stale and never applied; a ``didOpen`` of an open document with
other text ends its jobs without writing into the new text. Each case runs under VS Code
(utf-16, versioned ``documentChanges``) and Neovim 0.11 (utf-8, plain ``changes``) against the
server as a subprocess; every assertion is on the text the editor ends up with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from lsp_editor import (  # noqa: F401 (fixtures)
    ADD,
    ADDED,
    CODE,
    PY,
    Editor,
    editor_client_fixture,
    editor_fixture,
    generate,
    progress_ended,
    slow,
    started,
    wait_until,
    warnings,
    workspace_fixture,
)
from lsprotocol import types as lsp

from codegen_lsp.lsp.commands import Status
from loopback import chat_reply

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

COMMENT = "# return the sum of a and b"
FUNC = "def area(r):\n    pass\n\nprint(area(2))\n"
AREA = ("```python\n", "def area(r):\n", "    return 3.14159 * r * r\n", "```\n")
AREA_CODE = "def area(r):\n    return 3.14159 * r * r\n"


@dataclass(frozen=True)
class Typing:
    """The user's edit while the model writes: ``text`` replaces ``length`` code points at the
    offset ``at`` finds in the document as it is when the job starts."""

    at: Callable[[str], int]
    text: str
    length: int = 0


def after(needle: str) -> Callable[[str], int]:
    return lambda text: text.index(needle) + len(needle)


def before(needle: str) -> Callable[[str], int]:
    return lambda text: text.index(needle)


def line_start_below(needle: str) -> Callable[[str], int]:
    """The start of the line after the one holding ``needle``: where generated code goes."""
    return lambda text: text.index("\n", text.index(needle)) + 1


def end(text: str) -> int:
    return len(text)


def shares_a_line(text: str, typed: str, generated: str) -> bool:
    """Whether any line holds both something the user typed and something generated."""
    typed_words = [w for w in typed.split() if w]
    generated_lines = [g.strip() for g in generated.splitlines() if g.strip()]
    return any(
        any(w in line for w in typed_words) and any(g in line for g in generated_lines)
        for line in text.splitlines()
    )


async def run_with_typing(
    editor: Editor, text: str, needle: str, title: str, reply: tuple[str, ...], typing: Typing
) -> tuple[str, dict[str, object]]:
    uri = editor.open(text)
    before_count = len(editor.loopback.requests)
    editor.loopback.script(slow(*reply))
    cursor = editor.cursor_at(uri, needle) if title.startswith("Generate") else editor.range_of(uri, needle)
    job = asyncio.ensure_future(editor.run_action(uri, cursor, title))
    await started(editor, before_count)
    offset = typing.at(editor.texts[uri])
    editor.type(uri, offset, offset + typing.length, typing.text)
    result = await job
    return uri, result


# --- typed at the insertion point: never glued ------------------------------------------------------

GLUE_CASES = [
    pytest.param(
        PY,
        Typing(line_start_below(COMMENT), "foo"),
        f"import os\n\n{COMMENT}\nfoo\n{CODE}\nprint(1)\n",
        id="word-on-the-blank-line",
    ),
    pytest.param(
        f"{COMMENT}\nprint(1)\n",
        Typing(line_start_below(COMMENT), "foo"),
        f"{COMMENT}\nfoo\n{CODE}print(1)\n",
        id="word-before-the-code-below",
    ),
    pytest.param(
        PY,
        Typing(line_start_below(COMMENT), "x = 1\nfoo"),
        f"import os\n\n{COMMENT}\nx = 1\nfoo\n{CODE}\nprint(1)\n",
        id="a-line-and-a-half",
    ),
    pytest.param(
        PY,
        Typing(line_start_below(COMMENT), "    "),
        f"import os\n\n{COMMENT}\n    \n{CODE}\nprint(1)\n",
        id="indentation-only",
    ),
    pytest.param(
        PY,
        Typing(line_start_below(COMMENT), "s = '😀名'"),
        f"import os\n\n{COMMENT}\ns = '😀名'\n{CODE}\nprint(1)\n",
        id="emoji-and-cjk",
    ),
    pytest.param(
        f"{COMMENT}\r\n\r\nprint(1)\r\n",
        Typing(line_start_below(COMMENT), "foo"),
        f"{COMMENT}\r\nfoo\r\n{CODE.replace(chr(10), chr(13) + chr(10))}\r\nprint(1)\r\n",
        id="crlf",
    ),
    pytest.param(
        COMMENT,
        Typing(end, "\n"),
        f"{COMMENT}\n{CODE.rstrip()}",
        id="end-of-document-newline",
    ),
    pytest.param(
        COMMENT,
        Typing(end, "\nfoo"),
        f"{COMMENT}\nfoo\n{CODE.rstrip()}",
        id="end-of-document-word",
    ),
]


@pytest.mark.parametrize(("text", "typing", "expected"), GLUE_CASES)
async def test_typed_at_the_insertion_point_stays_on_its_own_line(
    editor: Editor, text: str, typing: Typing, expected: str
) -> None:
    uri, result = await run_with_typing(editor, text, "# return", "Generate code from comment", ADD, typing)
    assert result["status"] == Status.APPLIED, result
    assert editor.texts[uri] == expected
    assert not shares_a_line(editor.texts[uri], typing.text, CODE)


@pytest.mark.parametrize(
    ("typing", "expected"),
    [
        pytest.param(
            Typing(after("pass"), "  # todo"),
            f"{AREA_CODE}  # todo\n\nprint(area(2))\n",
            id="after-the-last-line",
        ),
        pytest.param(
            Typing(before("def area"), "foo"),
            f"foo\n{AREA_CODE}\nprint(area(2))\n",
            id="before-the-first-line",
        ),
    ],
)
async def test_typed_at_the_edge_of_a_replaced_selection_stays_on_its_own_line(
    editor: Editor, typing: Typing, expected: str
) -> None:
    uri, result = await run_with_typing(editor, FUNC, "def area(r):\n    pass", "Implement", AREA, typing)
    assert result["status"] == Status.APPLIED, result
    assert editor.texts[uri] == expected


async def test_typed_at_the_insertion_point_during_the_round_trip(editor: Editor) -> None:
    uri = editor.open(PY)
    editor.loopback.script(chat_reply(*ADD))
    point = line_start_below(COMMENT)(PY)

    def type_first(params: lsp.ApplyWorkspaceEditParams) -> None:
        if len(editor.edits) == 1:
            editor.type(uri, point, point, "foo")  # the edit in flight was made for the text before

    editor.before_apply = type_first
    result = await generate(editor, uri)
    assert result["status"] == Status.APPLIED, result
    if editor.document_changes:  # the stale version is refused, the retry sees "foo"
        assert editor.texts[uri] == f"import os\n\n{COMMENT}\nfoo\n{CODE}\nprint(1)\n"
    else:  # unversioned: the editor puts it where the server said, in front of "foo"
        assert editor.texts[uri] == f"import os\n\n{COMMENT}\n{CODE}foo\nprint(1)\n"
    assert not shares_a_line(editor.texts[uri], "foo", CODE)


async def test_typed_at_the_insertion_point_before_streamed_lines(editor: Editor) -> None:
    async with editor.configured(streamEdits=True):
        uri, result = await run_with_typing(
            editor,
            PY,
            "# return",
            "Generate code from comment",
            ADD,
            Typing(line_start_below(COMMENT), "foo"),
        )
        assert result["status"] == Status.APPLIED, result
        assert editor.texts[uri] == f"import os\n\n{COMMENT}\nfoo\n{CODE}\nprint(1)\n"
        assert not any("foodef" in e.new_text for e in _text_edits(editor))


def _text_edits(editor: Editor) -> list[lsp.TextEdit]:
    found: list[lsp.TextEdit] = []
    for params in editor.edits:
        for change in params.edit.document_changes or []:
            if isinstance(change, lsp.TextDocumentEdit):
                found += [e for e in change.edits if isinstance(e, lsp.TextEdit)]
        for edits in (params.edit.changes or {}).values():
            found += edits
    return found


# --- the instruction edited meanwhile: stale, nothing applied ------------------------------------

BLOCK = "x = 0\n# return the sum\n# of a and b\n# as an int\n\nprint(1)\n"

STALE_CASES = [
    pytest.param(PY, "# return", Typing(before("sum"), "product", 3), id="word-replaced"),
    pytest.param(PY, "# return", Typing(after(COMMENT), " times two"), id="appended-to-the-comment"),
    pytest.param(PY, "# return", Typing(before("# return"), "x"), id="prepended-to-the-comment"),
    pytest.param(
        PY, "# return", Typing(line_start_below(COMMENT), "# as floats"), id="comment-line-typed-below"
    ),
    pytest.param(PY, "# return", Typing(before(COMMENT), "", len(COMMENT) + 1), id="comment-deleted"),
    pytest.param(BLOCK, "# return", Typing(before("of a"), "of x", 4), id="middle-of-a-block"),
    pytest.param(
        BLOCK,
        "# as an",
        Typing(before("# as an int"), "", len("# as an int\n")),
        id="line-removed-from-a-block",
    ),
]


@pytest.mark.parametrize(("text", "needle", "typing"), STALE_CASES)
async def test_an_edited_comment_makes_the_answer_stale(
    editor: Editor, text: str, needle: str, typing: Typing
) -> None:
    uri = editor.open(text)
    before_count = len(editor.loopback.requests)
    editor.loopback.script(slow(*ADD))
    job = generate(editor, uri, needle)
    await started(editor, before_count)
    offset = typing.at(editor.texts[uri])
    editor.type(uri, offset, offset + typing.length, typing.text)
    edited = editor.texts[uri]
    result = await job
    assert result["status"] == Status.STALE, result
    assert editor.texts[uri] == edited, "nothing may be applied"
    assert not editor.edits
    (warning,) = warnings(editor)
    assert "comment" in warning and "not applied" in warning
    assert progress_ended(editor, result["jobId"])


@pytest.mark.parametrize(
    ("typing", "expected"),
    [
        pytest.param(
            Typing(before("import os"), "import sys\n"), "import sys\n" + ADDED, id="line-added-above"
        ),
        pytest.param(
            Typing(after("print(1)"), " # done"),
            ADDED.replace("print(1)", "print(1) # done"),
            id="code-below-edited",
        ),
        pytest.param(
            Typing(after(COMMENT), "\nx = 1"),
            f"import os\n\n{COMMENT}\nx = 1\n{CODE}\nprint(1)\n",
            id="code-line-typed-below",
        ),
    ],
)
async def test_edits_beside_the_comment_leave_the_answer_current(
    editor: Editor, typing: Typing, expected: str
) -> None:
    # the control cases: an over-eager staleness check would refuse these
    uri, result = await run_with_typing(editor, PY, "# return", "Generate code from comment", ADD, typing)
    assert result["status"] == Status.APPLIED, result
    assert editor.texts[uri] == expected


async def test_an_edited_selection_is_not_replaced(editor: Editor) -> None:
    uri, result = await run_with_typing(
        editor, FUNC, "def area(r):\n    pass", "Implement", AREA, Typing(before("pass"), "return 1", 4)
    )
    assert result["status"] == Status.CONFLICT, result
    assert editor.texts[uri] == FUNC.replace("pass", "return 1")
    assert not editor.edits
    assert any("edited meanwhile" in w for w in warnings(editor))


async def test_an_edited_comment_removes_streamed_lines(editor: Editor) -> None:
    async with editor.configured(streamEdits=True):
        uri = editor.open(PY)
        before_count = len(editor.loopback.requests)
        editor.loopback.script(slow(*ADD, delay=0.3))
        job = generate(editor, uri)
        await started(editor, before_count)
        await wait_until(lambda: "def add(a, b):" in editor.texts[uri])
        offset = editor.texts[uri].index("sum")
        editor.type(uri, offset, offset + 3, "product")
        result = await job
        assert result["status"] == Status.STALE, result
        assert editor.texts[uri] == PY.replace("sum", "product")
        assert progress_ended(editor, result["jobId"])


# --- a second didOpen without didClose --------------------------------------------------------------

OTHER = "x = 1\ny = 2\n\n\nz = 3\n"


@pytest.mark.parametrize(
    "reopened",
    [
        pytest.param(OTHER, id="unrelated-text"),
        pytest.param("# header\n" + PY, id="same-text-plus-a-line"),
        pytest.param(PY.replace("import os", "import re"), id="one-word-changed-elsewhere"),
    ],
)
async def test_a_reopened_document_ends_its_jobs(editor: Editor, reopened: str) -> None:
    uri = editor.open(PY)
    before_count = len(editor.loopback.requests)
    editor.loopback.script(slow(*ADD, delay=0.3))
    job = generate(editor, uri)
    await started(editor, before_count)
    editor.reopen(uri, reopened)
    result = await job
    assert result["status"] == Status.CANCELLED, result
    assert editor.texts[uri] == reopened
    assert not editor.edits
    assert any("reopened" in w for w in warnings(editor))
    assert progress_ended(editor, result["jobId"])


async def test_a_document_reopened_with_the_same_text_keeps_its_job(editor: Editor) -> None:
    uri = editor.open(PY)
    before_count = len(editor.loopback.requests)
    editor.loopback.script(slow(*ADD))
    job = generate(editor, uri)
    await started(editor, before_count)
    editor.type(uri, 0, 0, "#!\n")  # version 2 ...
    editor.reopen(uri, editor.texts[uri], version=1)  # ... and back to 1 with the same text
    result = await job
    assert result["status"] == Status.APPLIED, result
    assert editor.texts[uri] == "#!\n" + ADDED


@pytest.mark.parametrize(
    ("reopened", "expected"),
    [
        # the reopened text still holds the streamed lines: they are removed where they now are
        pytest.param(
            lambda text: "# header\n" + text, "# header\n" + PY, id="streamed-lines-kept-by-the-editor"
        ),
        # unrelated text: nothing of it is removed
        pytest.param(lambda text: OTHER, OTHER, id="unrelated-text"),
    ],
)
async def test_a_reopened_document_ends_live_streaming(
    editor: Editor, reopened: Callable[[str], str], expected: str
) -> None:
    async with editor.configured(streamEdits=True):
        uri = editor.open(PY)
        before_count = len(editor.loopback.requests)
        editor.loopback.script(slow(*ADD, delay=0.4))
        job = generate(editor, uri)
        await started(editor, before_count)
        await wait_until(lambda: "def add(a, b):" in editor.texts[uri])
        editor.reopen(uri, reopened(editor.texts[uri]))
        result = await job
        assert result["status"] == Status.CANCELLED, result
        assert editor.texts[uri] == expected
        assert progress_ended(editor, result["jobId"])
