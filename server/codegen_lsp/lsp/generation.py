"""One ``codegen.generate`` from arguments to applied edit: the job body and its delivery.

The command's argument object is checked here, the document is read once at the start, the core
pipeline prepares the prompt, and the job streams the answer from the provider chain while
reporting work-done progress. Delivery then depends on the action's mode: an edit is replayed
through every change the user made meanwhile and applied only if its target is intact (with the
document's current version, retried when the user typed during the round trip), prose is shown,
and a new file is created where the client supports it. Failures become one error message with
details in the log; cancellation leaves the document exactly as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path

from codegen_lsp.core.text import LineIndex, end_of_insertion
from codegen_lsp.core.tracking import move_range
from codegen_lsp.core.types import ApplyMode, Diagnostic, EditRequest, Range, TextEdit
from codegen_lsp.errors import ActionError, CodegenError, ConfigError, ProviderError
from codegen_lsp.lsp import edits
from codegen_lsp.lsp.documents import AppliedChange
from codegen_lsp.lsp.jobs import Job
from codegen_lsp.lsp.positions import PositionCodec

if TYPE_CHECKING:
    from codegen_lsp.core.pipeline import Plan, Result
    from codegen_lsp.core.provider import Provider
    from codegen_lsp.core.settings import Settings
    from codegen_lsp.lsp.server import CodegenServer

log = logging.getLogger(__name__)

NO_PROVIDER = (
    "Codegen: no model provider is configured. Set `codegen.provider` (a preset such as openai, "
    "ollama or openrouter) or `codegen.baseUrl` + `codegen.model` in the editor's settings, or "
    "export CODEGEN_LSP_BASE_URL / CODEGEN_LSP_PROVIDER, or install the embedded model with "
    "pip install 'codegen-lsp[local]'. Run the command codegen.checkProvider to test it."
)

#: how often progress reports go out at most (seconds): a token per report would flood the client
_REPORT_INTERVAL = 0.1
#: how long a streamed edit may take to come back as didChange before live streaming gives up
_ECHO_TIMEOUT = 3.0
# How long to wait for the editor's answer to workspace/applyEdit is Settings.apply_timeout. Some
# editors ask the user first (eglot), and some never answer at all (ALE 3.3 applies the edit
# silently), so a job must not wait forever; an unanswered edit is never retried, since it may
# have been applied.


async def request_apply(
    ls: CodegenServer, edit: lsp.WorkspaceEdit, label: str
) -> lsp.ApplyWorkspaceEditResult | None:
    """Send ``workspace/applyEdit``; None when the editor did not answer in time."""
    limit = ls.settings.apply_timeout
    try:
        return await asyncio.wait_for(
            ls.workspace_apply_edit_async(lsp.ApplyWorkspaceEditParams(edit=edit, label=label)), limit
        )
    except TimeoutError:
        log.warning("%s: no answer to workspace/applyEdit within %g s", label, limit)
        return None


def _unconfirmed(ls: CodegenServer, job: Job) -> dict[str, Any]:
    message = (
        f"{job.title}: the editor did not confirm the edit within {ls.settings.apply_timeout:g} s; "
        "check the document (it may or may not have been applied)."
    )
    ls.warn(message)
    return outcome(job.id, "unconfirmed", message)


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


def outcome(job_id: str | None, status: str, message: str | None = None, **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {"jobId": job_id, "status": status}
    if message:
        answer["message"] = message
    answer.update(extra)
    return answer


async def generate(ls: CodegenServer, raw: Any) -> dict[str, Any]:
    """The ``codegen.generate`` command: start a job and answer when it has ended."""
    from codegen_lsp.core import pipeline

    try:
        args = parse_args(raw, ls.protocol._converter)
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
        plan = pipeline.prepare(request, ls.settings)
    except (ActionError, ConfigError) as exc:
        ls.warn(str(exc))
        return outcome(None, "failed", str(exc))
    if not ls.settings.provider_chain(plan.action.name):
        ls.error(NO_PROVIDER)
        return outcome(None, "failed", NO_PROVIDER)

    job = Job(uri=args.uri, title=plan.action.title, target=plan.target, version=document.version)
    task = ls.jobs.start(job, run_job(ls, job, plan))
    request_future = ls.protocol._request_futures.get(ls.protocol.msg_id) if ls.protocol.msg_id else None
    if request_future is not None:
        # pygls answers $/cancelRequest for a command at once but lets the coroutine run on.
        request_future.add_done_callback(
            lambda future: future.cancelled() and job.cancel("the editor cancelled the request")
        )
    result: dict[str, Any] = await task
    return result


@dataclass(eq=False)
class _Pooled:
    provider: Provider
    users: int = 0
    retired: bool = False


@dataclass(eq=False)
class ProviderPool:
    """One provider chain (retries, fallbacks, an HTTP client with its connections and SSL
    context) per provider chain of the current settings, shared by the jobs that use it.

    Building a chain per job cost a new client, a new SSL context and a new connection every
    time. A chain is keyed by the names of the providers in ``Settings.provider_chain(action)``
    under the settings they were built from; different settings retire every chain, and a retired
    chain is closed as soon as no job uses it any more (at once if none does). Cancelling a job
    still closes its upstream response at once: that is the stream's ``aclose``, not the client's.
    """

    _settings: Settings | None = None
    _chains: dict[tuple[str, ...], _Pooled] = field(default_factory=dict)
    _closing: set[asyncio.Task[None]] = field(default_factory=set)

    @contextlib.asynccontextmanager
    async def lease(self, settings: Settings, action: str) -> AsyncIterator[Provider]:
        from codegen_lsp.providers.factory import build_chain

        if settings is not self._settings and settings != self._settings:
            self.retire()
            self._settings = settings
        key = tuple(ps.name for ps in settings.provider_chain(action))
        entry = self._chains.get(key)
        if entry is None:
            entry = _Pooled(build_chain(settings, action))
            self._chains[key] = entry
        entry.users += 1
        try:
            yield entry.provider
        finally:
            entry.users -= 1
            if entry.retired and entry.users == 0:
                await _close(entry.provider)

    @property
    def serving(self) -> Settings | None:
        """The settings the pooled chains were built from (None: no chain yet)."""
        return self._settings

    def retire(self) -> None:
        """Stop handing out the current chains (the settings changed); close the idle ones."""
        for entry in self._chains.values():
            entry.retired = True
            if entry.users == 0:
                task = asyncio.get_running_loop().create_task(_close(entry.provider))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        self._chains.clear()
        self._settings = None

    async def aclose(self) -> None:
        """Close every chain (shutdown, after the jobs have ended)."""
        entries = list(self._chains.values())
        self._chains.clear()
        self._settings = None
        for entry in entries:
            entry.retired = True
            await _close(entry.provider)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _close(provider: Provider) -> None:
    try:
        await provider.aclose()
    except Exception:
        log.warning("closing provider %s failed", provider.name, exc_info=True)


class JobProgress:
    """Work-done progress for one job where the client supports it, log lines otherwise."""

    def __init__(self, ls: CodegenServer, job: Job) -> None:
        self.ls = ls
        self.job = job
        window = ls.client_capabilities.window
        self.enabled = bool(window and window.work_done_progress)
        self._last = 0.0

    async def begin(self, message: str) -> None:
        if self.enabled:
            try:
                await self.ls.work_done_progress.create_async(self.job.id)
            except Exception:
                log.info("client refused a progress token; logging instead", exc_info=True)
                self.enabled = False
        if not self.enabled:
            self.ls.log(f"{self.job.title}: started ({message})")
            return
        self.ls.work_done_progress.begin(
            self.job.id, lsp.WorkDoneProgressBegin(title=self.job.title, cancellable=True, message=message)
        )
        future = self.ls.work_done_progress.tokens.get(self.job.id)
        if future is not None:
            future.add_done_callback(
                lambda f: f.cancelled() and self.job.cancel("cancelled from the progress notification")
            )

    def report(self, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < _REPORT_INTERVAL):
            return
        self._last = now
        self.ls.work_done_progress.report(self.job.id, lsp.WorkDoneProgressReport(message=message))

    def end(self, message: str) -> None:
        if self.enabled:
            self.ls.work_done_progress.end(self.job.id, lsp.WorkDoneProgressEnd(message=message))
            self.ls.work_done_progress.tokens.pop(self.job.id, None)
        else:
            self.ls.log(f"{self.job.title}: {message}")


async def run_job(ls: CodegenServer, job: Job, plan: Plan) -> dict[str, Any]:
    """The job's task. Never raises: every ending is an answer for the command."""
    # the lease gives the pooled chain back after every ending below, cancellation included
    async with contextlib.AsyncExitStack() as stack:
        return await _run_job(ls, job, plan, stack)
    raise AssertionError("unreachable")  # mypy: an exit stack could swallow exceptions


