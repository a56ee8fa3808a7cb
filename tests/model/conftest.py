"""Fixtures for tests through the real embedded model (Qwen2.5-Coder-0.5B-Instruct via llama.cpp).

Tests marked ``model`` are skipped, with the reason, only when llama-cpp-python cannot be
imported; CI installs the ``[local]`` extra, so they run there. A missing default model is a
failure, not a skip: with llama-cpp-python installed the model should be too.

Subprocess tests give the program under test a throwaway HOME; ``model_checks.model_env`` keeps
the real cache folder in its environment, so the model is assembled once per machine, not once per
test.

``llama_server`` starts the real third-party OpenAI-compatible server, ``python -m
llama_cpp.server``, once per session on a free loopback port, with the same GGUF.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from model_checks import SERVER_MODEL_ALIAS

from codegen_lsp.core.localmodels import DEFAULT_MODEL
from codegen_lsp.errors import ProviderError
from codegen_lsp.providers.modelfiles import model_file
from loopback.processes import NotServing, free_port, stop, wait_until_serving

_SERVER_START_TIMEOUT_S = 60.0


def _llama_cpp_import_error() -> str | None:
    try:
        import llama_cpp  # noqa: F401
    except Exception as exc:  # ImportError, or OSError when its shared library fails to load
        return f"{type(exc).__name__}: {exc}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    model_items = [item for item in items if item.get_closest_marker("model")]
    if not model_items:
        return
    error = _llama_cpp_import_error()
    if error is None:
        return
    skip = pytest.mark.skip(
        reason=f"llama-cpp-python is not importable ({error}); install it: pip install 'codegen-lsp[local]'"
    )
    for item in model_items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    """The default model's GGUF, assembled in the cache if needed; a clear failure when not installed."""
    try:
        return model_file(DEFAULT_MODEL, "tests")
    except ProviderError as exc:
        pytest.fail(f"the default embedded model is not usable: {exc}")


def _no_proxy_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


@pytest.fixture(scope="session")
def llama_server(gguf_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:<port>/v1``) of a running ``python -m llama_cpp.server``."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--model_alias",
        SERVER_MODEL_ALIAS,
        "--n_ctx",
        "4096",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=_no_proxy_env())
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        try:
            wait_until_serving(process, base_url, timeout=_SERVER_START_TIMEOUT_S, poll=0.2)
        except NotServing as exc:
            if exc.returncode is None:
                pytest.fail(f"llama_cpp.server not ready after {_SERVER_START_TIMEOUT_S:g} s")
            pytest.fail(
                f"llama_cpp.server exited with {exc.returncode}:\n{log_path.read_text(errors='replace')}"
            )
        yield base_url
    finally:
        stop(process)
