"""Live insertion (opt-in ``streamEdits``): complete lines go into the document while the answer streams.

The pipeline's final cleaned lines go in as small versioned edits, one in flight at a time, each
recognised when the editor reports it back; the user's own changes move the inserted region or,
landing inside it, stop the stream. Delivery replaces the region and the target in one edit at
the end (:func:`~codegen_lsp.lsp.delivery.apply_edit`); cancel or error removes it again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from codegen_lsp.core.text import LineIndex, end_of_insertion
from codegen_lsp.core.tracking import Splice, move_range, splice_gives
from codegen_lsp.core.types import Range
from codegen_lsp.lsp import edits

if TYPE_CHECKING:
    from codegen_lsp.core.pipeline import Plan
    from codegen_lsp.lsp.documents import AppliedChange
    from codegen_lsp.lsp.jobs import Job
    from codegen_lsp.lsp.session import Session

#: how long a streamed edit may take to come back as didChange before live streaming gives up
_ECHO_TIMEOUT = 3.0


class LiveInsertion:
    """Opt-in ``streamEdits``: complete lines appear at the target while the answer streams.

    Lines go in as small versioned edits at the end of the inserted *region*, one edit in flight
    at a time (the next batch collects meanwhile). Each edit must come back as a ``didChange``
    that turns the text before it into exactly the expected text after it; any other change is
    the user's and moves the region, or breaks the stream if it lands inside it. At the end the
    region and the target are replaced in one edit by the fully cleaned answer; on cancel or
    error the region is removed, leaving the document as it was.
    """

    def __init__(self, ls: Session, job: Job, plan: Plan) -> None:
        self.ls = ls
        self.job = job
        point = plan.target.start
        self.region = Range(point, point)
        self.shown = ""
        self._ready = ""
        self.broken: str | None = None
        self._expected: Splice | None = None  # our edit in flight, until the editor reports it
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
        self._expected = Splice(index.offset_at(self.region.end), "", text)
        self._echoed.clear()
        point = self.ls.documents.codec.to_client_range(index, Range(self.region.end, self.region.end))
        workspace_edit = edits.text_edit(
            self.job.uri, document.version, [lsp.TextEdit(range=point, new_text=text)], self.ls.edit_support
        )
        answer = await self.ls.request_apply(workspace_edit, self.job.title)
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
            await self.ls.request_apply(workspace_edit, f"{self.job.title} (undo)")
        self.shown = ""
