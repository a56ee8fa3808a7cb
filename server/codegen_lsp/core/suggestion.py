"""Inline completion's answer, free of any protocol: when it is complete, what of it to show.

:class:`SuggestionCutter` says when a streamed answer is complete enough to close the stream;
:func:`clean_suggestion` makes the raw answer presentable: no fences or chat preamble, no echo of
the line being typed, no repetition of the rest of the line or the lines that follow, the
document's indentation kept, one line in line mode (the cutter applies the same rules, so the two
agree). :func:`suggest` runs the whole thing over an :class:`~codegen_lsp.core.infill.Infiller`
for an :class:`~codegen_lsp.core.inline.InlineContext`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable

from codegen_lsp.core.cleanup import _looks_like_prose, extract_code
from codegen_lsp.core.infill import Infiller
from codegen_lsp.core.inline import CLOSERS, InlineContext, InlineOptions, infill_request
from codegen_lsp.core.text import leading_whitespace, normalize_eol
from codegen_lsp.core.types import Delta
from codegen_lsp.errors import CodegenError

#: seconds a finished one-line suggestion waits for the end of its stream (see _drain)
DRAIN_GRACE = 0.02

_OPENERS = "([{"
_PAIRS = {")": "(", "]": "[", "}": "{"}
_FENCE = re.compile(r"^\s*(```|~~~)")
_FENCE_LINE = re.compile(r"^\s*(```|~~~)", re.MULTILINE)


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
                if stripped[0] in CLOSERS and not following.startswith(stripped[0]):
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
        plain = size == len(rest) and not any(ch in CLOSERS + _OPENERS for ch in rest)
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
        elif ch in CLOSERS:
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
