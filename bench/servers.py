"""The language servers under test, how to start each, and an isolated environment for them.

``ours`` is what an editor runs (``codegen-lsp serve``, the console script); ``bare`` is the pygls
floor (:mod:`bench.baseline_server`); the peers come from npm, installed under ``bench/.peers`` by
``python -m bench setup``, and are only started (startup time, idle memory).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / ".peers"
NPM_PACKAGES = ("tabby-agent", "@github/copilot-language-server")

#: names a directory whose ``codegen_lsp`` package the servers and the CLI run instead of the
#: installed one (``python -m bench --server-src DIR``)
SERVER_SRC = "CODEGEN_BENCH_SERVER_SRC"

#: variables that would let the user's machine leak into a measurement
_SCRUB = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "PYTHONPATH")


@dataclass
class ServerSpec:
    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    initialization_options: Any = None
    client_info: dict[str, str] | None = None

    @property
    def available(self) -> bool:
        exe = self.command[0]
        return Path(exe).exists() or shutil.which(exe) is not None


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """The current environment without proxies, with HOME/XDG_* in ``home`` and ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB and not k.startswith("CODEGEN_LSP_")}
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        env[name] = str(home / name.lower())
    env["HOME"] = str(home)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    source = os.environ.get(SERVER_SRC)
    if source:
        # a checkout of another commit (git worktree): its package shadows the editable install
        env["PYTHONPATH"] = source
    env.update(extra)
    return env


def python_exe() -> str:
    return sys.executable


def ours(provider_url: str, home: Path, **extra: str) -> ServerSpec:
    """codegen-lsp as an editor starts it: the ``codegen-lsp`` console script next to the interpreter."""
    script = Path(sys.executable).with_name("codegen-lsp")
    command = [str(script), "serve"] if script.exists() else [sys.executable, "-m", "codegen_lsp", "serve"]
    env = isolated_env(
        home, CODEGEN_LSP_BASE_URL=provider_url, CODEGEN_LSP_MODEL="bench", CODEGEN_LSP_API_KEY="", **extra
    )
    env.pop("CODEGEN_LSP_API_KEY")
    return ServerSpec("codegen-lsp", command, env)


def bare(home: Path) -> ServerSpec:
    return ServerSpec("bare pygls", [sys.executable, str(BENCH / "baseline_server.py")], isolated_env(home))


def tabby(home: Path) -> ServerSpec:
    # Its own config lives in $HOME/.tabby-client; with none it starts, finds no Tabby server and idles.
    return ServerSpec(
        "tabby-agent",
        ["node", str(PEERS / "node_modules/tabby-agent/dist/cli.js"), "--lsp", "--stdio"],
        isolated_env(home),
    )


def copilot(home: Path) -> ServerSpec:
    # The npm package's launcher needs Node ≥ 22.13 for its JS entry point and otherwise runs the
    # platform binary it ships (a single-executable build with its own Node), so run that directly.
    # (The launcher itself would stay alive as a second process around it.)
    binary = PEERS / "node_modules/@github/copilot-language-server-linux-x64/copilot-language-server"
    js = PEERS / "node_modules/@github/copilot-language-server/dist/language-server.js"
    command = [str(binary), "--stdio"] if binary.exists() else ["node", str(js), "--stdio"]
    return ServerSpec(
        "copilot-language-server",
        command,
        isolated_env(home),
        initialization_options={
            "editorInfo": {"name": "bench", "version": "1.0"},
            "editorPluginInfo": {"name": "bench", "version": "1.0"},
        },
        client_info={"name": "bench", "version": "1.0"},
    )


def setup() -> int:
    """Install the npm peers under bench/.peers (about 660 MB, mostly Copilot)."""
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found: the peers (tabby-agent, Copilot) will be skipped", file=sys.stderr)
        return 1
    PEERS.mkdir(exist_ok=True)
    package = PEERS / "package.json"
    if not package.exists():
        package.write_text('{"name": "codegen-lsp-bench-peers", "private": true}\n')
    command = [npm, "install", "--no-audit", "--no-fund", *NPM_PACKAGES]
    print("$ (cd bench/.peers &&", " ".join(command[1:]) + ")", file=sys.stderr)
    return subprocess.call(command, cwd=PEERS)


def temp_home() -> Path:
    return Path(tempfile.mkdtemp(prefix="codegen-bench-home-"))
