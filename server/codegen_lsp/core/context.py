"""What the model gets to see: the selection, the lines around it, the enclosing scope, diagnostics.

:func:`build_context` takes the target range, a window of ``lines_before``/``lines_after`` lines,
widened to the enclosing function or class when a tree-sitter grammar is installed (the language
table names it: Python and, through the JavaScript grammar, JavaScript/TypeScript; parsers are
created lazily and cached), and keeps the user message under :attr:`ContextSettings.token_budget`
(≈4 characters per token) by dropping the context lines farthest from the selection first. The
scope's header line (``def …``, ``class …``) is kept as long as anything is. The selection itself
is never cut. Languages without a grammar simply get the line window.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from codegen_lsp.core.languages import language
from codegen_lsp.core.settings import ContextSettings
from codegen_lsp.core.text import LineIndex, normalize_eol
from codegen_lsp.core.types import Diagnostic, Range

CHARS_PER_TOKEN = 4

#: a context line stands in for the lines dropped between the scope header and the kept lines
ELISION = "..."

_SCOPE_TYPES = {
    "python": frozenset({"function_definition", "class_definition"}),
    "javascript": frozenset(
        {
            "function_declaration",
            "generator_function_declaration",
            "function_expression",
            "generator_function",
            "arrow_function",
            "method_definition",
            "class_declaration",
            "class",
        }
    ),
}

# Wrappers that belong to a scope: decorators in Python, `const f = () => …` and `export` in JS.
_WRAPPER_TYPES = frozenset(
    {
        "decorated_definition",
        "variable_declarator",
        "lexical_declaration",
        "variable_declaration",
        "export_statement",
    }
)

_parse_lock = threading.Lock()
_PARSE_WINDOW_LINES = 3000


@cache
def _parser(grammar: str) -> Any | None:
    """A cached tree-sitter parser, or None when tree-sitter or the grammar is missing."""
    try:
        from tree_sitter import Language, Parser

        module = importlib.import_module(f"tree_sitter_{grammar}")
        return Parser(Language(module.language()))
    except (ImportError, ValueError, OSError):
        return None


def has_grammar(language_id: str) -> bool:
    grammar = language(language_id).grammar
    return grammar is not None and _parser(grammar) is not None


def _byte_column(line: str, character: int) -> int:
    return len(line[:character].encode("utf-8", "surrogatepass"))


def enclosing_scope(
    lines: Sequence[str], language_id: str, first_line: int, last_line: int, *, strict: bool = False
) -> tuple[int, int] | None:
    """First and last line of the innermost function/class around ``first_line..last_line``.

    With ``strict``, a scope must be larger than the given lines (so selecting a whole function
    gives its class). Scopes on a single line (``xs.map(x => x * 2)``) are skipped. None when no
    grammar is installed for the language or nothing encloses the lines.
    """
    grammar = language(language_id).grammar
    parser = _parser(grammar) if grammar else None
    if grammar is None or parser is None or not lines:
        return None
    last_line = min(last_line, len(lines) - 1)
    offset, stop = _parse_window(lines, first_line, last_line)
    # "\n".join keeps tree-sitter's rows equal to our line numbers whatever the line endings.
    source = "\n".join(lines[offset:stop]).encode("utf-8", "surrogatepass")
    with _parse_lock:
        tree = parser.parse(source)
    first_text = lines[first_line]
    start = (first_line - offset, _byte_column(first_text, len(first_text) - len(first_text.lstrip())))
    end = (last_line - offset, _byte_column(lines[last_line], len(lines[last_line].rstrip())))
    node = tree.root_node.descendant_for_point_range(start, end)
    scope_types = _SCOPE_TYPES[grammar]
    while node is not None:
        if node.type in scope_types:
            top = node
            while top.parent is not None and top.parent.type in _WRAPPER_TYPES:
                top = top.parent
            lo, hi = top.start_point.row + offset, top.end_point.row + offset
            # a node ending at column 0 ends on the previous line
            if top.end_point.column == 0 and hi > lo:
                hi -= 1
            bigger = lo < first_line or hi > last_line
            if hi > lo and (bigger or not strict):
                return lo, hi
        node = node.parent
    return None


def node_types_at(
    lines: Sequence[str], language_id: str, line: int, character: int
) -> tuple[str, ...] | None:
    """The types of the syntax nodes around the character at ``line``/``character``, innermost
    first (``(":", "function_definition", "module")``); None when no grammar is installed."""
    grammar = language(language_id).grammar
    parser = _parser(grammar) if grammar else None
    if parser is None or not 0 <= line < len(lines):
        return None
    offset, stop = _parse_window(lines, line, line)
    source = "\n".join(lines[offset:stop]).encode("utf-8", "surrogatepass")
    with _parse_lock:
        tree = parser.parse(source)
    text = lines[line]
    start = (line - offset, _byte_column(text, character))
    end = (line - offset, _byte_column(text, min(character + 1, len(text))))
    node = tree.root_node.descendant_for_point_range(start, end)
    types: list[str] = []
    while node is not None:
        types.append(node.type)
        node = node.parent
    return tuple(types)


def _parse_window(lines: Sequence[str], first_line: int, last_line: int) -> tuple[int, int]:
    """The lines to parse: all of a normal file, a window around the target in a huge one.

    A 100k-line file takes a third of a second to parse; the window starts at a top-level line
    (no indentation) so the parser sees whole statements, and any scope worth showing fits in it.
    """
    if len(lines) <= 2 * _PARSE_WINDOW_LINES:
        return 0, len(lines)
    start = max(0, first_line - _PARSE_WINDOW_LINES)
    for candidate in range(start, max(-1, start - _PARSE_WINDOW_LINES // 4), -1):
        text = lines[candidate]
        if text and not text[0].isspace() and text[0] not in ")]}":
            start = candidate
            break
    return start, min(len(lines), last_line + _PARSE_WINDOW_LINES + 1)


@dataclass(frozen=True, slots=True)
class Context:
    """The pieces a prompt is made of; all text uses ``\\n`` line endings."""

    language_id: str
    path: str | None
    selection: str
    before: str
    after: str
    diagnostics: tuple[Diagnostic, ...] = ()
    #: the diagnostics as prompt lines (with the source line each points at)
    diagnostics_text: str = ""
    #: the enclosing function/class (first, last line), when a grammar found one
    scope: tuple[int, int] | None = None
    #: context lines left out to stay under the token budget
    dropped_lines: int = 0


def estimate_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def format_diagnostics(diagnostics: Sequence[Diagnostic], lines: Sequence[str]) -> str:
    """One line per diagnostic, with the offending source line so the model can find it."""
    out = []
    for diag in sorted(diagnostics, key=lambda d: (d.range.start, d.message)):
        line = diag.range.start.line
        where = f"line {line + 1}"
        if 0 <= line < len(lines) and lines[line].strip():
            where += f" `{lines[line].strip()}`"
        severity = f"{diag.severity}: " if diag.severity else ""
        origin = " ".join(x for x in (diag.source, diag.code) if x)
        out.append(f"- {where}: {severity}{diag.message}" + (f" ({origin})" if origin else ""))
    return "\n".join(out)


def build_context(
    index: LineIndex,
    target: Range,
    language_id: str,
    path: str | None,
    settings: ContextSettings,
    *,
    diagnostics: Sequence[Diagnostic] = (),
    reserved_chars: int = 0,
    scope_lines: tuple[int, int] | None = None,
) -> Context:
    """The context for ``target`` under ``settings.token_budget``.

    ``reserved_chars`` is what the rest of the prompt (templates, instruction) will take; the
    surrounding lines share what is left after it, the diagnostics and the selection.
    ``scope_lines`` are the lines whose enclosing scope to show (default: the target's).
    """
    lines = index.lines()
    first, last = target.start.line, target.end.line
    selection = normalize_eol(index.text_in(target), "\n")
    head = lines[first][: target.start.character]
    tail = lines[last][target.end.character :]

    scope_first, scope_last = scope_lines or (first, last)
    scope = enclosing_scope(lines, language_id, scope_first, scope_last, strict=scope_lines is None)
    lo = max(0, first - settings.lines_before)
    hi = min(len(lines) - 1, last + settings.lines_after)
    if scope is not None:
        lo, hi = min(lo, scope[0]), max(hi, scope[1])

    budget = settings.token_budget * CHARS_PER_TOKEN - reserved_chars - len(selection)
    diagnostics_text = format_diagnostics(diagnostics, lines)
    budget -= len(head) + len(tail) + len(diagnostics_text)
    # Candidates nearest first; the scope header (the def/class line) counts as nearest of all.
    candidates = sorted(
        [*((first - j, j) for j in range(lo, first)), *((j - last, j) for j in range(last + 1, hi + 1))]
    )
    if scope is not None and scope[0] < first:
        candidates.remove((first - scope[0], scope[0]))
        candidates.insert(0, (0, scope[0]))
    kept: set[int] = set()
    for _, j in candidates:
        cost = len(lines[j]) + 1
        if cost > budget:
            break
        budget -= cost
        kept.add(j)

    before_lines = _contiguous([j for j in range(lo, first) if j in kept], first, lines, reverse=True)
    after_lines = _contiguous([j for j in range(last + 1, hi + 1) if j in kept], last, lines, reverse=False)
    before = "\n".join(before_lines)
    if head:
        before = f"{before}\n{head}" if before_lines else head
    after = "\n".join(after_lines)
    if tail:
        after = f"{tail}\n{after}" if after_lines else tail
    return Context(
        language_id=language_id,
        path=path,
        selection=selection,
        before=before,
        after=after,
        diagnostics=tuple(diagnostics),
        diagnostics_text=diagnostics_text,
        scope=scope,
        dropped_lines=(hi - lo + 1) - (last - first + 1) - len(kept),
    )


def _contiguous(kept: list[int], anchor: int, lines: Sequence[str], *, reverse: bool) -> list[str]:
    """The kept lines in order, with an :data:`ELISION` line where a gap separates them."""
    out: list[str] = []
    previous = anchor
    for j in reversed(kept) if reverse else kept:
        if abs(j - previous) > 1:
            out.append(ELISION)
        out.append(lines[j])
        previous = j
    return out[::-1] if reverse else out
