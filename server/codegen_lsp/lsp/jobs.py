r"""Generation jobs: one asyncio task each, cancellable from every direction, following their target.

A :class:`Job` is registered before its generation starts and removed when it ends. While it
runs, every content change of its document is appended to ``changes`` (so the answer's range can
be replayed through them at the end) and its live target, and the text the answer is made from,
are moved by :class:`~codegen_lsp.core.tracking.RangeTracker`\ s. The :class:`JobManager`
cancels jobs by id, by document or all at once (``codegen.cancel``, progress cancel,
``$/cancelRequest``, closing or reopening the document, shutdown), and starting a job whose
target overlaps a running one in the same document cancels the older. Cancelling is
``Task.cancel()``: the provider's stream is closed by the ``CancelledError`` at its next await,
which is what closes the upstream HTTP connection within milliseconds. Once a job is *settling*
(its edit is on its way to the editor, or it is cleaning up) a cancel no longer interrupts it.

Edits to one document go out one at a time (:meth:`JobManager.turn`): each is made for the text
the previous one left, once the editor reported that one back as ``didChange``
(:meth:`JobManager.owe`), so concurrent jobs never send an edit for a version the document has
already left — which VS Code refuses, Neovim silently skips, and an editor without versioned
edits applies in the wrong place. The job whose edit was applied does not wait for the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from codegen_lsp.core.tracking import RangeTracker
from codegen_lsp.core.types import Range
from codegen_lsp.lsp.documents import AppliedChange, Document

log = logging.getLogger(__name__)

_ids = itertools.count(1)

#: how long an applied edit may take to come back as didChange (Neovim debounces didChange by
#: 150 ms) before the next edit of the document goes out anyway
ECHO_TIMEOUT = 3.0


def overlaps(a: Range, b: Range) -> bool:
    """Closed-interval overlap: touching ranges and equal insertion points count."""
    return a.start <= b.end and b.start <= a.end


@dataclass(eq=False)
class Job:
    uri: str
    title: str
    target: Range
    #: the document version the job started from
    version: int
    #: the whole lines the answer is made from, if they are not the target (the comment block)
    source: Range | None = None
    id: str = field(default_factory=lambda: f"codegen-{next(_ids)}")
    tracker: RangeTracker = field(init=False)
    source_tracker: RangeTracker | None = field(init=False)
    changes: list[AppliedChange] = field(default_factory=list)
    task: asyncio.Task[Any] | None = None
    #: why it was cancelled, for the log and the command's answer
    cancel_reason: str | None = None
    #: the cancel's reason is news to the user (the document was reopened), not their own doing
    tell: bool = False
    #: its edit is on its way to the editor, or it is cleaning up: cancelling would only leave
    #: the document in doubt, so a cancel no longer interrupts it
    settling: bool = False
    #: streaming mode: called with every change and the document's text after it, before the
    #: change is recorded (recognises our own edits)
    on_change: Callable[[AppliedChange, str], None] | None = None

    def __post_init__(self) -> None:
        self.tracker = RangeTracker(self.target)
        self.source_tracker = RangeTracker(self.source) if self.source is not None else None

    def cancel(self, reason: str, *, tell: bool = False) -> bool:
        if self.task is None or self.task.done() or self.settling:
            return False
        if self.cancel_reason is None:
            self.cancel_reason, self.tell = reason, tell
        self.task.cancel()
        return True

    def record(self, applied: AppliedChange, text: str) -> None:
        """Follow one change; ``text`` (the document after it) goes to ``on_change`` only and is
        never kept: what a job keeps per change is the size of the change."""
        if self.on_change is not None:
            self.on_change(applied, text)
        self.changes.append(applied)
        self.tracker.apply(applied.change)
        if self.source_tracker is not None:
            self.source_tracker.apply(applied.change)

    def replay(self, rng: Range) -> Range | None:
        """``rng`` (in the document the job started from) moved through every change since."""
        tracker = RangeTracker(rng)
        for applied in self.changes:
            if not tracker.apply(applied.change):
                return None
        return tracker.range


@dataclass(eq=False)
class _Turn:
    """A document's edit queue: whose turn it is, and how many wait for one."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    holder: Job | None = None
    users: int = 0


