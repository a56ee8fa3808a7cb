"""Inline completion (ghost text), free of any protocol: where the cursor is and what to ask.

Given a document's text and a cursor (code points), :func:`inline_context` cuts the text before
and after the cursor to a budget (whole lines; the first kept line moves in steps of
:data:`PREFIX_STEP_LINES`, so consecutive keystrokes send the same head and a server can reuse its
evaluated prefix) and decides the suggestion's shape from syntax (:func:`completion_mode`):
a fresh line in an empty block body or right after a signature gets a multi-line **block**;
anything else, mid-expression above all, gets one **line**. :func:`infill_request` turns that
into an :class:`~codegen_lsp.core.infill.InfillRequest` with the mode's token limit and stop
sequences; :class:`InlineOptions` holds the budgets (less for a model run in-process, see
:func:`in_process`). :func:`worth_asking` says whether an automatic request is worth a model call
at all (not in the middle of code). The answer is cut, cleaned and asked for in
:mod:`codegen_lsp.core.suggestion`; typing through a suggestion is :mod:`codegen_lsp.core.typethrough`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from codegen_lsp.core.context import node_types_at
from codegen_lsp.core.infill import InfillRequest
from codegen_lsp.core.languages import language
from codegen_lsp.core.settings import InlineSettings, Settings
from codegen_lsp.core.text import LineIndex, leading_whitespace, split_lines
from codegen_lsp.core.types import Position

Mode = Literal["line", "block"]

#: the first line of the prefix moves in steps of this many lines (prefix reuse across keystrokes)
PREFIX_STEP_LINES = 32
#: the budgets of a model run in-process (see InlineOptions.of): ~500 prompt tokens to evaluate
#: once per file position, ~60 on every keystroke
IN_PROCESS_PREFIX_CHARS = 2000
IN_PROCESS_SUFFIX_CHARS = 256
#: how many lines after the cursor line the repetition check compares with
_NEXT_LINES = 3
#: closing brackets: all that may follow the cursor on a fresh line, and what may close a block
CLOSERS = ")]}"

_BLOCK_OPENERS = (":", "{", "(", "[")
_NO_BLOCK_NODES = frozenset(
    {
        "comment",
        "line_comment",
        "block_comment",
        "string",
        "string_content",
        "template_string",
        "string_fragment",
    }
)
#: what may follow the cursor for an automatic suggestion (see worth_asking)
_REST_OF_LINE = re.compile(r"\s*[)\]}>\"'`]*\s*[:;,{]?\s*")


@dataclass(frozen=True, slots=True)
class InlineOptions:
    """Budgets and limits; the ``inline.*`` settings resolve into this."""

    #: characters of text before the cursor sent at most (≈4 characters per token)
    prefix_chars: int = 6000
    #: characters of text after the cursor sent at most
    suffix_chars: int = 2000
    #: max tokens for a one-line suggestion
    line_tokens: int = 64
    #: max tokens and lines for a multi-line suggestion
    block_tokens: int = 256
    block_lines: int = 16
    temperature: float | None = 0.1
    #: the model asked (None: the infiller's own)
    model: str | None = None

    @classmethod
    def of(cls, settings: InlineSettings, *, in_process: bool = False) -> InlineOptions:
        """The options the ``inline.*`` settings ask for. Budgets left unset depend on where the
        model runs: one in-process (``in_process``) evaluates its prompt on this machine's CPU,
        and with the prefix first in a FIM prompt the suffix is evaluated again at every
        keystroke, so it gets :data:`IN_PROCESS_PREFIX_CHARS` and :data:`IN_PROCESS_SUFFIX_CHARS`."""
        prefix, suffix = (IN_PROCESS_PREFIX_CHARS, IN_PROCESS_SUFFIX_CHARS) if in_process else (6000, 2000)
        return cls(
            prefix_chars=prefix if settings.prefix_chars is None else settings.prefix_chars,
            suffix_chars=suffix if settings.suffix_chars is None else settings.suffix_chars,
            line_tokens=settings.line_tokens,
            block_tokens=settings.block_tokens,
            block_lines=settings.block_lines,
            temperature=settings.temperature,
            model=settings.model,
        )


def in_process(settings: Settings) -> bool:
    """Whether inline completion's first provider runs its model in this process."""
    first = settings.providers.get(settings.inline.provider or settings.provider or "")
    return first is not None and first.type == "local"


@dataclass(frozen=True, slots=True)
class InlineContext:
    """One cursor in one document: the text around it and the suggestion's shape."""

    prefix: str  # budgeted text before the cursor (``\\n`` line ends)
    suffix: str  # budgeted text after the cursor
    line_before: str  # the cursor line up to the cursor
    line_after: str  # the cursor line from the cursor on
    next_lines: tuple[str, ...]  # the first non-blank lines after the cursor line
    mode: Mode
    #: block mode: the indentation of the line that opens the block (the body goes deeper)
    opener_indent: str = ""
    language_id: str = "plaintext"
    path: str | None = None


