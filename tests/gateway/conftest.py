"""Fixtures for the team tests: two real llama.cpp servers behind a real LiteLLM proxy, on loopback.

The ``team`` fixture starts, once per module, what the README's "Team setup" describes (see
:mod:`bench.gateway`): two ``python -m llama_cpp.server`` backends serving the embedded model in
effect with one thread each, and the LiteLLM proxy from its own venv with ``examples/team``'s
configuration, plus :mod:`gateway_recorder` so the tests see what the gateway saw. Alice's
per-developer key is made the README's way. Tests are marked ``gateway``, ``model`` and ``e2e``:
the fast lane (``scripts/check``) leaves them out, as does ``-m "not gateway"``; ``scripts/test``
installs LiteLLM (``scripts/install-gateway.sh``) and runs them. Without that venv they are skipped with the reason,
except under CI, where a missing gateway is a failure.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from teamlib import Team

from bench.gateway import Backend, Gateway, embedded_gguf, gateway_venv, litellm_executable

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if litellm_executable() is not None or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(
        reason=f"LiteLLM is not installed in {gateway_venv()}; run: bash scripts/install-gateway.sh"
    )
    for item in items:
        if item.get_closest_marker("gateway"):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def team() -> Iterator[Team]:
    if litellm_executable() is None:
        pytest.fail(f"LiteLLM is not installed in {gateway_venv()}; run: bash scripts/install-gateway.sh")
    try:
        gguf = embedded_gguf()
    except RuntimeError as exc:
        pytest.fail(f"the embedded model is not usable: {exc}")
    with tempfile.TemporaryDirectory(prefix="codegen-lsp-team-") as folder:
        workdir = Path(folder)
        record = workdir / "gateway-record.jsonl"
        backends = [Backend(gguf, workdir, name, threads=1) for name in ("backend-a", "backend-b")]
        gateway = Gateway(
            backends,
            workdir,
            litellm_settings={"callbacks": "gateway_recorder.recorder"},
            pythonpath=[HERE],
            env={"GATEWAY_RECORD": str(record)},
        )
        try:
            for backend in backends:
                backend.start()
            gateway.start()
            yield Team(gateway, backends, gateway.add_key("alice"), workdir, record)
        finally:
            gateway.stop()
            for backend in backends:
                backend.stop()