async def _run_job(
    ls: CodegenServer, job: Job, plan: Plan, stack: contextlib.AsyncExitStack
) -> dict[str, Any]:
    from codegen_lsp.core import pipeline

    progress = JobProgress(ls, job)
    live: LiveInsertion | None = None
    result: Result | None = None
    tokens = 0
    model = plan.completion.model or "?"
    try:
        provider = await stack.enter_async_context(ls.providers.lease(ls.settings, plan.action.name))
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
        answer = await deliver(ls, job, plan, result, live)
        progress.end(f"{model}: {tokens} tokens, {answer['status']}")
        return answer
    except asyncio.CancelledError:
        reason = job.cancel_reason or "cancelled"
        if live is not None:
            await live.abandon()
        progress.end(f"cancelled: {reason}")
        ls.log(f"{job.title}: {job.id} {reason}")
        return outcome(job.id, "cancelled", reason)
    except CodegenError as exc:
        if live is not None:
            await live.abandon()
        progress.end("failed")
        ls.error(str(exc), details=_details(exc))
        return outcome(job.id, "failed", str(exc))
    except Exception as exc:
        log.exception("job %s failed", job.id)
        if live is not None:
            await live.abandon()
        progress.end("failed")
        message = f"Codegen: internal error ({type(exc).__name__}); see the server log."
        ls.error(message, details=repr(exc))
        return outcome(job.id, "failed", message)


