"""Follow a target range through the edits a user makes while a generation runs.

A job remembers the range it will replace (or the empty range it will insert at) in the document
as it was when the job started. Every later content change is fed to a :class:`RangeTracker`: a
change wholly before the target moves it, a change wholly after leaves it alone, and a change
that reaches into the target marks it *touched*, after which the answer must not be applied.
Everything is in code points in the line model of :mod:`codegen_lsp.core.text` (the LSP's),
so this module knows nothing of editors or encodings; :func:`change_between` turns a
whole-document replacement into the one smallest change, for clients that sync full text.

A change is recorded in the size of the change, never of the document: its range and text, and
as a :class:`Splice` (offset, removed text, inserted text). That is all a job keeps per keystroke
(a copy of a 5 MB document per keystroke once took a server from 53 to 493 MiB), and it is enough
to recognise an edit of our own coming back from the editor: :func:`splice_gives` compares two
splices through the text around them only.
"""

from __future__ import annotations

from dataclasses import dataclass

from codegen_lsp.core.text import LineIndex, end_of_insertion
from codegen_lsp.core.types import Position, Range


@dataclass(frozen=True, slots=True)
class Change:
    """``range`` (in the text before the change) replaced by ``text``."""

    range: Range
    text: str


@dataclass(frozen=True, slots=True)
class Splice:
    """A change in offsets: ``removed`` at ``offset`` (code points, in the text before) replaced
    by ``inserted``."""

    offset: int
    removed: str
    inserted: str

    @property
    def end(self) -> int:
        """The offset where the removed text ended, in the text before."""
        return self.offset + len(self.removed)


def splice_gives(text: str, done: Splice, wanted: Splice) -> bool:
    """Whether ``text``, the result of ``done`` applied to some text, equals what ``wanted``
    would have made of that same text. Only the stretch that either splice touches is read
    (both splices carry what they removed), so the check costs the size of the changes."""
    grown = len(done.inserted) - len(done.removed)
    if grown != len(wanted.inserted) - len(wanted.removed):
        return False
    low, high = min(done.offset, wanted.offset), max(done.end, wanted.end)  # in the text before
    after_done = done.offset + len(done.inserted)
    # the text before, from low to high: untouched parts read from ``text``, the rest from ``done``
    before = text[low : done.offset] + done.removed + text[after_done : after_done + high - done.end]
    if len(before) != high - low:
        return False  # the splices do not fit ``text``: it cannot be their result
    start, end = wanted.offset - low, wanted.end - low
    if before[start:end] != wanted.removed:
        return False
    expected = before[:start] + wanted.inserted + before[end:]
    return text[low : high + grown] == expected


def splice_between(old: str, new: str) -> Splice:
    """The smallest single splice turning ``old`` into ``new`` (common prefix and suffix kept).

    The split never falls between the two halves of a ``\\r\\n``, where no position exists.
    """
    limit = min(len(old), len(new))
    prefix = _common_length(old, new, limit, forward=True)
    if prefix > 0 and old[prefix - 1] == "\r" and old[prefix : prefix + 1] == "\n":
        prefix -= 1
    suffix = _common_length(old, new, limit - prefix, forward=False)
    if suffix and old[len(old) - suffix] == "\n" and old[len(old) - suffix - 1 : len(old) - suffix] == "\r":
        suffix -= 1
    return Splice(prefix, old[prefix : len(old) - suffix], new[prefix : len(new) - suffix])


def shift_position(position: Position, change: Change) -> Position:
    """Move a position at or after the change's end by what the change inserted and removed."""
    old_end = change.range.end
    new_end = end_of_insertion(change.range.start, change.text)
    if position.line == old_end.line:
        return Position(new_end.line, new_end.character + position.character - old_end.character)
    return Position(position.line + new_end.line - old_end.line, position.character)


def move_range(target: Range, change: Change) -> Range | None:
    """``target`` after ``change``, or None when the change touched the target itself.

    An insertion exactly at the start of the target counts as "before" (typing just above or in
    front of the target pushes it along); one exactly at its end counts as "after". For an empty
    target (an insertion point) both coincide and the typed text stays in front of the answer.
    """
    if change.range.end <= target.start:
        return Range(shift_position(target.start, change), shift_position(target.end, change))
    if change.range.start >= target.end:
        return target
    return None


class RangeTracker:
    """A target range followed through a sequence of changes (see :func:`move_range`)."""

    __slots__ = ("changes_seen", "range", "touched_by")

    def __init__(self, target: Range) -> None:
        self.range: Range = target
        #: the first change that reached into the target; None while the target is intact
        self.touched_by: Change | None = None
        self.changes_seen = 0

    @property
    def touched(self) -> bool:
        return self.touched_by is not None

    def apply(self, change: Change) -> bool:
        """Follow one change; return False once the target has been touched (now or before)."""
        self.changes_seen += 1
        if self.touched_by is not None:
            return False
        moved = move_range(self.range, change)
        if moved is None:
            self.touched_by = change
            return False
        self.range = moved
        return True


def change_between(old: str, new: str, index: LineIndex | None = None) -> Change:
    """The smallest single change turning ``old`` into ``new`` (``index``: ``old``'s, if at hand)."""
    return change_of(splice_between(old, new), index or LineIndex(old))


def change_of(splice: Splice, index: LineIndex) -> Change:
    """``splice`` as a range change, through the line index of the text before it."""
    return Change(Range(index.position_at(splice.offset), index.position_at(splice.end)), splice.inserted)


#: how much of two texts one comparison looks at while they still agree
_BLOCK = 1 << 16


def _common_length(a: str, b: str, limit: int, *, forward: bool) -> int:
    """Length of the common prefix (or suffix) of ``a`` and ``b``, at most ``limit``.

    Block by block while the texts agree, then a binary search inside the first block that
    differs; every comparison runs at C speed on slices of at most one block, so a change in a
    5 MB document costs a few milliseconds (slicing whole prefixes copied megabytes per step).
    """

    def same(start: int, end: int) -> bool:
        if forward:
            return a[start:end] == b[start:end]
        return a[len(a) - end : len(a) - start] == b[len(b) - end : len(b) - start]

    low = 0
    while low + _BLOCK <= limit and same(low, low + _BLOCK):
        low += _BLOCK
    high = min(limit, low + _BLOCK)
    while low < high:  # the first ``low`` agree; does the stretch up to ``mid``?
        mid = (low + high + 1) // 2
        if same(low, mid):
            low = mid
        else:
            high = mid - 1
    return low
