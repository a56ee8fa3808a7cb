"""Turn a model's answer into code that sits cleanly in the document: one cleanup, streamed.

Models wrap code in Markdown fences with prose around it, add a ``bash`` install line before the
code, repeat the comment or the ``def`` line they were shown, go on to repeat the code after the
target, and indent with whatever they like. :class:`Cleanup` undoes all that line by line as the
answer streams in: prose before the first fence is held back and dropped (without any fence the
answer is bare code); the first fenced block in the document's language (or untagged) is the code,
and its closing fence ends it (:attr:`Cleanup.done`: the caller may stop the generation there); a
block tagged with another language is held back and used only if no block in the language follows
(the largest of them); leading lines that echo the document lines right above the target are
dropped, and so is a repetition of the lines after it; indentation is re-based onto the target
with the document's own unit (tabs or N spaces), keeping the code's relative structure (the
answer's unit is its first indented line's step). Lines come back as soon as nothing later can
change them, without line endings, to be joined with the document's EOL. :func:`clean_code` is
the same cleanup fed the whole answer at once, so the streamed and the batch result are one by
construction; a property test feeds every answer shape in every split. ``<think>`` never reaches
this module: providers remove it (:mod:`codegen_lsp.core.think`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from codegen_lsp.core.languages import language
from codegen_lsp.core.text import Indentation, split_lines

_LINE_BREAK = re.compile(r"[\r\n]")
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


# --- what a line is ----------------------------------------------------------------------------


def _matches_language(tag: str, language_id: str) -> bool:
    return language(language_id).names_fence(tag)


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
        if not _significant(stripped):
            # a bare "#" (an empty line of the comment), "}" or "*/": it neither proves an echo
            # nor ends one
            return False
        for k in range(self.position, len(self.candidates)):
            text, anchor = self.candidates[k]
            if text == stripped:
                self.position = k + 1
                return anchor
        self.active = False
        return None


def _is_tail_echo(matched: Sequence[str], *, reaches_end: bool, punctuation_ok: bool) -> bool:
    """Whether a run of answer lines equal to the lines after the target is a repetition.

    Two meaningful lines are; so is a run that ends the answer with one meaningful line, or only
    punctuation (``}``) when the answer also opened with an echo (it returned the whole block).
    """
    significant = sum(1 for line in matched if _significant(line))
    return significant >= 2 or (reaches_end and (significant >= 1 or punctuation_ok))


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


def _block_size(lines: Sequence[str]) -> int:
    return sum(len(line.strip()) for line in lines)


# --- the cleanup ----------------------------------------------------------------------------------


class Cleanup:
    """The answer's text in any pieces in (:meth:`feed`), cleaned code lines out; :meth:`flush` at the end.

    Only complete lines are looked at (a line ends at ``\\n``, ``\\r\\n`` or ``\\r``), so how the
    answer is split into pieces never changes the result. ``hold_lines``: text before any fence is
    held back as a possible preamble until more than this many lines of it look like code, then
    taken to be bare code.
    """

    def __init__(self, target: CleanupTarget, *, hold_lines: int = 4) -> None:
        self.target = target
        self.hold_lines = hold_lines
        #: the code is complete: later text is ignored
        self.done = False
        self._buffer = ""
        # start: before any fence | code: in the chosen block | plain: bare code |
        # foreign: in a block of another language | between: after such a block
        self._state = "start"
        self._fence = ""
        self._held: list[str] = []  # start: lines before any fence
        self._block: list[str] = []  # foreign: the block being read
        self._candidates: list[list[str]] = []  # foreign blocks, used if no block in the language follows
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
        """The cleaned lines that ``chunk`` made final (possibly none)."""
        if self.done:
            return []
        self._buffer += chunk
        out: list[str] = []
        while not self.done:
            found = _LINE_BREAK.search(self._buffer)
            if found is None:
                break
            at = found.start()
            if self._buffer[at] == "\r":
                if at + 1 == len(self._buffer):
                    break  # "\r" or the first half of "\r\n": the next piece tells
                end = at + 2 if self._buffer[at + 1] == "\n" else at + 1
            else:
                end = at + 1
            line, self._buffer = self._buffer[:at], self._buffer[end:]
            self._line(line, out)
        if self.done:
            self._finish(out)
        return out

    def flush(self) -> list[str]:
        """The stream has ended: the lines still held back."""
        out: list[str] = []
        if not self.done:
            line, self._buffer = self._buffer.removesuffix("\r"), ""
            if line:
                self._line(line, out)
        if not self.done:
            if self._state == "start":
                self._release_held(out)  # no fence at all: bare code
            elif self._state == "foreign":
                self._candidates.append(self._block)  # cut off at max_tokens: it runs to the end
            if self._state in ("foreign", "between") and self._candidates:
                for line in max(self._candidates, key=_block_size):
                    self._code(line, out)
        self._finish(out)
        self.done = True
        return out

    # -- which lines are code --------------------------------------------------------------------

    def _line(self, line: str, out: list[str]) -> None:
        state = self._state
        if state in ("start", "between"):
            opening = _FENCE_OPEN.match(line) or _FENCE_OPEN_INLINE.search(line)
            if opening is None:
                if state == "start":
                    self._preamble(line, out)
                return  # prose between blocks
            if state == "start" and _FENCE_CLOSE.match(line) and self._held_code():
                # an untagged fence after bare code: the model forgot the opening one
                self._release_held(out)
                self.done = True
                return
            self._held.clear()
            self._fence = opening.group("fence")
            if _matches_language(opening.group("tag"), self.target.language_id):
                self._state, self._candidates = "code", []
            else:
                self._state, self._block = "foreign", []
            return
        if state == "plain":
            if _FENCE_OPEN.match(line):
                self.done = True  # bare code, then a fence: what follows is not this code
                return
            fence = "```"
        else:
            fence = self._fence
        close = _FENCE_CLOSE.match(line)
        closes = (
            close is not None
            and close.group("fence")[0] == fence[0]
            and len(close.group("fence")) >= len(fence)
        )
        glued = not closes and line.rstrip().endswith(fence) and line.strip() != fence
        if glued:
            # "    return x```": small models glue the closing fence to the last line
            line = line.rstrip()[: -len(fence)]
        if state == "foreign":
            if not closes:
                self._block.append(line)
            if closes or glued:
                self._candidates.append(self._block)
                self._state, self._block = "between", []
            return
        if not closes:
            self._code(line, out)
        if closes or glued:
            self.done = True

    def _held_code(self) -> bool:
        return any(held.strip() and not _looks_like_prose(held) for held in self._held)

    def _preamble(self, line: str, out: list[str]) -> None:
        if line.strip() or self._held:
            self._held.append(line)
        if sum(1 for held in self._held if held.strip() and not _looks_like_prose(held)) > self.hold_lines:
            self._release_held(out)

    def _release_held(self, out: list[str]) -> None:
        held, self._held = self._held, []
        self._state = "plain"
        for line in held:
            self._code(line, out)

    # -- the code's own lines: echo, tail echo, indentation ------------------------------------

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
        if self._echo_dropped:
            # after an echo: its bare "#" lines go with it
            while held and not _significant(held[0]):
                held.pop(0)
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

    def _finish(self, out: list[str]) -> None:
        """The code has ended: decide what is still held as a possible echo or repetition."""
        self._release_echo(out)
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
            # the first indented line sets the answer's unit
            self._width = column - self._base_column
            self._reindenter.source_width = self._width
        self._previous = line
        out.extend([""] * self._blanks)
        self._blanks = 0
        out.append(self._reindenter.line(line))
        self._emitted = True


class _Extract(Cleanup):
    """The chosen code lines exactly as the answer has them: no echo, repetition or indentation work."""

    def _code(self, line: str, out: list[str]) -> None:
        out.append(line)

    def _finish(self, out: list[str]) -> None:
        pass


def extract_code(text: str, language_id: str = "plaintext") -> str:
    """The code of a Markdown answer as written (the block :class:`Cleanup` would choose), for
    callers that fit it in themselves (inline completion)."""
    extract = _Extract(CleanupTarget(language_id))
    return "\n".join(extract.feed(text) + extract.flush())


def clean_code(answer: str, target: CleanupTarget) -> list[str]:
    """The answer's code as lines ready to join with the document's EOL: the whole answer through
    one :class:`Cleanup`."""
    cleanup = Cleanup(target)
    return cleanup.feed(answer) + cleanup.flush()


def clean_prose(answer: str) -> str:
    """An explanation for the user: line endings ``\\n``, trailing spaces and blank edges gone."""
    return "\n".join(line.rstrip() for line in split_lines(answer)).strip()
