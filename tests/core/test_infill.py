"""The fill-in-the-middle prompts of ``core/infill.py``: Qwen2.5-Coder's FIM tokens (plain and
repository-level) and the chat fill-in conversation."""

from __future__ import annotations

import pytest

from codegen_lsp.core.infill import (
    CURSOR_MARK,
    QWEN_FIM_STOP,
    ContextFile,
    InfillRequest,
    chat_infill_messages,
    qwen_fim_prompt,
)

OTHER = ContextFile("util.py", "def sub(a, b):\n    return a - b")


@pytest.mark.parametrize(
    ("request_", "repo", "prompt"),
    [
        pytest.param(
            InfillRequest("def add(a, b):\n    return ", "\n"),
            None,
            "<|fim_prefix|>def add(a, b):\n    return <|fim_suffix|>\n<|fim_middle|>",
            id="plain",
        ),
        pytest.param(
            InfillRequest("x = ", "", path="calc.py", extra=(OTHER,)),
            "demo",
            "<|repo_name|>demo\n<|file_sep|>util.py\ndef sub(a, b):\n    return a - b\n"
            "<|file_sep|>calc.py\n<|fim_prefix|>x = <|fim_suffix|><|fim_middle|>",
            id="repository-level",
        ),
    ],
)
def test_qwen_fim_prompt(request_: InfillRequest, repo: str | None, prompt: str) -> None:
    assert qwen_fim_prompt(request_, repo=repo) == prompt
    assert "<|endoftext|>" in QWEN_FIM_STOP and "<|file_sep|>" in QWEN_FIM_STOP


def test_typing_only_changes_the_prompt_after_the_prefix() -> None:
    first = qwen_fim_prompt(InfillRequest("def f():\n    ret", "\n\nf()\n"))
    second = qwen_fim_prompt(InfillRequest("def f():\n    retu", "\n\nf()\n"))
    shared = len("<|fim_prefix|>def f():\n    ret")
    assert first[:shared] == second[:shared]


def test_chat_infill_messages() -> None:
    system, user = chat_infill_messages(
        InfillRequest("a = ", "\nb = 2", language_id="python", path="m.py", extra=(OTHER,))
    )
    assert (system.role, user.role) == ("system", "user")
    assert CURSOR_MARK in system.content
    assert user.content.startswith("File util.py:\ndef sub")
    assert user.content.endswith(f"Complete m.py (python) at {CURSOR_MARK}:\na = {CURSOR_MARK}\nb = 2")
