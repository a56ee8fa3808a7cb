"""The bookkeeping of inline requests in flight: where a request's cursor is (:class:`Cursor`, the
text split at it, with an editor's selected completion item applied), one upstream request for one
cursor of one document (:class:`Flight`: which later cursors may adopt it, when an abandoned one is
closed), a document's latest flight (:class:`DocumentState`), and the infill chain every flight
leases (:class:`InfillChain`, rebuilt for new settings, the old one closed once idle). The service
that decides when to launch, adopt or cancel a flight is :mod:`codegen_lsp.lsp.inline`; the
providers are imported by the first lease, so importing this module stays cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from codegen_lsp.core.settings import Settings
from codegen_lsp.core.text import end_of_insertion
from codegen_lsp.core.types import Position, Range
from codegen_lsp.lsp.documents import Document
from codegen_lsp.lsp.positions import PositionCodec

if TYPE_CHECKING:
    from codegen_lsp.core.infill import Infiller

#: a request for a cursor up to this many characters further on the same line waits for the
#: flight of the earlier cursor rather than cancelling it (see Flight.leads_to)
ADOPT_CHARS = 32
#: seconds a flight whose last request the editor cancelled waits for the next keystroke's
#: request to adopt it before it is closed (editors cancel the old request as they send the new)
ADOPT_GRACE = 0.1


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a suggestion goes: the text as the suggestion sees it, split at the cursor."""

    before: str
    after: str
    #: the cursor in code points (in the text with the selected completion item applied)
    position: Position
    #: the selected completion item's text: the answer's insert text starts with it
    selected: str
    #: what the answer replaces, in the client's units (the selected item's range, or the cursor)
    replace: lsp.Range

    @property
    def text(self) -> str:
        return self.before + self.after


def cursor_at(
    document: Document,
    position: lsp.Position,
    codec: PositionCodec,
    selected: lsp.SelectedCompletionInfo | None = None,
) -> Cursor:
    """The cursor of a request; with ``selected``, the document as if that item were accepted."""
    index = document.index
    if selected is None:
        at = codec.from_client_position(index, position)
        offset = index.offset_at(at)
        replace = codec.to_client_range(index, Range(at, at))
        return Cursor(document.text[:offset], document.text[offset:], at, "", replace)
    rng = codec.from_client_range(index, selected.range)
    start, end = index.offset_at(rng.start), index.offset_at(rng.end)
    before = document.text[:start] + selected.text
    at = end_of_insertion(rng.start, selected.text)
    return Cursor(before, document.text[end:], at, selected.text, codec.to_client_range(index, rng))


def rest_of_line(after: str) -> str:
    """The cursor line from the cursor on (without copying the rest of a large document)."""
    end = len(after)
    for eol in ("\n", "\r"):
        found = after.find(eol, 0, end)
        if found >= 0:
            end = found
    return after[:end]


class Flight:
    """One upstream request for one cursor of one document."""

    task: asyncio.Task[str]

    def __init__(self, cursor: Cursor) -> None:
        self.before = cursor.before
        self.after = cursor.after
        loop = asyncio.get_running_loop()
        #: resolved when the flight is cancelled: its requests answer at once, without waiting
        #: for the upstream request to finish closing (a local model ends only at its next token)
        self.abandoned: asyncio.Future[None] = loop.create_future()
        #: the suggestion, as soon as it is complete (the task may still read its stream's end)
        self.ready: asyncio.Future[str] = loop.create_future()
        #: requests waiting for it; the last one cancelled by the editor cancels it
        self.waiters = 0
        #: started for the completion fallback: runs on after the request is answered
        self.detached = False
        #: past its debounce: the model has been asked
        self.asked = False

    @property
    def live(self) -> bool:
        return not self.abandoned.done()

    def serves(self, cursor: Cursor) -> bool:
        return self.live and self.before == cursor.before and self.after == cursor.after

    def leads_to(self, cursor: Cursor) -> bool:
        """The user typed on from this flight's cursor, on the same line: its suggestion may
        well start with what they typed, and then answers their cursor too."""
        typed = len(cursor.before) - len(self.before)
        return (
            self.live
            and self.asked  # still in its debounce, it costs nothing: a new one starts the wait again
            and 0 < typed <= ADOPT_CHARS
            and cursor.after == self.after
            and cursor.before.startswith(self.before)
            and "\n" not in cursor.before[-typed:]
        )

    def cancel(self) -> None:
        self.task.cancel()
        if not self.abandoned.done():
            self.abandoned.set_result(None)

    def answer(self, text: str) -> None:
        if not self.ready.done():
            self.ready.set_result(text)

    def cancel_unless_adopted(self) -> None:
        """Cancel in :data:`ADOPT_GRACE` seconds, unless a request waits for it by then."""

        def check() -> None:
            if self.waiters == 0 and not self.detached:
                self.cancel()

        self.task.get_loop().call_later(ADOPT_GRACE, check)


@dataclass(eq=False)
class DocumentState:
    """One document's inline requests: how many came, and its latest flight."""

    #: counts the document's requests: a request that waited compares it to know it was superseded
    requests: int = 0
    #: the latest flight (a finished one stays, to answer its cursor again)
    flight: Flight | None = None


class InfillChain:
    """The infill chain for the settings in force, shared by every flight. New settings build a
    new chain; the old one is closed once no flight uses it any more."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._infiller: Infiller | None = None
        self._users: dict[int, int] = {}
        self._closing: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def lease(self, settings: Settings, on_notice: Any) -> AsyncIterator[Infiller]:
        from codegen_lsp.providers.factory import build_infill_chain

        if self._infiller is None or (settings is not self._settings and settings != self._settings):
            self.retire()
            self._infiller = build_infill_chain(settings, settings.inline.provider, on_notice=on_notice)
            self._settings = settings
        infiller = self._infiller
        self._users[id(infiller)] = self._users.get(id(infiller), 0) + 1
        try:
            yield infiller
        finally:
            self._users[id(infiller)] -= 1
            if self._users[id(infiller)] == 0:
                del self._users[id(infiller)]
                if infiller is not self._infiller:
                    await infiller.aclose()

    def retire(self) -> None:
        """Stop handing out the current chain; close it now if idle."""
        infiller, self._infiller, self._settings = self._infiller, None, None
        if infiller is not None and id(infiller) not in self._users:
            task = asyncio.get_running_loop().create_task(infiller.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        infiller, self._infiller, self._settings = self._infiller, None, None
        if infiller is not None:
            await infiller.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
