"""The team setup on loopback: llama.cpp backends with a real LiteLLM proxy in front of them.

One place that starts what ``tests/gateway`` proves and ``bench/team.py`` measures. A
:class:`Backend` is a third-party OpenAI-compatible server, ``python -m llama_cpp.server``, serving
the product's default GGUF (whatever :func:`codegen_lsp.localmodel.default_model_path` names) under
the model name ``codegen``. A :class:`Gateway` is the LiteLLM proxy from its own venv
(``scripts/install-gateway.sh``), started with the README's configuration
``examples/team/litellm.yaml`` unchanged: two backends, least-busy routing, retries on the other
backend, and per-developer keys from ``examples/team/team_keys.py`` (LiteLLM's ``custom_auth``
hook; its database-backed virtual keys need Postgres + Prisma, which cannot install offline).
Everything binds to 127.0.0.1 and runs offline: the cost map is LiteLLM's bundled copy, telemetry is
vetoed, no database is configured. Every process logs to a file in the caller's work folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from loopback.processes import NotServing, free_port, stop, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
TEAM_EXAMPLE = ROOT / "examples" / "team"
#: the model name the backends serve and editors ask the gateway for (examples/team/litellm.yaml)
MODEL = "codegen"
_POST = re.compile(rb'"POST /v1/chat/completions HTTP/1\.1" (\d{3})')
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def embedded_gguf() -> Path:
    """The GGUF a zero-configuration ``local`` provider would run (RuntimeError, with the fix, if none)."""
    from codegen_lsp.core.localmodels import choose
    from codegen_lsp.errors import ProviderError
    from codegen_lsp.providers.modelfiles import model_file

    model, _ = choose(None)
    if model is None:  # never: choose(None) always names one (this is for the type checker)
        raise RuntimeError("no embedded model is known")
    try:
        return model_file(model, "team")
    except ProviderError as exc:
        raise RuntimeError(str(exc)) from None


def gateway_venv() -> Path:
    """Where ``scripts/install-gateway.sh`` puts LiteLLM (``GATEWAY_VENV`` overrides)."""
    return Path(os.environ.get("GATEWAY_VENV") or ROOT / ".venv-gateway")


def litellm_executable() -> Path | None:
    path = gateway_venv() / "bin" / "litellm"
    return path if path.is_file() else None


def loopback_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without proxies or PYTHONPATH, loopback exempt from any proxy, ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARIABLES and k != "PYTHONPATH"}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra or {})
    return env


def _not_ready(what: str, returncode: int | None, log: Path, timeout: float) -> RuntimeError:
    if returncode is not None:
        tail = log.read_text(errors="replace")[-4000:]
        return RuntimeError(f"{what} exited with {returncode}:\n{tail}")
    return RuntimeError(f"{what} not ready after {timeout:g} s; log: {log}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        stop(process)


class Backend:
    """One ``python -m llama_cpp.server`` on a fixed loopback port (kept across restarts)."""

    def __init__(self, gguf: Path, workdir: Path, name: str, *, threads: int | None = None) -> None:
        self.gguf = gguf
        self.name = name
        self.threads = threads
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 120.0) -> Backend:
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.gguf),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--model_alias",
            MODEL,
            "--n_ctx",
            "4096",
            # queue concurrent requests: by default a new request interrupts the one being answered
            "--interrupt_requests",
            "False",
        ]
        if self.threads:
            command += ["--n_threads", str(self.threads), "--n_threads_batch", str(self.threads)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=loopback_env())
        try:
            wait_until_serving(self.process, self.base_url, timeout=timeout, poll=0.2)
        except NotServing as exc:
            raise _not_ready(f"backend {self.name}", exc.returncode, self.log, timeout) from None
        return self

    def requests(self) -> int:
        """Chat completions this backend has started answering (uvicorn logs each at its first byte)."""
        return len(_POST.findall(self.log.read_bytes())) if self.log.exists() else 0

    def kill(self) -> None:
        """SIGKILL: the backend dies as a crashed or preempted GPU worker would, mid-answer."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        _stop(self.process)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Gateway:
    """The LiteLLM proxy over exactly two backends, configured by ``examples/team/litellm.yaml``.

    ``litellm_settings`` (e.g. a test's callback) and ``pythonpath`` (where that callback lives)
    are added through LiteLLM's ``include``: the example file itself is used as it is.
    """

    def __init__(
        self,
        backends: Sequence[Backend],
        workdir: Path,
        *,
        litellm_settings: Mapping[str, Any] | None = None,
        pythonpath: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        if len(backends) != 2:
            raise ValueError("examples/team/litellm.yaml names two backends")
        self.backends = list(backends)
        self.workdir = workdir
        self.port = free_port()
        self.log = workdir / "litellm.log"
        self.keys_file = workdir / "team-keys.json"
        # the admin's key: LiteLLM refuses to start without one; editors never get it
        self.master_key = "sk-admin-" + secrets.token_urlsafe(18)
        self.litellm_settings = dict(litellm_settings or {})
        self.pythonpath = [TEAM_EXAMPLE, *pythonpath]
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _env(self) -> dict[str, str]:
        return loopback_env(
            {
                "BACKEND_A": self.backends[0].base_url,
                "BACKEND_B": self.backends[1].base_url,
                "LITELLM_MASTER_KEY": self.master_key,
                "TEAM_KEYS_FILE": str(self.keys_file),
                # offline: the bundled cost map instead of a download, no telemetry, no .env files
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "LITELLM_TELEMETRY_DISABLED": "true",
                "LITELLM_MODE": "PRODUCTION",
                "PYTHONPATH": os.pathsep.join(str(p) for p in self.pythonpath),
                **self.extra_env,
            }
        )

    def add_key(self, user_id: str) -> str:
        """A new per-developer key, made the README's way (``python team_keys.py add USER``)."""
        done = subprocess.run(
            [sys.executable, str(TEAM_EXAMPLE / "team_keys.py"), "add", user_id],
            env=self._env(),
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def start(self, timeout: float = 180.0) -> Gateway:
        executable = litellm_executable()
        if executable is None:
            raise RuntimeError(
                f"LiteLLM is not installed in {gateway_venv()}: run bash scripts/install-gateway.sh"
            )
        config = TEAM_EXAMPLE / "litellm.yaml"
        if self.litellm_settings:
            # YAML is a superset of JSON, and LiteLLM merges an `include`d file key by key
            config = self.workdir / "litellm-test.json"
            config.write_text(
                json.dumps(
                    {
                        "include": [str(TEAM_EXAMPLE / "litellm.yaml")],
                        "litellm_settings": self.litellm_settings,
                    }
                ),
                encoding="utf-8",
            )
        command = [str(executable), "--config", str(config), "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=self._env(), cwd=self.workdir
            )
        # LiteLLM's /models wants a key; its liveness probe is public
        health = f"http://127.0.0.1:{self.port}/health/liveliness"
        deadline = time.monotonic() + timeout
        while not _answers(health):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise _not_ready("the LiteLLM proxy", self.process.poll(), self.log, timeout)
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        _stop(self.process)
