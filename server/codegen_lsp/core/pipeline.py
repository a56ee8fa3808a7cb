"""The editing pipeline: an :class:`EditRequest` in, a :class:`Plan` to run, a :class:`Result` out.

:func:`prepare` resolves the action, works out the target (the comment block for
``generate_from_comment``, the enclosing function or the line for an empty range, whole lines for a
selection that starts in the indentation), builds the context under the token budget and the
messages. :func:`run` streams the plan's :class:`CompletionRequest` through any
:class:`~codegen_lsp.core.provider.Provider` and hands out events: the text as it arrives, the
cleaned code lines as they become final (live insertion), and the :class:`Result`, one
:class:`TextEdit` against the *original* text, in code points, using the document's line endings
and indentation. :func:`finish` is the same for a whole answer. Nothing here knows about LSP or HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from codegen_lsp.core.actions import Action, ActionSpec, resolve_action
from codegen_lsp.core.cleanup import Cleanup, CleanupTarget, clean_code, clean_prose
from codegen_lsp.core.comments import code_lines, comment_block_at, comment_text
from codegen_lsp.core.context import Context, build_context, enclosing_scope
from codegen_lsp.core.landing import Source
from codegen_lsp.core.languages import suggest_test_path
from codegen_lsp.core.prompts import build_messages, completion_request, reserved_chars
from codegen_lsp.core.settings import Settings
from codegen_lsp.core.text import (
    LineIndex,
    detect_eol,
    detect_indentation,
    is_blank,
    leading_whitespace,
    split_lines,
)
from codegen_lsp.core.types import (
    ApplyMode,
    CompletionRequest,
    EditRequest,
    Message,
    Position,
    Range,
    TextEdit,
)
from codegen_lsp.errors import ActionError

if TYPE_CHECKING:
    from codegen_lsp.core.provider import Provider

#: non-blank lines above the target an answer may repeat before its own code; an echo must end
#: on the target's comment or on one of the _ECHO_ANCHOR_LINES nearest lines (the def line)
_ECHO_LINES_ABOVE = 30
_ECHO_ANCHOR_LINES = 2
#: non-blank lines below the target an answer may go on to repeat
_TAIL_LINES = 10
#: an empty range grows to its function/class only up to this size; a model cannot rewrite more
_MAX_SCOPE_LINES = 300


@dataclass(frozen=True)
class Plan:
    """What a request becomes: no copy of the document, only what the answer needs (a job keeps
    its plan while the user types, and the document may be megabytes)."""

    action: ActionSpec
    messages: tuple[Message, ...]
    #: REPLACE: the range to replace; INSERT_BELOW/ABOVE: an empty range at the insertion point;
    #: NEW_FILE/SHOW: the code the answer is about
    target: Range
    mode: ApplyMode
    completion: CompletionRequest
    #: how finish() fits the answer into the document
    cleanup: CleanupTarget = field(default_factory=CleanupTarget)
    eol: str = "\n"
    new_file_path: str | None = None
    context: Context | None = None
    #: the document text in ``target`` when the plan was made (empty for an insertion point):
    #: what a conflict check compares the target with before the answer is applied
    replaced: str = ""
    #: the answer takes whole lines of its own (insertions, replacements of whole lines): at
    #: delivery it is kept off lines the user typed on meanwhile (core/landing.keep_apart)
    whole_lines: bool = False
    #: INSERT_BELOW/ABOVE: what the answer is made from (the comment block that asks for it, the
    #: code it is about); edited meanwhile, it makes the answer stale. None where the answer
    #: replaces what it was made from (the target's own tracking covers that)
    source: Source | None = None


@dataclass(frozen=True)
class Result:
    mode: ApplyMode
    text: str
    edit: TextEdit | None
    new_file_path: str | None
    finish_reason: str | None
    warnings: tuple[str, ...]


# --- choosing the action ----------------------------------------------------------------------


def default_action(text: str, line: int, language_id: str, has_selection: bool) -> str:
    """The action the server and the CLI pick when the user names none.

    On or right under a comment block: ``generate_from_comment``; otherwise ``rewrite`` for a
    selection and ``implement`` at a cursor.
    """
    if comment_block_at(split_lines(text), line, language_id) is not None:
        return Action.GENERATE_FROM_COMMENT
    return Action.REWRITE if has_selection else Action.IMPLEMENT


# --- prepare ----------------------------------------------------------------------------------


def _whole_lines(index: LineIndex, first: int, last: int) -> Range:
    return Range(Position(first, 0), Position(last, len(index.line(last))))


def _subject(index: LineIndex, lines: list[str], rng: Range, request: EditRequest) -> Range:
    """What the action works on: the selection snapped to whole lines where it clearly means them.

    An empty range means the diagnostics on the cursor's line (for fix), else the innermost
    function/class (with a grammar, when not huge), else the cursor's line.
    """
    if rng.is_empty:
        line = rng.start.line
        scope = enclosing_scope(lines, request.language_id, line, line)
        if request.action == Action.FIX:
            touching = [
                d.range for d in request.diagnostics if d.range.start.line <= line <= d.range.end.line
            ]
            if touching:
                return _whole_lines(
                    index,
                    min(r.start.line for r in touching),
                    min(max(r.end.line for r in touching), len(lines) - 1),
                )
        if scope is not None and scope[1] - scope[0] < _MAX_SCOPE_LINES:
            return _whole_lines(index, *scope)
        return _whole_lines(index, line, line)
    start, end = rng.start, rng.end
    if end.character == 0 and end.line > start.line:
        # a line selection ends at the start of the next line: keep that line out
        end = Position(end.line - 1, len(lines[end.line - 1]))
    if start.character <= len(leading_whitespace(lines[start.line])):
        start = Position(start.line, 0)
    if end.character >= len(lines[end.line].rstrip()):
        end = Position(end.line, len(lines[end.line]))
    return Range(start, end)


def _lines_above(lines: list[str], first: int, count: int) -> tuple[str, ...]:
    """Up to ``count`` non-blank lines right above line ``first``, in document order."""
    found: list[str] = []
    j = first - 1
    while j >= 0 and len(found) < count:
        if not is_blank(lines[j]):
            found.append(lines[j])
        j -= 1
    return tuple(reversed(found))


def _lines_below(lines: list[str], start: int, count: int) -> tuple[str, ...]:
    """Up to ``count`` non-blank lines from line ``start`` on."""
    found: list[str] = []
    for line in lines[start:]:
        if len(found) == count:
            break
        if not is_blank(line):
            found.append(line)
    return tuple(found)


def prepare(request: EditRequest, settings: Settings) -> Plan:
    """Everything needed to run ``request``; raises :class:`ActionError` when it cannot be served."""
    spec = resolve_action(request.action, settings)
    index = LineIndex(request.text)
    rng = index.check_range(request.range)
    lines = index.lines()
    language = request.language_id
    instruction = request.instruction

    block: tuple[int, int] | None = None
    if spec.name == Action.GENERATE_FROM_COMMENT:
        block = comment_block_at(lines, rng.start.line, language) or comment_block_at(
            lines, rng.end.line, language
        )
        if block is not None:
            comment = comment_text(lines[block[0] : block[1] + 1], language)
            instruction = f"{comment}\n{instruction}" if instruction else comment
            subject = _whole_lines(index, *block)
        elif instruction:
            subject = _whole_lines(index, rng.end.line, rng.end.line)
        else:
            raise ActionError(
                f"No comment at or above line {rng.start.line + 1}: write a comment that says what "
                "the code should do, then run this action on it."
            )
    else:
        subject = _subject(index, lines, rng, request)

    mode = spec.mode
    first, last = subject.start.line, subject.end.line
    base_indent = leading_whitespace(lines[first])
    echo: tuple[str, ...] = ()
    echo_anchor = _ECHO_ANCHOR_LINES
    after: tuple[str, ...] = ()
    indent_first_line = True
    if mode == ApplyMode.INSERT_BELOW:
        target_at = Position(last + 1, 0) if last + 1 < len(lines) else Position(last, len(lines[last]))
        target = Range(target_at, target_at)
        echo = _lines_above(lines, first, _ECHO_LINES_ABOVE) + tuple(lines[first : last + 1])
        echo_anchor += last + 1 - first
        after = _lines_below(lines, last + 1, _TAIL_LINES)
    elif mode == ApplyMode.INSERT_ABOVE:
        target = Range(Position(first, 0), Position(first, 0))
        after = _lines_below(lines, first, _TAIL_LINES)
    elif mode == ApplyMode.REPLACE:
        target = subject
        indent_first_line = subject.start.character == 0
        after = _lines_below(lines, last + 1, _TAIL_LINES)
        # the line above may be the def line a model repeats; never one equal to the selection's own start
        echo = tuple(
            line
            for line in _lines_above(lines, first, _ECHO_LINES_ABOVE)
            if line.strip() != lines[first].strip()
        )
    else:
        target = subject
        base_indent = ""

    scope_lines = None
    if spec.name == Action.GENERATE_FROM_COMMENT:
        # the comment is the instruction: the context is the code around it, the comment itself
        # only in the task (a model shown it twice tends to answer with it again)
        scope_lines = (first, last)
    context = build_context(
        index,
        subject,
        language,
        request.path,
        settings.context,
        diagnostics=request.diagnostics,
        reserved_chars=reserved_chars(spec, instruction),
        scope_lines=scope_lines,
    )
    messages = build_messages(spec, context, instruction)
    source = None
    inserting = mode in (ApplyMode.INSERT_BELOW, ApplyMode.INSERT_ABOVE)
    if inserting:
        source = Source(
            _whole_lines(index, first, last),
            tuple(lines[first : last + 1]),
            comment_in=language if block is not None else None,
        )
    whole_lines = inserting or (
        mode == ApplyMode.REPLACE
        and target.start.character == 0
        and target.end.character >= len(lines[target.end.line])
    )
    return Plan(
        action=spec,
        messages=messages,
        target=target,
        mode=mode,
        completion=completion_request(spec, messages, context),
        cleanup=CleanupTarget(
            language_id=language,
            base_indent=base_indent,
            indentation=detect_indentation(lines),
            echo=echo,
            echo_anchor=min(echo_anchor, len(echo)),
            after=after,
            indent_first_line=indent_first_line,
        ),
        eol=detect_eol(request.text),
        new_file_path=suggest_test_path(request.path, language) if mode == ApplyMode.NEW_FILE else None,
        context=context,
        replaced=request.text[index.offset_at(target.start) : index.offset_at(target.end)],
        whole_lines=whole_lines,
        source=source,
    )


# --- finish and run -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of the answer's visible text as it arrived (for progress and echoing it)."""

    text: str


