"""Turn a model's answer into code that sits cleanly in the document.

Models wrap code in Markdown fences with prose around it, think aloud in ``<think>`` blocks, repeat
the comment or the ``def`` line they were shown, and indent with whatever they like. Cleanup
undoes all that: :func:`clean_code` strips ``<think>``, takes the code out of the best fenced block
(or the whole answer when there is no fence, or up to the end when the closing fence was cut off at
``max_tokens``), drops leading lines that echo the document lines right above the target, and
re-bases the indentation onto the target with the document's own unit (tabs or N spaces) while
keeping the code's relative structure. :class:`LineStreamer` does the same incrementally for live
insertion, line by line, and agrees with the batch result on the common answer shapes. Line
endings are the caller's: lines come back without them, to be joined with the document's EOL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from codegen_lsp.core.languages import language
from codegen_lsp.core.text import Indentation, split_lines

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"
_FENCE_OPEN = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})\s*\{?\.?(?P<tag>[\w+#.\-]*)\}?[^`]*$")
_FENCE_CLOSE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})\s*$")
# "Sure! ```python" — a fence opened at the end of a prose line
_FENCE_OPEN_INLINE = re.compile(r"(?:^|\s)(?P<fence>`{3,})(?P<tag>[\w+#.\-]*)\s*$")
_TAB_COLUMNS = 4
_MIN_STEP = 2


@dataclass(frozen=True, slots=True)
class CleanupTarget:
    """Where cleaned code will go."""

    language_id: str = "plaintext"
    #: indentation of the code's outermost level
    base_indent: str = ""
    #: the document's indentation unit; None keeps the answer's own unit
    indentation: Indentation | None = None
    #: document lines right above the target, nearest last, that a model may echo back
    echo: tuple[str, ...] = ()
    #: how many of the last ``echo`` lines may end an echo (None: any). A model that repeats far
    #: context goes on to repeat the comment or the line above; an answer that merely starts
    #: like some line far above (``for i in range(n):``) is code, not an echo.
    echo_anchor: int | None = None
    #: document lines right after the target, nearest first: an answer that goes on to repeat
    #: them (small models continue the whole file) is cut where the repetition starts
    after: tuple[str, ...] = ()
    #: False when the code continues a line (a replacement that starts mid-line)
    indent_first_line: bool = True


# --- pieces ---------------------------------------------------------------------------------


def strip_think(text: str) -> str:
    """``text`` without leading ``<think>…</think>`` blocks (an unclosed one swallows the rest).

    A text with a ``</think>`` but no opening tag before it (R1-style templates put the opening
    tag in the prompt) loses everything up to that closing tag.
    """
    while True:
        stripped = text.lstrip()
        if stripped.startswith(_THINK_OPEN):
            end = stripped.find(_THINK_CLOSE)
            if end < 0:
                return ""
            text = stripped[end + len(_THINK_CLOSE) :]
            continue
        close = text.find(_THINK_CLOSE)
        if close >= 0 and _THINK_OPEN not in text[:close]:
            text = text[close + len(_THINK_CLOSE) :]
            continue
        return text


def _matches_language(tag: str, language_id: str) -> bool:
    return language(language_id).names_fence(tag)


@dataclass(slots=True)
class _Block:
    tag: str
    lines: list[str]
    closed: bool = False


def _fence_blocks(lines: Sequence[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    fence = ""
    for line in lines:
        if current is None:
            match = _FENCE_OPEN.match(line) or _FENCE_OPEN_INLINE.search(line)
            if match:
                fence = match.group("fence")
                current = _Block(match.group("tag"), [])
            continue
        close = _FENCE_CLOSE.match(line)
        if close and close.group("fence")[0] == fence[0] and len(close.group("fence")) >= len(fence):
            current.closed = True
            blocks.append(current)
            current = None
        elif line.rstrip().endswith(fence) and line.strip() != fence:
            # "    return x```": small models glue the closing fence to the last line
            current.lines.append(line.rstrip()[: -len(fence)])
            current.closed = True
            blocks.append(current)
            current = None
        else:
            current.lines.append(line)
    if current is not None:
        blocks.append(current)  # cut off at max_tokens: the code runs to the end
    return blocks


def extract_code(text: str, language_id: str = "plaintext") -> str:
    """The code in a Markdown answer: the largest fenced block in the document's language.

    Blocks tagged with another language (a ``bash`` install line next to the ``python`` code)
    are passed over unless nothing else is there. Without any fence, the whole text is code; a
    lone untagged fence after code (the model forgot the opening one) ends the code.
    """
    lines = split_lines(text)
    fence_lines = [
        i
        for i, line in enumerate(lines)
        if _FENCE_CLOSE.match(line) or _FENCE_OPEN.match(line) or _FENCE_OPEN_INLINE.search(line)
    ]
    if not fence_lines:
        return text
    if fence_lines and len(fence_lines) % 2 == 1 and _FENCE_CLOSE.match(lines[fence_lines[0]]):
        head = lines[: fence_lines[0]]
        if any(line.strip() for line in head):
            return "\n".join(head)
    blocks = _fence_blocks(lines)
    if not blocks:
        return text
    preferred = [b for b in blocks if _matches_language(b.tag, language_id)] or blocks
    best = max(preferred, key=lambda b: sum(len(line.strip()) for line in b.lines))
    return "\n".join(best.lines)


_PROSE = re.compile(r"^[A-Z][^=;{}()\[\]<>]*\s[^=;{}()\[\]<>]*\s[^=;{}()\[\]<>]*[.:!]$")


def _looks_like_prose(line: str) -> bool:
    """A sentence ("Here is the function:"), not code: capitalised, three words, no code punctuation."""
    return bool(_PROSE.match(line.strip()))


def _significant(line: str) -> bool:
    # Lines of bare punctuation ("}", "end", "*/") are too common to count as an echo.
    return any(ch.isalnum() for ch in line)


class _EchoMatcher:
    """Follows an answer's leading lines through the echo candidates, in order."""

    def __init__(self, echo: Sequence[str], anchor: int | None) -> None:
        first_anchor = 0 if anchor is None else len(echo) - anchor
        self.candidates = [
            (line.strip(), i >= first_anchor)
            for i, line in enumerate(echo)
            if line.strip() and _significant(line)
        ]
        self.position = 0
        self.active = bool(self.candidates)

    def match(self, stripped: str) -> bool | None:
        """None when ``stripped`` ends the echo; else whether an echo may end with it."""
        for k in range(self.position, len(self.candidates)):
            text, anchor = self.candidates[k]
            if text == stripped:
                self.position = k + 1
                return anchor
        self.active = False
        return None


