"""A proposal, measured by the benchmarks: a line index that follows an edit without a rebuild.

``codegen_lsp.lsp.positions.LineIndex`` is rebuilt from the whole text for every document
version (a Python loop over every line: ~20 ms for 100k lines here), and ``DocumentStore.change``
needs the index of the current version to convert each change's range, so every keystroke in a
large file pays a full rebuild. :class:`IncrementalLineIndex` has the same interface and adds
:meth:`edited`: the index of the text after one change, built from this one in O(lines touched)
plus a C-speed list copy, with the shift of every later line start kept *pending* (one
``(line, delta)`` pair) instead of applied. Typing on one line keeps adding to the same pending
shift; typing elsewhere applies it once (one O(n) pass) and starts a new one. The old index is
never mutated, so a job that kept the index of the text it started from still reads it correctly.

This lives in ``bench/`` because the benchmark owns the measurement; the server would take it
into ``positions.py`` (see the benchmark report for the numbers).
"""

from __future__ import annotations

from bisect import bisect_right

from codegen_lsp.core.types import Position
from codegen_lsp.lsp.positions import LineIndex, line_starts


class IncrementalLineIndex(LineIndex):
    """``LineIndex`` whose entries from ``_shift_line`` on are stale by ``_shift``."""

    __slots__ = ("_shift", "_shift_line")

    def __init__(
        self, text: str, starts: list[int] | None = None, shift_line: int = 0, shift: int = 0
    ) -> None:
        self.text = text
        self._starts = line_starts(text) if starts is None else starts
        self._shift_line = shift_line if shift else len(self._starts)
        self._shift = shift

    def _start(self, number: int) -> int:
        start = self._starts[number]
        return start + self._shift if number >= self._shift_line else start

    def _settle(self) -> list[int]:
        """Apply the pending shift (once per move to another line; O(n))."""
        if self._shift:
            k, d = self._shift_line, self._shift
            self._starts = self._starts[:k] + [s + d for s in self._starts[k:]]
            self._shift, self._shift_line = 0, len(self._starts)
        return self._starts

    # -- the LineIndex interface, reading through the pending shift ----------------------------

    def line(self, number: int) -> str:
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

    def offset(self, position: Position) -> int:
        if position.line < 0:
            return 0
        if position.line >= len(self._starts):
            return len(self.text)
        return self._start(position.line) + min(max(position.character, 0), len(self.line(position.line)))

    def position(self, offset: int) -> Position:
        offset = min(max(offset, 0), len(self.text))
        k = self._shift_line
        if k < len(self._starts) and offset >= self._starts[k] + self._shift:
            line = bisect_right(self._starts, offset - self._shift, lo=k) - 1
        else:
            line = bisect_right(self._starts, offset, hi=k) - 1
        return Position(line, min(offset - self._start(line), len(self.line(line))))

    # -- the new part --------------------------------------------------------------------------

    def edited(
        self, start: int, end: int, inserted: str, after: str, *, in_place: bool = False
    ) -> IncrementalLineIndex:
        """The index of ``after`` == ``text[:start] + inserted + text[end:]`` (code-point offsets).

        With ``in_place`` this index's list is reused and this index must not be read again."""
        first = self.position(start).line
        last = self.position(end).line
        # One line earlier than the edit: an insertion that begins with "\n" right after a "\r"
        # turns two breaks into one "\r\n". The line after the edit keeps its break untouched.
        first = max(first - 1, 0)
        window_start = self._start(first)
        delta = len(inserted) - (end - start)
        count = len(self._starts)
        window_end = self._start(last + 1) + delta if last + 1 < count else len(after)
        local = [window_start + s for s in line_starts(after[window_start:window_end])]
        if window_end == len(after) and last + 1 >= count:
            tail: list[int] = []
        else:
            local = local[:-1] if local and local[-1] == window_end else local
            tail = self._starts[last + 1 :]
        k = self._shift_line
        if self._shift and not (first <= k <= last + 1):
            settled = self if in_place else self._settled_copy()
            settled._settle()
            return settled.edited(start, end, inserted, after, in_place=in_place)
        # entries copied from the tail were stale by the old shift (all of them, since k <= last+1)
        pending = (self._shift if self._shift else 0) + delta
        if in_place:
            # the old index is given up: a slice assignment moves the tail pointers (memmove)
            # without touching every int object as a copy does
            starts = self._starts
            starts[first : (last + 1 if tail else len(starts))] = local
        else:
            starts = self._starts[:first] + local + tail
        return IncrementalLineIndex(after, starts, first + len(local), pending)

    def _settled_copy(self) -> IncrementalLineIndex:
        return IncrementalLineIndex(self.text, list(self._starts), self._shift_line, self._shift)
