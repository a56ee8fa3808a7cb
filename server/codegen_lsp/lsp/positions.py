"""The one place where editor positions (utf-8, utf-16 or utf-32 code units) become code points.

The core works in code points on lines split by ``\\n``, ``\\r\\n`` and ``\\r``, which is the LSP's
own line model. pygls' ``TextDocument`` helpers split lines with ``str.splitlines`` (which also
breaks at form feeds, ``\\x1c``-``\\x1e``, ``\\x85``, U+2028 and U+2029) and mutate positions past
the end of a line, so conversions here use the LSP line model with pygls' encoding names. Code
units are counted by encoding the line with the negotiated codec (C speed); a position in the
middle of a character (half a surrogate pair, a partial UTF-8 sequence) rounds down, and a
character past the end of its line clamps to the line's end, as the specification asks.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

from lsprotocol import types as lsp

from codegen_lsp.core.types import Position, Range

_EOL = re.compile(r"\r\n|\r|\n")

_CODECS: dict[str, tuple[str, int]] = {
    lsp.PositionEncodingKind.Utf8: ("utf-8", 1),
    lsp.PositionEncodingKind.Utf16: ("utf-16-le", 2),
    lsp.PositionEncodingKind.Utf32: ("utf-32-le", 4),
}


def line_starts(text: str) -> list[int]:
    """Offsets of the first code point of every line (always at least ``[0]``)."""
    if "\r" not in text:
        # The common case, several times faster than the regex on large documents.
        starts = [0]
        position = text.find("\n")
        while position >= 0:
            starts.append(position + 1)
            position = text.find("\n", position + 1)
        return starts
    return [0, *(m.end() for m in _EOL.finditer(text))]


class LineIndex:
    """Lines of one text, for conversions in both directions, kept current through edits.

    Built once per document (one pass over the text), then moved along with every change by
    :meth:`edit` in O(lines touched) plus at most one C-speed pass over the list, instead of a
    rebuild (a Python-level pass over every line: ~25 ms at 100k lines, on every keystroke).

    The trick is a *pending shift*: after an edit, every line start from ``_shift_line`` on is
    stale by ``_shift`` code points, and readers add it on the fly. Typing on one line keeps adding
    to the same shift; an edit elsewhere first applies it (one list pass) and starts a new one.
    """

    __slots__ = ("_shift", "_shift_line", "_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = line_starts(text)
        self._shift_line = len(self._starts)
        self._shift = 0

    def _start(self, number: int) -> int:
        start = self._starts[number]
        return start + self._shift if number >= self._shift_line else start

    def _settle(self) -> None:
        """Apply the pending shift (once per move to another place in the document; O(n))."""
        if self._shift:
            k, d = self._shift_line, self._shift
            self._starts[k:] = [s + d for s in self._starts[k:]]
        self._shift, self._shift_line = 0, len(self._starts)

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line(self, number: int) -> str:
        """Line ``number`` without its line break ("" past the end)."""
        count = len(self._starts)
        if number < 0 or number >= count:
            return ""
        start = self._start(number)
        end = self._start(number + 1) if number + 1 < count else len(self.text)
        line = self.text[start:end]
        if line.endswith("\r\n"):
            return line[:-2]
        if line.endswith(("\n", "\r")):
            return line[:-1]
        return line

    def lines(self, first: int, last: int) -> list[str]:
        """Lines ``first``..``last`` inclusive, without line breaks, clamped to the document."""
        return [self.line(n) for n in range(max(first, 0), min(last, self.line_count - 1) + 1)]

    def offset(self, position: Position) -> int:
        """The code-point offset of a code-point position, clamped into the document."""
        if position.line < 0:
            return 0
        if position.line >= len(self._starts):
            return len(self.text)
        return self._start(position.line) + min(max(position.character, 0), len(self.line(position.line)))

    def position(self, offset: int) -> Position:
        """The code-point position of an offset."""
        offset = min(max(offset, 0), len(self.text))
        k = self._shift_line
        if k < len(self._starts) and offset >= self._starts[k] + self._shift:
            line = bisect_right(self._starts, offset - self._shift, lo=k) - 1
        else:
            line = bisect_right(self._starts, offset, hi=k) - 1
        # An offset between "\r" and "\n" has no position of its own: it belongs to the break.
        return Position(line, min(offset - self._start(line), len(self.line(line))))

    def clamp(self, position: Position) -> Position:
        """A code-point position moved into the document (past the end: the end)."""
        return self.position(self.offset(position))

    def text_in(self, rng: Range) -> str:
        return self.text[self.offset(rng.start) : self.offset(rng.end)]

    @property
    def end(self) -> Position:
        last = len(self._starts) - 1
        return Position(last, len(self.line(last)))

    def edit(self, start: int, end: int, inserted: str, after: str) -> None:
        """Become the index of ``after``, which is ``text[:start] + inserted + text[end:]``.

        Offsets are code points into the current text. The index changes in place, so whoever
        holds it reads the new text from then on; a job that needs the text it started from
        keeps that text and indexes it itself.
        """
        first = self.position(start).line
        last = self.position(end).line
        # Re-split from one line earlier: an insertion that begins with "\n" right after a lone
        # "\r" merges two breaks into one "\r\n", moving the start of line ``first``. The break
        # that ends line ``last`` lies after ``end`` and stays whole, so the window can end there.
        first = max(first - 1, 0)
        k = self._shift_line
        if self._shift and not first <= k <= last + 1:
            # The pending shift starts outside the lines this edit rewrites: apply it first, so
            # that the one shift left afterwards covers exactly the lines after the edit.
            self._settle()
        count = len(self._starts)
        window_start = self._start(first)
        delta = len(inserted) - (end - start)
        if last + 1 < count:
            window_end = self._start(last + 1) + delta
            local = [window_start + s for s in line_starts(after[window_start:window_end])]
            # the window ends with a line break, so its last "start" is line ``last + 1``, which
            # the (shifted) tail already holds
            del local[-1]
            self._starts[first : last + 1] = local
            # Entries from the tail were stale by the old shift (all of them: k <= last + 1), and
            # are now stale by that plus this edit's length change.
            self._shift_line = first + len(local)
            self._shift += delta
        else:
            self._starts[first:] = [window_start + s for s in line_starts(after[window_start:])]
            self._shift_line, self._shift = len(self._starts), 0
        if not self._shift:
            self._shift_line = len(self._starts)
        self.text = after


def _codec(encoding: str | None) -> tuple[str, int]:
    return _CODECS.get(encoding or lsp.PositionEncodingKind.Utf16, _CODECS[lsp.PositionEncodingKind.Utf16])


def units_to_code_points(line: str, units: int, encoding: str | None) -> int:
    """The code-point column of ``units`` code units into ``line`` (rounded down, clamped)."""
    codec, width = _codec(encoding)
    if width == 4 or line.isascii():
        return min(max(units, 0), len(line))
    data = line.encode(codec)[: max(units, 0) * width]
    return len(data.decode(codec, errors="ignore"))


def code_points_to_units(line: str, column: int, encoding: str | None) -> int:
    codec, width = _codec(encoding)
    prefix = line[: max(column, 0)]
    if width == 4 or prefix.isascii():
        return len(prefix)
    return len(prefix.encode(codec)) // width


def from_client_position(index: LineIndex, position: lsp.Position, encoding: str | None) -> Position:
    """An editor position as code points; a line past the end means the end of the document."""
    if position.line >= index.line_count:
        return index.end
    line = index.line(position.line)
    return Position(position.line, units_to_code_points(line, position.character, encoding))


def from_client_range(index: LineIndex, rng: lsp.Range, encoding: str | None) -> Range:
    start = from_client_position(index, rng.start, encoding)
    end = from_client_position(index, rng.end, encoding)
    return Range(start, end) if start <= end else Range(end, start)


def to_client_position(index: LineIndex, position: Position, encoding: str | None) -> lsp.Position:
    position = index.clamp(position)
    return lsp.Position(
        line=position.line,
        character=code_points_to_units(index.line(position.line), position.character, encoding),
    )


def to_client_range(index: LineIndex, rng: Range, encoding: str | None) -> lsp.Range:
    return lsp.Range(
        start=to_client_position(index, rng.start, encoding), end=to_client_position(index, rng.end, encoding)
    )


def client_units(text: str, encoding: str | None) -> int:
    """The length of ``text`` in the encoding's code units (for tests and logs)."""
    codec, width = _codec(encoding)
    return len(text.encode(codec)) // width


def lines_of(text: str) -> Sequence[str]:
    """All lines of ``text`` without their breaks (LSP line model)."""
    index = LineIndex(text)
    return index.lines(0, index.line_count - 1)