def _details(exc: CodegenError) -> str:
    parts = [type(exc).__name__]
    if isinstance(exc, ProviderError):
        for name in ("provider", "host", "status", "retry_after"):
            value = getattr(exc, name)
            if value is not None:
                parts.append(f"{name}={value}")
    return " ".join(parts) + f": {exc}"


async def deliver(
    ls: CodegenServer,
    job: Job,
    plan: Plan,
    result: Result,
    live: LiveInsertion | None,
) -> dict[str, Any]:
    for warning in result.warnings:
        ls.log(f"{job.title}: {warning}")
    if result.mode == ApplyMode.SHOW or (
        result.mode == ApplyMode.NEW_FILE and not ls.edit_support.create_files
    ):
        return show(ls, job, result)
    if result.mode == ApplyMode.NEW_FILE:
        return await create_file(ls, job, result)
    if result.edit is None:
        return outcome(job.id, "failed", f"{job.title}: the model's answer was empty.")
    return await apply_edit(ls, job, result.edit, plan.request.text, live)


def show(ls: CodegenServer, job: Job, result: Result) -> dict[str, Any]:
    text = result.text.strip() or "(the model's answer was empty)"
    heading = job.title
    if result.mode == ApplyMode.NEW_FILE and result.new_file_path:
        heading += f" (suggested file: {result.new_file_path}; this editor cannot create files for a server)"
    # showMessage works in every client; the log keeps the full text for copying.
    ls.show(lsp.MessageType.Info, f"{heading}\n\n{text}")
    ls.log(f"{heading}:\n{text}")
    return outcome(job.id, "shown", text=text)


