"""The server's provider pool: one provider chain per provider chain of the settings, shared by jobs.

A chain (retries, fallbacks, an HTTP client with its connections and SSL context) is built by the
first job that needs it and kept for the next ones; new settings retire the chains of the old, and
a retired chain is closed once no job uses it any more. The providers are imported by the first
lease, not here: importing the server must stay cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codegen_lsp.core.provider import Provider
    from codegen_lsp.core.settings import Settings
    from codegen_lsp.providers.resilient import Notice, ResilientProvider

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Pooled:
    provider: ResilientProvider
    users: int = 0
    retired: bool = False


@dataclass(eq=False)
class ProviderPool:
    """One provider chain (retries, fallbacks, an HTTP client with its connections and SSL
    context) per provider chain of the current settings, shared by the jobs that use it.

    Building a chain per job cost a new client, a new SSL context and a new connection every
    time. A chain is keyed by the names of the providers in ``Settings.provider_chain(action)``
    under the settings they were built from; different settings retire every chain, and a retired
    chain is closed as soon as no job uses it any more (at once if none does). Cancelling a job
    still closes its upstream response at once: that is the stream's ``aclose``, not the client's.
    """

    _settings: Settings | None = None
    _chains: dict[tuple[str, ...], _Pooled] = field(default_factory=dict)
    _closing: set[asyncio.Task[None]] = field(default_factory=set)

    @contextlib.asynccontextmanager
    async def lease(
        self, settings: Settings, action: str, on_notice: Callable[[Notice], None] | None = None
    ) -> AsyncIterator[Provider]:
        """The chain for ``action``; its retries and fallbacks are told to ``on_notice`` (the job's
        own: the chain is shared, its notices are not)."""
        from codegen_lsp.providers.factory import build_chain

        if settings is not self._settings and settings != self._settings:
            self.retire()
            self._settings = settings
        key = tuple(ps.name for ps in settings.provider_chain(action))
        entry = self._chains.get(key)
        if entry is None:
            entry = _Pooled(build_chain(settings, action))
            self._chains[key] = entry
        entry.users += 1
        try:
            yield entry.provider if on_notice is None else entry.provider.notifying(on_notice)
        finally:
            entry.users -= 1
            if entry.retired and entry.users == 0:
                await _close(entry.provider)

    @property
    def serving(self) -> Settings | None:
        """The settings the pooled chains were built from (None: no chain yet)."""
        return self._settings

    def retire(self) -> None:
        """Stop handing out the current chains (the settings changed); close the idle ones."""
        for entry in self._chains.values():
            entry.retired = True
            if entry.users == 0:
                task = asyncio.get_running_loop().create_task(_close(entry.provider))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        self._chains.clear()
        self._settings = None

    async def aclose(self) -> None:
        """Close every chain (shutdown, after the jobs have ended)."""
        entries = list(self._chains.values())
        self._chains.clear()
        self._settings = None
        for entry in entries:
            entry.retired = True
            await _close(entry.provider)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _close(provider: Provider) -> None:
    try:
        await provider.aclose()
    except Exception:
        log.warning("closing provider %s failed", provider.name, exc_info=True)
