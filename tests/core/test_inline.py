"""Inline completion's core (``core/inline.py``): the line/block decision from syntax, the prefix and
suffix budget, cleanup of suggestions, the streaming cutter agreeing with the cleanup, ``suggest``
closing the stream early, and the typed-through cache. Documents are written with ``█`` at the cursor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from codegen_lsp.core.infill import InfillRequest
from codegen_lsp.core.inline import (
    DRAIN_GRACE,
    IN_PROCESS_PREFIX_CHARS,
    IN_PROCESS_SUFFIX_CHARS,
    PREFIX_STEP_LINES,
    InlineOptions,
    SuggestionCutter,
    TypedThroughCache,
    clean_suggestion,
    completion_mode,
    in_process,
    infill_request,
    inline_context,
    suggest,
    worth_asking,
)
from codegen_lsp.core.settings import InlineSettings, ProviderSettings, Settings
from codegen_lsp.core.text import LineIndex, split_lines
from codegen_lsp.core.types import Delta, Position

CURSOR = "█"


def at(doc: str) -> tuple[str, Position]:
    """The document without the cursor mark, and the mark's position."""
    offset = doc.index(CURSOR)
    before = doc[:offset]
    lines = split_lines(before)
    return doc.replace(CURSOR, "", 1), Position(len(lines) - 1, len(lines[-1]))


MODES = [
    pytest.param("python", "def f(x):\n    █", "block", id="py-empty-body-after-signature"),
    pytest.param("python", "def f(x):\n█", "block", id="py-fresh-line-no-indent-yet"),
    pytest.param("python", "def f(x):\n    █\n\ny = 1\n", "block", id="py-empty-body-then-top-level"),
    pytest.param(
        "python", "class A:\n    def g(self):\n        █\n    def h(self): pass", "block", id="py-method"
    ),
    pytest.param("python", "if ready:\n    █", "block", id="py-if"),
    pytest.param("python", "def f(x):\n    █\n    return x\n", "line", id="py-body-exists-below"),
    pytest.param("python", "def f(x):█", "line", id="py-end-of-signature-line"),
    pytest.param("python", "x = compute(█", "line", id="py-mid-expression"),
    pytest.param("python", "total = 0\n█", "line", id="py-after-a-statement"),
    pytest.param("python", "# steps:\n█", "line", id="py-comment-ends-with-colon"),
    pytest.param("python", "s = 'a:'\n█", "line", id="py-string-ends-with-colon"),
    pytest.param("python", "def f(x):\n    █pass", "line", id="py-code-after-cursor"),
    pytest.param("python", "items = [\n    █]", "block", id="py-only-closers-after-cursor"),
    pytest.param("javascript", "function f() {\n  █\n}\n", "block", id="js-empty-function"),
    pytest.param("javascript", "const o = {\n  █\n};", "block", id="js-object-literal"),
    pytest.param("javascript", "// open {\n█", "line", id="js-comment"),
    pytest.param("javascript", "const s = `x{`\n█", "line", id="js-template-string"),
    pytest.param("typescript", "if (x) {\n  █\n  go();\n}", "line", id="ts-body-exists"),
    pytest.param("rust", "fn main() {\n    █\n}", "block", id="no-grammar-brace"),
    pytest.param("shellscript", "# usage:\n█", "line", id="no-grammar-comment"),
    pytest.param("plaintext", "█", "line", id="empty-document"),
]


@pytest.mark.parametrize(("language", "doc", "mode"), MODES)
def test_completion_mode(language: str, doc: str, mode: str) -> None:
    text, position = at(doc)
    assert completion_mode(split_lines(text), position.line, position.character, language) == mode
    assert inline_context(text, position, language).mode == mode


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


def test_prefix_and_suffix_budget_in_whole_lines() -> None:
    lines = [f"line_{i:03d} = {i}" for i in range(400)]  # 14 characters + newline each
    options = InlineOptions(prefix_chars=1000, suffix_chars=100)
    text = "\n".join(lines)
    ctx = inline_context(text, Position(300, 5), "python", options=options)
    assert len(ctx.prefix) <= 1000 and len(ctx.suffix) <= 100
    first = ctx.prefix.split("\n")[0]
    assert int(first[5:8]) % PREFIX_STEP_LINES == 0  # the head moves in steps
    assert ctx.prefix.endswith("\nline_")
    assert ctx.suffix.startswith("300 = 300\nline_301")
    assert all(line in lines for line in ctx.suffix.split("\n")[1:])


def test_the_prefix_head_stays_put_while_typing() -> None:
    lines = [f"value_{i:03d} = {i}" for i in range(300)]
    options = InlineOptions(prefix_chars=2000)
    heads = set()
    typed = ""
    for ch in "result = compute(values, limit=10)":
        typed += ch
        text = "\n".join([*lines, typed])
        ctx = inline_context(text, Position(300, len(typed)), "python", options=options)
        assert ctx.prefix.endswith(typed)
        heads.add(ctx.prefix.split("\n")[0])
    assert len(heads) == 1


def test_short_documents_are_sent_whole() -> None:
    text, position = at("import os\n\ndef f():\n    █\n\nf()\n")
    ctx = inline_context(text, position, "python")
    assert ctx.prefix + ctx.suffix == text
    assert (ctx.line_before, ctx.line_after, ctx.next_lines) == ("    ", "", ("f()",))


