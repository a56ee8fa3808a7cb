"""``textDocument/codeAction``: which Codegen actions to offer where, without any network or parse.

Listing runs on every cursor move in some editors, so it reads only a bounded window of lines
around the cursor (through a lazy view of the document's line index; nothing is split or parsed
per request) and never touches a provider. A comment block at or above the cursor offers
"Generate code from comment"; a selection offers the selection actions and the user's actions;
each diagnostic in the request's context offers a quick fix named after its message: each action's
:class:`~codegen_lsp.core.actions.Trigger` in the registry says which. Every action carries the
command ``codegen.generate`` with one argument object whose range is the client's own (already in
the negotiated encoding).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from lsprotocol import types as lsp

from codegen_lsp.core.actions import TITLE_PREFIX, ActionSpec, Trigger, list_actions
from codegen_lsp.core.comments import comment_block_at
from codegen_lsp.core.settings import Settings
from codegen_lsp.core.text import LineIndex
from codegen_lsp.core.types import Position, Range
from codegen_lsp.lsp.commands import Command
from codegen_lsp.lsp.documents import Document
from codegen_lsp.lsp.positions import PositionCodec

#: quick fixes offered per request at most: a file full of errors must not flood the menu
MAX_FIXES = 5
_MAX_TITLE = 80

KINDS = [
    lsp.CodeActionKind.QuickFix,
    lsp.CodeActionKind.Refactor,
    lsp.CodeActionKind.RefactorRewrite,
    lsp.CodeActionKind.Source,
]


class LinesView(Sequence[str]):
    """The document's lines as a sequence, materialised one line at a time."""

    def __init__(self, index: LineIndex) -> None:
        self._index = index

    def __len__(self) -> int:
        return self._index.line_count

    @overload
    def __getitem__(self, item: int) -> str: ...
    @overload
    def __getitem__(self, item: slice) -> Sequence[str]: ...
    def __getitem__(self, item: int | slice) -> str | Sequence[str]:
        if isinstance(item, slice):
            return [self._index.line(n) for n in range(*item.indices(len(self)))]
        if item < 0:
            item += len(self)
        if not 0 <= item < len(self):
            raise IndexError(item)
        return self._index.line(item)

    def __iter__(self) -> Iterator[str]:
        return (self._index.line(n) for n in range(len(self)))


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    return not only or any(kind == o or kind.startswith(f"{o}.") for o in only)


def _short(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "problem"
    return first if len(first) <= _MAX_TITLE else first[: _MAX_TITLE - 1] + "…"


def code_actions(
    document: Document,
    params: lsp.CodeActionParams,
    settings: Settings,
    encoding: str | None,
    converter: Any,
) -> list[lsp.CodeAction]:
    index = document.index
    codec = PositionCodec(encoding)
    rng = codec.from_client_range(index, params.range)
    only = [str(kind) for kind in params.context.only] if params.context.only else None
    found: list[lsp.CodeAction] = []

    def offer(
        spec: ActionSpec,
        client_range: lsp.Range,
        *,
        title: str | None = None,
        diagnostics: Sequence[lsp.Diagnostic] = (),
    ) -> None:
        kind = spec.kind
        if not _wanted(kind, only):
            return
        argument: dict[str, Any] = {
            "uri": document.uri,
            "version": document.version,
            "range": converter.unstructure(client_range, lsp.Range),
            "action": spec.name,
        }
        if diagnostics:
            argument["diagnostics"] = [converter.unstructure(d, lsp.Diagnostic) for d in diagnostics]
        title = title or spec.title
        found.append(
            lsp.CodeAction(
                title=title,
                kind=kind,
                diagnostics=list(diagnostics) or None,
                command=lsp.Command(title=title, command=Command.GENERATE, arguments=[argument]),
            )
        )

    has_selection = not rng.is_empty
    on_comment: bool | None = None  # looked up once, and only if some action needs to know
    fixes: list[ActionSpec] = []
    for spec in list_actions(settings):
        if spec.trigger is Trigger.COMMENT:
            if on_comment is None:
                block = comment_block_at(LinesView(index), rng.start.line, document.language_id)
                on_comment = block is not None
            if on_comment:
                offer(spec, params.range)
        elif spec.trigger is Trigger.SELECTION:
            if has_selection:
                offer(spec, params.range)
        elif spec.trigger is Trigger.ALWAYS:
            offer(spec, params.range)
        else:
            fixes.append(spec)  # after everything else, one per diagnostic
    for fix in fixes:
        for diagnostic in params.context.diagnostics[:MAX_FIXES]:
            # Whole lines: a diagnostic often marks one token, but the fix needs its statement.
            problem = codec.from_client_range(index, diagnostic.range)
            lines = index.lines(problem.start.line, problem.end.line)
            whole = Range(
                Position(problem.start.line, 0), Position(problem.end.line, len(lines[-1]) if lines else 0)
            )
            target = (
                whole if not has_selection or not (rng.start <= whole.start and whole.end <= rng.end) else rng
            )
            offer(
                fix,
                codec.to_client_range(index, target),
                title=f"{TITLE_PREFIX}Fix: {_short(diagnostic.message)}",
                diagnostics=[diagnostic],
            )
    return found