def drop_echo(lines: Sequence[str], echo: Sequence[str], anchor: int | None = None) -> list[str]:
    """``lines`` without the leading lines that repeat ``echo`` lines in order (blank lines skipped).

    With ``anchor``, the repeated run must end on one of the last ``anchor`` echo lines.
    """
    matcher = _EchoMatcher(echo, anchor)
    cut = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if not matcher.active or (ends := matcher.match(stripped)) is None:
            break
        if ends:
            cut = i + 1
    return list(lines[cut:])


def _is_tail_echo(matched: Sequence[str], *, reaches_end: bool, punctuation_ok: bool) -> bool:
    """Whether a run of answer lines equal to the lines after the target is a repetition.

    Two meaningful lines are; so is a run that ends the answer with one meaningful line, or only
    punctuation (``}``) when the answer also opened with an echo (it returned the whole block).
    """
    significant = sum(1 for line in matched if _significant(line))
    return significant >= 2 or (reaches_end and (significant >= 1 or punctuation_ok))


def drop_tail_echo(lines: Sequence[str], after: Sequence[str], *, punctuation_ok: bool = False) -> list[str]:
    """``lines`` cut where they start repeating the document lines in ``after`` (blank lines skipped)."""
    candidates = [line.strip() for line in after if line.strip()]
    if not candidates:
        return list(lines)
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for position, index in enumerate(nonblank):
        count = 0
        while (
            position + count < len(nonblank)
            and count < len(candidates)
            and lines[nonblank[position + count]].strip() == candidates[count]
        ):
            count += 1
        reaches_end = position + count == len(nonblank)
        if count and _is_tail_echo(
            candidates[:count], reaches_end=reaches_end, punctuation_ok=punctuation_ok
        ):
            return list(lines[:index])
    return list(lines)


