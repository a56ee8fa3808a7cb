"""Which actions the server offers where, over the real protocol (no provider is contacted)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from lsprotocol import types as lsp

from conftest import Editor

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

SOURCE = "import os\n\n# return the sum of a and b\n\ndef add(a, b):\n    pass\n"
SELECTION_TITLES = [
    "Codegen: Rewrite selection",
    "Codegen: Implement",
    "Codegen: Add documentation",
    "Codegen: Explain",
    "Codegen: Write tests",
]


@pytest.mark.parametrize(
    ("needle", "selection", "expected"),
    [
        pytest.param("# return", False, ["Codegen: Generate code from comment"], id="cursor-on-comment"),
        pytest.param(
            "\ndef add", False, ["Codegen: Generate code from comment"], id="blank-line-below-comment"
        ),
        pytest.param("import os", False, [], id="cursor-on-code"),
        pytest.param("def add(a, b):\n    pass", True, SELECTION_TITLES, id="selection"),
    ],
)
async def test_listing(editor: Editor, needle: str, selection: bool, expected: list[str]) -> None:
    uri = editor.open(SOURCE)
    rng = editor.range_of(uri, needle) if selection else editor.cursor_at(uri, needle)
    if needle == "\ndef add":
        rng = lsp.Range(start=lsp.Position(line=3, character=0), end=lsp.Position(line=3, character=0))
    actions = await editor.actions(uri, rng)
    titles = [a.title for a in actions]
    assert [t for t in titles if t in expected or not expected] == expected
    for action in actions:
        assert action.title.startswith("Codegen: ")
        assert action.command.command == "codegen.generate"
        (argument,) = action.command.arguments
        assert argument["uri"] == uri
        assert argument["version"] == 1
        assert argument["range"] == {
            "start": {"line": rng.start.line, "character": rng.start.character},
            "end": {"line": rng.end.line, "character": rng.end.character},
        }


async def test_diagnostic_becomes_a_quickfix(editor: Editor) -> None:
    uri = editor.open("x = undefined_name + 1\n")
    diagnostic = lsp.Diagnostic(
        range=editor.range_of(uri, "undefined_name"),
        message="Undefined name `undefined_name`",
        severity=lsp.DiagnosticSeverity.Error,
        source="ruff",
    )
    actions = await editor.actions(uri, editor.cursor_at(uri, "undefined"), [diagnostic])
    fixes = [a for a in actions if a.kind == lsp.CodeActionKind.QuickFix]
    assert [a.title for a in fixes] == ["Codegen: Fix: Undefined name `undefined_name`"]
    argument = fixes[0].command.arguments[0]
    assert argument["action"] == "fix"
    assert argument["diagnostics"][0]["message"] == "Undefined name `undefined_name`"
    # The whole line is the target: the fix needs the statement, not just the token.
    assert argument["range"]["start"] == {"line": 0, "character": 0}


async def test_listing_is_fast_on_a_huge_document(editor: Editor) -> None:
    body = "".join(f"def f{i}(x):\n    return x + {i}  # 😀 字\n\n" for i in range(34_000))
    uri = editor.open(body + "# sort the list\n")
    cursor = editor.cursor_at(uri, "# sort the list")
    await editor.actions(uri, cursor)  # the first request builds the line index
    started = time.perf_counter()
    for _ in range(5):
        actions = await editor.actions(uri, cursor)
    elapsed = (time.perf_counter() - started) / 5
    assert [a.title for a in actions] == ["Codegen: Generate code from comment"]
    assert elapsed < 0.1, f"{elapsed * 1000:.0f} ms per code action request"


async def test_user_actions_are_offered_by_their_trigger(editor: Editor) -> None:
    # a bad key next to them costs that key alone: the actions still arrive, with a warning
    editor.configure(
        actions={
            "todo": {"title": "List TODOs", "prompt": "List the TODOs in {path}", "apply": "show"},
            "shout": {"title": "Shout it", "prompt": "Uppercase:\n{selection}"},
        },
        context={"linesBefore": "many"},
    )
    uri = editor.open(SOURCE)
    cursor = editor.cursor_at(uri, "import os")
    await wait_until_async(
        lambda: editor.actions(uri, cursor), lambda titles: "Codegen: List TODOs" in titles
    )
    assert [a.title for a in await editor.actions(uri, cursor)] == ["Codegen: List TODOs"]
    selection = editor.range_of(uri, "def add(a, b):\n    pass")
    titles = [a.title for a in await editor.actions(uri, selection)]
    assert titles == [*SELECTION_TITLES, "Codegen: List TODOs", "Codegen: Shout it"]
    (warning,) = editor.messages(lsp.MessageType.Warning)
    assert "context.linesBefore: expected a whole number" in warning
    assert 'editor settings (section "codegen")' in warning
    editor.configure()


async def wait_until_async(
    ask: Callable[[], Awaitable[list[lsp.CodeAction]]], wanted: Callable[[list[str]], bool]
) -> None:
    """Ask again until the answer is as wanted: pushed settings take a moment to arrive."""
    for _ in range(250):
        if wanted([a.title for a in await ask()]):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the settings never arrived")
