"""The end-to-end editor of tests/lsp for the adversarial edit suites, under two profiles.

tests/lsp/conftest.py holds the test editor (its own copy of each document, ``workspace/applyEdit``
applied for real, hostile answers a few attributes away) and the fixture that runs the server
under a capability profile. This module loads that file under a name of its own (a second module
called ``conftest`` would shadow the first when both folders are collected in one run) and offers
its fixtures for VS Code (utf-16, versioned ``documentChanges``) and Neovim 0.11 (utf-8, plain
``changes``). Test modules import the fixtures (``editor``, ``editor_client``, ``workspace``; ``lb`` is tests/conftest.py's)::

    from lsp_editor import editor_client_fixture, editor_fixture, workspace_fixture  # noqa: F401
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from lsprotocol import types as lsp

from loopback import chat_reply


def _load_lsp_conftest() -> ModuleType:
    name = "lsp_e2e_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "lsp" / "conftest.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_e2e = _load_lsp_conftest()

PROFILES = [
    pytest.param("visual_studio_code", id="vscode-utf16"),
    pytest.param("neovim@0.11", id="neovim-utf8"),
]

Editor = _e2e.Editor
Declined = _e2e.Declined
wait_until = _e2e.wait_until

editor_client_fixture = _e2e.make_editor_client(PROFILES)
editor_fixture = _e2e.editor_fixture
workspace_fixture = _e2e.workspace_fixture


# --- what every edit suite needs ------------------------------------------------------------------

#: a comment, a blank line (the insertion point), code below
PY = "import os\n\n# return the sum of a and b\n\nprint(1)\n"
#: the model's answer to it, streamed in pieces, and the document once it is in
ADD = ("```python\n", "def add(a, b):\n", "    return a + b\n", "```\n")
ADDED = "import os\n\n# return the sum of a and b\ndef add(a, b):\n    return a + b\n\nprint(1)\n"
CODE = "def add(a, b):\n    return a + b\n"


def slow(*texts: str, delay: float = 0.15) -> Any:
    return chat_reply(*texts, token_delay=delay)


def hanging(*texts: str) -> Any:
    """A stream that sends ``texts`` and then nothing until the client goes away."""
    return chat_reply(*texts, finish_reason=None, usage=False, done=False, end="hang")


async def started(editor: Any, before: int) -> None:
    """Wait until the provider received the job's request (the ``before + 1``-th)."""
    assert await asyncio.to_thread(editor.loopback.wait_requests, before + 1, 5.0)


def generate(editor: Any, uri: str, needle: str = "# return") -> asyncio.Future[Any]:
    """Start "Generate code from comment" at ``needle``; the command's answer, later."""
    return asyncio.ensure_future(
        editor.run_action(uri, editor.cursor_at(uri, needle), "Generate code from comment")
    )


def warnings(editor: Any) -> list[str]:
    return list(editor.messages(lsp.MessageType.Warning))


def progress_ended(editor: Any, job_id: str) -> bool:
    """Whether the job's work-done progress began and ended (exactly once)."""
    reports = editor.client.progress_reports.get(job_id, [])
    ends = [r for r in reports if isinstance(r, lsp.WorkDoneProgressEnd)]
    return bool(reports) and isinstance(reports[0], lsp.WorkDoneProgressBegin) and len(ends) == 1
