"""Spec for core/text: line endings, code-point positions (emoji, CJK, combining marks), indentation, edits.

The line index's incremental :meth:`~codegen_lsp.core.text.LineIndex.edit` is checked against
``LineIndex(text)`` built from scratch on everything a reader can ask: the line count, every line,
the offset of every line's start and end, and the position of every offset. Texts mix every LSP
line break (``\\n``, ``\\r\\n``, lone ``\\r``) with characters that are *not* breaks in the LSP
(form feed, U+2028), emoji and CJK, and edits are random: inside a line, across breaks, deleting
or inserting breaks, and splitting or joining a ``\\r\\n``.
"""

from __future__ import annotations

import random
import time

import pytest

from codegen_lsp.core.text import (
    Indentation,
    LineIndex,
    apply_edit,
    apply_edits,
    detect_eol,
    detect_indentation,
    end_of_insertion,
    normalize_eol,
    position_at,
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


@pytest.mark.parametrize(
    ("start", "text", "expected"),
    [
        pytest.param(Position(1, 3), "", Position(1, 3), id="empty"),
        pytest.param(Position(1, 3), "abc", Position(1, 6), id="same-line"),
        pytest.param(Position(1, 3), "a\nbc", Position(2, 2), id="lf"),
        pytest.param(Position(1, 3), "a\r\nbc\r\n", Position(3, 0), id="crlf"),
        pytest.param(Position(1, 3), "a\rb", Position(2, 1), id="lone-cr"),
        pytest.param(Position(0, 0), "😀\n字", Position(1, 1), id="code-points"),
    ],
)
def test_end_of_insertion(start: Position, text: str, expected: Position) -> None:
    assert end_of_insertion(start, text) == expected


@pytest.mark.parametrize(
    ("text", "offset", "expected"),
    [
        pytest.param("", 0, Position(0, 0), id="empty"),
        pytest.param("ab\ncd", 4, Position(1, 1), id="lf"),
        pytest.param("ab\r\ncd", 4, Position(1, 0), id="crlf"),
        pytest.param("ab\rcd", 3, Position(1, 0), id="cr"),
        pytest.param("ab\n", 3, Position(1, 0), id="end-after-newline"),
        pytest.param("a\x0cb\u2028c", 5, Position(0, 5), id="form-feed-and-u2028-are-not-breaks"),
    ],
)
def test_one_off_position_at(text: str, offset: int, expected: Position) -> None:
    assert position_at(text, offset) == expected


@pytest.mark.parametrize(
    ("text", "rng", "expected"),
    [
        pytest.param("ab\r\ncd", Range(Position(0, 1), Position(1, 1)), "b\r\nc", id="crlf"),
        pytest.param("ab\rcd", Range(Position(1, 0), Position(1, 2)), "cd", id="lone-cr"),
        pytest.param("ab\n", Range(Position(1, 0), Position(1, 0)), "", id="after-final-newline"),
    ],
)
def test_text_in(text: str, rng: Range, expected: str) -> None:
    assert LineIndex(text).text_in(rng) == expected


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


def test_lines_of_a_window() -> None:
    index = LineIndex("a\r\nb\rc\nd")
    assert index.lines() == ["a", "b", "c", "d"]
    assert index.lines(1, 2) == ["b", "c"]
    assert index.lines(3, 99) == ["d"]
    assert index.lines(2, 1) == []
    assert (index.line_start(2), index.line_end(2)) == (5, 6)


# --- incremental edits ----------------------------------------------------------------------------

PIECES = ["a", "b", "xyz", " ", "\n", "\r", "\r\n", "é", "😀", "中文", "\x0c", "\u2028", "\n\n", "\r\r"]


def random_text(rng: random.Random, pieces: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(pieces))


def assert_same(index: LineIndex, text: str) -> None:
    fresh = LineIndex(text)
    assert index.text == text
    assert index.line_count == fresh.line_count
    assert index.end == fresh.end
    assert index.lines() == fresh.lines()
    for number in range(-1, fresh.line_count + 1):
        assert index.line(number) == fresh.line(number), number
    for number in range(fresh.line_count + 1):
        for character in (0, len(fresh.line(number)), 10_000):
            point = Position(number, character)
            assert index.offset_at(point) == fresh.offset_at(point), point
    for offset in range(-1, len(text) + 2):
        assert index.position_at(offset) == fresh.position_at(offset), offset


@pytest.mark.parametrize("seed", range(40))
def test_random_edits_match_a_rebuild(seed: int) -> None:
    rng = random.Random(seed)
    text = random_text(rng, rng.randint(0, 30))
    index = LineIndex(text)
    spot = 0
    for _ in range(60):
        if rng.random() < 0.5:
            # typing: at or next to the previous edit, which keeps one pending shift growing
            start = min(max(spot + rng.randint(-1, 1), 0), len(text))
            end = start if rng.random() < 0.7 else min(start + 1, len(text))
        else:
            start = rng.randint(0, len(text))
            end = rng.randint(start, min(len(text), start + rng.choice((0, 1, 3, 12))))
        inserted = random_text(rng, rng.choice((0, 1, 1, 2, 4)))
        after = text[:start] + inserted + text[end:]
        index.edit(start, end, inserted, after)
        text, spot = after, start + len(inserted)
        assert_same(index, text)


@pytest.mark.parametrize(
    ("text", "start", "end", "inserted"),
    [
        ("a\rb", 2, 2, "\n"),  # "\n" right after a lone "\r": one "\r\n" break, one line fewer
        ("a\r", 2, 2, "\n"),  # ... at the very end
        ("a\nb", 1, 1, "\r"),  # "\r" right before "\n": the break becomes "\r\n"
        ("a\r\nb", 1, 2, ""),  # delete the "\r" of a "\r\n"
        ("a\r\nb", 2, 3, ""),  # delete the "\n" of a "\r\n": a lone "\r" stays
        ("a\r\nb", 2, 2, "x"),  # split a "\r\n": two breaks
        ("a\rX\nb", 2, 3, ""),  # delete what kept "\r" and "\n" apart: they join
        ("😀\r\n中\r\n", 0, 7, ""),  # everything
        ("", 0, 0, "\r\n\r\n"),
    ],
)
def test_line_breaks_formed_and_split_by_an_edit(text: str, start: int, end: int, inserted: str) -> None:
    index = LineIndex(text)
    after = text[:start] + inserted + text[end:]
    index.edit(start, end, inserted, after)
    assert_same(index, after)


def test_crlf_typed_in_two_edits_on_a_large_document() -> None:
    text = "line\n" * 2000
    index = LineIndex(text)
    offset = 5 * 1000 + 2
    for piece in ("x", "\r", "\n"):  # typed one after another: "\r" then "\n" make one break
        text = text[:offset] + piece + text[offset:]
        index.edit(offset, offset, piece, text)
        offset += len(piece)
    assert_same(index, text)
    # an edit far above the pending shift applies it first
    text = "top\r" + text
    index.edit(0, 0, "top\r", text)
    assert_same(index, text)