@pytest.mark.parametrize(
    ("doc", "max_tokens", "stop"),
    [
        pytest.param("x = █", 64, ("\n",), id="line"),
        pytest.param("def f():\n    █", 256, ("\n\n\n",), id="block"),
    ],
)
def test_infill_request_follows_the_mode(doc: str, max_tokens: int, stop: tuple[str, ...]) -> None:
    text, position = at(doc)
    request = infill_request(inline_context(text, position, "python", path="a.py"))
    assert (request.max_tokens, request.stop, request.path, request.language_id) == (
        max_tokens,
        stop,
        "a.py",
        "python",
    )


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


BEFORE, AFTER = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(BEFORE, AFTER, "a + b", id="nothing-typed-yet"),
        pytest.param(BEFORE + "a ", AFTER, "+ b", id="typed-the-next-characters"),
        pytest.param(BEFORE + "a + b", AFTER, None, id="typed-all-of-it"),
        pytest.param(BEFORE + "b", AFTER, None, id="typed-something-else"),
        pytest.param(BEFORE + "a", AFTER + "# new\n", None, id="text-after-changed"),
        pytest.param(BEFORE[:-3] + "x", AFTER, None, id="edited-before-the-suggestion"),
        pytest.param(BEFORE[:-2], AFTER, "n a + b", id="backspace"),
        pytest.param("", AFTER, None, id="deleted-too-much"),
    ],
)
def test_typed_through_cache(before: str, after: str, expected: str | None) -> None:
    cache = TypedThroughCache()
    cache.remember("file:///a.py", BEFORE, AFTER, "a + b")
    assert cache.lookup("file:///a.py", before, after) == expected
    assert cache.lookup("file:///b.py", before, after) is None


def test_typed_through_cache_keeps_the_most_recent_documents() -> None:
    cache = TypedThroughCache(max_documents=2)
    for name in ("a", "b", "c"):
        cache.remember(name, "x", "", "yz")
    assert cache.lookup("a", "xy", "") is None
    assert cache.lookup("c", "xy", "") == "z"
    cache.remember("c", "x", "", "")  # an empty suggestion forgets the old one
    assert cache.lookup("c", "xy", "") is None
    cache.forget("b")
    assert cache.lookup("b", "xy", "") is None


@pytest.mark.parametrize(
    ("budgets", "in_process", "expected"),
    [
        pytest.param({}, False, (6000, 2000), id="remote-defaults"),
        pytest.param({}, True, (IN_PROCESS_PREFIX_CHARS, IN_PROCESS_SUFFIX_CHARS), id="in-process-defaults"),
        pytest.param({"prefix_chars": 900, "suffix_chars": 0}, True, (900, 0), id="set-budgets-win"),
    ],
)
def test_options_of_settings(budgets: dict[str, int], in_process: bool, expected: tuple[int, int]) -> None:
    settings = InlineSettings(model="coder", line_tokens=20, **budgets)
    options = InlineOptions.of(settings, in_process=in_process)
    assert (options.prefix_chars, options.suffix_chars) == expected
    assert (options.model, options.line_tokens) == ("coder", 20)


@pytest.mark.parametrize(
    ("rest", "worth"),
    [
        pytest.param("", True, id="end-of-line"),
        pytest.param(")", True, id="closer"),
        pytest.param('"):', True, id="quote-closer-colon"),
        pytest.param("];  ", True, id="closer-semicolon-space"),
        pytest.param("x)", False, id="an-argument"),
        pytest.param(") + 1", False, id="an-expression"),
        pytest.param(" = 3", False, id="an-assignment"),
    ],
)
def test_worth_asking(rest: str, worth: bool) -> None:
    assert worth_asking(rest) is worth


@pytest.mark.parametrize(
    ("text", "options"),
    [
        pytest.param(
            "\n".join(f"def f{i}(x):\n    y = x * {i}\n    return y\n" for i in range(300)),
            InlineOptions(),
            id="lf",
        ),
        pytest.param(
            "\r\n".join(f"class C{i}:\r\n    def m(self):\r\n        \r\n" for i in range(200)),
            InlineOptions(prefix_chars=400, suffix_chars=60),
            id="crlf-small-budgets",
        ),
    ],
)
def test_a_line_index_gives_the_same_context(text: str, options: InlineOptions) -> None:
    """The server passes its line index so that only the lines around the cursor are read; the
    context must be exactly the one the whole text gives (the prefix head's step included)."""
    index = LineIndex(text)
    for line in range(0, index.line_count, 7):
        for character in {0, len(index.line(line)) // 2, len(index.line(line))}:
            position = Position(line, character)
            expected = inline_context(text, position, "python", "m.py", options)
            assert inline_context(text, position, "python", "m.py", options, index=index) == expected


@pytest.mark.parametrize(
    ("active", "inline_provider", "expected"),
    [
        pytest.param("local", None, True, id="the-embedded-default"),
        pytest.param("box", None, False, id="a-remote-provider"),
        pytest.param("box", "local", True, id="embedded-for-inline-only"),
        pytest.param("local", "box", False, id="remote-for-inline-only"),
    ],
)
def test_in_process(active: str, inline_provider: str | None, expected: bool) -> None:
    settings = Settings(
        providers={
            "local": ProviderSettings(name="local", type="local"),
            "box": ProviderSettings(name="box", base_url="http://box:8000/v1"),
        },
        provider=active,
        inline=InlineSettings(provider=inline_provider),
    )
    assert in_process(settings) is expected
