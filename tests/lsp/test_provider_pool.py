"""The server's pool of provider chains: shared by jobs, retired with their settings, closed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from codegen_lsp.core.settings import ActionSettings, ProviderSettings, Settings
from codegen_lsp.errors import RateLimitError
from codegen_lsp.lsp.pool import ProviderPool
from codegen_lsp.providers import factory
from codegen_lsp.providers.resilient import Notice, ResilientProvider


class FakeChain:
    def __init__(self, names: list[str]) -> None:
        self.name = names[0]
        self.model = "m"
        self.names = names
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[FakeChain]:
    chains: list[FakeChain] = []

    def build_chain(settings: Settings, action: str | None = None, **_: Any) -> FakeChain:
        chain = FakeChain([ps.name for ps in settings.provider_chain(action)])
        chains.append(chain)
        return chain

    monkeypatch.setattr(factory, "build_chain", build_chain)
    return chains


def settings(model: str = "a") -> Settings:
    providers = {
        name: ProviderSettings(name=name, base_url=f"http://127.0.0.1:9/{name}", model=model)
        for name in ("main", "fast")
    }
    return Settings(
        providers=providers,
        provider="main",
        actions={"explain": ActionSettings(name="explain", provider="fast")},
    )


async def test_jobs_share_one_chain_per_provider_chain(built: list[FakeChain]) -> None:
    pool, current = ProviderPool(), settings()
    async with pool.lease(current, "generate") as first, pool.lease(current, "refactor") as second:
        assert first is second  # same providers: same chain, used by two jobs at once
    async with pool.lease(current, "explain") as other:
        assert other is not first and other.name == "fast"
    async with pool.lease(settings(), "generate") as again:
        assert again is first  # equal settings (a re-sent configuration) keep the chain
    assert len(built) == 2 and not any(chain.closed for chain in built)
    await pool.aclose()
    assert [chain.closed for chain in built] == [1, 1]


async def test_new_settings_close_idle_chains_now_and_busy_ones_after_their_job(
    built: list[FakeChain],
) -> None:
    pool = ProviderPool()
    old = settings("a")
    async with pool.lease(old, "explain"):
        pass
    async with pool.lease(old, "generate") as busy:
        pool.retire()  # what the server does when the settings change
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert built[0].closed == 1  # idle: closed at once
        assert busy.closed == 0  # a job still streams from it
        async with pool.lease(settings("b"), "generate") as fresh:
            assert fresh is not busy
    assert busy.closed == 1  # closed when its last job let go
    await pool.aclose()
    assert [chain.closed for chain in built] == [1, 1, 1]


async def test_each_lease_hears_its_own_notices_from_the_shared_chain() -> None:
    pool, current = ProviderPool(), settings()
    heard: dict[str, list[object]] = {"one": [], "two": []}
    async with (
        pool.lease(current, "generate", heard["one"].append) as one,
        pool.lease(current, "generate", heard["two"].append) as two,
    ):
        assert isinstance(one, ResilientProvider) and isinstance(two, ResilientProvider)
        assert one.providers is two.providers  # the same clients and connections
        assert one.on_notice is not two.on_notice
        one._notify(Notice("retry", "main", RateLimitError("slow"), delay=23, attempt=2))
        assert len(heard["one"]) == 1 and heard["two"] == []
    await pool.aclose()
