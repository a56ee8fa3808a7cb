"""Generation jobs: one asyncio task each, cancellable from every direction, following their target.

A :class:`Job` is registered before its generation starts and removed when it ends. While it
runs, every content change of its document is appended to ``changes`` (so the answer's range can
be replayed through them at the end) and its live target is moved by a
:class:`~codegen_lsp.core.tracking.RangeTracker`. The :class:`JobManager` cancels jobs by id, by
document or all at once (``codegen.cancel``, progress cancel, ``$/cancelRequest``, shutdown), and
starting a job whose target overlaps a running one in the same document cancels the older.
Cancelling is ``Task.cancel()``: the provider's stream is closed by the ``CancelledError`` at its
next await, which is what closes the upstream HTTP connection within milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from codegen_lsp.core.tracking import RangeTracker
from codegen_lsp.core.types import Range
from codegen_lsp.lsp.documents import AppliedChange, Document

log = logging.getLogger(__name__)

_ids = itertools.count(1)


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
    id: str = field(default_factory=lambda: f"codegen-{next(_ids)}")
    tracker: RangeTracker = field(init=False)
    changes: list[AppliedChange] = field(default_factory=list)
    task: asyncio.Task[Any] | None = None
    #: why it was cancelled, for the log and the command's answer
    cancel_reason: str | None = None
    #: streaming mode: called with every change and the document's text after it, before the
    #: change is recorded (recognises our own edits)
    on_change: Callable[[AppliedChange, str], None] | None = None

    def __post_init__(self) -> None:
        self.tracker = RangeTracker(self.target)

    def cancel(self, reason: str) -> bool:
        if self.task is None or self.task.done():
            return False
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self.task.cancel()
        return True

    def record(self, applied: AppliedChange, text: str) -> None:
        """Follow one change; ``text`` (the document after it) goes to ``on_change`` only and is
        never kept: what a job keeps per change is the size of the change."""
        if self.on_change is not None:
            self.on_change(applied, text)
        self.changes.append(applied)
        self.tracker.apply(applied.change)

    def replay(self, rng: Range) -> Range | None:
        """``rng`` (in the document the job started from) moved through every change since."""
        tracker = RangeTracker(rng)
        for applied in self.changes:
            if not tracker.apply(applied.change):
                return None
        return tracker.range


class JobManager:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def for_document(self, uri: str) -> list[Job]:
        return [job for job in self._jobs.values() if job.uri == uri]

    def on_change(self, document: Document, applied: AppliedChange) -> None:
        for job in self.for_document(document.uri):
            job.record(applied, document.text)

    def start(self, job: Job, body: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Register ``job`` and run ``body`` as its task, replacing overlapping jobs first."""
        for other in self.for_document(job.uri):
            if overlaps(other.tracker.range, job.target) and other.cancel(f"replaced by {job.id}"):
                log.info("job %s replaced by %s", other.id, job.id)
        self._jobs[job.id] = job
        job.task = asyncio.ensure_future(body)
        job.task.add_done_callback(lambda _task: self._jobs.pop(job.id, None))
        return job.task

    def cancel(self, *, job_id: str | None = None, uri: str | None = None, reason: str) -> list[str]:
        """Cancel one job, a document's jobs, or (neither given) every job; the ids cancelled."""
        if job_id is not None:
            candidates = [self._jobs[job_id]] if job_id in self._jobs else []
        elif uri is not None:
            candidates = self.for_document(uri)
        else:
            candidates = list(self._jobs.values())
        return [job.id for job in candidates if job.cancel(reason)]

    async def shutdown(self, grace: float = 1.0) -> None:
        """Cancel everything and wait (bounded) for the tasks to clean up."""
        tasks = [job.task for job in self._jobs.values() if job.task is not None]
        self.cancel(reason="the server is shutting down")
        if tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), grace)