class JobManager:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._turns: dict[str, _Turn] = {}
        #: set at every change of the document (keyed by URI) for whoever waits for one
        self._changed: dict[str, set[asyncio.Event]] = {}
        #: per URI: an applied edit the editor has yet to report; the next turn waits for it
        self._owed: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def for_document(self, uri: str) -> list[Job]:
        return [job for job in self._jobs.values() if job.uri == uri]

    def on_change(self, document: Document, applied: AppliedChange) -> None:
        for job in self.for_document(document.uri):
            job.record(applied, document.text)
        for event in self._changed.get(document.uri, ()):
            event.set()

    @contextlib.asynccontextmanager
    async def turn(self, job: Job) -> AsyncIterator[None]:
        """``job``'s turn to edit its document: one edit in flight per document, in the order
        asked. Re-entrant for the job holding the turn (its live lines, then their removal)."""
        entry = self._turns.setdefault(job.uri, _Turn())
        if entry.holder is job:
            yield
            return
        entry.users += 1
        try:
            async with entry.lock:
                owed = self._owed.get(job.uri)
                if owed is not None:
                    await asyncio.shield(owed)  # bounded by ECHO_TIMEOUT
                entry.holder = job
                try:
                    yield
                finally:
                    entry.holder = None
        finally:
            entry.users -= 1
            if entry.users == 0 and self._turns.get(job.uri) is entry:
                del self._turns[job.uri]

    def owe(self, document: Document, version: int) -> None:
        """The editor applied an edit made for ``document`` at ``version``: the document's next
        turn starts once the edit came back as didChange (or after :data:`ECHO_TIMEOUT`), so the
        next edit is made for the text this one left."""
        uri = document.uri

        async def report() -> None:
            if not await self.reported(document, version):
                log.info("%s: an applied edit did not come back as didChange within %g s", uri, ECHO_TIMEOUT)

        task = asyncio.ensure_future(report())
        self._owed[uri] = task
        task.add_done_callback(lambda done: self._owed.pop(uri) if self._owed.get(uri) is done else None)

    async def reported(self, document: Document, version: int) -> bool:
        """Wait until ``document`` has left ``version``, at most :data:`ECHO_TIMEOUT`: an edit
        the editor applied comes back as didChange before the next edit is made."""
        uri = document.uri
        event = asyncio.Event()
        waiting = self._changed.setdefault(uri, set())
        waiting.add(event)
        deadline = time.monotonic() + ECHO_TIMEOUT
        try:
            while document.version == version:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
            return True
        finally:
            waiting.discard(event)
            if not waiting:
                self._changed.pop(uri, None)

    def start(self, job: Job, body: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Register ``job`` and run ``body`` as its task, replacing overlapping jobs first."""
        for other in self.for_document(job.uri):
            if overlaps(other.tracker.range, job.target) and other.cancel(f"replaced by {job.id}"):
                log.info("job %s replaced by %s", other.id, job.id)
        self._jobs[job.id] = job
        job.task = asyncio.ensure_future(body)
        job.task.add_done_callback(lambda _task: self._jobs.pop(job.id, None))
        return job.task

    def cancel(
        self, *, job_id: str | None = None, uri: str | None = None, reason: str, tell: bool = False
    ) -> list[str]:
        """Cancel one job, a document's jobs, or (neither given) every job; the ids cancelled.
        ``tell``: the user did not ask for it, so each job says why it stopped."""
        if job_id is not None:
            candidates = [self._jobs[job_id]] if job_id in self._jobs else []
        elif uri is not None:
            candidates = self.for_document(uri)
        else:
            candidates = list(self._jobs.values())
        return [job.id for job in candidates if job.cancel(reason, tell=tell)]

    async def shutdown(self, grace: float = 1.0) -> None:
        """Cancel everything and wait (bounded) for the tasks to clean up."""
        tasks = [job.task for job in self._jobs.values() if job.task is not None]
        self.cancel(reason="the server is shutting down")
        for owed in list(self._owed.values()):
            owed.cancel()
        if tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), grace)
