"""Delivery of a finished answer, by the action's mode: apply an edit, show prose, create a file.

An edit goes out in its document's turn (one edit in flight per document, each made for the text
the previous one left: :meth:`~codegen_lsp.lsp.jobs.JobManager.turn`). It is replayed through
every change the user made while the model wrote and applied only if its target is intact and
what it was made from is still there as it was (a comment edited meanwhile makes the answer
*stale*); otherwise nothing is written and the user is told. It lands with the line breaks that
keep it off the lines the user typed on (:func:`~codegen_lsp.core.landing.keep_apart`) and with
the document's current version, retried when the user typed during the round trip; once the
editor applied it, the next edit of the document waits until this one came back as
``didChange``. Prose is shown as a message and logged in full; a new file is created (never
overwriting) where the client supports it, shown otherwise. An empty answer is always told. An
editor that never answers ``workspace/applyEdit`` makes the answer *unconfirmed*, never retried,
since the edit may have been applied.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path

from codegen_lsp.core.landing import Lines, keep_apart, still_asked
from codegen_lsp.core.text import LineIndex
from codegen_lsp.core.types import ApplyMode, Range, TextEdit
from codegen_lsp.lsp import edits
from codegen_lsp.lsp.commands import Status, outcome

if TYPE_CHECKING:
    from codegen_lsp.core.pipeline import Plan, Result
    from codegen_lsp.lsp.jobs import Job
    from codegen_lsp.lsp.live import LiveInsertion
    from codegen_lsp.lsp.session import Session

log = logging.getLogger(__name__)


def _unconfirmed(ls: Session, job: Job) -> dict[str, Any]:
    message = (
        f"{job.title}: the editor did not confirm the edit (no answer within {ls.settings.apply_timeout:g} s); "
        "check the document (it may or may not have been applied)."
    )
    ls.warn(message)
    return outcome(job.id, Status.UNCONFIRMED, message)


async def deliver(
    ls: Session,
    job: Job,
    plan: Plan,
    result: Result,
    live: LiveInsertion | None,
) -> dict[str, Any]:
    for warning in result.warnings:
        ls.log(f"{job.title}: {warning}")
    if not result.text.strip():
        return _empty(ls, job, result)
    if result.mode == ApplyMode.SHOW or (
        result.mode == ApplyMode.NEW_FILE and not ls.edit_support.create_files
    ):
        return show(ls, job, result)
    if result.mode == ApplyMode.NEW_FILE:
        return await create_file(ls, job, result)
    if result.edit is None:
        # an empty answer, or one the pipeline refused (unchanged, no new code): nothing is
        # applied, and lines already shown live are taken out again
        if live is not None:
            await live.abandon()
        return _empty(ls, job, result)
    return await apply_edit(ls, job, plan, result.edit, live)


def _empty(ls: Session, job: Job, result: Result) -> dict[str, Any]:
    """An answer with nothing to use (no choices, no text, no new code): said, never silent."""
    said = "; ".join(result.warnings) or "the model's answer was empty"
    message = f"{job.title}: {said}, so nothing was applied."
    ls.warn(message)
    return outcome(job.id, Status.FAILED, message)


def show(ls: Session, job: Job, result: Result) -> dict[str, Any]:
    text = result.text.strip()
    heading = job.title
    if result.mode == ApplyMode.NEW_FILE and result.new_file_path:
        heading += f" (suggested file: {result.new_file_path}; this editor cannot create files for a server)"
    # showMessage works in every client; the log keeps the full text for copying.
    ls.show(lsp.MessageType.Info, f"{heading}\n\n{text}")
    ls.log(f"{heading}:\n{text}")
    return outcome(job.id, Status.SHOWN, text=text)


def _free_path(path: Path) -> Path:
    candidate, number = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}_{number}{path.suffix}")
        number += 1
    return candidate


async def create_file(ls: Session, job: Job, result: Result) -> dict[str, Any]:
    document_path = to_fs_path(job.uri)
    base = ls.root or (Path(document_path).parent if document_path else Path.cwd())
    target = _free_path(base / (result.new_file_path or "generated.txt"))
    uri = from_fs_path(str(target)) or target.as_uri()
    answer = await ls.request_apply(edits.new_file_edit(uri, result.text), job.title)
    if answer is None:
        return _unconfirmed(ls, job)
    refused = edits.refusal(answer, job.title)
    if refused:
        refused += " Nothing was created."
        ls.warn(refused)
        return outcome(job.id, Status.REJECTED, refused)
    window = ls.client_capabilities.window
    if window and window.show_document and window.show_document.support:
        with contextlib.suppress(Exception):
            await ls.window_show_document_async(lsp.ShowDocumentParams(uri=uri, take_focus=True))
    return outcome(job.id, Status.APPLIED, uri=uri)


def _conflict(ls: Session, job: Job) -> dict[str, Any]:
    message = f"{job.title}: the code it was working on was edited meanwhile, so the answer was not applied."
    ls.warn(message)
    return outcome(job.id, Status.CONFLICT, message)


def _stale(ls: Session, job: Job, plan: Plan) -> dict[str, Any]:
    what = (
        "the comment it answers"
        if plan.source is not None and plan.source.comment
        else "the code it is about"
    )
    message = f"{job.title}: {what} was edited meanwhile, so the answer (for the old text) was not applied."
    ls.warn(message)
    return outcome(job.id, Status.STALE, message)


def _asked(ls: Session, job: Job, plan: Plan, index: LineIndex) -> bool:
    """Whether what the answer was made from is still there as it was."""
    if plan.source is None or job.source_tracker is None:
        return True
    if job.source_tracker.touched:
        return False
    return still_asked(plan.source, index, job.source_tracker.range)


async def apply_edit(
    ls: Session, job: Job, plan: Plan, edit: TextEdit, live: LiveInsertion | None
) -> dict[str, Any]:
    """Apply ``edit`` (against the document the job started from, whose text in ``edit.range``
    was ``plan.replaced``) where its range is now, in the document's turn, or refuse; with live
    insertion, the streamed region goes with it. Only that slice of the starting text is kept,
    never the whole: the job replays its recorded changes to find the range."""
    async with ls.jobs.turn(job):
        answer = await _apply_in_turn(ls, job, plan, edit, live)
    return answer


async def _apply_in_turn(
    ls: Session, job: Job, plan: Plan, edit: TextEdit, live: LiveInsertion | None
) -> dict[str, Any]:
    original = plan.replaced
    lines = Lines.planned(edit.range, edit.new_text, plan.whole_lines)
    for attempt in range(3):
        document = ls.documents.get(job.uri)
        if document is None:
            message = f"{job.title}: the document was closed; nothing was applied."
            ls.warn(message)
            return outcome(job.id, Status.CONFLICT, message)
        index = document.index
        moved = job.replay(edit.range)
        if moved is None or job.tracker.touched:
            if live is not None:
                await live.abandon()
            return _conflict(ls, job)
        if not _asked(ls, job, plan, index):
            if live is not None:
                await live.abandon()
            return _stale(ls, job, plan)
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
        target = Range(start, moved.end)
        new_text = keep_apart(index, target, lines, plan.eol)
        client_range = ls.documents.codec.to_client_range(index, target)
        version = document.version
        workspace_edit = edits.text_edit(
            job.uri, version, [lsp.TextEdit(range=client_range, new_text=new_text)], ls.edit_support
        )
        job.settling = True  # on its way: a cancel now would leave the document in doubt
        answer = await ls.request_apply(workspace_edit, job.title)
        if answer is None:
            return _unconfirmed(ls, job)
        if answer.applied:
            ls.jobs.owe(document, version)  # the document's next edit waits until this one is back
            return outcome(job.id, Status.APPLIED)
        current = ls.documents.get(job.uri)
        if current is not None and current.version != version and attempt < 2:
            log.info("job %s: edit refused while the user typed; retrying", job.id)
            continue
        message = edits.refusal(answer, job.title) or job.title
        if live is None or await live.abandon():
            message += " The document was left as it was."
        ls.warn(message)
        return outcome(job.id, Status.REJECTED, message)
    raise AssertionError("unreachable")
