"""Ghost text: ``textDocument/inlineCompletion``, and one ``textDocument/completion`` item for
editors that cannot show inline completions.

Both requests ask the same thing of the core (:mod:`codegen_lsp.core.inline`,
:mod:`codegen_lsp.core.suggestion`): the suggestion at a cursor,
where the cursor is given by the text before and after it (with an editor's selected completion
item already applied). Each document has at most one upstream request, a *flight*. An automatic
request's flight first waits ``inline.debounce`` seconds, so a keystroke arriving meanwhile costs
no model call at all. Keys typed on the same line once the model was asked wait for that flight
(*adopt* it): when its suggestion starts with what was typed, it answers them too; otherwise one
new flight goes out. A request for any other cursor cancels the older flight at once (closing its
HTTP stream, or stopping the local model at its next token), and the older request is answered
quickly with no items. ``$/cancelRequest`` reaches an inline request as ``CancelledError`` (pygls
cancels the handler's task); its flight is closed
:data:`~codegen_lsp.lsp.inline_flights.ADOPT_GRACE` later unless the keystroke's next request
adopted it (editors cancel the old request as they send the new one). While the user types what a
suggestion said, a :class:`~codegen_lsp.core.typethrough.TypedThroughCache` answers with the rest
of it, without a model. A flight and the infill chain it leases are kept in
:mod:`codegen_lsp.lsp.inline_flights`; how the two requests are registered with the server,
in :mod:`codegen_lsp.lsp.inline_registration`.

The completion fallback must never hold up the editor's other completion sources: it waits at
most ``inline.completion_wait`` seconds, marks its list incomplete (so the editor asks again as
the user types) and leaves the flight running, so the next request finds the suggestion ready.

Failures give an empty answer; the user hears about them once per :data:`NOTICE_INTERVAL`, never
per keystroke. Inline completion has its own provider chain (``inline.provider``, default the
active provider) through :func:`~codegen_lsp.providers.factory.build_infill_chain`. Core modules
are imported by the first request: importing this module must stay cheap (server start-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import TYPE_CHECKING, Any, Protocol

from lsprotocol import types as lsp
from pygls.uris import to_fs_path

from codegen_lsp.core.settings import Settings
from codegen_lsp.core.text import detect_eol, normalize_eol
from codegen_lsp.core.types import Position, Range
from codegen_lsp.errors import CodegenError
from codegen_lsp.lsp.documents import Document, DocumentStore
from codegen_lsp.lsp.inline_flights import Cursor, DocumentState, Flight, InfillChain, cursor_at, rest_of_line

if TYPE_CHECKING:
    from codegen_lsp.core.inline import InlineContext, InlineOptions
    from codegen_lsp.core.typethrough import TypedThroughCache

log = logging.getLogger(__name__)

#: seconds between two messages about failing inline completions
NOTICE_INTERVAL = 300.0
#: the identifier being typed, which a completion item must start with to survive the editor's filter
_WORD = re.compile(r"[\w$]*\Z")
_LABEL_CHARS = 60


class Host(Protocol):
    """What the handlers use of the server."""

    documents: DocumentStore
    settings: Settings

    def warn(self, message: str) -> None: ...


class Notice:
    """One message about failing suggestions per ``interval``; every failure goes to the log."""

    def __init__(self, host: Host, interval: float = NOTICE_INTERVAL) -> None:
        self.host = host
        self.interval = interval
        self._last = -interval
        self._quiet = 0

    def failed(self, message: str) -> None:
        now = time.monotonic()
        log.info("inline completion failed: %s", message)
        if now - self._last < self.interval:
            self._quiet += 1
            return
        more = f" ({self._quiet} more since the last message)" if self._quiet else ""
        self._last, self._quiet = now, 0
        self.host.warn(f"Codegen inline completion: {message}{more}")


class InlineCompletion:
    """The inline completion state of one server: flights per document, the typed-through cache,
    the infill chain, the failure notice."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.notice = Notice(host)
        self._documents: dict[str, DocumentState] = {}
        self._chain = InfillChain()
        self._typed: TypedThroughCache | None = None
        #: the completion fallback's handler is registered (statically or dynamically)
        self.fallback_registered = False
        #: the user was told that this editor cannot add the fallback later
        self.fallback_refused = False
        #: the modules of the first suggestion are imported (or being imported)
        self.warmed = False

    @property
    def typed(self) -> TypedThroughCache:
        if self._typed is None:
            from codegen_lsp.core.typethrough import TypedThroughCache

            self._typed = TypedThroughCache()
        return self._typed

    # --- the two requests -------------------------------------------------------------------

    async def inline_completion(self, params: lsp.InlineCompletionParams) -> list[lsp.InlineCompletionItem]:
        settings = self.host.settings
        document = self.host.documents.get(params.text_document.uri)
        if document is None or not settings.inline.enabled:
            return []
        cursor = cursor_at(
            document, params.position, self.host.documents.codec, params.context.selected_completion_info
        )
        automatic = params.context.trigger_kind == lsp.InlineCompletionTriggerKind.Automatic
        text = await self._suggestion(document, cursor, settings, automatic=automatic, wait=None)
        if not text:
            return []
        return [
            lsp.InlineCompletionItem(
                insert_text=self._insert_text(document, cursor, text), range=cursor.replace
            )
        ]

    async def completion(self, params: lsp.CompletionParams) -> lsp.CompletionList | None:
        settings = self.host.settings
        document = self.host.documents.get(params.text_document.uri)
        if document is None or not (settings.inline.enabled and settings.inline.completion_fallback):
            return None
        cursor = cursor_at(document, params.position, self.host.documents.codec)
        text = await self._suggestion(
            document, cursor, settings, automatic=True, wait=settings.inline.completion_wait
        )
        # always incomplete: the editor asks again as the user types, and the next answer comes
        # from the typed-through cache or a flight that had more time
        items = [self._completion_item(document, cursor, text)] if text else []
        return lsp.CompletionList(is_incomplete=True, items=items)

    # --- flights ------------------------------------------------------------------------------

    async def _suggestion(
        self, document: Document, cursor: Cursor, settings: Settings, *, automatic: bool, wait: float | None
    ) -> str:
        """The suggestion at ``cursor``: ``""`` when there is none (yet), or the request was
        superseded, or the model failed. ``wait`` None: as long as the flight takes, and the flight
        is this request's; else at most ``wait`` seconds, and the flight runs on without it."""
        uri = document.uri
        state = self._documents.setdefault(uri, DocumentState())
        state.requests += 1
        mine = state.requests
        deadline = None if wait is None else asyncio.get_running_loop().time() + wait
        known = self.typed.lookup(uri, cursor.before, cursor.after)
        if known is not None:
            return known
        flight = state.flight
        if flight is not None and not flight.serves(cursor):
            if flight.leads_to(cursor):
                # one request in flight per document: the user's next keys may be what it says
                await self._wait(flight, deadline)
                known = self.typed.lookup(uri, cursor.before, cursor.after)
                if known is not None:
                    return known
                if state.requests != mine or not flight.ready.done():
                    return ""  # superseded meanwhile, or the completion budget is spent
            else:
                flight.cancel()  # another cursor: the older upstream request goes at once
        if flight is None or not flight.serves(cursor) or (flight.ready.done() and not automatic):
            from codegen_lsp.core.inline import worth_asking

            if automatic and not worth_asking(rest_of_line(cursor.after)):
                state.flight = None
                return ""
            flight = state.flight = self._launch(document, cursor, settings, automatic=automatic)
        if wait is not None:
            flight.detached = True
        return await self._wait(flight, deadline) or ""

    def _launch(self, document: Document, cursor: Cursor, settings: Settings, *, automatic: bool) -> Flight:
        from codegen_lsp.core.inline import InlineOptions, in_process, inline_context

        options = InlineOptions.of(settings.inline, in_process=in_process(settings))
        path = to_fs_path(document.uri) or document.uri
        if cursor.selected:  # the text as if the selected item were accepted
            ctx = inline_context(cursor.text, cursor.position, document.language_id, path, options)
        else:
            index = document.index
            ctx = inline_context(
                document.text, cursor.position, document.language_id, path, options, index=index
            )
        delay = settings.inline.debounce if automatic else 0.0
        flight = Flight(cursor)
        flight.task = asyncio.get_running_loop().create_task(
            self._fly(flight, document.uri, ctx, options, delay)
        )
        return flight

    async def _fly(
        self,
        flight: Flight,
        uri: str,
        ctx: InlineContext,
        options: InlineOptions,
        delay: float,
    ) -> str:
        """A flight's task: the suggestion, remembered for typing through; never raises but
        CancelledError."""
        from codegen_lsp.core.suggestion import suggest

        if delay > 0:
            await asyncio.sleep(delay)
        flight.asked = True
        try:
            # the settings of now, not of the request: a chain for outdated settings would be
            # built only to be retired again
            async with self._chain.lease(self.host.settings, self._on_notice) as infiller:

                def ready(text: str) -> None:
                    self.typed.remember(uri, flight.before, flight.after, text)
                    flight.answer(text)

                text = await suggest(infiller, ctx, options, on_ready=ready)
        except CodegenError as exc:
            self.notice.failed(str(exc))
            text = ""
        except Exception as exc:
            log.exception("inline completion failed")
            self.notice.failed(f"internal error ({type(exc).__name__}); see the server log.")
            text = ""
        else:
            self.typed.remember(uri, flight.before, flight.after, text)
        flight.answer(text)
        return text

    async def _wait(self, flight: Flight, deadline: float | None) -> str | None:
        """The flight's suggestion; None when it was abandoned or ``deadline`` (loop time) came
        first."""
        flight.waiters += 1
        timeout = None if deadline is None else max(deadline - asyncio.get_running_loop().time(), 0.0)
        try:
            await asyncio.wait(
                (flight.ready, flight.task, flight.abandoned),
                timeout=timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except asyncio.CancelledError:
            # $/cancelRequest: the upstream request goes too, unless someone else still waits
            # for it or the keystroke's next request adopts it
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.detached:
                flight.cancel_unless_adopted()
            raise
        flight.waiters -= 1
        if not flight.live or not flight.ready.done():
            return None  # abandoned, cancelled, or the deadline came first
        return flight.ready.result()

    def _on_notice(self, notice: Any) -> None:
        log.info("inline completion: %s", notice.message)

    # --- answers ------------------------------------------------------------------------------

    def _insert_text(self, document: Document, cursor: Cursor, text: str) -> str:
        eol = detect_eol(document.text)
        return cursor.selected + (normalize_eol(text, eol) if eol != "\n" else text)

    def _completion_item(self, document: Document, cursor: Cursor, text: str) -> lsp.CompletionItem:
        """The suggestion as a completion item: it replaces the identifier being typed with itself
        plus the suggestion, so the editor's filter (which matches that identifier) keeps it."""
        word = _WORD.search(cursor.before)
        typed = word.group() if word else ""
        start = Position(cursor.position.line, cursor.position.character - len(typed))
        rng = self.host.documents.codec.to_client_range(document.index, Range(start, cursor.position))
        new_text = typed + self._insert_text(document, cursor, text)
        shown = next((line.strip() for line in (typed + text).split("\n") if line.strip()), typed + text)
        label = shown if len(shown) <= _LABEL_CHARS else shown[: _LABEL_CHARS - 1] + "…"
        if "\n" in text.strip("\n"):
            label += " …"
        return lsp.CompletionItem(
            label=label,
            kind=lsp.CompletionItemKind.Text,
            detail="codegen suggestion",
            documentation=lsp.MarkupContent(
                kind=lsp.MarkupKind.Markdown, value=f"```{document.language_id}\n{typed + text}\n```"
            ),
            filter_text=typed + text.split("\n", 1)[0],
            sort_text="0",
            text_edit=lsp.TextEdit(range=rng, new_text=new_text),
            insert_text_format=lsp.InsertTextFormat.PlainText,
            insert_text_mode=lsp.InsertTextMode.AsIs,
        )

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self, uri: str) -> None:
        """The document was closed: its flight and remembered suggestion go."""
        state = self._documents.pop(uri, None)
        if state is not None and state.flight is not None:
            state.flight.cancel()
        if self._typed is not None:
            self._typed.forget(uri)

    async def shutdown(self, grace: float = 1.0) -> None:
        """Cancel every flight, wait (bounded) for them to close, then close the chain."""
        flights = [state.flight for state in self._documents.values() if state.flight is not None]
        self._documents.clear()
        for flight in flights:
            flight.cancel()
        if flights:
            await asyncio.wait([f.task for f in flights], timeout=grace)
        await self._chain.aclose()

    def settings_changed(self) -> None:
        """New settings: the next flight builds its chain from them (the old one closes when idle),
        and the next failure is told again (the user may have just fixed the last one)."""
        self.notice = Notice(self.host)
        with contextlib.suppress(RuntimeError):  # no running loop: nothing was built yet
            self._chain.retire()
