"""Inline completion (ghost text), free of any protocol: what to ask, when to stop, what to show.

Given a document's text and a cursor (code points), :func:`inline_context` cuts the text before
and after the cursor to a budget (whole lines; the first kept line moves in steps of
:data:`PREFIX_STEP_LINES`, so consecutive keystrokes send the same head and a server can reuse its
evaluated prefix) and decides the suggestion's shape from syntax (:func:`completion_mode`):
a fresh line in an empty block body or right after a signature gets a multi-line **block**;
anything else, mid-expression above all, gets one **line**. :func:`infill_request` turns that
into an :class:`~codegen_lsp.core.infill.InfillRequest` with the mode's token limit and stop
sequences; :class:`SuggestionCutter` says when a streamed answer is complete enough to close the
stream; :func:`clean_suggestion` makes the raw answer presentable: no fences or chat preamble,
no echo of the line being typed, no repetition of the rest of the line or the lines that follow,
the document's indentation kept, one line in line mode. :func:`worth_asking` says whether an
automatic request is worth a model call at all (not in the middle of code). :func:`suggest` runs the whole thing
over an :class:`~codegen_lsp.core.infill.Infiller`. :class:`TypedThroughCache` answers from the
last suggestion while the user types its next characters, without a model call.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from codegen_lsp.core.cleanup import _looks_like_prose, extract_code
from codegen_lsp.core.context import node_types_at
from codegen_lsp.core.infill import Infiller, InfillRequest
from codegen_lsp.core.languages import language
from codegen_lsp.core.settings import InlineSettings, Settings
from codegen_lsp.core.text import LineIndex, leading_whitespace, normalize_eol, split_lines
from codegen_lsp.core.types import Delta, Position
from codegen_lsp.errors import CodegenError

Mode = Literal["line", "block"]

#: the first line of the prefix moves in steps of this many lines (prefix reuse across keystrokes)
PREFIX_STEP_LINES = 32
#: the budgets of a model run in-process (see InlineOptions.of): ~500 prompt tokens to evaluate
#: once per file position, ~60 on every keystroke
IN_PROCESS_PREFIX_CHARS = 2000
IN_PROCESS_SUFFIX_CHARS = 256
#: seconds a finished one-line suggestion waits for the end of its stream (see _drain)
DRAIN_GRACE = 0.02
#: how many lines after the cursor line the repetition check compares with
_NEXT_LINES = 3

_CLOSERS = ")]}"
_OPENERS = "([{"
_PAIRS = {")": "(", "]": "[", "}": "{"}
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
_FENCE = re.compile(r"^\s*(```|~~~)")
_FENCE_LINE = re.compile(r"^\s*(```|~~~)", re.MULTILINE)


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


# --- where the cursor is ------------------------------------------------------------------------


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
    if before.strip() or any(ch not in _CLOSERS and not ch.isspace() for ch in after):
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


# --- the answer ----------------------------------------------------------------------------------


class SuggestionCutter:
    """Collects a streamed answer and says when it holds a whole suggestion, so the consumer can
    close the stream (and the upstream request) early: in line mode at the first line end, in
    block mode at the first line that leaves the block (the rules of :func:`clean_suggestion`)."""

    def __init__(self, ctx: InlineContext, options: InlineOptions | None = None) -> None:
        self.ctx = ctx
        self.options = options or InlineOptions()
        self.text = ""

    def feed(self, text: str) -> bool:
        """Add streamed text; True once more text cannot change the suggestion."""
        self.text += text
        visible = _visible(normalize_eol(self.text, "\n"), complete_only=True)
        if visible is None:
            return True  # a closing fence: the code is over
        if "\n" not in visible:
            return False
        if self.ctx.mode == "line":
            return True
        lines = _drop_line_echo(visible, self.ctx).split("\n")
        # the last line may still grow, but once it has code its indentation is final
        growing = lines.pop()
        _, ended = _block_lines(lines, self.ctx, self.options.block_lines)
        leaves = bool(growing.strip()) and len(leading_whitespace(growing)) <= len(self.ctx.opener_indent)
        return ended or leaves

    def result(self) -> str:
        return clean_suggestion(self.text, self.ctx, self.options)


def clean_suggestion(raw: str, ctx: InlineContext, options: InlineOptions | None = None) -> str:
    """The text to show at the cursor; ``""`` for nothing worth showing. See the module docstring."""
    options = options or InlineOptions()
    text = normalize_eol(raw, "\n")
    if _FENCE_LINE.search(text) and "\n" in text:
        text = extract_code(text, ctx.language_id)
    text = _visible(text) or ""
    text = _drop_line_echo(text, ctx)
    lines = text.split("\n")
    if ctx.mode == "line":
        line = _trim_rest_of_line(lines[0], ctx)
        return line if line.strip() else ""
    lines, _ = _block_lines(lines, ctx, options.block_lines)
    while lines and not lines[-1].strip():
        lines.pop()
    result = "\n".join(line.rstrip() for line in lines)
    return result if result.strip() else ""


def _visible(text: str, *, complete_only: bool = False) -> str | None:
    """The answer without a leading fence line, a chat preamble ("Here is the code:") or a
    trailing fence line; None when a closing fence follows code (the answer is over).
    ``complete_only``: a first line still being written is not judged as a preamble yet."""
    lines = text.split("\n")
    if lines and _FENCE.match(lines[0]) and (len(lines) > 1 or not complete_only):
        lines = lines[1:]
    if lines and _is_preamble(lines[0]) and (len(lines) > 1 or not complete_only):
        lines = lines[1:]
    if complete_only and any(_FENCE.match(line) for line in lines[:-1]):
        return None
    if lines and _FENCE.match(lines[-1]):
        lines = lines[:-1]
    return "\n".join(lines)


def _is_preamble(line: str) -> bool:
    return line.rstrip().endswith(":") and _looks_like_prose(line)


def _drop_line_echo(text: str, ctx: InlineContext) -> str:
    """A chat model tends to rewrite the line being typed from its start; FIM models continue it,
    but after indentation already typed they often indent again (all of it, or some)."""
    typed = ctx.line_before.strip()
    # a word begun ("re" of "return") is echoed too; a bracket or quote may really repeat ("((", '""')
    if (len(typed) >= 3 or typed.isidentifier()) and text.lstrip().startswith(typed):
        return text.lstrip()[len(typed) :]
    if ctx.line_before and not typed:
        # the cursor stands after the line's indentation: the code starts here
        first_line_end = text.find("\n")
        head = text if first_line_end < 0 else text[:first_line_end]
        if head.strip():
            return text.lstrip(" \t")
    return text


def _block_lines(lines: list[str], ctx: InlineContext, limit: int) -> tuple[list[str], bool]:
    """The block's body, and whether it ended before the answer did: at the first line that
    leaves the block (indented no deeper than the line that opened it; a bracket that closes
    the block is kept unless the document already has it next) or that repeats the document's
    next line; at most ``limit`` lines."""
    kept: list[str] = []
    depth = len(ctx.opener_indent)
    following = ctx.next_lines[0].strip() if ctx.next_lines else ""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if index > 0 and stripped:
            if stripped == following:
                return kept, True
            if len(leading_whitespace(line)) <= depth:
                if stripped[0] in _CLOSERS and not following.startswith(stripped[0]):
                    kept.append(line)
                return kept, True
        kept.append(line)
        if len(kept) >= limit:
            return kept, True
    return kept, False


def _trim_rest_of_line(line: str, ctx: InlineContext) -> str:
    """Without the part that repeats what already follows the cursor on its line: all of it
    when the model only rewrote the rest; else its end, when that end is the rest of the line
    and either closes brackets the line already closes or holds no bracket at all. Trailing
    spaces are kept only before a word (``f(█x)`` + ``"y, "`` → ``f(y, x)``)."""
    rest = ctx.line_after.strip()
    body = line.rstrip()
    if not rest or not body.strip():
        return body
    if ctx.line_after[0].isalnum() or ctx.line_after[0] in "_\"'`([{":
        body = line.rstrip("\r\n")  # a space between the suggestion and a following word
    if rest.startswith(body.strip()):
        return ""
    before, after = ctx.line_before, ctx.line_after
    overclosed = _overclosed(before + body + after)
    for size in range(len(rest), 0, -1):
        piece = rest[:size]
        if not body.endswith(piece):
            continue
        candidate = body[: len(body) - size]
        fixes = overclosed and not _overclosed(before + candidate + after)
        plain = size == len(rest) and not any(ch in _CLOSERS + _OPENERS for ch in rest)
        if fixes or plain:
            return candidate if candidate.strip() else ""
    return body


def _overclosed(text: str) -> bool:
    """A closing bracket with no opening one before it, outside string literals."""
    stack: list[str] = []
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "\"'`":
            quote = ch
        elif ch in _OPENERS:
            stack.append(ch)
        elif ch in _CLOSERS:
            if not stack or stack[-1] != _PAIRS[ch]:
                return True
            stack.pop()
    return False


async def suggest(
    infiller: Infiller,
    ctx: InlineContext,
    options: InlineOptions | None = None,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> str:
    """Ask ``infiller`` for the suggestion at ``ctx``; the stream is closed as soon as the answer
    is complete (or on any error or cancellation). Raises what the infiller raises.

    ``on_ready`` is called with the suggestion the moment it is complete, before the rest of a
    one-line stream is read (see :func:`_drain`), so a caller can answer without waiting for it."""
    options = options or InlineOptions()
    cutter = SuggestionCutter(ctx, options)
    deltas = infiller.stream_infill(infill_request(ctx, options))
    try:
        async for delta in deltas:
            if delta.text and cutter.feed(delta.text):
                if ctx.mode == "line":
                    if on_ready is not None:
                        on_ready(cutter.result())
                    await _drain(deltas, DRAIN_GRACE)
                break
    finally:
        close = getattr(deltas, "aclose", None)
        if close is not None:
            await close()
    return cutter.result()


async def _drain(deltas: AsyncIterator[Delta], grace: float) -> None:
    """Read what is left of a stream that is ending anyway, for at most ``grace`` seconds.

    A one-line request carries ``"\n"`` as its stop sequence, so a server that honours it has
    stopped where the suggestion ended and only its closing bytes are still on the way. Read to
    its end, a stream leaves its HTTP connection open for the next keystroke; closed early, it
    costs a new connection next time (on a remote server, a TLS handshake). Whatever comes, an
    error included, no longer matters to the suggestion."""
    with contextlib.suppress(TimeoutError, CodegenError):
        async with asyncio.timeout(grace):
            async for _ in deltas:
                pass


# --- typing through a suggestion ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Shown:
    before: str
    after: str
    text: str


class TypedThroughCache:
    """The last suggestion of each document, to answer again while the user types into it.

    :meth:`remember` records a suggestion with the document's text before and after the cursor
    it was made for. :meth:`lookup` with the text around the cursor now returns the rest of
    that suggestion when the only change is that the user typed its next characters (or deleted
    a few characters just before it); otherwise None, and a model must be asked. Documents are
    kept least-recently-used first, at most ``max_documents``.
    """

    def __init__(self, max_documents: int = 64, *, max_backspace: int = 16) -> None:
        self._shown: OrderedDict[str, _Shown] = OrderedDict()
        self._max = max_documents
        self._max_backspace = max_backspace

    def remember(self, uri: str, before: str, after: str, text: str) -> None:
        if not text:
            self.forget(uri)
            return
        self._shown[uri] = _Shown(before, after, text)
        self._shown.move_to_end(uri)
        while len(self._shown) > self._max:
            self._shown.popitem(last=False)

    def lookup(self, uri: str, before: str, after: str) -> str | None:
        shown = self._shown.get(uri)
        if shown is None or after != shown.after:
            return None
        if len(before) >= len(shown.before):
            if not before.startswith(shown.before):
                return None
            typed = before[len(shown.before) :]
            if len(typed) < len(shown.text) and shown.text.startswith(typed):
                return shown.text[len(typed) :]
            return None
        deleted = shown.before[len(before) :]
        if len(deleted) <= self._max_backspace and "\n" not in deleted and shown.before.startswith(before):
            return deleted + shown.text
        return None

    def forget(self, uri: str) -> None:
        self._shown.pop(uri, None)
