"""The server's own copy of every open document, kept in the LSP's line model.

pygls keeps documents too, but applies changes with ``str.splitlines`` lines (see
:mod:`codegen_lsp.lsp.positions`), so a file with a form feed drifts from the editor's copy.
This store applies each ``didChange`` exactly as the protocol defines it, turns every content
change into a code-point :class:`~codegen_lsp.core.tracking.Change` and
:class:`~codegen_lsp.core.tracking.Splice` against the text it applied to, and hands them, with
the document, to whoever listens (the jobs that must follow their target). What a listener may
keep costs the size of the change, never of the document: no text before or after is part of
it, so a job that records every keystroke into a 5 MB file keeps bytes, not megabytes, per
keystroke. Each document's line index is built once, when first needed, and then
edited along with every change rather than rebuilt (see
:meth:`~codegen_lsp.core.text.LineIndex.edit`), so typing into a 100k-line file costs a
string splice and a few list operations per change; a whole-document change (clients that sync
full text) is reduced to its one smallest splice first and edits the index the same way. The store also holds the :class:`~codegen_lsp.lsp.positions.PositionCodec`
of the negotiated position encoding, which every handler converts client positions with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lsprotocol import types as lsp

from codegen_lsp.core.text import LineIndex
from codegen_lsp.core.tracking import Change, Splice, change_of, splice_between
from codegen_lsp.lsp.positions import PositionCodec


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """One content change as it happened, twice (as a range and in offsets), in its own size."""

    change: Change
    splice: Splice
    #: the document version the didChange carrying it announced
    version: int


class Document:
    __slots__ = ("_index", "language_id", "text", "uri", "version")

    def __init__(self, uri: str, text: str, version: int, language_id: str) -> None:
        self.uri = uri
        self.text = text
        self.version = version
        self.language_id = language_id
        self._index: LineIndex | None = None

    @property
    def index(self) -> LineIndex:
        if self._index is None or self._index.text is not self.text:
            self._index = LineIndex(self.text)
        return self._index


#: called after each content change, with the document as it now is
Listener = Callable[[Document, AppliedChange], None]


class DocumentStore:
    def __init__(self) -> None:
        self._documents: dict[str, Document] = {}
        self._listeners: list[Listener] = []
        #: converts client positions in the negotiated encoding (UTF-16 until the server knows it)
        self.codec = PositionCodec()

    @property
    def encoding(self) -> str:
        return self.codec.encoding

    @encoding.setter
    def encoding(self, encoding: str | None) -> None:
        """Set once the position encoding is negotiated."""
        self.codec = PositionCodec(encoding)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def get(self, uri: str) -> Document | None:
        return self._documents.get(uri)

    def open(self, item: lsp.TextDocumentItem) -> Document:
        """Open ``item``, or open it again.

        A second ``didOpen`` without ``didClose`` (a client reloading the file) keeps the
        document and hands any difference to the listeners as a whole-document change, exactly
        as a full-text ``didChange`` would, so whatever follows a range in it follows this too.
        """
        document = self._documents.get(item.uri)
        if document is None:
            document = Document(item.uri, item.text, item.version, item.language_id)
            self._documents[item.uri] = document
            return document
        if document.text != item.text:
            self.change(
                lsp.DidChangeTextDocumentParams(
                    text_document=lsp.VersionedTextDocumentIdentifier(uri=item.uri, version=item.version),
                    content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=item.text)],
                )
            )
        document.version = item.version
        document.language_id = item.language_id
        return document

    def close(self, uri: str) -> None:
        self._documents.pop(uri, None)

    def change(self, params: lsp.DidChangeTextDocumentParams) -> None:
        document = self._documents.get(params.text_document.uri)
        if document is None:
            return
        version = params.text_document.version
        for event in params.content_changes:
            before = document.text
            index = document.index
            if isinstance(event, lsp.TextDocumentContentChangePartial):
                rng = self.codec.from_client_range(index, event.range)
                start, end = index.offset_at(rng.start), index.offset_at(rng.end)
                # one allocation for the new text (two `+` copy the head twice): on a large file
                # this copy is most of what a keystroke costs
                after = "".join((before[:start], event.text, before[end:]))
                change = Change(rng, event.text)
                splice = Splice(start, before[start:end], event.text)
                index.edit(start, end, event.text, after)
            else:
                # a whole-document change is typed like any other: its one smallest splice
                # edits the index as a ranged change would, instead of a rebuild per keystroke
                after = event.text
                splice = splice_between(before, after)
                change = change_of(splice, index)
                index.edit(splice.offset, splice.end, splice.inserted, after)
            document.text = after
            applied = AppliedChange(change, splice, version)
            for listener in self._listeners:
                listener(document, applied)
        document.version = version