@dataclass(frozen=True, slots=True)
class CodeLines:
    """Cleaned code lines that nothing later changes, without line endings (for live insertion)."""

    lines: tuple[str, ...]


#: what :func:`run` hands out: chunks and code lines while the answer streams, the Result last
Event = Chunk | CodeLines | Result


def _code_result(plan: Plan, lines: list[str]) -> Result:
    """The plan's edit (or new file) for the cleaned code ``lines``."""
    if not lines:
        return Result(
            plan.mode, "", None, plan.new_file_path, None, ("the model's answer contained no code",)
        )
    code = plan.eol.join(lines)
    if plan.mode == ApplyMode.NEW_FILE:
        return Result(plan.mode, code + plan.eol, None, plan.new_file_path, None, ())
    refusal = _refusal(plan, lines)
    if refusal:
        return Result(plan.mode, code, None, None, None, (refusal,))
    warnings: tuple[str, ...] = ()
    if plan.mode == ApplyMode.REPLACE:
        new_text = code
    elif plan.mode == ApplyMode.INSERT_BELOW and plan.target.start.character > 0:
        new_text = plan.eol + code  # below the last line of a document without a final newline
    else:
        new_text = code + plan.eol
    return Result(plan.mode, new_text, TextEdit(plan.target, new_text), None, None, warnings)


