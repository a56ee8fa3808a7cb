"""Live insertion (opt-in ``streamEdits``): complete lines go into the document while the answer streams.

The pipeline's final cleaned lines go in as small versioned edits, one in flight at a time and in
the document's turn (:meth:`~codegen_lsp.lsp.jobs.JobManager.turn`), each recognised when the
editor reports it back; the user's own changes move the inserted region or, landing inside it,
stop the stream. Delivery replaces the region and the target in one edit at the end
(:func:`~codegen_lsp.lsp.delivery.apply_edit`). An editor that refuses a streamed edit (an error
answer, ``applied: false``) or does not answer ends the job: :attr:`LiveInsertion.failure` says
how, and :meth:`LiveInsertion.abandon` removes what went in, as it does on cancel or error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from codegen_lsp.core.landing import Lines, keep_apart
from codegen_lsp.core.text import LineIndex, end_of_insertion
from codegen_lsp.core.tracking import Splice, move_range, splice_gives
from codegen_lsp.core.types import Range
from codegen_lsp.lsp import edits
from codegen_lsp.lsp.commands import Status
from codegen_lsp.lsp.jobs import ECHO_TIMEOUT

if TYPE_CHECKING:
    from codegen_lsp.core.pipeline import Plan
    from codegen_lsp.lsp.documents import AppliedChange
    from codegen_lsp.lsp.jobs import Job
    from codegen_lsp.lsp.session import Session

log = logging.getLogger(__name__)


class LiveInsertion:
    """Opt-in ``streamEdits``: complete lines appear at the target while the answer streams.

    Lines go in as small versioned edits at the end of the inserted *region*, one edit in flight
    at a time (the next batch collects meanwhile). Each edit must come back as a ``didChange``
    that turns the text before it into exactly the expected text after it; any other change is
    the user's (or another job's) and moves the region, or breaks the stream if it lands inside
    it, also after the stream ended: the final edit and the removal wait for the document's turn
    while other edits land. The first edit starts a line of its own where the user typed at the
    insertion point. At the end the region and the target are replaced in one edit by the fully
    cleaned answer; on cancel, error or refusal the region is removed, leaving the document as
    it was.
    """

    def __init__(self, ls: Session, job: Job, plan: Plan) -> None:
        self.ls = ls
        self.job = job
        point = plan.target.start
        self.region = Range(point, point)
        #: the text in the region: what went in and came back
        self.shown = ""
        #: why live insertion stopped early (the user edited the streamed lines, …)
        self.broken: str | None = None
        #: the editor refused a streamed edit or did not answer: how the job ends, and why
        self.failure: tuple[Status, str] | None = None
        self._ready = ""  # final lines so far
        self._sent = 0  # how much of _ready is in the region
        #: streamed text is whole lines; it starts a line of its own where the answer will
        self._own_lines = plan.whole_lines
        self._expected: Splice | None = None  # our edit in flight, until the editor reports it
        self._echoed = asyncio.Event()
        self._wake = asyncio.Event()
        self._stopping = False
        self._eol = plan.eol
        self._pump = asyncio.ensure_future(self._run())
        # kept for the job's whole life: the region must follow what lands while the final edit
        # (or the removal) waits for its turn, or it is looked for where it no longer is
        job.on_change = self._on_change

    def feed(self, lines: Sequence[str]) -> None:
        """Cleaned lines from the pipeline, final: they go in with the next edit."""
        self._ready += "".join(line + self._eol for line in lines)
        self._wake.set()

    def _on_change(self, applied: AppliedChange, text: str) -> None:
        # the editor may report our insertion as another but equivalent change (Neovim diffs
        # lines): what counts is the text it gives, compared around the change only
        if self._expected is not None and splice_gives(text, applied.splice, self._expected):
            inserted = self._expected.inserted
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
        try:
            while not self.broken:
                await self._wake.wait()
                self._wake.clear()
                pending = self._ready[self._sent :]
                if pending:
                    await self._insert(pending)
                elif self._stopping:
                    return
        except Exception:
            # the pump is the only one to notice its own failure: end the job rather than hang
            log.exception("job %s: live insertion failed", self.job.id)
            self._fail(
                Status.FAILED, f"{self.job.title}: streaming into the document failed; see the server log."
            )

    def _fail(self, status: Status, message: str) -> None:
        self.failure = (status, message)
        self.broken = message
        self.job.cancel("the editor did not take a streamed edit")

    async def _insert(self, pending: str) -> None:
        async with self.ls.jobs.turn(self.job):
            document = self.ls.documents.get(self.job.uri)
            if document is None:
                self.broken = "the document was closed"
                return
            index = document.index
            text = pending
            if not self.shown:
                text = keep_apart(index, self.region, Lines(pending, self._own_lines), self._eol)
            self._expected = Splice(index.offset_at(self.region.end), "", text)
            self._echoed.clear()
            point = self.ls.documents.codec.to_client_range(index, Range(self.region.end, self.region.end))
            workspace_edit = edits.text_edit(
                self.job.uri,
                document.version,
                [lsp.TextEdit(range=point, new_text=text)],
                self.ls.edit_support,
            )
            answer = await self.ls.request_apply(workspace_edit, self.job.title)
            if answer is None:
                self._expected = None
                self._fail(
                    Status.UNCONFIRMED,
                    f"{self.job.title}: the editor did not confirm a streamed edit within "
                    f"{self.ls.settings.apply_timeout:g} s, so streaming stopped; check the document.",
                )
                return
            refused = edits.refusal(answer, self.job.title)
            if refused:
                self._expected = None
                self._fail(Status.REJECTED, refused)
                return
            try:
                await asyncio.wait_for(self._echoed.wait(), ECHO_TIMEOUT)
            except TimeoutError:
                self._expected = None
                self._fail(
                    Status.UNCONFIRMED,
                    f"{self.job.title}: the editor applied a streamed edit but did not report it, so "
                    "streaming stopped; check the document.",
                )
                return
            self._sent += len(pending)
        self._wake.set()  # more lines may have arrived meanwhile

    async def stop(self) -> None:
        """Let the edit in flight finish (and flush what is ready); then stop."""
        self._stopping = True
        self._wake.set()
        await asyncio.shield(self._pump)

    def final_region(self, index: LineIndex, moved_target: Range) -> Range | None:
        """The region plus the target, if both are intact and adjacent; None otherwise."""
        if self.broken:
            return None
        if index.text_in(self.region) != self.shown:
            return None
        if index.offset_at(self.region.end) != index.offset_at(moved_target.start):
            return None
        return Range(self.region.start, moved_target.end)

    async def abandon(self) -> bool:
        """Remove what was streamed in, if it is still exactly there. True when the document
        holds nothing of it any more; otherwise the user has been told why it stayed. Never raises."""
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.shield(self._pump)  # the edit in flight lands (or fails) first
        except Exception:
            log.exception("job %s: live insertion failed", self.job.id)
        if not self.shown:
            return True
        try:
            return await self._remove()
        except Exception:
            log.exception("job %s: removing the streamed code failed", self.job.id)
            self.ls.warn(f"{self.job.title}: the streamed code could not be removed; it was left in place.")
            return False

    async def _remove(self) -> bool:
        async with self.ls.jobs.turn(self.job):
            document = self.ls.documents.get(self.job.uri)
            if document is None:
                return True  # closed: the editor's copy is its own business now
            index = document.index
            if index.text_in(self.region) != self.shown:
                self.ls.warn(f"{self.job.title}: the streamed code was edited; it was left in place.")
                return False
            version = document.version
            workspace_edit = edits.text_edit(
                self.job.uri,
                version,
                [
                    lsp.TextEdit(
                        range=self.ls.documents.codec.to_client_range(index, self.region), new_text=""
                    )
                ],
                self.ls.edit_support,
            )
            answer = await self.ls.request_apply(workspace_edit, f"{self.job.title} (undo)")
            if answer is None or not answer.applied:
                why = edits.refusal_reason(answer) if answer is not None else "it did not answer"
                self.ls.warn(
                    f"{self.job.title}: the streamed code could not be removed (the editor: {why}); "
                    "it was left in place."
                )
                return False
            self.ls.jobs.owe(document, version)
            self.shown = ""
            return True
