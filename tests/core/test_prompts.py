"""Spec for core/prompts: what each action asks, template placeholders, answer limits."""

from __future__ import annotations

import pytest

from codegen_lsp.core.actions import BUILTIN_ACTIONS, resolve_action
from codegen_lsp.core.context import Context
from codegen_lsp.core.prompts import (
    DEFAULT_STOP,
    build_messages,
    completion_request,
    max_tokens_for,
    render,
)
from codegen_lsp.core.settings import ActionSettings, Settings
from codegen_lsp.core.types import Diagnostic, Position, Range

CONTEXT = Context(
    language_id="python",
    path="src/geo.py",
    selection="def area(r):\n    pass",
    before="import math",
    after="print(area(2))",
    diagnostics=(Diagnostic(Range(Position(1, 4), Position(1, 8)), "missing return", "error"),),
    diagnostics_text="- line 2 `pass`: error: missing return",
)


def _user(action: str, instruction: str | None = None, context: Context = CONTEXT) -> str:
    return build_messages(resolve_action(action, Settings()), context, instruction)[-1].content


@pytest.mark.parametrize(
    ("action", "wanted", "unwanted"),
    [
        pytest.param(
            "generate_from_comment",
            [
                "File: src/geo.py (python)",
                "```python\nimport math\n```",
                "Do not repeat the code around it",
                "write that whole function",
                "a docstring that says what the comment says",
            ],
            ["Selected code"],
            id="generate: code before, no selection block",
        ),
        pytest.param(
            "implement",
            [
                "Selected code:\n```python\ndef area(r):\n    pass\n```",
                "Task: Complete the selected code.\n\nAnswer with the complete code in one ```python block.",
            ],
            ["Diagnostics", "replacement"],
            id="implement",
        ),
        pytest.param(
            "rewrite", ["for clarity and readability"], ["Diagnostics"], id="rewrite: default instruction"
        ),
        pytest.param(
            "document",
            [
                "Task: Add PEP 257 docstrings (triple double quotes, first statement of each function/class) "
                "to the selected code. Keep its code as it is.\n\nAnswer with the complete code in one ```python block."
            ],
            ["unchanged", "replacement", "Code before", "Code after"],
            id="document: the language's doc convention, asked as a task to do, the selection alone",
        ),
        pytest.param(
            "fix",
            ["Diagnostics:\n- line 2 `pass`: error: missing return", "listed in the diagnostics"],
            [],
            id="fix: diagnostics shown",
        ),
        pytest.param(
            "tests", ["pytest", "complete test file"], ["Code after"], id="tests: framework by language"
        ),
        pytest.param("explain", ["Explain what the selected code does"], ["fenced"], id="explain: prose"),
    ],
)
def test_builtin_prompts(action: str, wanted: list[str], unwanted: list[str]) -> None:
    user = _user(action)
    for text in wanted:
        assert text in user
    for text in unwanted:
        assert text not in user
    assert "{" not in user.replace("{}", "")  # no placeholder left behind


def test_every_code_action_asks_for_one_fenced_block() -> None:
    for name, spec in BUILTIN_ACTIONS.items():
        system, user = build_messages(spec, CONTEXT)
        assert system.role == "system" and user.role == "user"
        if name != "explain":
            assert "one fenced code block" in system.content
            assert "```python" in user.content


def test_an_instruction_replaces_the_default() -> None:
    user = _user("rewrite", "use a dict comprehension")
    assert "Task: use a dict comprehension" in user
    assert "clarity" not in user


def test_empty_sections_are_left_out() -> None:
    bare = Context("javascript", None, "x()", "", "")
    user = _user("rewrite", context=bare)
    assert user.startswith("File: untitled (javascript)\n\nSelected code:\n```javascript\nx()\n```")
    assert "Code before" not in user and "Code after" not in user


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{language}: {selection}", "python: def area(r):\n    pass", id="known placeholders"),
        pytest.param('json {"a": {path}}', 'json {"a": src/geo.py}', id="other braces stay"),
        pytest.param(
            "{unknown} {diagnostics}", "{unknown} - line 2 `pass`: error: missing return", id="unknown stays"
        ),
        pytest.param(
            "{before}|{after}|{instruction}", "import math|print(area(2))|", id="raw context, no instruction"
        ),
    ],
)
def test_user_templates(template: str, expected: str) -> None:
    settings = Settings(actions={"mine": ActionSettings(name="mine", prompt=template)})
    assert build_messages(resolve_action("mine", settings), CONTEXT)[-1].content == expected


def test_render_does_not_touch_code_braces() -> None:
    assert render("{a} {b} {{c}}", {"a": "{b}"}) == "{b} {b} {{c}}"


@pytest.mark.parametrize(
    ("action", "selection_chars", "override", "expected"),
    [
        pytest.param("generate_from_comment", 10, None, 1024, id="generate default"),
        pytest.param("tests", 10, None, 2048, id="tests are whole files"),
        pytest.param("explain", 10, None, 768, id="explain"),
        pytest.param("document", 8000, None, 3256, id="replace actions grow to repeat a long selection"),
        pytest.param("document", 200_000, None, 8192, id="but never past the ceiling"),
        pytest.param("rewrite", 8000, 300, 300, id="a configured max_tokens wins"),
    ],
)
def test_max_tokens(action: str, selection_chars: int, override: int | None, expected: int) -> None:
    settings = Settings(actions={action: ActionSettings(name=action, max_tokens=override)})
    context = Context("python", None, "x" * selection_chars, "", "")
    assert max_tokens_for(resolve_action(action, settings), context) == expected


def test_completion_request_carries_the_action_settings() -> None:
    settings = Settings(actions={"fix": ActionSettings(name="fix", model="tiny", temperature=0.0)})
    spec = resolve_action("fix", settings)
    messages = build_messages(spec, CONTEXT)
    request = completion_request(spec, messages, CONTEXT)
    assert (request.model, request.temperature, request.messages) == ("tiny", 0.0, messages)


def test_no_stop_sequence_can_cut_code() -> None:
    # a fence stop would also match the opening fence; nothing that can appear in code may stop the answer
    assert not any("`" in stop or "\n" in stop for stop in DEFAULT_STOP)
