"""Spec for core/pipeline: every action end to end in Python and JavaScript, edits, modes and run()."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from dataclasses import replace

import pytest

from codegen_lsp.core import pipeline
from codegen_lsp.core.settings import ActionSettings, Settings
from codegen_lsp.core.text import apply_edit
from codegen_lsp.core.types import (
    ApplyMode,
    CompletionRequest,
    Delta,
    Diagnostic,
    EditRequest,
    Position,
    Range,
)
from codegen_lsp.errors import ActionError

PYTHON = """\
import math


def area(r):
    # return the area of a circle of radius r


def perimeter(r):
    pass  # TODO


class Stack:
    def push(self, item):
        self.items.append(item)
"""

JAVASCRIPT = """\
// sum an array of numbers
function total(xs) {
  // TODO: add them up
}

class Cart {
  add(item) {
    this.items.push(item);
  }
}
"""


def _at(line: int, character: int = 0) -> Range:
    return Range(Position(line, character), Position(line, character))


def _span(start: tuple[int, int], end: tuple[int, int]) -> Range:
    return Range(Position(*start), Position(*end))


def _run(
    text: str,
    language: str,
    action: str,
    rng: Range,
    answer: str,
    *,
    settings: Settings | None = None,
    **kw: object,
) -> tuple[pipeline.Plan, pipeline.Result]:
    request = EditRequest(text=text, range=rng, action=action, language_id=language, **kw)  # type: ignore[arg-type]
    plan = pipeline.prepare(request, settings or Settings())
    result = pipeline.finish(plan, answer)
    # run() over a provider streaming the same answer in small pieces hands out the same result
    provider = ScriptedProvider([Delta(answer[i : i + 5]) for i in range(0, len(answer), 5)])
    streamed = asyncio.run(_events(plan, provider))[-1]
    assert isinstance(streamed, pipeline.Result)
    assert replace(streamed, finish_reason=None) == result
    return plan, result


def _fenced(language: str, code: str, prose: str = "Here you go:") -> str:
    return f"{prose}\n\n```{language}\n{code}\n```\n\nLet me know if you need anything else."


EDIT_CASES = [
    pytest.param(
        PYTHON,
        "python",
        "generate_from_comment",
        _at(4, 10),
        _fenced(
            "python",
            "def area(r):\n    # return the area of a circle of radius r\n    return math.pi * r ** 2",
        ),
        PYTHON.replace("radius r\n", "radius r\n    return math.pi * r ** 2\n"),
        id="python generate: below the comment at its indentation, echo dropped",
    ),
    pytest.param(
        PYTHON,
        "python",
        "generate_from_comment",
        _at(5),
        "```python\nreturn math.pi * r ** 2\n```",
        PYTHON.replace("radius r\n", "radius r\n    return math.pi * r ** 2\n"),
        id="python generate from the blank line under the comment",
    ),
    pytest.param(
        PYTHON,
        "python",
        "implement",
        _at(8, 4),
        _fenced("python", "def perimeter(r):\n    return 2 * math.pi * r"),
        PYTHON.replace("    pass  # TODO", "    return 2 * math.pi * r"),
        id="python implement at a cursor: the enclosing function",
    ),
    pytest.param(
        PYTHON,
        "python",
        "rewrite",
        _span((13, 8), (13, 31)),
        "```python\nself.items += [item]\n```",
        PYTHON.replace("self.items.append(item)", "self.items += [item]"),
        id="python rewrite of one statement keeps its indentation",
    ),
    pytest.param(
        PYTHON,
        "python",
        "document",
        _span((12, 0), (14, 0)),
        _fenced(
            "python",
            'def push(self, item):\n    """Push ``item`` on the stack."""\n    self.items.append(item)',
        ),
        PYTHON.replace("item):\n", 'item):\n        """Push ``item`` on the stack."""\n'),
        id="python document a line selection (ending at the next line's start)",
    ),
    pytest.param(
        PYTHON,
        "python",
        "fix",
        _span((13, 0), (13, 31)),
        "```python\n        self.items = [*self.items, item]\n```",
        PYTHON.replace("self.items.append(item)", "self.items = [*self.items, item]"),
        id="python fix",
    ),
    pytest.param(
        JAVASCRIPT,
        "javascript",
        "generate_from_comment",
        _at(2, 5),
        "```javascript\nreturn xs.reduce((a, b) => a + b, 0);\n```",
        JAVASCRIPT.replace("up\n", "up\n  return xs.reduce((a, b) => a + b, 0);\n"),
        id="js generate inside a function",
    ),
    pytest.param(
        JAVASCRIPT,
        "javascript",
        "implement",
        _span((1, 0), (3, 1)),
        "```js\nfunction total(xs) {\n    let sum = 0;\n    for (const x of xs) {\n        sum += x;\n    }\n"
        "    return sum;\n}\n```",
        JAVASCRIPT.replace(
            "  // TODO: add them up\n",
            "  let sum = 0;\n  for (const x of xs) {\n    sum += x;\n  }\n  return sum;\n",
        ),
        id="js implement: a 4-space answer in a 2-space file",
    ),
    pytest.param(
        JAVASCRIPT,
        "javascript",
        "rewrite",
        _span((7, 0), (7, 26)),
        "```javascript\n    this.items = [...this.items, item];\n```",
        JAVASCRIPT.replace("this.items.push(item);", "this.items = [...this.items, item];"),
        id="js rewrite",
    ),
    pytest.param(
        JAVASCRIPT,
        "javascript",
        "document",
        _at(7, 6),
        "```javascript\n/** Add an item. */\nadd(item) {\n  this.items.push(item);\n}\n```",
        JAVASCRIPT.replace("  add(item)", "  /** Add an item. */\n  add(item)"),
        id="js document at a cursor: the enclosing method",
    ),
    pytest.param(
        JAVASCRIPT,
        "javascript",
        "fix",
        _span((7, 4), (7, 26)),
        "```js\nthis.items.push(item)\n```",
        JAVASCRIPT.replace("this.items.push(item);", "this.items.push(item)"),
        id="js fix",
    ),
]


@pytest.mark.parametrize(("text", "language", "action", "rng", "answer", "expected"), EDIT_CASES)
def test_edit_actions(text: str, language: str, action: str, rng: Range, answer: str, expected: str) -> None:
    _, result = _run(text, language, action, rng, answer)
    assert result.edit is not None, result.warnings
    assert result.warnings == ()
    assert apply_edit(text, result.edit) == expected
    assert result.text == result.edit.new_text


@pytest.mark.parametrize(
    ("text", "language", "path", "code", "new_file_path", "new_text"),
    [
        pytest.param(
            PYTHON,
            "python",
            "src/geo/shapes.py",
            "import x\n\n\ndef test_x():\n    assert x",
            "tests/test_shapes.py",
            "import x\n\n\ndef test_x():\n    assert x\n",
            id="python: tests/test_<module>.py",
        ),
        pytest.param(
            JAVASCRIPT,
            "javascript",
            "src/cart.js",
            "test('x', () => {\n    expect(x).toBe(1);\n});",
            "src/cart.test.js",
            "test('x', () => {\n  expect(x).toBe(1);\n});\n",
            id="js: <name>.test.js beside it, in the project's 2-space style",
        ),
    ],
)
def test_tests_action_makes_a_new_file(
    text: str, language: str, path: str, code: str, new_file_path: str, new_text: str
) -> None:
    _, result = _run(text, language, "tests", _span((1, 0), (3, 1)), _fenced(language, code), path=path)
    assert (result.mode, result.edit, result.new_file_path) == (ApplyMode.NEW_FILE, None, new_file_path)
    assert result.text == new_text


@pytest.mark.parametrize(("text", "language"), [(PYTHON, "python"), (JAVASCRIPT, "javascript")])
def test_explain_shows_prose(text: str, language: str) -> None:
    _, result = _run(text, language, "explain", _span((1, 0), (3, 1)), "\nIt **adds** things.  \n\n")
    assert (result.mode, result.edit, result.text) == (ApplyMode.SHOW, None, "It **adds** things.")


@pytest.mark.parametrize(
    ("text", "line", "language", "has_selection", "action"),
    [
        pytest.param(PYTHON, 4, "python", False, "generate_from_comment", id="on a comment"),
        pytest.param(PYTHON, 5, "python", False, "generate_from_comment", id="blank line under a comment"),
        pytest.param(PYTHON, 8, "python", False, "implement", id="code line with a trailing TODO"),
        pytest.param(PYTHON, 13, "python", True, "rewrite", id="a selection of code"),
        pytest.param(JAVASCRIPT, 0, "javascript", True, "generate_from_comment", id="a selected comment"),
        pytest.param(JAVASCRIPT, 7, "javascript", False, "implement", id="js code line"),
    ],
)
def test_default_action(text: str, line: int, language: str, has_selection: bool, action: str) -> None:
    assert pipeline.default_action(text, line, language, has_selection) == action


@pytest.mark.parametrize(
    ("text", "rng", "expected"),
    [
        pytest.param(
            "# say hi", _at(0, 3), "# say hi\nprint('hi')", id="comment on the last line, no final newline"
        ),
        pytest.param("# say hi\n", _at(0), "# say hi\nprint('hi')\n", id="comment then final newline"),
        pytest.param(
            "x = 1\r\n# say hi\r\n\r\ny = 2\r\n",
            _at(1),
            "x = 1\r\n# say hi\r\nprint('hi')\r\n\r\ny = 2\r\n",
            id="CRLF file stays CRLF",
        ),
        pytest.param(
            "if x:\n\t# say hi\n\tpass\n",
            _at(1),
            "if x:\n\t# say hi\n\tprint('hi')\n\tpass\n",
            id="tab-indented comment",
        ),
        pytest.param(
            "s = '😀漢'\n# say hi\n",
            _at(1, 2),
            "s = '😀漢'\n# say hi\nprint('hi')\n",
            id="unicode before the comment",
        ),
    ],
)
def test_generate_insertion_point_and_line_endings(text: str, rng: Range, expected: str) -> None:
    _, result = _run(text, "python", "generate_from_comment", rng, "```python\nprint('hi')\n```")
    assert result.edit is not None
    assert apply_edit(text, result.edit) == expected


def test_generate_drops_a_tiny_model_repeating_the_whole_context() -> None:
    answer = (
        "import math\n\n\ndef area(r):\n    # return the area of a circle of radius r\n"
        "    return math.pi * r ** 2\n\n\ndef perimeter(r):\n    pass  # TODO\n\n\nclass Stack:"
    )
    _, result = _run(PYTHON, "python", "generate_from_comment", _at(4), answer)
    assert result.text == "    return math.pi * r ** 2\n"


def test_generate_in_a_crlf_file_with_a_multiline_answer() -> None:
    text = "def f():\r\n    # loop\r\n"
    _, result = _run(text, "python", "generate_from_comment", _at(1), "```python\nfor i in x:\n    g(i)\n```")
    assert result.edit is not None
    assert apply_edit(text, result.edit) == "def f():\r\n    # loop\r\n    for i in x:\r\n        g(i)\r\n"


def test_edit_positions_are_code_points() -> None:
    text = "total = '😀' + price * qty + tax\n"
    _, result = _run(text, "python", "rewrite", _span((0, 14), (0, 25)), "```python\n(price * qty)\n```")
    assert result.edit is not None
    assert result.edit.range == _span((0, 14), (0, 25))
    assert apply_edit(text, result.edit) == "total = '😀' + (price * qty) + tax\n"


def test_generate_with_an_instruction_but_no_comment_inserts_below_the_line() -> None:
    _, result = _run(
        "x = 1\ny = 2\n", "python", "generate_from_comment", _at(0), "z = 3", instruction="add z"
    )
    assert result.edit is not None
    assert apply_edit("x = 1\ny = 2\n", result.edit) == "x = 1\nz = 3\ny = 2\n"


@pytest.mark.parametrize(
    ("action", "rng", "message"),
    [
        pytest.param(
            "generate_from_comment", _at(0), "No comment at or above line 1", id="generate without comment"
        ),
        pytest.param("rewrite", _at(9), "after the end of the document", id="range outside the document"),
        pytest.param("shout", _at(0), 'Unknown action "shout"', id="unknown action"),
    ],
)
def test_prepare_errors(action: str, rng: Range, message: str) -> None:
    with pytest.raises(ActionError, match=message):
        pipeline.prepare(
            EditRequest(text="x = 1\n", range=rng, action=action, language_id="python"), Settings()
        )


STUB = 'def add(a, b):\n    """Add a and b."""\n'
NO_NEW_CODE = "the model's answer brought no new code (only comments, or the lines that were there)"


@pytest.mark.parametrize(
    ("text", "action", "rng", "answer", "refusal"),
    [
        pytest.param(PYTHON, "rewrite", _span((13, 0), (13, 31)), "self.items.append(item)",
                     "the model returned the code unchanged", id="rewrite-unchanged"),
        pytest.param(STUB, "implement", _span((0, 0), (1, 22)), f"```python\n{STUB}```",
                     "the model returned the code unchanged", id="implement-stub-echoed"),
        pytest.param(STUB, "implement", _span((0, 0), (1, 22)),
                     'def add(a: int, b: int) -> int:\n    """Add a and b."""\n', NO_NEW_CODE,
                     id="implement-signature-reworded-no-body"),
        pytest.param(STUB, "implement", _span((0, 0), (1, 22)),
                     f"```python\n{STUB}    # TODO: add them\n```", NO_NEW_CODE, id="implement-only-a-comment"),
        pytest.param("# the sum of a and b\n", "generate_from_comment", _at(0),
                     "```python\n# the sum of a and b\n# returned as an int\n```", NO_NEW_CODE,
                     id="comment-only-more-comments"),
        pytest.param(STUB, "implement", _span((0, 0), (1, 22)), f"```python\n{STUB}    return a + b\n```",
                     None, id="implement-with-a-body"),
        pytest.param("# the sum of a and b\n", "generate_from_comment", _at(0), "```python\nx = a + b\n```",
                     None, id="comment-with-code"),
    ],
)  # fmt: skip
def test_an_answer_that_changes_nothing_is_reported_not_applied(
    text: str, action: str, rng: Range, answer: str, refusal: str | None
) -> None:
    _, result = _run(text, "python", action, rng, answer)
    if refusal is None:
        assert result.edit is not None and result.warnings == ()
    else:
        assert (result.edit, result.warnings) == (None, (refusal,))


def test_empty_answer_gives_no_edit_and_a_warning() -> None:
    _, result = _run(
        PYTHON, "python", "rewrite", _span((13, 0), (13, 31)), "I cannot help with that.\n```\n```"
    )
    assert (result.edit, result.warnings) == (None, ("the model's answer contained no code",))


def test_user_action_with_its_template_and_mode() -> None:
    settings = Settings(
        actions={
            "add_types": ActionSettings(
                name="add_types",
                prompt="Add type hints ({language}, {path}):\n{selection}",
                apply=ApplyMode.INSERT_ABOVE,
            )
        }
    )
    plan, result = _run(
        PYTHON,
        "python",
        "add_types",
        _span((3, 0), (3, 12)),
        "```\n# typed\n```",
        settings=settings,
        path="geo.py",
    )
    assert plan.messages[-1].content == "Add type hints (python, geo.py):\ndef area(r):"
    assert result.edit is not None
    assert apply_edit(PYTHON, result.edit).split("\n")[3:5] == ["# typed", "def area(r):"]


def test_fix_at_a_cursor_takes_the_lines_of_the_diagnostics_there() -> None:
    diagnostic = Diagnostic(_span((13, 8), (13, 18)), "no attribute items", "error")
    plan, _ = _run(PYTHON, "python", "fix", _at(13, 10), "", diagnostics=(diagnostic,))
    assert plan.target == _span((13, 0), (13, 31))
    assert "no attribute items" in plan.messages[-1].content


# --- run --------------------------------------------------------------------------------------


class ScriptedProvider:
    """A provider that replays scripted deltas and records what happened to it."""

    name = "scripted"
    model = "scripted-model"

    def __init__(self, deltas: list[Delta], *, pause: float = 0.0) -> None:
        self.deltas = deltas
        self.pause = pause
        self.requests: list[CompletionRequest] = []
        self.closed = False

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[Delta, None]:
        self.requests.append(request)
        try:
            for delta in self.deltas:
                if self.pause:
                    await asyncio.sleep(self.pause)
                yield delta
        finally:
            self.closed = True

    async def aclose(self) -> None:
        pass


async def _events(plan: pipeline.Plan, provider: ScriptedProvider) -> list[pipeline.Event]:
    async with contextlib.aclosing(pipeline.run(plan, provider)) as events:
        return [event async for event in events]


def _result(events: list[pipeline.Event]) -> pipeline.Result:
    result = events[-1]
    assert isinstance(result, pipeline.Result)
    assert not any(isinstance(event, pipeline.Result) for event in events[:-1])
    return result


def _chunks(events: list[pipeline.Event]) -> list[str]:
    return [event.text for event in events if isinstance(event, pipeline.Chunk)]


def _lines(events: list[pipeline.Event]) -> list[str]:
    return [line for event in events if isinstance(event, pipeline.CodeLines) for line in event.lines]


def _generate_plan() -> pipeline.Plan:
    return pipeline.prepare(
        EditRequest(text=PYTHON, range=_at(4), action="generate_from_comment", language_id="python"),
        Settings(),
    )


async def test_run_streams_collects_and_finishes() -> None:
    chunks = ["Sure:\n```py", "thon\nreturn math.pi", " * r ** 2\n", "```"]
    provider = ScriptedProvider([Delta(c) for c in chunks] + [Delta(finish_reason="stop")])
    plan = _generate_plan()
    events = await _events(plan, provider)
    result = _result(events)
    assert _chunks(events) == chunks
    assert _lines(events) == ["    return math.pi * r ** 2"]  # the lines live insertion shows
    assert provider.requests == [plan.completion]
    await pipeline.wait_closed()  # a complete answer's stream closes in the background
    assert provider.closed
    assert (result.finish_reason, result.warnings) == ("stop", ())
    assert result.edit is not None and result.edit.new_text == "    return math.pi * r ** 2\n"


async def test_run_stops_reading_after_the_code_block_closes() -> None:
    rambling = [Delta("# Example usage:\n```python\nprint(area(2))\n```\n")] * 50
    provider = ScriptedProvider([Delta("```python\nreturn math.pi * r ** 2\n"), Delta("```\n"), *rambling])
    events = await _events(_generate_plan(), provider)
    result = _result(events)
    assert len(_chunks(events)) == 2  # nothing after the closing fence was waited for
    await pipeline.wait_closed()
    assert provider.closed
    assert result.edit is not None and result.edit.new_text == "    return math.pi * r ** 2\n"
    assert result.warnings == ()


async def test_run_warns_when_cut_at_max_tokens() -> None:
    provider = ScriptedProvider([Delta("```python\nreturn (math.pi"), Delta(finish_reason="length")])
    result = _result(await _events(_generate_plan(), provider))
    assert result.finish_reason == "length"
    assert result.warnings[0].startswith("the answer was cut at max_tokens (1024)")


async def test_cancelling_run_closes_the_provider_stream() -> None:
    provider = ScriptedProvider([Delta("x = 1\n")] * 100, pause=0.01)
    task = asyncio.ensure_future(_events(_generate_plan(), provider))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert provider.closed


async def test_a_bash_block_before_the_code_never_reaches_the_document() -> None:
    # issue 9: the live lines and the edit both come from the python block
    answer = "Install:\n```bash\npip install numpy\n```\nThen:\n```python\nreturn math.pi * r ** 2\n```\n"
    provider = ScriptedProvider([Delta(answer[i : i + 4]) for i in range(0, len(answer), 4)])
    events = await _events(_generate_plan(), provider)
    assert _lines(events) == ["    return math.pi * r ** 2"]
    result = _result(events)
    assert result.edit is not None and result.edit.new_text == "    return math.pi * r ** 2\n"


async def test_closing_run_early_closes_the_provider_stream() -> None:
    provider = ScriptedProvider([Delta("x = 1\n")] * 100)
    async with contextlib.aclosing(pipeline.run(_generate_plan(), provider)) as events:
        async for event in events:
            assert isinstance(event, pipeline.Chunk)
            break
    assert provider.closed
