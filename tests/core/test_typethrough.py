"""Typing through a suggestion (``core/typethrough.py``): the rest of the last suggestion while
the user types it, and the documents kept."""

from __future__ import annotations

import pytest

from codegen_lsp.core.typethrough import TypedThroughCache

BEFORE, AFTER = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(BEFORE, AFTER, "a + b", id="nothing-typed-yet"),
        pytest.param(BEFORE + "a ", AFTER, "+ b", id="typed-the-next-characters"),
        pytest.param(BEFORE + "a + b", AFTER, None, id="typed-all-of-it"),
        pytest.param(BEFORE + "b", AFTER, None, id="typed-something-else"),
        pytest.param(BEFORE + "a", AFTER + "# new\n", None, id="text-after-changed"),
        pytest.param(BEFORE[:-3] + "x", AFTER, None, id="edited-before-the-suggestion"),
        pytest.param(BEFORE[:-2], AFTER, "n a + b", id="backspace"),
        pytest.param("", AFTER, None, id="deleted-too-much"),
    ],
)
def test_typed_through_cache(before: str, after: str, expected: str | None) -> None:
    cache = TypedThroughCache()
    cache.remember("file:///a.py", BEFORE, AFTER, "a + b")
    assert cache.lookup("file:///a.py", before, after) == expected
    assert cache.lookup("file:///b.py", before, after) is None


def test_typed_through_cache_keeps_the_most_recent_documents() -> None:
    cache = TypedThroughCache(max_documents=2)
    for name in ("a", "b", "c"):
        cache.remember(name, "x", "", "yz")
    assert cache.lookup("a", "xy", "") is None
    assert cache.lookup("c", "xy", "") == "z"
    cache.remember("c", "x", "", "")  # an empty suggestion forgets the old one
    assert cache.lookup("c", "xy", "") is None
    cache.forget("b")
    assert cache.lookup("b", "xy", "") is None