def _columns(whitespace: str) -> int:
    return sum(_TAB_COLUMNS if ch == "\t" else 1 for ch in whitespace)


def _split_indent(line: str) -> tuple[int, str]:
    body = line.lstrip(" \t")
    return _columns(line[: len(line) - len(body)]), body


class _Reindenter:
    """Maps one answer line at a time onto the target's indentation."""

    def __init__(self, target: CleanupTarget, base_column: int, source_width: int | None) -> None:
        self.target = target
        self.base_column = base_column
        self.source_width = source_width
        self.first = True

    def line(self, line: str) -> str:
        body = line.lstrip(" \t")
        if not body:
            return ""
        first, self.first = self.first, False
        if first and not self.target.indent_first_line:
            return body
        whitespace = line[: len(line) - len(body)]
        unit = self.target.indentation
        if unit is None:
            # keep the answer's own unit: only the base moves
            return self.target.base_indent + _drop_columns(whitespace, self.base_column) + body
        relative = max(0, _columns(whitespace) - self.base_column)
        if not self.source_width:
            return self.target.base_indent + " " * relative + body
        level, rest = divmod(relative, self.source_width)
        return self.target.base_indent + unit.unit * level + " " * rest + body


def _drop_columns(whitespace: str, columns: int) -> str:
    dropped = 0
    index = 0
    while index < len(whitespace) and dropped < columns:
        dropped += _TAB_COLUMNS if whitespace[index] == "\t" else 1
        index += 1
    return whitespace[index:]


def _opens_continuation(line: str) -> bool:
    """Whether the next line continues this one inside ( or [ (its indentation is alignment).

    A line ending in a block opener (``{``, ``:``) opens a body, whatever brackets are open:
    ``test("x", () => {`` is followed by one level, not by alignment.
    """
    if line.rstrip().endswith(("{", ":")):
        return False
    return line.count("(") + line.count("[") > line.count(")") + line.count("]")


def _source_width(lines: Sequence[str], base_column: int) -> int | None:
    """Columns per level in the answer: its smallest indentation step of two columns or more.

    Lines continuing an open ( or [ are alignment, not levels, and are not counted; one-column
    steps are doc-comment stars (`` * ``) and stay as plain spaces.
    """
    steps = []
    previous = ""
    for line in lines:
        step = _split_indent(line)[0] - base_column
        if step >= _MIN_STEP and not _opens_continuation(previous):
            steps.append(step)
        previous = line
    return min(steps, default=None)


def reindent(lines: Sequence[str], target: CleanupTarget) -> list[str]:
    """Re-base ``lines`` onto ``target``: the least indented line lands on ``target.base_indent``."""
    nonblank = [line for line in lines if line.strip()]
    if not nonblank:
        return []
    base_column = min(_split_indent(line)[0] for line in nonblank)
    mapper = _Reindenter(target, base_column, _source_width(nonblank, base_column))
    return [mapper.line(line) for line in lines]


def _trim_blank_edges(lines: list[str]) -> list[str]:
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    end = len(lines)
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


# --- the batch cleanup ------------------------------------------------------------------------