def completion_mode(lines: Sequence[str], line: int, character: int, language_id: str) -> Mode:
    """``block`` on a fresh line whose block has no body yet, ``line`` everywhere else.

    A fresh line has only whitespace before the cursor and at most closing brackets after it.
    The line above (the nearest non-blank one) must end with a block opener (``:``, ``{``, ``(``,
    ``[``) that is code, not part of a comment or string (asked of tree-sitter where a grammar is
    installed, from the language's comment markers otherwise), and the next non-blank line must not be indented
    deeper than that opener's line (else the body exists and the user is adding one line to it).
    """
    text = lines[line]
    before, after = text[:character], text[character:]
    if before.strip() or any(ch not in CLOSERS and not ch.isspace() for ch in after):
        return "line"
    opener = next((j for j in range(line - 1, -1, -1) if lines[j].strip()), None)
    if opener is None or not _opens_block(lines, opener, language_id):
        return "line"
    below = next((lines[j] for j in range(line + 1, len(lines)) if lines[j].strip()), None)
    if below is not None and len(leading_whitespace(below)) > len(leading_whitespace(lines[opener])):
        return "line"
    return "block"


def worth_asking(line_after: str) -> bool:
    """Whether a suggestion can go before ``line_after`` (the cursor line from the cursor on):
    only when it holds nothing but closing brackets, quotes and a final separator. In the middle
    of code a suggestion could only be inserted before text it would have to fit, which is rarely
    useful and costs a model call per keystroke; an editor's explicit request asks anyway."""
    return _REST_OF_LINE.fullmatch(line_after) is not None


def _opens_block(lines: Sequence[str], opener: int, language_id: str) -> bool:
    code = lines[opener].rstrip()
    if not code.endswith(_BLOCK_OPENERS):
        return False
    types = node_types_at(lines, language_id, opener, len(code) - 1)
    if types is None:
        comments = language(language_id).comments
        return not code.lstrip().startswith((*comments.line, *(start for start, _ in comments.block)))
    return not _NO_BLOCK_NODES.intersection(types)


def _window(index: LineIndex, line: int, options: InlineOptions) -> tuple[int, list[str]]:
    """The first line number and the lines of the part of ``index`` the budgets around ``line``
    can reach (plus room for the head's step and the look-around of the line/block decision),
    split at once: a suggestion needs the lines around its cursor, not the whole file split."""
    first = index.position_at(max(index.line_start(line) - options.prefix_chars, 0)).line
    first = max(first - PREFIX_STEP_LINES, 0)
    last = index.position_at(index.line_end(line) + options.suffix_chars).line + _NEXT_LINES + 1
    return first, index.lines(first, last)


def inline_context(
    text: str,
    position: Position,
    language_id: str = "plaintext",
    path: str | None = None,
    options: InlineOptions | None = None,
    *,
    index: LineIndex | None = None,
) -> InlineContext:
    """The context for a suggestion at ``position`` (code points) in ``text``. ``index``: the
    text's line index, where the caller keeps one (the server does), so that only the lines
    around the cursor are read instead of the whole text being split."""
    options = options or InlineOptions()
    if index is not None and index.text is text:
        base, lines = _window(index, min(position.line, index.line_count - 1), options)
    else:
        base, lines = 0, split_lines(text)
    line = min(position.line - base, len(lines) - 1)
    current = lines[line]
    character = min(position.character, len(current))
    before, after = current[:character], current[character:]
    mode = completion_mode(lines, line, character, language_id)
    opener_indent = ""
    if mode == "block":
        opener = next(j for j in range(line - 1, -1, -1) if lines[j].strip())
        opener_indent = leading_whitespace(lines[opener])
    following: list[str] = []
    for j in range(line + 1, len(lines)):
        if lines[j].strip():
            following.append(lines[j])
            if len(following) == _NEXT_LINES:
                break
    return InlineContext(
        prefix=_budget_prefix(lines, line, before, options.prefix_chars, base),
        suffix=_budget_suffix(lines, line, after, options.suffix_chars),
        line_before=before,
        line_after=after,
        next_lines=tuple(following),
        mode=mode,
        opener_indent=opener_indent,
        language_id=language_id,
        path=path,
    )


def _budget_prefix(lines: Sequence[str], line: int, before: str, chars: int, base: int = 0) -> str:
    """The cursor line's start and as many whole lines above it as fit in ``chars``; when lines
    must be dropped, the first kept one is moved down to a multiple of PREFIX_STEP_LINES (of the
    file's line numbers: ``lines[0]`` is line ``base``)."""
    total, start = len(before), line
    while start > 0 and total + len(lines[start - 1]) + 1 <= chars:
        start -= 1
        total += len(lines[start]) + 1
    if base + start > 0:
        start = min(line, -(-(base + start) // PREFIX_STEP_LINES) * PREFIX_STEP_LINES - base)
    return "\n".join([*lines[start:line], before])


def _budget_suffix(lines: Sequence[str], line: int, after: str, chars: int) -> str:
    kept, total = [after], len(after)
    for j in range(line + 1, len(lines)):
        total += len(lines[j]) + 1
        if total > chars:
            break
        kept.append(lines[j])
    return "\n".join(kept)


def infill_request(ctx: InlineContext, options: InlineOptions | None = None) -> InfillRequest:
    """What to ask an infiller: one line stops at the line end; a block stops at a blank gap."""
    options = options or InlineOptions()
    block = ctx.mode == "block"
    return InfillRequest(
        prefix=ctx.prefix,
        suffix=ctx.suffix,
        language_id=ctx.language_id,
        path=ctx.path,
        model=options.model,
        max_tokens=options.block_tokens if block else options.line_tokens,
        temperature=options.temperature,
        stop=("\n\n\n",) if block else ("\n",),
    )
