"""Inline completion's context (``core/inline.py``): the line/block decision from syntax, the prefix
and suffix budget, the infill request, the options and whether a request is worth a model call.
Documents are written with ``█`` at the cursor.
"""

from __future__ import annotations

import pytest
from cursor_mark import at

from codegen_lsp.core.inline import (
    IN_PROCESS_PREFIX_CHARS,
    IN_PROCESS_SUFFIX_CHARS,
    PREFIX_STEP_LINES,
    InlineOptions,
    completion_mode,
    in_process,
    infill_request,
    inline_context,
    worth_asking,
)
from codegen_lsp.core.settings import InlineSettings, ProviderSettings, Settings
from codegen_lsp.core.text import LineIndex, split_lines
from codegen_lsp.core.types import Position

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
