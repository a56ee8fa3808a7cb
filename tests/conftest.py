"""Shared pytest fixtures: scripted loopback HTTP servers (the ``loopback`` package at the root).

Kept small and general on purpose; suites add their own ``conftest.py`` in their folders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from loopback import LoopbackServer

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_ambient_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients run with ``trust_env=True``: a proxy set on the machine must not catch loopback traffic."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A started :class:`LoopbackServer`; script it with ``loopback.script(...)``."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture(scope="module")
def lb() -> Iterator[LoopbackServer]:
    """One :class:`LoopbackServer` for a whole module (the one its language server talks to)."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def make_loopback() -> Iterator[Callable[[], LoopbackServer]]:
    """A factory for more servers in one test (fallback chains); all are stopped afterwards."""
    servers: list[LoopbackServer] = []

    def make() -> LoopbackServer:
        server = LoopbackServer().start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
