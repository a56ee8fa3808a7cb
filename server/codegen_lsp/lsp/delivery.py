"""Delivery of a finished answer, by the action's mode: apply an edit, show prose, create a file.

An edit is replayed through every change the user made while the model wrote and applied only
if its target is intact, with the document's current version (retried when the user typed
during the round trip); otherwise the answer is a conflict and nothing is written. Prose is
shown as a message and logged in full; a new file is created (never overwriting) where the
client supports it, shown otherwise. An editor that never answers ``workspace/applyEdit``
makes the answer *unconfirmed*, never retried, since the edit may have been applied.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path

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
        f"{job.title}: the editor did not confirm the edit within {ls.settings.apply_timeout:g} s; "
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
    if result.mode == ApplyMode.SHOW or (
        result.mode == ApplyMode.NEW_FILE and not ls.edit_support.create_files
    ):
        return show(ls, job, result)
    if result.mode == ApplyMode.NEW_FILE:
        return await create_file(ls, job, result)
    if result.edit is None:
        return outcome(job.id, Status.FAILED, f"{job.title}: the model's answer was empty.")
    return await apply_edit(ls, job, result.edit, plan.replaced, live)


def show(ls: Session, job: Job, result: Result) -> dict[str, Any]:
    text = result.text.strip() or "(the model's answer was empty)"
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


async def apply_edit(
    ls: Session, job: Job, edit: TextEdit, original: str, live: LiveInsertion | None
) -> dict[str, Any]:
    """Apply ``edit`` (against the document the job started from, whose text in ``edit.range``
    was ``original``) where its range is now, or refuse. Only that slice of the starting text is
    kept, never the whole: the job replays its recorded changes to find the range."""
    for attempt in range(3):
        document = ls.documents.get(job.uri)
        if document is None:
            message = f"{job.title}: the document was closed; nothing was applied."
            ls.warn(message)
            return outcome(job.id, Status.CONFLICT, message)
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
        answer = await ls.request_apply(workspace_edit, job.title)
        if answer is None:
            return _unconfirmed(ls, job)
        if answer.applied:
            return outcome(job.id, Status.APPLIED)
        current = ls.documents.get(job.uri)
        if current is not None and current.version != version and attempt < 2:
            log.info("job %s: edit refused while the user typed; retrying", job.id)
            continue
        refused = edits.refusal(answer, job.title) or job.title
        if live is not None:
            await live.abandon()
        ls.warn(refused)
        return outcome(job.id, Status.REJECTED, refused)
    raise AssertionError("unreachable")
