"""Spec for core/text: line endings, code-point positions (emoji, CJK, combining marks), indentation, edits."""

from __future__ import annotations

import time

import pytest

from codegen_lsp.core.text import (
    Indentation,
    LineIndex,
    apply_edit,
    apply_edits,
    detect_eol,
    detect_indentation,
    normalize_eol,
    split_lines,
    split_lines_keepends,
)
from codegen_lsp.core.types import Position, Range, TextEdit
from codegen_lsp.errors import ActionError


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        pytest.param("", [""], id="empty text is one empty line"),
        pytest.param("a", ["a"], id="no final newline"),
        pytest.param("a\n", ["a", ""], id="final newline opens an empty last line"),
        pytest.param("a\r\nb\rc\nd", ["a", "b", "c", "d"], id="mixed endings all split"),
        pytest.param("a\u2028b\x0cc", ["a\u2028b\x0cc"], id="U+2028 and form feed are not line breaks"),
        pytest.param("\r\n\r\n", ["", "", ""], id="CRLF is one ending, not two"),
    ],
)
def test_split_lines(text: str, lines: list[str]) -> None:
    assert split_lines(text) == lines
    assert "".join(split_lines_keepends(text)) == text
    assert len(split_lines_keepends(text)) == len(lines)


@pytest.mark.parametrize(
    ("text", "eol"),
    [
        pytest.param("a\nb\n", "\n", id="LF"),
        pytest.param("a\r\nb\r\n", "\r\n", id="CRLF"),
        pytest.param("a\rb\r", "\r", id="old Mac CR"),
        pytest.param("a\r\nb\r\nc\n", "\r\n", id="mostly CRLF wins"),
        pytest.param("one line", "\n", id="no ending defaults to LF"),
        pytest.param("a\r\nb\n", "\n", id="a tie goes to LF"),
    ],
)
def test_detect_eol(text: str, eol: str) -> None:
    assert detect_eol(text) == eol


def test_normalize_eol() -> None:
    assert normalize_eol("a\nb\r\nc\rd", "\r\n") == "a\r\nb\r\nc\r\nd"


UNICODE = "x = '😀'\r\n漢字 = 1\ne\u0301t\u00e9\n"


@pytest.mark.parametrize(
    ("offset", "position"),
    [
        pytest.param(0, Position(0, 0), id="start"),
        pytest.param(5, Position(0, 5), id="emoji is one code point"),
        pytest.param(7, Position(0, 7), id="end of line before CRLF"),
        pytest.param(8, Position(0, 7), id="inside CRLF maps to the line end"),
        pytest.param(9, Position(1, 0), id="after CRLF"),
        pytest.param(11, Position(1, 2), id="after two CJK characters"),
        pytest.param(18, Position(2, 2), id="combining mark counts as its own code point"),
        pytest.param(len(UNICODE), Position(3, 0), id="end of text is the empty last line"),
        pytest.param(10_000, Position(3, 0), id="past the end clamps"),
    ],
)
def test_position_at(offset: int, position: Position) -> None:
    assert LineIndex(UNICODE).position_at(offset) == position


@pytest.mark.parametrize(
    ("position", "offset"),
    [
        pytest.param(Position(0, 6), 6, id="after emoji"),
        pytest.param(Position(0, 99), 7, id="character past line end clamps to the line end"),
        pytest.param(Position(1, 1), 10, id="CJK"),
        pytest.param(Position(2, 5), 20, id="combining marks line end"),
        pytest.param(Position(9, 0), len(UNICODE), id="line past the end clamps to the text end"),
    ],
)
def test_offset_at(position: Position, offset: int) -> None:
    index = LineIndex(UNICODE)
    assert index.offset_at(position) == offset


def test_negative_position_is_an_action_error() -> None:
    with pytest.raises(ActionError):
        LineIndex("a").offset_at(Position(-1, 0))


@pytest.mark.parametrize(
    ("rng", "expected"),
    [
        pytest.param(
            Range(Position(1, 2), Position(0, 1)),
            Range(Position(0, 1), Position(1, 2)),
            id="reversed is ordered",
        ),
        pytest.param(
            Range(Position(0, 0), Position(1, 99)),
            Range(Position(0, 0), Position(1, 3)),
            id="end clamps to line",
        ),
    ],
)
def test_check_range(rng: Range, expected: Range) -> None:
    assert LineIndex("ab\ncde").check_range(rng) == expected


def test_check_range_outside_document() -> None:
    with pytest.raises(ActionError, match="after the end of the document"):
        LineIndex("ab\ncde").check_range(Range(Position(5, 0), Position(5, 0)))


@pytest.mark.parametrize(
    ("lines", "unit"),
    [
        pytest.param(["def f():", "    return 1"], "    ", id="4 spaces"),
        pytest.param(["function f() {", "  if (x) {", "    y();", "  }", "}"], "  ", id="2 spaces"),
        pytest.param(["func f() {", "\treturn 1", "}"], "\t", id="tabs"),
        pytest.param(
            ["def f(a,", "      b):", "    return a", "    if a:", "        pass"],
            "    ",
            id="alignment of continuation lines does not fool it",
        ),
        pytest.param(["/**", " * doc", " */", "int x;"], None, id="doc-comment stars are not indentation"),
        pytest.param(["a = 1", "b = 2"], None, id="nothing indented"),
    ],
)
def test_detect_indentation(lines: list[str], unit: str | None) -> None:
    found = detect_indentation(lines)
    assert (found.unit if found else None) == unit


def test_indentation_properties() -> None:
    assert Indentation("\t").uses_tabs and Indentation("\t").width == 4
    assert Indentation("  ").width == 2 and not Indentation("  ").uses_tabs


@pytest.mark.parametrize(
    ("text", "edit", "result"),
    [
        pytest.param("ab", TextEdit(Range(Position(0, 1), Position(0, 1)), "X"), "aXb", id="insert"),
        pytest.param(
            "a\r\nb\r\n",
            TextEdit(Range(Position(1, 0), Position(1, 1)), "c"),
            "a\r\nc\r\n",
            id="replace after CRLF",
        ),
        pytest.param(
            "😀😀\n",
            TextEdit(Range(Position(0, 1), Position(0, 2)), "!"),
            "😀!\n",
            id="code points, not UTF-16",
        ),
        pytest.param("a", TextEdit(Range(Position(0, 1), Position(0, 1)), "\nb"), "a\nb", id="append at end"),
    ],
)
def test_apply_edit(text: str, edit: TextEdit, result: str) -> None:
    assert apply_edit(text, edit) == result


def test_apply_edits_uses_original_positions_and_refuses_overlap() -> None:
    edits = [
        TextEdit(Range(Position(1, 0), Position(1, 1)), "B"),
        TextEdit(Range(Position(0, 0), Position(0, 1)), "A"),
    ]
    assert apply_edits("a\nb", edits) == "A\nB"
    overlapping = [*edits, TextEdit(Range(Position(0, 0), Position(1, 1)), "")]
    with pytest.raises(ActionError, match="Overlapping"):
        apply_edits("a\nb", overlapping)


def test_line_index_is_fast_on_a_100k_line_document() -> None:
    text = "    x = compute(value)  # a typical line\n" * 100_000
    started = time.perf_counter()
    index = LineIndex(text)
    for line in range(0, 100_000, 997):
        assert index.position_at(index.offset_at(Position(line, 4))) == Position(line, 4)
    assert time.perf_counter() - started < 1.0