def _free_path(path: Path) -> Path:
    candidate, number = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}_{number}{path.suffix}")
        number += 1
    return candidate


async def create_file(ls: CodegenServer, job: Job, result: Result) -> dict[str, Any]:
    document_path = to_fs_path(job.uri)
    base = ls.root or (Path(document_path).parent if document_path else Path.cwd())
    target = _free_path(base / (result.new_file_path or "generated.txt"))
    uri = from_fs_path(str(target)) or target.as_uri()
    answer = await request_apply(ls, edits.new_file_edit(uri, result.text), job.title)
    if answer is None:
        return _unconfirmed(ls, job)
    refused = edits.refusal(answer, job.title)
    if refused:
        ls.warn(refused)
        return outcome(job.id, "rejected", refused)
    window = ls.client_capabilities.window
    if window and window.show_document and window.show_document.support:
        with contextlib.suppress(Exception):
            await ls.window_show_document_async(lsp.ShowDocumentParams(uri=uri, take_focus=True))
    return outcome(job.id, "applied", uri=uri)


def _conflict(ls: CodegenServer, job: Job) -> dict[str, Any]:
    message = f"{job.title}: the code it was working on was edited meanwhile, so the answer was not applied."
    ls.warn(message)
    return outcome(job.id, "conflict", message)


async def apply_edit(
    ls: CodegenServer, job: Job, edit: TextEdit, start_text: str, live: LiveInsertion | None
) -> dict[str, Any]:
    """Apply ``edit`` (against ``start_text``, the job's starting text) where its range is now,
    or refuse."""
    # The document's index follows the document, so it serves the starting text only while the
    # document is unchanged (the common case: no second index of a large file on the way to the
    # edit); otherwise the starting text gets an index of its own.
    current = ls.documents.get(job.uri)
    start_index = (
        current.index if current is not None and current.text is start_text else LineIndex(start_text)
    )
    original = start_index.text_in(edit.range)
    for attempt in range(3):
        document = ls.documents.get(job.uri)
        if document is None:
            message = f"{job.title}: the document was closed; nothing was applied."
            ls.warn(message)
            return outcome(job.id, "conflict", message)
        moved = job.replay(edit.range)
        if moved is None or job.tracker.touched:
            if live is not None:
                await live.abandon()
            return _conflict(ls, job)
        index = document.index
        start = moved.start
        if live is not None:
            region = live.final_region(index, moved)
            if region is None:
                await live.abandon()
                return _conflict(ls, job)
            start = region.start
        # The replay is exact; comparing the text is the last line of defence before writing.
        if index.text_in(moved) != original:
            return _conflict(ls, job)
        client_range = ls.documents.codec.to_client_range(index, Range(start, moved.end))
        version = document.version
        workspace_edit = edits.text_edit(
            job.uri, version, [lsp.TextEdit(range=client_range, new_text=edit.new_text)], ls.edit_support
        )
        answer = await request_apply(ls, workspace_edit, job.title)
        if answer is None:
            return _unconfirmed(ls, job)
        if answer.applied:
            return outcome(job.id, "applied")
        current = ls.documents.get(job.uri)
        if current is not None and current.version != version and attempt < 2:
            log.info("job %s: edit refused while the user typed; retrying", job.id)
            continue
        refused = edits.refusal(answer, job.title) or job.title
        if live is not None:
            await live.abandon()
        ls.warn(refused)
        return outcome(job.id, "rejected", refused)
    raise AssertionError("unreachable")


