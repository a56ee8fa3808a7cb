"""Typing through a suggestion, free of any protocol: the last suggestion of each document,
answered again, without a model call, while the user types its next characters."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Shown:
    before: str
    after: str
    text: str


class TypedThroughCache:
    """The last suggestion of each document, to answer again while the user types into it.

    :meth:`remember` records a suggestion with the document's text before and after the cursor
    it was made for. :meth:`lookup` with the text around the cursor now returns the rest of
    that suggestion when the only change is that the user typed its next characters (or deleted
    a few characters just before it); otherwise None, and a model must be asked. Documents are
    kept least-recently-used first, at most ``max_documents``.
    """

    def __init__(self, max_documents: int = 64, *, max_backspace: int = 16) -> None:
        self._shown: OrderedDict[str, _Shown] = OrderedDict()
        self._max = max_documents
        self._max_backspace = max_backspace

    def remember(self, uri: str, before: str, after: str, text: str) -> None:
        if not text:
            self.forget(uri)
            return
        self._shown[uri] = _Shown(before, after, text)
        self._shown.move_to_end(uri)
        while len(self._shown) > self._max:
            self._shown.popitem(last=False)

    def lookup(self, uri: str, before: str, after: str) -> str | None:
        shown = self._shown.get(uri)
        if shown is None or after != shown.after:
            return None
        if len(before) >= len(shown.before):
            if not before.startswith(shown.before):
                return None
            typed = before[len(shown.before) :]
            if len(typed) < len(shown.text) and shown.text.startswith(typed):
                return shown.text[len(typed) :]
            return None
        deleted = shown.before[len(before) :]
        if len(deleted) <= self._max_backspace and "\n" not in deleted and shown.before.startswith(before):
            return deleted + shown.text
        return None

    def forget(self, uri: str) -> None:
        self._shown.pop(uri, None)
