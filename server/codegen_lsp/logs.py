"""Log hygiene shared by the server and the command line: repeated records are capped.

A client that sends the same broken message ten thousand times, or a failure that repeats in a
loop, must cost a few log lines, not megabytes (one such loop once wrote 28 MB of chained
tracebacks). :class:`RepeatLimiter` is a ``logging.Filter`` for the handler: records of the same
kind (logger, level, call site and message template) pass ``burst`` times per ``window``
seconds, only the first keeps its traceback, and the first record after a quiet spell says how
many were held back. Every logger's records pass it, third-party ones included.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

_Key = tuple[str, int, str, int, str]


@dataclass
class _Seen:
    since: float
    count: int = 0
    suppressed: int = 0


class RepeatLimiter(logging.Filter):
    def __init__(
        self,
        burst: int = 5,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = 1000,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.clock = clock
        self.max_kinds = max_kinds
        self._seen: dict[_Key, _Seen] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.pathname, record.lineno, str(record.msg)[:200])
        now = self.clock()
        seen = self._seen.get(key)
        if seen is None or now - seen.since >= self.window:
            held = seen.suppressed if seen is not None else 0
            if seen is None and len(self._seen) >= self.max_kinds:
                # many kinds (messages built with f-strings): forget the quiet ones
                self._seen = {k: v for k, v in self._seen.items() if now - v.since < self.window}
            seen = self._seen[key] = _Seen(since=now)
            if held:
                self._append(record, f" [{held} more like this were not logged]")
        seen.count += 1
        if seen.count > self.burst:
            seen.suppressed += 1
            return False
        if seen.count > 1 and (record.exc_info or record.exc_text):
            record.exc_info = None
            record.exc_text = None
            self._append(record, " [traceback as logged before]")
        if seen.count == self.burst:
            self._append(record, f" [more like this in the next {self.window:g} s are not logged]")
        return True

    @staticmethod
    def _append(record: logging.LogRecord, note: str) -> None:
        # The note joins the message after %-formatting, so a "%" in it cannot break the record.
        record.msg = record.getMessage() + note
        record.args = None
