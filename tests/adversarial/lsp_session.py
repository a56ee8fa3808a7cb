"""The language server as the adversarial suites start it: a clean environment, a VS Code session.

``test_stream_caps_server.py`` and ``test_typing_memory.py`` run ``python -m codegen_lsp.lsp``
under pytest-lsp with a home folder of their own (no user configuration, no ``CODEGEN_LSP_*`` or
proxy variables from the machine) and open one session with VS Code's capabilities.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient, client_capabilities


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """This machine's environment without codegen-lsp's or a proxy's variables, living in ``home``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CODEGEN_LSP_") and "PROXY" not in k.upper()
    }
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "xdg"), **extra)
    return env


async def initialize(client: LanguageClient, root: Path, options: dict[str, Any]) -> None:
    """Open the session as VS Code does, with ``options`` as the ``codegen`` initialization options."""
    await client.initialize_session(
        lsp.InitializeParams(
            capabilities=client_capabilities("visual_studio_code"),
            root_uri=root.as_uri(),
            initialization_options={"codegen": options},
        )
    )
