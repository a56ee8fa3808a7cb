"""core/landing.py: is the answer still wanted, and which line breaks keep it apart from the user's text.

Tables over small documents: the text an answer was made from (a comment block, the code it is
about) edited in every way that changes it, and in ways that do not; an answer planned to start
or end a line, with the user's text now beside it or not.
"""

from __future__ import annotations

import pytest

from codegen_lsp.core.landing import Lines, Source, keep_apart, still_asked
from codegen_lsp.core.text import LineIndex
from codegen_lsp.core.tracking import Change, RangeTracker, change_between
from codegen_lsp.core.types import Position, Range

DOC = "import os\n\n# return the sum\n# of a and b\n\nprint(1)\n"
BLOCK = Range(Position(2, 0), Position(3, len("# of a and b")))
COMMENT = Source(BLOCK, ("# return the sum", "# of a and b"), comment_in="python")


def after_edit(old: str, new: str, source: Source) -> bool:
    """still_asked once ``old`` became ``new``, the source followed as a job follows it."""
    tracker = RangeTracker(source.range)
    if not tracker.apply(change_between(old, new)):
        return False
    return still_asked(source, LineIndex(new), tracker.range)


@pytest.mark.parametrize(
    ("new", "asked"),
    [
        pytest.param(DOC, True, id="unchanged"),
        pytest.param("#!/bin/sh\n" + DOC, True, id="line-added-above"),
        pytest.param(DOC.replace("print(1)", "print(2)"), True, id="code-below-edited"),
        pytest.param(DOC.replace("import os", "import re"), True, id="code-above-edited"),
        pytest.param(
            DOC.replace("# of a and b\n", "# of a and b\nx = 1\n"), True, id="code-line-typed-below"
        ),
        pytest.param(DOC.replace("sum", "product"), False, id="word-replaced"),
        pytest.param(DOC.replace("# of a and b", "# of a and b and c"), False, id="appended"),
        pytest.param(DOC.replace("# return", "x# return"), False, id="prepended"),
        pytest.param(DOC.replace("# of a and b\n", ""), False, id="line-removed"),
        pytest.param(DOC.replace("# return the sum\n# of a and b\n", ""), False, id="deleted"),
        pytest.param(
            DOC.replace("# of a and b\n", "# of a and b\n# as floats\n"), False, id="comment-line-below"
        ),
        pytest.param(DOC.replace("\n# return", "# note\n# return"), False, id="comment-line-above"),
        pytest.param(DOC.replace("# of a", "#  of a"), False, id="whitespace-inside"),
    ],
)
def test_still_asked(new: str, asked: bool) -> None:
    assert after_edit(DOC, new, COMMENT) is asked


def test_code_source_need_not_stay_a_comment_block() -> None:
    text = "def f():\n    pass\n# a comment right below\n"
    source = Source(Range(Position(0, 0), Position(1, 8)), ("def f():", "    pass"))
    assert after_edit(text, text.replace("# a comment", "# another comment"), source)
    assert not after_edit(text, text.replace("pass", "return 1"), source)


def test_a_source_past_the_end_is_gone() -> None:
    index = LineIndex("# return the sum\n")
    assert not still_asked(COMMENT, index, Range(Position(0, 0), Position(1, 12)))


# --- keep_apart ------------------------------------------------------------------------------------

