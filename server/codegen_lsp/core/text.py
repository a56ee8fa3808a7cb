"""The one line model: lines and their endings, code-point offsets and positions, indentation, edits.

Positions follow :mod:`codegen_lsp.core.types`: a line ends at ``\\n``, ``\\r\\n`` or a lone ``\\r``
(never at U+2028, form feed and friends, which :meth:`str.splitlines` would split on and editors
do not), and a character is a code point. A text ending with a line ending has one more, empty,
line. A :class:`LineIndex` is built once per text and then answers offset/position questions by
bisection; the language server keeps one per open document and moves it along with every change
(:meth:`LineIndex.edit`). Converting to an editor's code units (utf-8/16/32) is not done here but
at the LSP edge (:mod:`codegen_lsp.lsp.positions`). Everything else is a small pure function.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from codegen_lsp.core.types import Position, Range, TextEdit
from codegen_lsp.errors import ActionError

_EOL = re.compile(r"\r\n|\r|\n")
_LEADING_WS = re.compile(r"[ \t]*")

# How many lines indentation detection looks at; a sample is plenty and keeps it cheap.
_INDENT_SAMPLE_LINES = 2000


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` without their endings (``"a\\n"`` gives ``["a", ""]``)."""
    return _EOL.split(text)


def split_lines_keepends(text: str) -> list[str]:
    """The lines of ``text`` with their endings; joining them gives ``text`` back."""
    parts = _EOL.split(text)
    ends = _EOL.findall(text)
    return [part + end for part, end in zip(parts, [*ends, ""], strict=True)]


def detect_eol(text: str) -> str:
    """The dominant line ending of ``text``; ``"\\n"`` when it has none. Ties go to ``\\n``."""
    crlf = text.count("\r\n")
    cr = text.count("\r") - crlf
    lf = text.count("\n") - crlf
    best = max(lf, crlf, cr)
    if best == 0 or best == lf:
        return "\n"
    return "\r\n" if best == crlf else "\r"


def normalize_eol(text: str, eol: str) -> str:
    """``text`` with every line ending replaced by ``eol``."""
    return _EOL.sub(eol, text)


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
    """The lines of one text, for code-point offset ↔ position questions, kept current through edits.

    Built once per text (one pass), it answers by bisection, and :meth:`edit` moves it along with
    every change in O(lines touched) plus at most one C-speed pass over the list, instead of a
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

    # -- lines -----------------------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_start(self, number: int) -> int:
        """Offset of the first code point of line ``number``."""
        return self._start(number)

    def line_end(self, number: int) -> int:
        """Offset of the end of line ``number``'s content (before its line break)."""
        return self._start(number) + len(self.line(number))

    def line(self, number: int) -> str:
        """Line ``number`` without its line break (``""`` past the end)."""
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

    def lines(self, first: int = 0, last: int | None = None) -> list[str]:
        """Lines ``first``..``last`` inclusive (default: to the end), without breaks, clamped."""
        first = max(first, 0)
        last = self.line_count - 1 if last is None else min(last, self.line_count - 1)
        if first > last:
            return []
        # the breaks inside the window are exactly the lines' own: one C-speed split
        return split_lines(self.text[self._start(first) : self.line_end(last)])

    @property
    def end(self) -> Position:
        """The position of the end of the text."""
        last = len(self._starts) - 1
        return Position(last, len(self.line(last)))

    # -- offsets and positions ----------------------------------------------------------------

    def offset_at(self, position: Position) -> int:
        """Offset of ``position``; a character past the end of its line clamps to the line's end.

        A line past the end of the text clamps to the end of the text, the way editors treat it.
        """
        if position.line < 0 or position.character < 0:
            raise ActionError(f"Invalid position {position.line}:{position.character} (negative).")
        if position.line >= len(self._starts):
            return len(self.text)
        return self._start(position.line) + min(position.character, len(self.line(position.line)))

    def position_at(self, offset: int) -> Position:
        """Position of ``offset`` (clamped into the text); an offset inside ``\\r\\n`` maps to its line end."""
        offset = min(max(offset, 0), len(self.text))
        k = self._shift_line
        if k < len(self._starts) and offset >= self._starts[k] + self._shift:
            line = bisect_right(self._starts, offset - self._shift, lo=k) - 1
        else:
            line = bisect_right(self._starts, offset, hi=k) - 1
        return Position(line, min(offset - self._start(line), len(self.line(line))))

    def clamp(self, position: Position) -> Position:
        """``position`` moved into the text (past the end: the end)."""
        return self.position_at(self.offset_at(position))

    def text_in(self, rng: Range) -> str:
        return self.text[self.offset_at(rng.start) : self.offset_at(rng.end)]

    def check_range(self, rng: Range) -> Range:
        """``rng`` ordered (start ≤ end) and clamped into the text; ActionError if it lies outside."""
        start, end = sorted((rng.start, rng.end))
        if start.line < 0 or start.character < 0:
            raise ActionError(f"The range {_fmt(rng)} starts before the document.")
        if start.line >= len(self._starts):
            raise ActionError(
                f"The range {_fmt(rng)} starts after the end of the document ({len(self._starts)} lines)."
            )
        return Range(self.clamp(start), self.clamp(end))

    # -- editing ---------------------------------------------------------------------------------

    def edit(self, start: int, end: int, inserted: str, after: str) -> None:
        """Become the index of ``after``, which is ``text[:start] + inserted + text[end:]``.

        Offsets are code points into the current text. The index changes in place, so whoever
        holds it reads the new text from then on; a job that needs the text it started from
        keeps that text and indexes it itself.
        """
        first = self.position_at(start).line
        last = self.position_at(end).line
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


