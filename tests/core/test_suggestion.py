"""Inline completion's answer (``core/suggestion.py``): cleanup of suggestions, the streaming cutter
agreeing with the cleanup, and ``suggest`` closing the stream early. Documents are written with
``█`` at the cursor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from cursor_mark import at

from codegen_lsp.core.infill import InfillRequest
from codegen_lsp.core.inline import inline_context
from codegen_lsp.core.suggestion import DRAIN_GRACE, SuggestionCutter, clean_suggestion, suggest
from codegen_lsp.core.types import Delta

CLEAN = [
    # one line
    pytest.param("python", "x = █", "compute()\nmore()", "compute()", id="line-cut-at-newline"),
    pytest.param("python", "x = █", "compute()  \r\nmore()", "compute()", id="line-crlf-trailing-space"),
    pytest.param("python", "foo(█)", "a, b)", "a, b", id="rest-of-line-bracket-overclosed"),
    pytest.param("python", "print(█)", "len(x)", "len(x)", id="own-brackets-kept"),
    pytest.param("python", "foo(a, █, c)", "b, c)", "b", id="rest-of-line-args-repeated"),
    pytest.param("python", "foo(█bar)", "bar)", "", id="only-the-rest-rewritten"),
    pytest.param("python", "compute(█x)", "y, ", "y, ", id="space-kept-before-text"),
    pytest.param(
        "python",
        "def f(x):\n    if x:\n        █\n    return 0\n",
        "    y = 1\n",
        "y = 1",
        id="indented-again-in-part",
    ),
    pytest.param("python", "compute(█)", "y  ", "y", id="space-dropped-before-a-closer-only"),
    pytest.param("python", "if x > █:", "0:", "0", id="rest-of-line-plain-punctuation"),
    pytest.param("python", 'name = "█"', 'Bob"', "Bob", id="rest-of-line-closing-quote"),
    pytest.param("python", "def add(a, b█", "def add(a, b):", "):", id="chat-echo-of-the-line"),
    pytest.param("python", "def f(x):\n    re█", "return x", "turn x", id="chat-echo-of-a-word-begun"),
    pytest.param("python", "def f(x):\n    r█", "return x", "eturn x", id="chat-echo-of-one-letter"),
    pytest.param("python", "x = [█", "[1], [2]]", "[1], [2]]", id="a-bracket-may-repeat"),
    pytest.param("python", "x = █", "   \n", "", id="whitespace-only"),
    pytest.param("python", "x = █", "\n1", "", id="starts-on-the-next-line"),
    # blocks
    pytest.param(
        "python",
        "def f(x):\n    █\n\ny = 2\n",
        "if x:\n        return 1\n    return 0\ndef g():\n    pass\n",
        "if x:\n        return 1\n    return 0",
        id="block-ends-at-dedent",
    ),
    pytest.param(
        "python",
        "def f(x):\n    █",
        "```python\n    return 1\n```\nThis returns one.",
        "return 1",
        id="block-fenced-chat-answer-with-prose",
    ),
    pytest.param(
        "python",
        "def f(x):\n    █",
        "Here is the completion:\nreturn x * 2\n",
        "return x * 2",
        id="block-chat-preamble",
    ),
    pytest.param(
        "python",
        "def f(x):\n    █",
        "    return x\n",
        "return x",
        id="block-typed-indentation-repeated",
    ),
    pytest.param(
        "javascript",
        "function f() {\n  █\n}\nconsole.log(f());\n",
        "return 1;\n}\nconsole.log(f());\n",
        "return 1;",
        id="block-closing-brace-already-there",
    ),
    pytest.param(
        "javascript",
        "function f() {\n  █",
        "return 1;\n}\n\nfunction g() {}",
        "return 1;\n}",
        id="block-closing-brace-kept-when-missing",
    ),
    pytest.param(
        "python",
        "def f(x):\n    █\n\nprint(f(1))\n",
        "y = x + 1\n    return y\n\nprint(f(1))\n",
        "y = x + 1\n    return y",
        id="block-stops-before-repeating-the-next-line",
    ),
    pytest.param(
        "python",
        "def f(x):\n    █",
        "\n".join(f"    a{i} = {i}" for i in range(40)),
        "a0 = 0\n" + "\n".join(f"    a{i} = {i}" for i in range(1, 16)),
        id="block-line-limit",
    ),
]


@pytest.mark.parametrize(("language", "doc", "raw", "expected"), CLEAN)
def test_clean_suggestion(language: str, doc: str, raw: str, expected: str) -> None:
    text, position = at(doc)
    ctx = inline_context(text, position, language)
    assert clean_suggestion(raw, ctx) == expected


@pytest.mark.parametrize(("language", "doc", "raw", "expected"), CLEAN)
def test_the_streaming_cutter_agrees_with_the_cleanup(
    language: str, doc: str, raw: str, expected: str
) -> None:
    text, position = at(doc)
    ctx = inline_context(text, position, language)
    for size in (1, 3, 7, len(raw) or 1):
        cutter = SuggestionCutter(ctx)
        for start in range(0, len(raw), size):
            if cutter.feed(raw[start : start + size]):
                break
        assert cutter.result() == expected, size


def test_cutter_stops_at_the_first_line_end_in_line_mode() -> None:
    text, position = at("x = █")
    cutter = SuggestionCutter(inline_context(text, position, "python"))
    assert not cutter.feed("```python\n")
    assert not cutter.feed("comp")
    assert cutter.feed("ute()\nignored")
    assert cutter.result() == "compute()"


def test_cutter_stops_when_the_block_is_left() -> None:
    text, position = at("def f(x):\n    █")
    cutter = SuggestionCutter(inline_context(text, position, "python"))
    assert not cutter.feed("y = x\n    return y\n")
    assert not cutter.feed("\n")
    assert cutter.feed("def g")
    assert cutter.result() == "y = x\n    return y"


class ScriptedInfiller:
    """An in-process infiller that records the request and whether its stream was closed."""

    name = "scripted"
    model = "m"

    def __init__(self, *pieces: str, pause_after_line: float = 0.0) -> None:
        self.pieces = pieces
        #: seconds between pieces once a line end was sent (a server that ignores the stop)
        self.pause_after_line = pause_after_line
        self.requests: list[InfillRequest] = []
        self.sent = 0
        self.closed = False
        self.ended = False

    async def stream_infill(self, request: InfillRequest) -> AsyncIterator[Delta]:
        self.requests.append(request)
        try:
            for piece in self.pieces:
                if self.pause_after_line and "\n" in "".join(self.pieces[: self.sent]):
                    await asyncio.sleep(self.pause_after_line)
                self.sent += 1
                yield Delta(piece)
            yield Delta(finish_reason="stop")
            self.ended = True
        finally:
            self.closed = True

    async def aclose(self) -> None:
        pass


async def test_suggest_closes_the_stream_once_the_line_is_complete() -> None:
    """A server that keeps writing after the line end (ignoring the stop sequence) is cut off
    once the drain grace is over."""
    infiller = ScriptedInfiller("a", " + b", "\n", "never", "read", pause_after_line=DRAIN_GRACE * 10)
    text, position = at("def add(a, b):\n    return █\n")
    assert await suggest(infiller, inline_context(text, position, "python")) == "a + b"
    assert infiller.sent == 3
    assert infiller.closed and not infiller.ended
    assert infiller.requests[0].stop == ("\n",)
    assert infiller.requests[0].prefix.endswith("    return ")


async def test_suggest_reads_the_end_of_a_stream_that_stopped_at_the_line_end() -> None:
    """The closing bytes of a stream that honoured the stop are read (its connection stays open)."""
    infiller = ScriptedInfiller("a", " + b", "\n")
    text, position = at("def add(a, b):\n    return █\n")
    assert await suggest(infiller, inline_context(text, position, "python")) == "a + b"
    assert infiller.ended


async def test_suggest_tells_the_suggestion_before_reading_the_end_of_the_stream() -> None:
    infiller = ScriptedInfiller("a", " + b", "\n", "never", pause_after_line=DRAIN_GRACE / 4)
    text, position = at("def add(a, b):\n    return █\n")
    told: list[tuple[str, int]] = []
    result = await suggest(
        infiller, inline_context(text, position, "python"), on_ready=lambda s: told.append((s, infiller.sent))
    )
    assert told == [("a + b", 3)]  # at once: the fourth piece was not read yet
    assert result == "a + b"
    assert infiller.sent == 4


async def test_suggest_reads_a_block_to_its_end() -> None:
    infiller = ScriptedInfiller("if x:\n", "        return 1\n", "    return 0\n")
    text, position = at("def f(x):\n    █")
    assert await suggest(infiller, inline_context(text, position, "python")) == (
        "if x:\n        return 1\n    return 0"
    )
    assert infiller.closed
