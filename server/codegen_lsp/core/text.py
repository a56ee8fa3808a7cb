"""Text helpers in code points: lines and their endings, offsets, indentation, applying edits.

Positions follow :mod:`codegen_lsp.core.types`: a line ends at ``\\n``, ``\\r\\n`` or a lone ``\\r``
(never at U+2028 and friends, which :meth:`str.splitlines` would split on and editors do not), and
a character is a code point. A text ending with a line ending has one more, empty, line. A
:class:`LineIndex` is built once per document text (one regex pass, fast on 100k-line documents)
and then answers offset/position questions by bisection; everything else here is a small pure
function over lines.
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


def line_ending(line: str) -> str:
    """The ending a line from :func:`split_lines_keepends` carries (``""`` for the last one)."""
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith(("\n", "\r")):
        return line[-1]
    return ""


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


class LineIndex:
    """Line starts of one text, for code-point offset ↔ position conversion by bisection."""

    __slots__ = ("_ends", "_starts", "lines", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = split_lines(text)
        starts = [0]
        ends = []
        for match in _EOL.finditer(text):
            ends.append(match.start())
            starts.append(match.end())
        ends.append(len(text))
        self._starts = starts
        self._ends = ends

    def __len__(self) -> int:
        return len(self.lines)

    def line_start(self, line: int) -> int:
        return self._starts[line]

    def line_end(self, line: int) -> int:
        """Offset of the end of ``line``'s content (before its line ending)."""
        return self._ends[line]

    @property
    def end_position(self) -> Position:
        last = len(self.lines) - 1
        return Position(last, len(self.lines[last]))

    def offset_at(self, position: Position) -> int:
        """Offset of ``position``; a character past the end of its line clamps to the line's end.

        A line past the end of the text clamps to the end of the text, the way editors treat it.
        """
        if position.line < 0 or position.character < 0:
            raise ActionError(f"Invalid position {position.line}:{position.character} (negative).")
        if position.line >= len(self.lines):
            return len(self.text)
        start = self._starts[position.line]
        return min(start + position.character, self._ends[position.line])

    def position_at(self, offset: int) -> Position:
        """Position of ``offset`` (clamped into the text); an offset inside ``\\r\\n`` maps to its line end."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self._starts, offset) - 1
        return Position(line, min(offset, self._ends[line]) - self._starts[line])

    def check_range(self, rng: Range) -> Range:
        """``rng`` ordered (start ≤ end) and clamped into the text; ActionError if it lies outside."""
        start, end = sorted((rng.start, rng.end))
        if start.line < 0 or start.character < 0:
            raise ActionError(f"The range {_fmt(rng)} starts before the document.")
        if start.line >= len(self.lines):
            raise ActionError(
                f"The range {_fmt(rng)} starts after the end of the document ({len(self.lines)} lines)."
            )
        return Range(self.position_at(self.offset_at(start)), self.position_at(self.offset_at(end)))


def _fmt(rng: Range) -> str:
    return f"{rng.start.line}:{rng.start.character}-{rng.end.line}:{rng.end.character}"


def offset_at(text: str, position: Position) -> int:
    """One-off conversion; build a :class:`LineIndex` when converting more than once."""
    return LineIndex(text).offset_at(position)


def position_at(text: str, offset: int) -> Position:
    """One-off conversion; build a :class:`LineIndex` when converting more than once."""
    return LineIndex(text).position_at(offset)


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