class LiveInsertion:
    """Opt-in ``streamEdits``: complete lines appear at the target while the answer streams.

    Lines go in as small versioned edits at the end of the inserted *region*, one edit in flight
    at a time (the next batch collects meanwhile). Each edit must come back as a ``didChange``
    that turns the text before it into exactly the expected text after it; any other change is
    the user's and moves the region, or breaks the stream if it lands inside it. At the end the
    region and the target are replaced in one edit by the fully cleaned answer; on cancel or
    error the region is removed, leaving the document as it was.
    """

    def __init__(self, ls: CodegenServer, job: Job, plan: Plan) -> None:
        self.ls = ls
        self.job = job
        point = plan.target.start
        self.region = Range(point, point)
        self.shown = ""
        self._ready = ""
        self.broken: str | None = None
        self._expected: tuple[str, str] | None = None  # (text after our edit, inserted text)
        self._echoed = asyncio.Event()
        self._wake = asyncio.Event()
        self._stopping = False
        self._eol = plan.eol
        self._pump = asyncio.ensure_future(self._run())
        job.on_change = self._on_change

    def feed(self, lines: Sequence[str]) -> None:
        """Cleaned lines from the pipeline, final: they go in with the next edit."""
        self._ready += "".join(line + self._eol for line in lines)
        self._wake.set()

    def _on_change(self, applied: AppliedChange) -> None:
        if self._expected is not None and applied.after == self._expected[0]:
            inserted = self._expected[1]
            self.region = Range(self.region.start, end_of_insertion(self.region.end, inserted))
            self.shown += inserted
            self._expected = None
            self._echoed.set()
            return
        moved = move_range(self.region, applied.change)
        if moved is None:
            self.broken = "the streamed code was edited"
            self._wake.set()
        else:
            self.region = moved

    async def _run(self) -> None:
        while not self.broken:
            await self._wake.wait()
            self._wake.clear()
            pending = self._ready[len(self.shown) :]
            if pending:
                await self._insert(pending)
            elif self._stopping:
                return

    async def _insert(self, text: str) -> None:
        document = self.ls.documents.get(self.job.uri)
        if document is None:
            self.broken = "the document was closed"
            return
        index = document.index
        offset = index.offset_at(self.region.end)
        self._expected = (document.text[:offset] + text + document.text[offset:], text)
        self._echoed.clear()
        point = self.ls.documents.codec.to_client_range(index, Range(self.region.end, self.region.end))
        workspace_edit = edits.text_edit(
            self.job.uri, document.version, [lsp.TextEdit(range=point, new_text=text)], self.ls.edit_support
        )
        answer = await request_apply(self.ls, workspace_edit, self.job.title)
        if answer is None or not answer.applied:
            self._expected = None
            self.broken = (
                edits.refusal(answer, self.job.title)
                if answer is not None
                else "the editor did not answer the streamed edit"
            )
            return
        try:
            await asyncio.wait_for(self._echoed.wait(), _ECHO_TIMEOUT)
        except TimeoutError:
            self._expected = None
            self.broken = "the editor did not report the streamed edit"
        self._wake.set()  # more lines may have arrived meanwhile

    async def stop(self) -> None:
        """Let the edit in flight finish (and flush what is ready); then stop."""
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._pump), _ECHO_TIMEOUT * 2)
        self.job.on_change = None

    def final_region(self, index: LineIndex, moved_target: Range) -> Range | None:
        """The region plus the target, if both are intact and adjacent; None otherwise."""
        if self.broken:
            return None
        if index.text_in(self.region) != self.shown:
            return None
        if index.offset_at(self.region.end) != index.offset_at(moved_target.start):
            return None
        return Range(self.region.start, moved_target.end)

    async def abandon(self) -> None:
        """Remove what was streamed in, if it is still exactly there."""
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._pump), _ECHO_TIMEOUT * 2)
        self.job.on_change = None
        if not self.shown:
            return
        document = self.ls.documents.get(self.job.uri)
        if document is None:
            return
        index = document.index
        if index.text_in(self.region) != self.shown:
            self.ls.warn(f"{self.job.title}: the streamed code was edited; it was left in place.")
            return
        workspace_edit = edits.text_edit(
            self.job.uri,
            document.version,
            [lsp.TextEdit(range=self.ls.documents.codec.to_client_range(index, self.region), new_text="")],
            self.ls.edit_support,
        )
        with contextlib.suppress(Exception):
            await request_apply(self.ls, workspace_edit, f"{self.job.title} (undo)")
        self.shown = ""
