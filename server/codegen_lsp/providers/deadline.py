"""One deadline around an await that names its own error when it passes.

The providers wait under several clocks (first token, idle, the total deadline); each wait is the
same: an ``asyncio.timeout_at`` scope whose expiry becomes the clock's own error (with its advice),
while a ``TimeoutError`` that did not come from the scope passes unchanged. :func:`deadline` is
that wait, once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import NoReturn


@contextlib.asynccontextmanager
async def deadline(when: float | None, expired: Callable[[], NoReturn]) -> AsyncIterator[None]:
    """Run the body until the loop time ``when`` (None: no limit); past it, ``expired()`` raises."""
    scope = asyncio.timeout_at(when)
    try:
        async with scope:
            yield
    except TimeoutError:
        if scope.expired():
            expired()
        raise
