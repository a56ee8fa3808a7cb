"""The user under attack, for the trust and secret suites: secrets, a home, the CLI and the server.

A :class:`User` has a home (``HOME``; its own ``config.toml`` under ``xdg/``, its trust store under
``.local/state``), an API key in ``$HOSTILE_KEY``, an Azure-style ``api-key`` header in its own
configuration, a ``GITHUB_TOKEN`` in the environment that nothing may ever send or show, and an
upstream model server on loopback. It runs the real command line (:meth:`User.cli`) and the real
server (:meth:`User.server`, a :class:`rpc.RawServer`), always at debug log level, and every run's
output goes into the test's :class:`leaks.Emitted`, so a test ends with
``assert_no_secret(everything(emitted, server), SECRETS)``. The secrets have no well-known key
format: only what the programs learnt can hide them (a key-shaped one is added where the shape
is the point), and each is long enough for ``assert_no_secret`` to look for pieces of it too.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leaks import Emitted
from rpc import RawServer, clean_env

from loopback import LoopbackServer

KEY = "Zq81xk2m9Jw3ppqA7vL0cD5tR"  # the user's API key, in $HOSTILE_KEY
HEADER_SECRET = "hdr5Tq0pLm3Vx8Ka1Wn6Rb2Ye9"  # an api-key header in the user's own config.toml
URL_PASSWORD = "pw7Hd2Kx9Lq4Ms1Nv6Bz3Cr8Ff"  # user:password@ in a base URL
GITHUB_TOKEN = "gt4Rk8Vm2Xq6Lp0Zs3Nc7Wb5Hd"  # in the environment only: never sent, never shown
SHAPED_KEY = "sk-proj-Hq3Lm8Xv2Kp7Zr4Nt6Wc1Yb"  # a key in a well-known format, nowhere configured
SECRETS = (KEY, HEADER_SECRET, URL_PASSWORD, GITHUB_TOKEN, SHAPED_KEY)

SOURCE = "# add a and b\n"
ANSWER = ("```python\n", "def add(a, b):\n    return a + b\n", "```\n")


def user_config(base_url: str, *, headers: bool = True) -> str:
    header = f'headers = {{ "api-key" = "{HEADER_SECRET}" }}\n' if headers else ""
    return (
        'provider = "mine"\nauto_local = false\n[providers.mine]\n'
        f'base_url = "{base_url}"\nmodel = "m"\napi_key_env = "HOSTILE_KEY"\n{header}'
        "max_retries = 0\ntimeouts = { connect = 2, first_token = 5, idle = 2 }\n"
    )


@dataclass
class User:
    home: Path
    upstream: LoopbackServer
    emitted: Emitted

    def __post_init__(self) -> None:
        self.configure(self.upstream.base_url)
        self.repo.mkdir(parents=True, exist_ok=True)
        (self.repo / ".git").mkdir(exist_ok=True)
        self.source.write_text(SOURCE, encoding="utf-8")

    @property
    def repo(self) -> Path:
        """A repository the user works in (``.git`` marks its root)."""
        return self.home / "work" / "repo"

    @property
    def source(self) -> Path:
        return self.repo / "add.py"

    def configure(self, base_url: str, *, headers: bool = True) -> None:
        path = self.home / "xdg" / "codegen-lsp" / "config.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(user_config(base_url, headers=headers), encoding="utf-8")

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env(self.home, HOSTILE_KEY=KEY, GITHUB_TOKEN=GITHUB_TOKEN, **extra)

    def cli(self, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        """``codegen-lsp ARGS --log-level debug`` (not for ``providers``), its output kept."""
        command = [sys.executable, "-m", "codegen_lsp", *args]
        if args[0] in ("generate", "check", "trust"):
            command += ["--log-level", "debug"]
        done = subprocess.run(
            command, cwd=cwd or self.repo, env=self.env(**env), capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        self.emitted.add_run(f"cli {args[0]}", done.stdout, done.stderr)
        return done

    def generate(self, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.cli("generate", str(self.source), "--line", "1", "--print", *extra, **env)

    def server(self, *, window: Mapping[str, Any] | None = None, **options: Any) -> RawServer:
        """A started, initialized server with the repository as its workspace and the source open."""
        server = RawServer(self.home, self.env()).start()
        server.initialize(self.repo, dict(options), window=dict(window or {}))
        server.open(self.source.as_uri(), SOURCE)
        return server

    def trust_store(self) -> Path:
        return self.home / ".local" / "state" / "codegen-lsp" / "trusted.json"


def generate(server: RawServer, uri: str, timeout: float = 30.0) -> dict[str, Any]:
    """Run ``codegen.generate`` on the comment at line 0 and wait for its answer."""
    argument = {"uri": uri, "version": 1, "action": "generate_from_comment",
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}}  # fmt: skip
    answer = server.call(
        "workspace/executeCommand", {"command": "codegen.generate", "arguments": [argument]}, timeout
    )
    result: dict[str, Any] = answer.get("result") or {}
    return result


def messages(server: RawServer, method: str = "window/showMessage") -> list[str]:
    """The texts of the notifications (or requests) of ``method`` the server sent so far."""
    return [m["params"]["message"] for m in server.messages if m.get("method") == method]


def everything(emitted: Emitted, *servers: RawServer) -> dict[str, str]:
    """What the CLI runs and the (closed) servers emitted, by source."""
    texts = dict(emitted.texts)
    for number, server in enumerate(servers, 1):
        for source, text in server.emitted().items():
            texts[f"server {number} {source}"] = text
    return texts
