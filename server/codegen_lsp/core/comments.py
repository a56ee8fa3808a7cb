"""Comment blocks: find the whole-line comment block at the cursor and read its words.

The server asks "is there a comment block at or above the cursor?" on every code-action request,
so :func:`comment_block_at` looks only at a bounded window around the line, whatever the
document's size. Comment markers come from the language table
(:attr:`~codegen_lsp.core.languages.Language.comments`); :func:`comment_text` strips them (and
doc-comment decorations) to give the instruction a ``generate_from_comment`` action works from.
"""

from __future__ import annotations

from collections.abc import Sequence

from codegen_lsp.core.languages import CommentSyntax, language

# Bounds of the look-around: comment_block_at runs on every code-action request, so its cost must
# not depend on the document's size.
_MAX_BLOCK_LINES = 200
_MAX_BLOCK_COMMENT_SCAN = 100


def _line_comment(stripped: str, syntax: CommentSyntax) -> bool:
    return any(stripped.startswith(marker) for marker in syntax.line)


def _block_span(lines: Sequence[str], i: int, syntax: CommentSyntax) -> tuple[int, int] | None:
    """The block comment (/* … */ style) line ``i`` lies in, if it starts a line or is inside one."""
    for opener, closer in syntax.block:
        low = max(-1, i - _MAX_BLOCK_COMMENT_SCAN)
        for j in range(i, low, -1):
            stripped = lines[j].strip()
            if j != i and closer in stripped:
                break  # a block closed above line i: i is outside it
            if stripped.startswith(opener):
                high = min(len(lines), i + _MAX_BLOCK_COMMENT_SCAN)
                for k in range(j, high):
                    text = lines[k].strip()
                    if closer in (text[len(opener) :] if k == j else text):
                        return (j, k) if k >= i else None
                return (j, max(i, j))  # still being typed: no closer yet
    return None


def _comment_span(lines: Sequence[str], i: int, syntax: CommentSyntax) -> tuple[int, int] | None:
    stripped = lines[i].strip()
    if not stripped:
        return None
    if _line_comment(stripped, syntax):
        return (i, i)
    return _block_span(lines, i, syntax)


def comment_block_at(text_lines: Sequence[str], line: int, language_id: str) -> tuple[int, int] | None:
    """First and last line of the whole-line comment block at ``line``, or right above a blank ``line``.

    Consecutive comment lines (line comments and block comments alike) form one block; a blank
    line or a line of code ends it. Trailing comments after code do not count. Only a bounded
    window around ``line`` is read, so this is cheap on any document size.
    """
    if not 0 <= line < len(text_lines):
        return None
    syntax = language(language_id).comments
    span = _comment_span(text_lines, line, syntax)
    if span is None and not text_lines[line].strip() and line > 0:
        # the cursor sits on the empty line the user opened under the comment
        span = _comment_span(text_lines, line - 1, syntax)
    if span is None:
        return None
    first, last = span
    while first > 0 and last - first < _MAX_BLOCK_LINES:
        above = _comment_span(text_lines, first - 1, syntax)
        if above is None:
            break
        first = above[0]
    while last + 1 < len(text_lines) and last - first < _MAX_BLOCK_LINES:
        below = _comment_span(text_lines, last + 1, syntax)
        if below is None:
            break
        last = below[1]
    return first, last


def code_lines(lines: Sequence[str], language_id: str) -> list[str]:
    """The lines of ``lines`` that are neither blank nor (part of) a whole-line comment."""
    syntax = language(language_id).comments
    return [line for i, line in enumerate(lines) if line.strip() and _comment_span(lines, i, syntax) is None]


def comment_text(lines: Sequence[str], language_id: str) -> str:
    """The words of a comment block: markers, doc-comment stars and common indentation removed."""
    syntax = language(language_id).comments
    openers = sorted({o for o, _ in syntax.block}, key=len, reverse=True)
    closers = sorted({c for _, c in syntax.block}, key=len, reverse=True)
    markers = sorted(syntax.line, key=len, reverse=True)
    out: list[str] = []
    for raw in lines:
        text = raw.strip()
        for opener in openers:
            if text.startswith(opener):
                text = text[len(opener) :].lstrip("*!")  # /** and /*! doc openers
                break
        for closer in closers:
            if text.endswith(closer):
                text = text[: -len(closer)].rstrip("*")
                break
        for marker in markers:
            if text.startswith(marker):
                # repeated markers: ;;; in Lisp, /// and //! doc comments, #' roxygen
                text = text.lstrip(marker[0]).lstrip("/!'|")
                break
        else:
            if openers and text.startswith("*"):
                text = text[1:]  # " * " continuation lines of a /** … */ block
        out.append(text.strip())
    while out and not out[0]:
        out.pop(0)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
