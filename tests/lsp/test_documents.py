"""The document store: client ranges applied like the editor, the index kept in step, changes reported.

The line index's own incremental edits are specified in ``tests/core/test_text.py``; here random
client edits in every position encoding go through the store, and the document's index must
read exactly like one built from the new text.
"""

from __future__ import annotations

import random

import pytest
from lsprotocol import types as lsp

from codegen_lsp.core.text import LineIndex
from codegen_lsp.core.tracking import Change, change_between, splice_between
from codegen_lsp.core.types import Range
from codegen_lsp.lsp.documents import AppliedChange, DocumentStore
from codegen_lsp.lsp.positions import PositionCodec

PIECES = ["a", "xyz", "\n", "\r", "\r\n", "é", "😀", "中文", "\x0c", "\u2028"]


def random_text(rng: random.Random, pieces: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(pieces))


def assert_indexes(index: LineIndex, text: str) -> None:
    """The index reads ``text``: same text, same line starts (what every other answer derives from)."""
    fresh = LineIndex(text)
    assert index.text == text
    assert [index.line_start(n) for n in range(index.line_count)] == [
        fresh.line_start(n) for n in range(fresh.line_count)
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
@pytest.mark.parametrize("seed", range(8))
def test_store_applies_client_ranges_like_the_editor(encoding: str, seed: int) -> None:
    rng = random.Random(seed)
    store = DocumentStore()
    store.encoding = encoding
    codec = PositionCodec(encoding)
    seen: list[AppliedChange] = []
    store.subscribe(lambda document, applied: seen.append(applied))
    uri = "file:///doc.txt"
    text = random_text(rng, 20)
    store.open(lsp.TextDocumentItem(uri=uri, language_id="plaintext", version=1, text=text))
    for version in range(2, 40):
        fresh = LineIndex(text)
        start = rng.randint(0, len(text))
        end = rng.randint(start, min(len(text), start + 6))
        # the editor addresses positions only: an offset inside "\r\n" is the end of its line
        start, end = fresh.offset_at(fresh.position_at(start)), fresh.offset_at(fresh.position_at(end))
        client = lsp.Range(
            start=codec.to_client_position(fresh, fresh.position_at(start)),
            end=codec.to_client_position(fresh, fresh.position_at(end)),
        )
        inserted = random_text(rng, rng.choice((0, 1, 2)))
        change = lsp.TextDocumentContentChangePartial(range=client, text=inserted)
        store.change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[change],
            )
        )
        before, text = text, text[:start] + inserted + text[end:]
        document = store.get(uri)
        assert document is not None
        assert (document.text, document.version) == (text, version)
        assert_indexes(document.index, text)
        # the change is reported in its own size: where, what went, what came
        splice = seen[-1].splice
        assert (splice.offset, splice.removed, splice.inserted) == (start, before[start:end], inserted)
        assert seen[-1].change == Change(Range(fresh.position_at(start), fresh.position_at(end)), inserted)
        assert seen[-1].version == version
    # a whole-document change replaces the index
    whole = lsp.TextDocumentContentChangeWholeDocument(text="new\r\ntext")
    store.change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=99), content_changes=[whole]
        )
    )
    document = store.get(uri)
    assert document is not None
    assert_indexes(document.index, "new\r\ntext")
    assert seen[-1].splice == splice_between(text, "new\r\ntext")


@pytest.mark.parametrize("seed", range(6))
def test_whole_document_changes_edit_the_index_like_ranged_ones(seed: int) -> None:
    # clients that sync full text: each change is reduced to one splice that edits the index
    rng = random.Random(seed)
    store = DocumentStore()
    seen: list[AppliedChange] = []
    store.subscribe(lambda document, applied: seen.append(applied))
    uri = "file:///full.txt"
    text = random_text(rng, 30)
    store.open(lsp.TextDocumentItem(uri=uri, language_id="plaintext", version=1, text=text))
    document = store.get(uri)
    assert document is not None
    index = document.index
    for version in range(2, 60):
        if rng.random() < 0.2:
            new = random_text(rng, rng.randint(0, 30))  # anything at all
        else:
            start = rng.randint(0, len(text))
            end = rng.randint(start, min(len(text), start + 5))
            new = text[:start] + random_text(rng, rng.choice((0, 1, 2))) + text[end:]
        store.change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new)],
            )
        )
        assert document.index is index  # edited, not rebuilt
        assert_indexes(document.index, new)
        assert seen[-1].splice == splice_between(text, new)
        assert seen[-1].change == change_between(text, new)
        text = new


@pytest.mark.parametrize(
    ("reopened", "changes"),
    [
        pytest.param("a = 1\nb = 2\n", 0, id="same-text"),
        pytest.param("# top\na = 1\nb = 2\n", 1, id="other-text"),
    ],
)
def test_a_second_open_is_a_whole_document_change(reopened: str, changes: int) -> None:
    store = DocumentStore()
    heard: list[AppliedChange] = []
    store.subscribe(lambda document, applied: heard.append(applied))
    uri = "file:///tmp/reopen.py"
    first = store.open(lsp.TextDocumentItem(uri=uri, language_id="python", version=7, text="a = 1\nb = 2\n"))
    again = store.open(lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=reopened))
    assert again is first and again.text == reopened and again.version == 1
    assert_indexes(again.index, reopened)
    assert len(heard) == changes
    if changes:
        assert heard[0].change == change_between("a = 1\nb = 2\n", reopened)