def clean_code(answer: str, target: CleanupTarget) -> list[str]:
    """The answer's code as lines ready to join with the document's EOL (no blank edges)."""
    code = extract_code(strip_think(answer), target.language_id)
    lines = [line.rstrip() for line in split_lines(code)]
    lines = _trim_blank_edges(lines)
    without_echo = _trim_blank_edges(drop_echo(lines, target.echo, target.echo_anchor))
    lines = drop_tail_echo(without_echo, target.after, punctuation_ok=len(without_echo) < len(lines))
    return reindent(_trim_blank_edges(lines), target)


def clean_prose(answer: str) -> str:
    """An explanation for the user: ``<think>`` gone, line endings ``\\n``, edges trimmed."""
    return "\n".join(line.rstrip() for line in split_lines(strip_think(answer))).strip()


# --- the streaming cleanup --------------------------------------------------------------------


class LineStreamer:
    """Incremental :func:`clean_code` for live insertion: chunks in, finished lines out.

    Text before an opening fence is held back (it is usually a sentence of prose); if no fence
    shows up within ``hold_lines`` non-blank lines, the answer is taken to be bare code. The
    first closing fence ends the code: :attr:`done` turns true and later text is ignored, so the
    caller may stop the generation there. The indentation base is the first emitted line's and
    the answer's unit is its first indented line's step; on ordinary answers this gives exactly the
    batch result. Lines come back without line endings; call :meth:`flush` at the end.
    """

    def __init__(self, target: CleanupTarget, *, hold_lines: int = 4) -> None:
        self.target = target
        self.hold_lines = hold_lines
        self.done = False
        self._buffer = ""
        self._state = "start"  # start | think | code | plain
        self._fence = ""
        self._held: list[str] = []
        self._echo = _EchoMatcher(target.echo, target.echo_anchor)
        self._echo_held: list[str] = []  # lines that may yet turn out to be an echo
        self._echo_dropped = False
        self._after = [line.strip() for line in target.after if line.strip()]
        self._tail_held: list[str] = []  # lines that may be a repetition of what follows the target
        self._tail_count = 0
        self._emitted = False
        self._blanks = 0
        self._base_column = 0
        self._width: int | None = None
        self._previous = ""
        self._reindenter: _Reindenter | None = None

    def feed(self, chunk: str) -> list[str]:
        """Complete, cleaned lines that ``chunk`` finished (possibly none)."""
        if self.done:
            return []
        self._buffer += chunk
        out: list[str] = []
        while not self.done:
            newline = self._buffer.find("\n")
            if newline < 0:
                break
            line, self._buffer = self._buffer[:newline].rstrip("\r"), self._buffer[newline + 1 :]
            self._line(line, out)
        if self.done:
            self._release_echo(out)
            self._finish_tail(out)
        if self._state == "start" and self._buffer.lstrip().startswith(_THINK_OPEN):
            self._state = "think"
        return out

    def flush(self) -> list[str]:
        """The lines still held back once the stream has ended."""
        out: list[str] = []
        if not self.done and self._buffer:
            line, self._buffer = self._buffer, ""
            self._line(line.rstrip("\r"), out)
        if not self.done and self._state == "start":
            self._release_held(out)
        self._release_echo(out)
        self._finish_tail(out)
        self.done = True
        return out

    # state machine

    def _line(self, line: str, out: list[str]) -> None:
        state = self._state
        if state == "think":
            end = line.find(_THINK_CLOSE)
            if end >= 0:
                self._state = "start"
                rest = line[end + len(_THINK_CLOSE) :]
                if rest.strip():
                    self._line(rest, out)
            return
        if state == "start":
            if line.lstrip().startswith(_THINK_OPEN):
                self._state = "think"
                self._line(line.lstrip()[len(_THINK_OPEN) :], out)
                return
            if _THINK_CLOSE in line:
                # everything so far was reasoning whose opening tag was in the prompt
                self._held.clear()
                rest = line[line.find(_THINK_CLOSE) + len(_THINK_CLOSE) :]
                if rest.strip():
                    self._line(rest, out)
                return
            opening = _FENCE_OPEN.match(line) or _FENCE_OPEN_INLINE.search(line)
            bare_code = any(held.strip() and not _looks_like_prose(held) for held in self._held)
            if opening and bare_code and _FENCE_CLOSE.match(line):
                # an untagged fence after bare code: the model forgot the opening one
                self._release_held(out)
                self.done = True
                return
            if opening:
                self._fence = opening.group("fence")
                self._held.clear()
                self._state = "code"
                return
            if line.strip() or self._held:
                self._held.append(line)
            if (
                sum(1 for held in self._held if held.strip() and not _looks_like_prose(held))
                > self.hold_lines
            ):
                self._release_held(out)
            return
        fence = self._fence or "```"
        close = _FENCE_CLOSE.match(line)
        if close and close.group("fence")[0] == fence[0] and len(close.group("fence")) >= len(fence):
            self.done = True
            return
        if line.rstrip().endswith(fence) and line.strip() != fence:
            self._code(line.rstrip()[: -len(fence)], out)
            self.done = True
            return
        self._code(line, out)

    def _release_held(self, out: list[str]) -> None:
        held, self._held = self._held, []
        self._state = "plain"
        for line in held:
            self._code(line, out)

    def _code(self, line: str, out: list[str]) -> None:
        line = line.rstrip()
        if not self._emitted and self._echo.active:
            if not line.strip():
                if self._echo_held:
                    self._echo_held.append(line)
                return
            ends = self._echo.match(line.strip())
            if ends is None:
                self._release_echo(out)  # not an echo after all: what was held is code
            else:
                self._echo_held.append(line)
                if ends:
                    self._echo_held.clear()
                    self._echo_dropped = True
                return
        self._tail(line, out)

    def _release_echo(self, out: list[str]) -> None:
        held, self._echo_held = self._echo_held, []
        for line in held:
            self._tail(line, out)

    def _tail(self, line: str, out: list[str]) -> None:
        """Hold lines that repeat the document after the target until it is clear they do."""
        stripped = line.strip()
        if not stripped:
            if self._tail_held:
                self._tail_held.append(line)
            else:
                self._emit(line, out)
            return
        if self._tail_held:
            if self._tail_count < len(self._after) and stripped == self._after[self._tail_count]:
                self._tail_held.append(line)
                self._tail_count += 1
                if _is_tail_echo(self._after[: self._tail_count], reaches_end=False, punctuation_ok=False):
                    self._tail_held = []
                    self.done = True  # the rest is the document again: stop here
                return
            self._retry_tail(out)
            self._tail(line, out)
            return
        if self._after and stripped == self._after[0]:
            self._tail_held = [line]
            self._tail_count = 1
            return
        self._emit(line, out)

    def _retry_tail(self, out: list[str]) -> None:
        """The held run was not a repetition: its first line is code, the rest may start another."""
        held, self._tail_held, self._tail_count = self._tail_held, [], 0
        self._emit(held[0], out)
        for line in held[1:]:
            self._tail(line, out)

    def _finish_tail(self, out: list[str]) -> None:
        while self._tail_held:
            matched = self._after[: self._tail_count]
            if _is_tail_echo(matched, reaches_end=True, punctuation_ok=self._echo_dropped):
                self._tail_held = []
                return
            self._retry_tail(out)

    def _emit(self, line: str, out: list[str]) -> None:
        if not line.strip():
            if self._emitted:
                self._blanks += 1
            return
        column, _ = _split_indent(line)
        if self._reindenter is None:
            self._base_column = column
            self._reindenter = _Reindenter(self.target, column, None)
        elif (
            self._width is None
            and column - self._base_column >= _MIN_STEP
            and not _opens_continuation(self._previous)
        ):
            # the first indented line sets the answer's unit (the batch takes the smallest step)
            self._width = column - self._base_column
            self._reindenter.source_width = self._width
        self._previous = line
        out.extend([""] * self._blanks)
        self._blanks = 0
        out.append(self._reindenter.line(line))
        self._emitted = True
