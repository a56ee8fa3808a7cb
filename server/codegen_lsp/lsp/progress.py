"""Work-done progress for one generation job, or log lines where the client has none.

Reports are throttled (a token per report would flood the client), except notices of waits
(retries after a 429, fallbacks), which go out at once; cancelling from the progress notification
cancels the job.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

if TYPE_CHECKING:
    from codegen_lsp.lsp.jobs import Job
    from codegen_lsp.lsp.session import Session

log = logging.getLogger(__name__)

#: how often progress reports go out at most (seconds): a token per report would flood the client
_REPORT_INTERVAL = 0.1


class JobProgress:
    """Work-done progress for one job where the client supports it, log lines otherwise."""

    def __init__(self, ls: Session, job: Job) -> None:
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

    def notice(self, message: str) -> None:
        """A wait or a change of provider the user should see now ("rate-limited by openai,
        retrying in 23 s"): reported at once, or logged where the client shows no progress."""
        if self.enabled:
            self.report(message, force=True)
        else:
            self.ls.log(f"{self.job.title}: {message}")

    def end(self, message: str) -> None:
        if self.enabled:
            self.ls.work_done_progress.end(self.job.id, lsp.WorkDoneProgressEnd(message=message))
            self.ls.work_done_progress.tokens.pop(self.job.id, None)
        else:
            self.ls.log(f"{self.job.title}: {message}")
