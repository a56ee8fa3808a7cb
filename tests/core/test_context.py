"""Spec for core/context: tree-sitter scopes (Python, JS), line windows and the token budget."""

from __future__ import annotations

import pytest

from codegen_lsp.core.context import ELISION, build_context, enclosing_scope, has_grammar
from codegen_lsp.core.settings import ContextSettings
from codegen_lsp.core.text import LineIndex, split_lines
from codegen_lsp.core.types import Diagnostic, Position, Range

PYTHON = """\
import math


class Shape:
    @property
    def area(self):
        x = 1
        return x

    def name(self):
        return "shape"


def helper():
    return [
        1,
    ]
"""

JAVASCRIPT = """\
import { x } from "./x.js";

export const sum = (xs) => {
  let total = 0;
  xs.forEach((x) => total += x);
  return total;
};

class Cart {
  add(item) {
    this.items.push(item);
  }
}

function plain(a) {
  return a;
}
"""


@pytest.mark.parametrize(
    ("language", "text", "lines", "strict", "scope"),
    [
        pytest.param("python", PYTHON, (6, 6), False, (4, 7), id="python: method with its decorator"),
        pytest.param("python", PYTHON, (10, 10), False, (9, 10), id="python: second method"),
        pytest.param(
            "python", PYTHON, (4, 7), True, (3, 10), id="python strict: whole method gives the class"
        ),
        pytest.param("python", PYTHON, (15, 15), False, (13, 16), id="python: inside a list in a function"),
        pytest.param("python", PYTHON, (0, 0), False, None, id="python: module level"),
        pytest.param("javascript", JAVASCRIPT, (3, 3), False, (2, 6), id="js: exported arrow function"),
        pytest.param("javascript", JAVASCRIPT, (4, 4), False, (2, 6), id="js: one-line callback is skipped"),
        pytest.param("javascript", JAVASCRIPT, (10, 10), False, (9, 11), id="js: method"),
        pytest.param(
            "javascript", JAVASCRIPT, (9, 11), True, (8, 12), id="js strict: whole method gives class"
        ),
        pytest.param("javascript", JAVASCRIPT, (15, 15), False, (14, 16), id="js: function declaration"),
        pytest.param(
            "typescript", JAVASCRIPT, (15, 15), False, (14, 16), id="typescript uses the js grammar"
        ),
        pytest.param("go", "func f() {\n\treturn\n}\n", (1, 1), False, None, id="no grammar: no scope"),
    ],
)
def test_enclosing_scope(
    language: str, text: str, lines: tuple[int, int], strict: bool, scope: tuple[int, int] | None
) -> None:
    assert enclosing_scope(split_lines(text), language, *lines, strict=strict) == scope


def test_enclosing_scope_with_crlf_and_cr_line_endings() -> None:
    for eol in ("\r\n", "\r"):
        text = PYTHON.replace("\n", eol)
        assert enclosing_scope(split_lines(text), "python", 6, 6) == (4, 7)


def test_grammars_are_installed_offline() -> None:
    assert has_grammar("python") and has_grammar("javascript") and not has_grammar("cobol")


def _lines(n: int) -> str:
    return "\n".join(f"line{i:03d}" for i in range(n))  # 7 characters + newline per line


def _ctx(
    text: str, first: int, last: int, budget: int, **kw: object
) -> tuple[list[str], str, list[str], int]:
    index = LineIndex(text)
    rng = Range(Position(first, 0), Position(last, len(index.line(last))))
    settings = ContextSettings(
        lines_before=kw.pop("before", 5), lines_after=kw.pop("after", 5), token_budget=budget
    )  # type: ignore[arg-type]
    ctx = build_context(index, rng, str(kw.pop("language", "plaintext")), "f.txt", settings)
    return ctx.before.split("\n"), ctx.selection, ctx.after.split("\n"), ctx.dropped_lines


@pytest.mark.parametrize(
    ("budget", "before", "after", "dropped"),
    [
        pytest.param(
            1000,
            [f"line{i:03d}" for i in range(5, 10)],
            [f"line{i:03d}" for i in range(11, 16)],
            0,
            id="roomy budget: the whole window",
        ),
        pytest.param(
            13,
            ["line007", "line008", "line009"],
            ["line011", "line012"],
            5,
            id="tight budget: farthest dropped first, ties keep the line before",
        ),
        pytest.param(2, [""], [""], 10, id="budget below the selection: no context, selection whole"),
    ],
)
def test_budget_drops_farthest_first(budget: int, before: list[str], after: list[str], dropped: int) -> None:
    got_before, selection, got_after, got_dropped = _ctx(_lines(30), 10, 10, budget)
    assert selection == "line010"
    assert (got_before, got_after, got_dropped) == (before, after, dropped)


def test_selection_is_never_cut() -> None:
    text = _lines(200)
    _, selection, _, _ = _ctx(text, 50, 150, 1)
    assert selection == "\n".join(f"line{i:03d}" for i in range(50, 151))


def test_window_at_document_edges() -> None:
    before, _, after, dropped = _ctx(_lines(3), 0, 2, 1000)
    assert (before, after, dropped) == ([""], [""], 0)


def test_scope_widens_the_window_and_keeps_its_header() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(100))
    text = f"import os\n\ndef big():\n{body}\n    return x99\n"
    target_line = 3 + 90  # "    x90 = 90"
    index = LineIndex(text)
    rng = Range(Position(target_line, 0), Position(target_line, len(index.line(target_line))))
    settings = ContextSettings(lines_before=5, lines_after=2, token_budget=60)
    ctx = build_context(index, rng, "python", "big.py", settings)
    before = ctx.before.split("\n")
    assert ctx.scope == (2, 103)
    assert before[0] == "def big():"  # the header survives the budget
    assert before[1] == ELISION
    assert before[-1] == "    x89 = 89"
    assert "import os" not in ctx.before


def test_partial_line_selection_puts_the_rest_of_the_line_in_context() -> None:
    index = LineIndex("a = 1\ntotal = price * qty + tax\nb = 2")
    rng = Range(Position(1, 8), Position(1, 19))
    ctx = build_context(index, rng, "python", None, ContextSettings())
    assert ctx.selection == "price * qty"
    assert ctx.before == "a = 1\ntotal = "
    assert ctx.after == " + tax\nb = 2"


def test_crlf_selection_is_given_with_lf() -> None:
    index = LineIndex("a\r\nb\r\nc\r\n")
    ctx = build_context(index, Range(Position(0, 0), Position(1, 1)), "python", None, ContextSettings())
    assert ctx.selection == "a\nb"


def test_diagnostics_are_formatted_with_their_line() -> None:
    index = LineIndex("x = 1\ny = undefined_name\n")
    diag = Diagnostic(Range(Position(1, 4), Position(1, 18)), "undefined name", "error", "pyflakes", "F821")
    ctx = build_context(
        index, Range(Position(1, 0), Position(1, 18)), "python", None, ContextSettings(), diagnostics=[diag]
    )
    assert ctx.diagnostics_text == "- line 2 `y = undefined_name`: error: undefined name (pyflakes F821)"