def _refusal(plan: Plan, lines: list[str]) -> str | None:
    """Why an answer must not be applied, or None: it changes nothing, or brings no code it must bring."""
    replaced = split_lines(plan.replaced) if plan.mode == ApplyMode.REPLACE else []
    if plan.mode == ApplyMode.REPLACE and replaced == lines:
        return "the model returned the code unchanged"
    if plan.action.adds_code:
        had = {line.strip() for line in replaced}
        new = [
            line.strip() for line in code_lines(lines, plan.cleanup.language_id) if line.strip() not in had
        ]
        old_code = [line.strip() for line in code_lines(replaced, plan.cleanup.language_id)]
        if new and old_code and _same_header(new[0], old_code[0]):
            new = new[1:]  # the stub's signature, reworded (a return type added): still no body
        if not new:
            return "the model's answer brought no new code (only comments, or the lines that were there)"
    return None


def _same_header(line: str, header: str) -> bool:
    """Whether ``line`` restates the signature ``header`` (same text up to the parameters)."""
    return "(" in line and "(" in header and line.split("(")[0] == header.split("(")[0]


def _prose_result(plan: Plan, answer: str) -> Result:
    prose = clean_prose(answer)
    return Result(plan.mode, prose, None, None, None, () if prose else ("the model's answer was empty",))


