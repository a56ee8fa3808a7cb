"""Moving a job's target range through the user's edits (core/tracking.py), as a table."""

from __future__ import annotations

import random

import pytest

from codegen_lsp.core.text import LineIndex
from codegen_lsp.core.tracking import (
    Change,
    RangeTracker,
    Splice,
    change_between,
    change_of,
    move_range,
    splice_between,
    splice_gives,
)
from codegen_lsp.core.types import Position, Range


def r(a: int, b: int, c: int, d: int) -> Range:
    return Range(Position(a, b), Position(c, d))


def ch(a: int, b: int, c: int, d: int, text: str) -> Change:
    return Change(r(a, b, c, d), text)


# The target in most rows: line 2, characters 4..10 (e.g. a selection inside a function).
T = r(2, 4, 2, 10)


@pytest.mark.parametrize(
    ("target", "change", "expected"),
    [
        pytest.param(T, ch(0, 0, 0, 0, "# new\n"), r(3, 4, 3, 10), id="line-inserted-above"),
        pytest.param(T, ch(0, 0, 1, 0, ""), r(1, 4, 1, 10), id="line-deleted-above"),
        pytest.param(T, ch(2, 0, 2, 0, "xx"), r(2, 6, 2, 12), id="typed-in-front-on-same-line"),
        pytest.param(T, ch(2, 0, 2, 4, ""), r(2, 0, 2, 6), id="deleted-up-to-target-start"),
        pytest.param(T, ch(2, 4, 2, 4, "ab"), r(2, 6, 2, 12), id="insert-exactly-at-start-is-before"),
        pytest.param(T, ch(1, 3, 2, 2, "Z\nQ"), r(2, 3, 2, 9), id="multi-line-change-ending-on-target-line"),
        pytest.param(
            T, ch(2, 1, 2, 1, "a\nb"), r(3, 4, 3, 10), id="newline-typed-in-front-moves-target-down"
        ),
        pytest.param(T, ch(2, 10, 2, 10, "tail"), T, id="insert-exactly-at-end-is-after"),
        pytest.param(T, ch(5, 0, 9, 0, ""), T, id="lines-deleted-below"),
        pytest.param(T, ch(2, 12, 2, 12, "\n\n"), T, id="typed-after-on-same-line"),
        pytest.param(T, ch(2, 5, 2, 5, "x"), None, id="typed-inside"),
        pytest.param(T, ch(2, 0, 2, 5, ""), None, id="deletion-overlapping-start"),
        pytest.param(T, ch(2, 9, 3, 0, ""), None, id="deletion-overlapping-end"),
        pytest.param(T, ch(0, 0, 9, 0, "all new"), None, id="replaced-around"),
        pytest.param(T, ch(2, 4, 2, 10, "same size"), None, id="target-replaced"),
        pytest.param(r(3, 0, 3, 0), ch(3, 0, 3, 0, "x"), r(3, 1, 3, 1), id="empty-target-typed-at-point"),
        pytest.param(
            r(3, 0, 3, 0), ch(2, 5, 3, 0, ""), r(2, 5, 2, 5), id="empty-target-join-with-line-above"
        ),
        pytest.param(r(3, 0, 3, 0), ch(3, 0, 3, 4, ""), r(3, 0, 3, 0), id="empty-target-deleted-after"),
        pytest.param(r(3, 2, 3, 2), ch(3, 1, 3, 3, ""), None, id="empty-target-deleted-around"),
    ],
)
def test_move_range(target: Range, change: Change, expected: Range | None) -> None:
    assert move_range(target, change) == expected


def test_tracker_stops_at_first_touch() -> None:
    tracker = RangeTracker(T)
    assert tracker.apply(ch(0, 0, 0, 0, "\n"))
    assert tracker.range == r(3, 4, 3, 10)
    assert not tracker.apply(ch(3, 5, 3, 6, ""))
    assert tracker.touched
    # Later changes cannot "untouch" it, and the last good range is kept for diagnostics.
    assert not tracker.apply(ch(0, 0, 0, 0, "\n"))
    assert tracker.range == r(3, 4, 3, 10)
    assert tracker.changes_seen == 3


