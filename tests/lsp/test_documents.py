"""The document store and its incrementally edited line index, against full rebuilds.

Every edit below is checked by comparing the edited index with ``LineIndex(text)`` built from
scratch on everything a reader can ask: the line count, every line, the offset of every line's
start and end, and the position of every offset. Texts mix every LSP line break (``\\n``,
``\\r\\n``, lone ``\\r``) with characters that are *not* breaks in the LSP (form feed, U+2028),
emoji (two UTF-16 units, four UTF-8 bytes) and CJK, and edits are random: inside a line,
across breaks, deleting or inserting breaks, and splitting or joining a ``\\r\\n``.
"""

from __future__ import annotations

import random

import pytest
from lsprotocol import types as lsp

from codegen_lsp.core.types import Position
from codegen_lsp.lsp.documents import AppliedChange, DocumentStore
from codegen_lsp.lsp.positions import LineIndex, to_client_position

PIECES = ["a", "b", "xyz", " ", "\n", "\r", "\r\n", "é", "😀", "中文", "\x0c", "\u2028", "\n\n", "\r\r"]


def random_text(rng: random.Random, pieces: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(pieces))


def assert_same(index: LineIndex, text: str) -> None:
    fresh = LineIndex(text)
    assert index.text == text
    assert index.line_count == fresh.line_count
    assert index.end == fresh.end
    for number in range(-1, fresh.line_count + 1):
        assert index.line(number) == fresh.line(number), number
        for character in (0, len(fresh.line(number)), 10_000):
            point = Position(number, character)
            assert index.offset(point) == fresh.offset(point), point
    for offset in range(-1, len(text) + 2):
        assert index.position(offset) == fresh.position(offset), offset


@pytest.mark.parametrize("seed", range(40))
def test_random_edits_match_a_rebuild(seed: int) -> None:
    rng = random.Random(seed)
    text = random_text(rng, rng.randint(0, 30))
    index = LineIndex(text)
    spot = 0
    for _ in range(60):
        if rng.random() < 0.5:
            # typing: at or next to the previous edit, which keeps one pending shift growing
            start = min(max(spot + rng.randint(-1, 1), 0), len(text))
            end = start if rng.random() < 0.7 else min(start + 1, len(text))
        else:
            start = rng.randint(0, len(text))
            end = rng.randint(start, min(len(text), start + rng.choice((0, 1, 3, 12))))
        inserted = random_text(rng, rng.choice((0, 1, 1, 2, 4)))
        after = text[:start] + inserted + text[end:]
        index.edit(start, end, inserted, after)
        text, spot = after, start + len(inserted)
        assert_same(index, text)


@pytest.mark.parametrize(
    ("text", "start", "end", "inserted"),
    [
        ("a\rb", 2, 2, "\n"),  # "\n" right after a lone "\r": one "\r\n" break, one line fewer
        ("a\r", 2, 2, "\n"),  # ... at the very end
        ("a\nb", 1, 1, "\r"),  # "\r" right before "\n": the break becomes "\r\n"
        ("a\r\nb", 1, 2, ""),  # delete the "\r" of a "\r\n"
        ("a\r\nb", 2, 3, ""),  # delete the "\n" of a "\r\n": a lone "\r" stays
        ("a\r\nb", 2, 2, "x"),  # split a "\r\n": two breaks
        ("a\rX\nb", 2, 3, ""),  # delete what kept "\r" and "\n" apart: they join
        ("😀\r\n中\r\n", 0, 7, ""),  # everything
        ("", 0, 0, "\r\n\r\n"),
    ],
)
def test_line_breaks_formed_and_split_by_an_edit(text: str, start: int, end: int, inserted: str) -> None:
    index = LineIndex(text)
    after = text[:start] + inserted + text[end:]
    index.edit(start, end, inserted, after)
    assert_same(index, after)


def test_crlf_typed_in_two_edits_on_a_large_document() -> None:
    text = "line\n" * 2000
    index = LineIndex(text)
    offset = 5 * 1000 + 2
    for piece in ("x", "\r", "\n"):  # typed one after another: "\r" then "\n" make one break
        text = text[:offset] + piece + text[offset:]
        index.edit(offset, offset, piece, text)
        offset += len(piece)
    assert_same(index, text)
    # an edit far above the pending shift applies it first
    text = "top\r" + text
    index.edit(0, 0, "top\r", text)
    assert_same(index, text)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
@pytest.mark.parametrize("seed", range(8))
def test_store_applies_client_ranges_like_the_editor(encoding: str, seed: int) -> None:
    rng = random.Random(seed)
    store = DocumentStore()
    store.encoding = encoding
    seen: list[AppliedChange] = []
    store.subscribe(lambda uri, applied: seen.append(applied))
    uri = "file:///doc.txt"
    text = random_text(rng, 20)
    store.open(lsp.TextDocumentItem(uri=uri, language_id="plaintext", version=1, text=text))
    for version in range(2, 40):
        fresh = LineIndex(text)
        start = rng.randint(0, len(text))
        end = rng.randint(start, min(len(text), start + 6))
        # the editor addresses positions only: an offset inside "\r\n" is the end of its line
        start, end = fresh.offset(fresh.position(start)), fresh.offset(fresh.position(end))
        client = lsp.Range(
            start=to_client_position(fresh, fresh.position(start), encoding),
            end=to_client_position(fresh, fresh.position(end), encoding),
        )
        inserted = random_text(rng, rng.choice((0, 1, 2)))
        change = lsp.TextDocumentContentChangePartial(range=client, text=inserted)
        store.change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[change],
            )
        )
        text = text[:start] + inserted + text[end:]
        document = store.get(uri)
        assert document is not None
        assert (document.text, document.version) == (text, version)
        assert_same(document.index, text)
        assert seen[-1].after == text
    # a whole-document change replaces the index
    whole = lsp.TextDocumentContentChangeWholeDocument(text="new\r\ntext")
    store.change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=99), content_changes=[whole]
        )
    )
    document = store.get(uri)
    assert document is not None
    assert_same(document.index, "new\r\ntext")