def finish(plan: Plan, answer: str) -> Result:
    """Clean a whole ``answer`` and turn it into the plan's edit (or text for SHOW / NEW_FILE).

    The same as :func:`run` over a provider that sends ``answer`` in one piece.
    """
    if plan.mode == ApplyMode.SHOW:
        return _prose_result(plan, answer)
    return _code_result(plan, clean_code(answer, plan.cleanup))


#: streams whose answer is complete but whose transport is still winding down (see ``run``)
_closing: set[asyncio.Task[None]] = set()


async def wait_closed() -> None:
    """Wait until every provider stream that ``run`` left closing in the background is closed."""
    while _closing:
        await asyncio.gather(*_closing, return_exceptions=True)


async def run(plan: Plan, provider: Provider) -> AsyncGenerator[Event, None]:
    """Stream the plan through ``provider``: a :class:`Chunk` per piece of text, the
    :class:`CodeLines` the cleanup made final as they become final (not for SHOW), the
    :class:`Result` last. Close it with ``contextlib.aclosing``.

    The cleanup that releases the lines is the one that makes the result, so live insertion and
    the final edit cannot disagree. The provider's stream is always closed (its HTTP response
    with it): on cancel, error or an early close before this generator ends; once the answer is
    complete in the background, since tearing down a connection costs about a millisecond that
    the user would otherwise wait for before the edit (see bench/README.md, item 4).
    """
    cleanup = Cleanup(plan.cleanup) if plan.mode != ApplyMode.SHOW else None
    prose: list[str] = []
    lines: list[str] = []
    finish_reason: str | None = None
    complete = False
    stream = provider.stream(plan.completion)
    try:
        async for delta in stream:
            if delta.text:
                yield Chunk(delta.text)
                if cleanup is None:
                    prose.append(delta.text)
                else:
                    final = cleanup.feed(delta.text)
                    if final:
                        lines += final
                        yield CodeLines(tuple(final))
                    # Small models keep talking after the code (a "usage" block, the comment again
                    # and again, up to max_tokens): nobody waits for tokens cleanup throws away.
                    if cleanup.done:
                        finish_reason, complete = "stop", True
                        break
            if delta.finish_reason:
                finish_reason, complete = delta.finish_reason, True
                break
    finally:
        if complete:
            task = asyncio.get_running_loop().create_task(stream.aclose())
            _closing.add(task)
            task.add_done_callback(_closing.discard)
        else:
            await stream.aclose()
    if cleanup is None:
        result = _prose_result(plan, "".join(prose))
    else:
        final = cleanup.flush()
        if final:
            lines += final
            yield CodeLines(tuple(final))
        result = _code_result(plan, lines)
    warnings = result.warnings
    if finish_reason == "length":
        limit = plan.completion.max_tokens
        warnings = (
            f"the answer was cut at max_tokens ({limit}); the code may be incomplete: "
            "raise max_tokens for this action or the provider",
            *warnings,
        )
    yield replace(result, finish_reason=finish_reason, warnings=warnings)
