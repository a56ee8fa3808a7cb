"""Where a finished answer lands in a document the user kept editing: still wanted, and apart.

A job's answer was made from some text (the comment block that asked for it, the code it is
about) and is written at a target range; meanwhile the user types. :mod:`~codegen_lsp.core.tracking`
follows both ranges through the changes. This module decides the rest at delivery time, on plain
text: whether what the answer was made from is still there as it was (:func:`still_asked`; a
comment edited, extended, shortened or deleted makes the answer *stale*, and a stale answer is
never written), and which line breaks keep the answer off the lines the user typed on at its
edges (:func:`keep_apart`: code that was planned to start or end a line still does, so the user's
``foo`` typed at the insertion point never becomes ``foodef add…``).
"""

from __future__ import annotations

from dataclasses import dataclass

from codegen_lsp.core.comments import comment_block_at
from codegen_lsp.core.text import LineIndex
from codegen_lsp.core.types import Range

#: lines read around a comment block to see whether it is still exactly that block (the block
#: finder's own look-around is bounded by less)
_BLOCK_WINDOW = 256

_BREAKS = ("\r\n", "\n", "\r")


@dataclass(frozen=True)
class Source:
    """What an answer was made from, as it was when the job started."""

    #: whole lines (column 0 to the end of the last line)
    range: Range
    lines: tuple[str, ...]
    #: a comment block (in this language): it must still be exactly that block (a comment line
    #: typed next to it changes the instruction as much as an edit inside it)
    comment_in: str | None = None

    @property
    def comment(self) -> bool:
        return self.comment_in is not None


def still_asked(source: Source, index: LineIndex, moved: Range) -> bool:
    """Whether ``source`` is still in the document as it was, at ``moved`` (its range after the
    user's changes, from a tracker that saw nothing reach into it).

    The lines are compared whole, so text typed at either end of the source's lines counts as a
    change; text typed on lines of its own above or below does not (except a comment line that
    joins a comment block).
    """
    first, last = moved.start.line, moved.end.line
    if last - first != len(source.lines) - 1 or last >= index.line_count:
        return False
    if tuple(index.lines(first, last)) != source.lines:
        return False
    if source.comment_in is None:
        return True
    low = max(0, first - _BLOCK_WINDOW)
    window = index.lines(low, last + _BLOCK_WINDOW)
    return comment_block_at(window, first - low, source.comment_in) == (first - low, last - low)


def _leading_break(text: str) -> str:
    return next((b for b in _BREAKS if text.startswith(b)), "")


@dataclass(frozen=True)
class Lines:
    """An answer's text, and whether it takes whole lines of its own (an insertion, a replacement
    of whole lines: :attr:`~codegen_lsp.core.pipeline.Plan.whole_lines`). ``text`` is without
    the leading break a plan adds to leave a line with text on it; text replacing part of a line
    stays inline."""

    text: str
    own_lines: bool

    @classmethod
    def planned(cls, rng: Range, text: str, whole_lines: bool) -> Lines:
        """The planned edit ``rng`` → ``text``."""
        if whole_lines and rng.start.character > 0 and (brk := _leading_break(text)):
            # below a last line without a line break: keep_apart puts the break back if needed
            return cls(text[len(brk) :], True)
        return cls(text, whole_lines)


def keep_apart(index: LineIndex, rng: Range, lines: Lines, eol: str) -> str:
    """``lines.text`` for ``rng`` in the document as it is now (``index``); lines of their own
    get the line breaks that keep them so: one in front where the user's text now precedes
    ``rng`` on its line, one after where the user's text now follows it."""
    text = lines.text
    if not lines.own_lines:
        return text
    if index.line(rng.start.line)[: rng.start.character] and not _leading_break(text):
        text = eol + text
    if index.line(rng.end.line)[rng.end.character :] and not text.endswith(_BREAKS):
        text += eol
    return text
