"""Every built-in action against a remote OpenAI-compatible provider (scripted on loopback).

The built-in prompts are tuned on the small embedded model (``python -m bench.quality``); a remote
model gets the same messages. This checks, for each action, what goes over the wire (a system
message, the code in fences of the document's language, the task once) and that the answer a
larger chat model typically sends (a sentence, the fenced code, a closing remark) lands in the
document as clean code, through the real HTTP provider and the real pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from codegen_lsp.core import config, pipeline
from codegen_lsp.core.text import apply_edit
from codegen_lsp.core.types import ApplyMode, EditRequest, Position, Range
from codegen_lsp.providers.factory import build_chain
from loopback import LoopbackServer, chat_reply

SOURCE = '''import math


# area(r): the area of a circle of radius r
def perimeter(r):
    """The perimeter of a circle of radius r."""
    ...


print(perimeter(1.0))
'''


def chatty(code: str) -> str:
    """How a large chat model answers: a sentence, the code, a remark."""
    return f"Sure! Here is the code:\n\n```python\n{code}\n```\n\nThis works for any radius."


def span(first: int, last: int) -> Range:
    lines = SOURCE.split("\n")
    return Range(Position(first, 0), Position(last, len(lines[last])))


CURSOR_ON_COMMENT = Range(Position(3, 2), Position(3, 2))
PERIMETER = span(4, 6)
BODY = '    """The perimeter of a circle of radius r."""\n    return 2 * math.pi * r'


@pytest.mark.parametrize(
    ("action", "rng", "answer", "task", "expected"),
    [
        pytest.param("generate_from_comment", CURSOR_ON_COMMENT, chatty("def area(r):\n    return math.pi * r ** 2"),
                     "area(r): the area of a circle of radius r",
                     SOURCE.replace("radius r\n", "radius r\ndef area(r):\n    return math.pi * r ** 2\n"),
                     id="generate_from_comment"),
        pytest.param("implement", PERIMETER, chatty(f"def perimeter(r):\n{BODY}"), "Complete the selected code",
                     SOURCE.replace('    """The perimeter of a circle of radius r."""\n    ...', BODY),
                     id="implement"),
        pytest.param("rewrite", span(9, 9), chatty("print(perimeter(r=1.0))"), "Rewrite the selected code",
                     SOURCE.replace("print(perimeter(1.0))", "print(perimeter(r=1.0))"), id="rewrite"),
        pytest.param("document", span(9, 9), chatty("# print one perimeter\nprint(perimeter(1.0))"),
                     "Add PEP 257 docstrings",
                     SOURCE.replace("print(perimeter(1.0))", "# print one perimeter\nprint(perimeter(1.0))"),
                     id="document"),
        pytest.param("fix", span(9, 9), chatty("print(perimeter(2.0))"), "Fix the problems",
                     SOURCE.replace("print(perimeter(1.0))", "print(perimeter(2.0))"), id="fix"),
        pytest.param("tests", PERIMETER, chatty("def test_perimeter():\n    assert perimeter(0) == 0"),
                     "pytest", "def test_perimeter():\n    assert perimeter(0) == 0\n", id="tests"),
        pytest.param("explain", PERIMETER, "It returns the perimeter.", "Explain what the selected code does",
                     "It returns the perimeter.", id="explain"),
    ],
)  # fmt: skip
def test_each_builtin_action_through_a_remote_provider(
    loopback: LoopbackServer, action: str, rng: Range, answer: str, task: str, expected: str
) -> None:
    settings = config.resolve(use_files=False, overrides={"base_url": loopback.base_url, "model": "big"})
    request = EditRequest(SOURCE, rng, action, language_id="python", path="circle.py")
    plan = pipeline.prepare(request, settings)
    loopback.script(chat_reply(*(answer[i : i + 7] for i in range(0, len(answer), 7))))

    async def go() -> pipeline.Result:
        provider = build_chain(settings, action)
        try:
            async with contextlib.aclosing(pipeline.run(plan, provider)) as events:
                return [event async for event in events][-1]  # type: ignore[return-value]
        finally:
            await provider.aclose()

    result = asyncio.run(go())
    sent = loopback.requests[0].json
    assert sent["model"] == "big" and sent["stream"] is True
    system, user = sent["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    assert task in user["content"]
    assert "File: circle.py (python)" in user["content"]
    if action == "generate_from_comment":
        # the comment is the task, said once; the code around it is context
        assert user["content"].count("the area of a circle of radius r") == 1
        assert "```python\nimport math\n```" in user["content"]
    elif plan.mode != ApplyMode.SHOW:
        assert "```python\n" in user["content"]
    if plan.mode in (ApplyMode.SHOW, ApplyMode.NEW_FILE):
        assert result.text == expected
    else:
        assert result.edit is not None and result.warnings == ()
        assert apply_edit(SOURCE, result.edit) == expected