def _fmt(rng: Range) -> str:
    return f"{rng.start.line}:{rng.start.character}-{rng.end.line}:{rng.end.character}"


def offset_at(text: str, position: Position) -> int:
    """One-off conversion; build a :class:`LineIndex` when converting more than once."""
    return LineIndex(text).offset_at(position)


def position_at(text: str, offset: int) -> Position:
    """One-off conversion; build a :class:`LineIndex` when converting more than once."""
    return LineIndex(text).position_at(offset)


def end_of_insertion(start: Position, text: str) -> Position:
    """Where ``text`` ends once inserted at ``start``."""
    lines = split_lines(text)
    if len(lines) == 1:
        return Position(start.line, start.character + len(text))
    return Position(start.line + len(lines) - 1, len(lines[-1]))


def apply_edit(text: str, edit: TextEdit) -> str:
    """``text`` with ``edit`` applied (positions in code points, clamped like editors do)."""
    return apply_edits(text, [edit])


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """``text`` with non-overlapping ``edits`` applied; all positions refer to the original text."""
    index = LineIndex(text)
    spans = sorted(
        ((index.offset_at(e.range.start), index.offset_at(e.range.end), e.new_text) for e in edits),
        key=lambda span: (span[0], span[1]),
    )
    out: list[str] = []
    cursor = 0
    for start, end, new_text in spans:
        start, end = min(start, end), max(start, end)
        if start < cursor:
            raise ActionError("Overlapping edits cannot be applied together.")
        out.append(text[cursor:start])
        out.append(new_text)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def leading_whitespace(line: str) -> str:
    """The spaces and tabs a line starts with."""
    match = _LEADING_WS.match(line)
    return match.group() if match else ""


def is_blank(line: str) -> bool:
    return not line.strip()


@dataclass(frozen=True, slots=True)
class Indentation:
    """How a document indents one level: ``unit`` is ``"\\t"`` or a run of spaces."""

    unit: str = "    "

    @property
    def uses_tabs(self) -> bool:
        return self.unit == "\t"

    @property
    def width(self) -> int:
        """Columns per level (a tab counts as one level, shown as 4 columns)."""
        return 4 if self.uses_tabs else len(self.unit)


def detect_indentation(lines: Sequence[str], default: Indentation | None = None) -> Indentation | None:
    """The indentation a document uses, or ``default`` when it has no indented lines.

    Tabs win when more lines start with a tab than with spaces. For spaces, the width is the most
    common increase between consecutive non-blank lines (2, 4, 8, ...), which ignores one-off
    alignment of continuation lines better than a gcd would.
    """
    tabs = spaces = 0
    deltas: Counter[int] = Counter()
    previous = 0
    for line in lines[:_INDENT_SAMPLE_LINES]:
        if is_blank(line):
            continue
        ws = leading_whitespace(line)
        if ws.startswith("\t"):
            tabs += 1
            continue
        width = len(ws)
        if width:
            spaces += 1
        # A one-column step is almost always doc-comment alignment (" * " under "/**"), not a level.
        if 2 <= width - previous <= 8:
            deltas[width - previous] += 1
        previous = width
    if tabs == 0 and spaces == 0:
        return default
    if tabs > spaces:
        return Indentation("\t")
    if not deltas:
        return default
    width = max(deltas.items(), key=lambda item: (item[1], -item[0]))[0]
    return Indentation(" " * width)