def apply(text: str, change: Change) -> str:
    """Reference application of a code-point change (independent of the module under test)."""
    lines = text.replace("\r\n", "\n").split("\n") if "\r" not in text else None
    if lines is None:
        raise AssertionError("reference helper only handles LF text")

    def offset(p: Position) -> int:
        return sum(len(line) + 1 for line in lines[: p.line]) + p.character

    return text[: offset(change.range.start)] + change.text + text[offset(change.range.end) :]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param("abc", "abc", ch(0, 3, 0, 3, ""), id="identical"),
        pytest.param("a\nb\nc", "a\nX\nb\nc", ch(1, 0, 1, 0, "X\n"), id="line-inserted"),
        pytest.param("a\nb\nc", "a\nc", ch(1, 0, 2, 0, ""), id="line-deleted"),
        pytest.param("a\r\nb", "a\rb", ch(0, 1, 1, 0, "\r"), id="crlf-never-split"),
        pytest.param("x\r\n", "x\r\ny\r\n", ch(1, 0, 1, 0, "y\r\n"), id="crlf-append"),
    ],
)
def test_change_between(old: str, new: str, expected: Change) -> None:
    assert change_between(old, new) == expected


def test_change_between_round_trips_random_edits() -> None:
    rng = random.Random(7)
    alphabet = "ab\n😀字"
    for _ in range(300):
        old = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        i = rng.randint(0, len(old))
        j = rng.randint(i, len(old))
        new = old[:i] + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5))) + old[j:]
        assert apply(old, change_between(old, new)) == new


def splice(text: str, s: Splice) -> str:
    assert text[s.offset : s.end] == s.removed
    return text[: s.offset] + s.inserted + text[s.end :]


@pytest.mark.parametrize(
    ("before", "done", "wanted", "same"),
    [
        pytest.param("ab\n", Splice(3, "", "x\n"), Splice(3, "", "x\n"), True, id="the-very-edit"),
        # Neovim reports a line inserted above "b" as text after the previous line's end
        pytest.param("a\nb\n", Splice(1, "", "\nx"), Splice(2, "", "x\n"), True, id="same-text-other-place"),
        pytest.param("aa", Splice(0, "", "a"), Splice(2, "", "a"), True, id="ambiguous-repeat"),
        pytest.param("ab\n", Splice(3, "", "y\n"), Splice(3, "", "x\n"), False, id="other-text"),
        pytest.param("ab\n", Splice(0, "", "x\n"), Splice(3, "", "x\n"), False, id="other-place"),
        pytest.param("ab\n", Splice(0, "a", "ax\n"), Splice(1, "", "x\n"), True, id="replaces-around-it"),
        pytest.param("ab\n", Splice(3, "", "x\n\n"), Splice(3, "", "x\n"), False, id="one-more-line"),
        pytest.param("", Splice(0, "", "x"), Splice(0, "", "x"), True, id="empty-document"),
    ],
)
def test_splice_gives(before: str, done: Splice, wanted: Splice, same: bool) -> None:
    after = splice(before, done)
    assert (after == splice(before, wanted)) is same  # the table itself is right
    assert splice_gives(after, done, wanted) is same


def test_splice_gives_agrees_with_whole_texts_on_random_edits() -> None:
    rng = random.Random(11)
    alphabet = "ab\n\r😀"

    def random_splice(text: str) -> Splice:
        i = rng.randint(0, len(text))
        j = rng.randint(i, min(len(text), i + 3))
        return Splice(i, text[i:j], "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3))))

    agreed = 0
    for _ in range(3000):
        before = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        done, wanted = random_splice(before), random_splice(before)
        if rng.random() < 0.3:  # often the same result, reached another way
            wanted = splice_between(before, splice(before, done))
        after = splice(before, done)
        same = after == splice(before, wanted)
        assert splice_gives(after, done, wanted) is same, (before, done, wanted)
        agreed += same
    assert agreed > 500  # both outcomes were really exercised


def test_splice_between_round_trips_and_matches_change_between() -> None:
    rng = random.Random(5)
    alphabet = "ab\r\n😀"
    for _ in range(300):
        old = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        new = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        s = splice_between(old, new)
        assert splice(old, s) == new
        assert change_of(s, LineIndex(old)) == change_between(old, new)


@pytest.mark.parametrize("at", [0, 1, 65535, 65536, 65537, 2 * 65536 + 5, 199_999])
@pytest.mark.parametrize("edit", ["insert", "delete", "replace"])
def test_splice_between_finds_changes_across_the_comparison_blocks(at: int, edit: str) -> None:
    rng = random.Random(at)
    old = "".join(rng.choice("ab\n") for _ in range(200_000))
    inserted = {"insert": "XYZ", "delete": "", "replace": "Q"}[edit]
    removed = 0 if edit == "insert" else 1
    new = old[:at] + inserted + old[at + removed :]
    s = splice_between(old, new)
    assert splice(old, s) == new
    # the smallest splice: nothing more than the edit (a repeated neighbour may shift it)
    assert (len(s.removed), len(s.inserted)) == (removed, len(inserted))
