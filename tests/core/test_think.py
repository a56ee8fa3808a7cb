"""The one <think> filter (core/think.py) that every provider runs its text through, at every split."""

from __future__ import annotations

import pytest

from codegen_lsp.core.think import ThinkFilter
from codegen_lsp.core.types import Delta, Usage

THINK_CASES = [
    pytest.param("<think>plan it</think>\n\ndef f(): pass", "def f(): pass", id="block-then-code"),
    pytest.param("  \n<think>a</think>b", "b", id="whitespace-before-block"),
    pytest.param("</think>\n\nx = 1", "x = 1", id="bare-closing-tag"),
    pytest.param("<think>a</think>\n\n    indented()", "    indented()", id="keeps-first-line-indent"),
    pytest.param("\n    return 1\n", "\n    return 1\n", id="plain-leading-whitespace-kept"),
    pytest.param("x = '<think>'", "x = '<think>'", id="tag-later-in-code-kept"),
    pytest.param("print('</think>')", "print('</think>')", id="closing-tag-later-kept"),
    pytest.param("<thinking>", "<thinking>", id="not-quite-a-tag"),
    pytest.param("<th", "<th", id="tag-prefix-at-end-released"),
    pytest.param("<think>never closed", "", id="unclosed-block-dropped"),
    pytest.param("<think>a</think>b<think>c</think>", "b<think>c</think>", id="only-the-first-block"),
    pytest.param("  <think>a</think>\n<think>b</think>c", "c", id="two-leading-blocks"),
    pytest.param("<think>a</think>\r\n\r\nok", "ok", id="crlf-after-the-block"),
]


@pytest.mark.parametrize(("content", "visible"), THINK_CASES)
def test_think_filter_at_every_split(content: str, visible: str) -> None:
    for cut in range(len(content) + 1):
        think = ThinkFilter()
        out = think.feed(content[:cut]) + think.feed(content[cut:]) + think.flush()
        assert out == visible, cut
    think = ThinkFilter()
    assert "".join(think.feed(c) for c in content) + think.flush() == visible


def test_ordinary_text_streams_without_delay() -> None:
    think = ThinkFilter()
    assert think.feed("def") == "def"
    assert think.feed(" f") == " f"
    assert think.feed("\nreturn 1") == "\nreturn 1"


def test_visible_deltas_carry_what_was_held_on_the_last_one() -> None:
    think = ThinkFilter()
    assert think.visible(Delta("<think>hm</think>")) is None
    assert think.visible(Delta("\n\nDone.")) == Delta("Done.")
    think = ThinkFilter()
    assert think.visible(Delta("  <thi")) is None  # may still become a tag
    usage = Usage(3, 4)
    assert think.visible(Delta(finish_reason="stop", usage=usage)) == Delta("  <thi", "stop", usage)
