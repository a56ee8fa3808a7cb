"""``codegen.generate``: the command's argument, the job it starts, and the job's body.

The argument object is checked here, the document is read once at the start, and the core
pipeline prepares the prompt. The job then leases a provider chain from the pool
(:mod:`~codegen_lsp.lsp.pool`), consumes the pipeline's events — reporting progress
(:mod:`~codegen_lsp.lsp.progress`) and, with ``streamEdits``, inserting final lines as they come
(:mod:`~codegen_lsp.lsp.live`) — and hands the result to :mod:`~codegen_lsp.lsp.delivery`.
Every ending is an answer with a :class:`~codegen_lsp.lsp.commands.Status`: failures become one
error message with details in the log, and cancellation leaves the document exactly as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.uris import to_fs_path

from codegen_lsp.core.text import LineIndex
from codegen_lsp.core.types import ApplyMode, Diagnostic, EditRequest
from codegen_lsp.errors import ActionError, CodegenError, ConfigError, ProviderError
from codegen_lsp.lsp.commands import NO_PROVIDER, Status, outcome
from codegen_lsp.lsp.delivery import deliver
from codegen_lsp.lsp.jobs import Job
from codegen_lsp.lsp.live import LiveInsertion
from codegen_lsp.lsp.positions import PositionCodec
from codegen_lsp.lsp.progress import JobProgress

if TYPE_CHECKING:
    from codegen_lsp.core.pipeline import Plan, Result
    from codegen_lsp.lsp.session import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerateArgs:
    uri: str
    range: lsp.Range
    action: str | None
    version: int | None
    instruction: str | None
    diagnostics: tuple[lsp.Diagnostic, ...]


def parse_args(raw: Any, converter: Any) -> GenerateArgs:
    """The ``{uri, version, range, action, instruction?, diagnostics?}`` object, checked."""
    if not isinstance(raw, Mapping):
        raise ActionError(
            "codegen.generate takes one argument: an object {uri, version, range, action, instruction?}."
        )
    uri = raw.get("uri")
    if not isinstance(uri, str) or not uri:
        raise ActionError("codegen.generate: `uri` (the document's URI) is missing.")
    try:
        rng = converter.structure(raw["range"], lsp.Range)
    except Exception as exc:
        raise ActionError("codegen.generate: `range` must be an LSP range {start, end}.") from exc
    action = raw.get("action")
    version = raw.get("version")
    instruction = raw.get("instruction")
    if action is not None and not isinstance(action, str):
        raise ActionError("codegen.generate: `action` must be an action name.")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise ActionError("codegen.generate: `version` must be the document version (an integer).")
    if instruction is not None and not isinstance(instruction, str):
        raise ActionError("codegen.generate: `instruction` must be a string.")
    try:
        diagnostics = tuple(converter.structure(d, lsp.Diagnostic) for d in raw.get("diagnostics") or ())
    except Exception as exc:
        raise ActionError("codegen.generate: `diagnostics` must be LSP diagnostics.") from exc
    return GenerateArgs(uri, rng, action, version, instruction or None, diagnostics)


_SEVERITY = {1: "error", 2: "warning", 3: "information", 4: "hint"}


def core_diagnostic(index: LineIndex, diagnostic: lsp.Diagnostic, codec: PositionCodec) -> Diagnostic:
    return Diagnostic(
        range=codec.from_client_range(index, diagnostic.range),
        message=diagnostic.message,
        severity=_SEVERITY.get(int(diagnostic.severity)) if diagnostic.severity else None,
        source=diagnostic.source,
        code=str(diagnostic.code) if diagnostic.code is not None else None,
    )


def plan_for(ls: Session, args: GenerateArgs) -> tuple[Plan, int]:
    """The plan for ``args`` and the document version it was made from. The request (with the
    document's whole text) ends here: a job keeps its plan, and the document may be megabytes
    that the user replaces with every keystroke. Raises ActionError or ConfigError."""
    from codegen_lsp.core import pipeline

    document = ls.documents.get(args.uri)
    if document is None:
        raise ActionError(f"Codegen: {args.uri} is not open in the editor.")
    if args.version is not None and args.version != document.version:
        raise ActionError("Codegen: the document changed since the action was offered; run it again.")
    index = document.index
    codec = ls.documents.codec
    rng = codec.from_client_range(index, args.range)
    action = args.action or pipeline.default_action(
        document.text, rng.start.line, document.language_id, not rng.is_empty
    )
    request = EditRequest(
        text=document.text,
        range=rng,
        action=action,
        language_id=document.language_id,
        path=to_fs_path(args.uri) or args.uri,
        instruction=args.instruction,
        diagnostics=tuple(core_diagnostic(index, d, codec) for d in args.diagnostics),
    )
    return pipeline.prepare(request, ls.settings), document.version


async def generate(ls: Session, raw: Any) -> dict[str, Any]:
    """The ``codegen.generate`` command: start a job and answer when it has ended."""
    try:
        args = parse_args(raw, ls.protocol._converter)
        plan, version = plan_for(ls, args)
    except (ActionError, ConfigError) as exc:
        ls.warn(str(exc))
        return outcome(None, Status.FAILED, str(exc))
    if not ls.settings.provider_chain(plan.action.name):
        ls.error(NO_PROVIDER)
        return outcome(None, Status.FAILED, NO_PROVIDER)

    job = Job(
        uri=args.uri,
        title=plan.action.title,
        target=plan.target,
        version=version,
        source=plan.source.range if plan.source is not None else None,
    )
    task = ls.jobs.start(job, run_job(ls, job, plan))
    request_future = ls.protocol._request_futures.get(ls.protocol.msg_id) if ls.protocol.msg_id else None
    if request_future is not None:
        # pygls answers $/cancelRequest for a command at once but lets the coroutine run on.
        request_future.add_done_callback(
            lambda future: future.cancelled() and job.cancel("the editor cancelled the request")
        )
    result: dict[str, Any] = await task
    return result


async def run_job(ls: Session, job: Job, plan: Plan) -> dict[str, Any]:
    """The job's task. Never raises: every ending is an answer for the command, and the job's
    progress ends with it."""
    progress = JobProgress(ls, job)
    try:
        # the lease gives the pooled chain back after every ending below, cancellation included
        async with contextlib.AsyncExitStack() as stack:
            answer, last_words = await _run_job(ls, job, plan, stack, progress)
    except BaseException:
        progress.end("failed")
        raise
    progress.end(last_words)
    return answer


async def _run_job(
    ls: Session, job: Job, plan: Plan, stack: contextlib.AsyncExitStack, progress: JobProgress
) -> tuple[dict[str, Any], str]:
    """The job's body: its answer, and the last words of its progress."""
    from codegen_lsp.core import pipeline

    live: LiveInsertion | None = None
    result: Result | None = None
    tokens = 0
    model = plan.completion.model or "?"
    try:
        provider = await stack.enter_async_context(
            ls.providers.lease(ls.settings, plan.action.name, lambda notice: progress.notice(notice.summary))
        )
        model = plan.completion.model or provider.model
        await progress.begin(f"{model}: waiting for the first token")
        streaming = ls.settings.stream_edits and plan.mode in (
            ApplyMode.REPLACE,
            ApplyMode.INSERT_BELOW,
            ApplyMode.INSERT_ABOVE,
        )
        if streaming:
            live = LiveInsertion(ls, job, plan)
        async with contextlib.aclosing(pipeline.run(plan, provider)) as events:
            async for event in events:
                if isinstance(event, pipeline.Chunk):
                    tokens += 1
                    progress.report(f"{model}: {tokens} tokens")
                elif isinstance(event, pipeline.CodeLines):
                    if live is not None:
                        live.feed(event.lines)
                else:
                    result = event
        assert result is not None  # run() ends with its result or raises
        if live is not None:
            await live.stop()
            if live.failure is not None:
                return await _live_failed(ls, job, live)
        answer = await deliver(ls, job, plan, result, live)
        return answer, f"{model}: {tokens} tokens, {answer['status']}"
    except asyncio.CancelledError:
        job.settling = True  # a second cancel must not interrupt the clean-up
        if live is not None and live.failure is not None:
            return await _live_failed(ls, job, live)
        reason = job.cancel_reason or "cancelled"
        clean = await live.abandon() if live is not None else True
        ls.log(f"{job.title}: {job.id} {reason}")
        answer = outcome(job.id, Status.CANCELLED, reason)
        if job.tell:
            message = f"{job.title} stopped: {reason}." + (" Nothing was applied." if clean else "")
            ls.warn(message)
            answer["message"] = message
        return answer, f"cancelled: {reason}"
    except CodegenError as exc:
        job.settling = True
        if live is not None:
            await live.abandon()
        ls.error(str(exc), details=_details(exc))
        return outcome(job.id, Status.FAILED, str(exc)), "failed"
    except Exception as exc:
        job.settling = True
        log.exception("job %s failed", job.id)
        if live is not None:
            await live.abandon()
        message = f"Codegen: internal error ({type(exc).__name__}); see the server log."
        ls.error(message, details=repr(exc))
        return outcome(job.id, Status.FAILED, message), "failed"


async def _live_failed(ls: Session, job: Job, live: LiveInsertion) -> tuple[dict[str, Any], str]:
    """The editor refused a streamed edit (or never answered): the job ends there, without what
    was streamed in."""
    assert live.failure is not None
    job.settling = True
    status, message = live.failure
    if await live.abandon():
        message += " The document was left as it was."
    ls.warn(message)
    return outcome(job.id, status, message), str(status)


def _details(exc: CodegenError) -> str:
    parts = [type(exc).__name__]
    if isinstance(exc, ProviderError):
        for name in ("provider", "host", "status", "retry_after"):
            value = getattr(exc, name)
            if value is not None:
                parts.append(f"{name}={value}")
    return " ".join(parts) + f": {exc}"