CODE = "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize(
    ("whole", "rng", "text", "now", "moved", "expected"),
    [
        pytest.param(
            True, Range(Position(1, 0), Position(1, 0)), CODE,
            "# c\n\nx\n", Range(Position(1, 0), Position(1, 0)), CODE,
            id="nothing-typed",
        ),
        pytest.param(
            True, Range(Position(1, 0), Position(1, 0)), CODE,
            "# c\nfoo\nx\n", Range(Position(1, 3), Position(1, 3)), "\n" + CODE,
            id="word-before-the-insertion-point",
        ),
        pytest.param(
            True, Range(Position(1, 0), Position(1, 0)), CODE.replace("\n", "\r\n"),
            "# c\r\nfoo\r\nx\r\n", Range(Position(1, 3), Position(1, 3)), "\r\n" + CODE.replace("\n", "\r\n"),
            id="crlf",
        ),
        pytest.param(
            True, Range(Position(0, 3), Position(0, 3)), "\n" + CODE.rstrip(),
            "# c\n", Range(Position(1, 0), Position(1, 0)), CODE.rstrip(),
            id="end-of-document-break-typed",
        ),
        pytest.param(
            True, Range(Position(0, 3), Position(0, 3)), "\n" + CODE.rstrip(),
            "# c", Range(Position(0, 3), Position(0, 3)), "\n" + CODE.rstrip(),
            id="end-of-document-untouched",
        ),
        pytest.param(
            True, Range(Position(0, 0), Position(1, 8)), "def f():\n    return 1",
            "def f():\n    pass  # todo\n", Range(Position(0, 0), Position(1, 8)), "def f():\n    return 1\n",
            id="text-after-a-replaced-line-end",
        ),
        pytest.param(
            True, Range(Position(0, 0), Position(1, 8)), "def f():\n    return 1",
            "foodef f():\n    pass\n", Range(Position(0, 3), Position(1, 8)), "\ndef f():\n    return 1",
            id="text-before-a-replaced-line-start",
        ),
        pytest.param(
            False, Range(Position(0, 4), Position(0, 8)), "g(y)",
            "c = f(x) + 1\n", Range(Position(0, 4), Position(0, 8)), "g(y)",
            id="selection-inside-a-line-stays-inline",
        ),
    ],
)  # fmt: skip
def test_keep_apart(whole: bool, rng: Range, text: str, now: str, moved: Range, expected: str) -> None:
    lines = Lines.planned(rng, text, whole)
    eol = "\r\n" if "\r\n" in now else "\n"
    assert keep_apart(LineIndex(now), moved, lines, eol) == expected


def test_a_planned_break_is_put_back_where_still_needed() -> None:
    lines = Lines.planned(Range(Position(0, 3), Position(0, 3)), "\nx = 1", whole_lines=True)
    assert lines == Lines("x = 1", own_lines=True)
    assert keep_apart(LineIndex("# c"), Range(Position(0, 3), Position(0, 3)), lines, "\n") == "\nx = 1"


FUNC = "b = f(x)\ndef g():\n    pass\n# add a and b\n"


@pytest.mark.parametrize(
    ("rng", "action", "whole", "source"),
    [
        pytest.param(Range(Position(3, 0), Position(3, 0)), "generate_from_comment", True, (3, 3), id="insert-below-a-comment"),
        pytest.param(Range(Position(1, 0), Position(2, 8)), "implement", True, None, id="replace-whole-lines"),
        pytest.param(Range(Position(0, 4), Position(0, 8)), "rewrite", False, None, id="replace-inside-a-line"),
        pytest.param(Range(Position(1, 0), Position(2, 8)), "explain", False, None, id="show"),
    ],
)  # fmt: skip
def test_the_plan_says_how_its_answer_lands(
    rng: Range, action: str, whole: bool, source: tuple[int, int] | None
) -> None:
    from codegen_lsp.core.pipeline import prepare
    from codegen_lsp.core.settings import Settings
    from codegen_lsp.core.types import EditRequest

    plan = prepare(
        EditRequest(text=FUNC, range=rng, action=action, language_id="python", path="a.py"), Settings()
    )
    assert plan.whole_lines is whole
    if source is None:
        assert plan.source is None
    else:
        assert (
            plan.source is not None and (plan.source.range.start.line, plan.source.range.end.line) == source
        )
        assert plan.source.comment_in == "python"


def test_change_helpers_agree_with_the_tables() -> None:
    # the tables above rely on change_between giving the edit a user makes by typing
    assert change_between("# c\n\nx\n", "# c\nfoo\nx\n") == Change(
        Range(Position(1, 0), Position(1, 0)), "foo"
    )
