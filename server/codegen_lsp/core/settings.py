"""Resolved, frozen settings: what every other part of codegen-lsp reads.

Raw *options* (TOML files, environment, CLI flags, LSP initializationOptions and
workspace/configuration) are merged and validated by :mod:`codegen_lsp.core.config` into these
objects. Nothing here holds a secret read from a file: ``api_key`` is only ever filled at run time
from an environment variable, a CLI flag or the editor's secret storage, and is excluded from
``repr`` so it cannot leak into logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from codegen_lsp.core.types import ApplyMode

ProviderType = Literal["openai", "local"]


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. Defaults suit slow local models: a CPU model may think for minutes."""

    connect: float = 10.0
    first_token: float = 180.0
    idle: float = 60.0


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    name: str
    type: ProviderType = "openai"
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    api_key: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_retries: int = 2
    temperature: float | None = 0.2
    max_tokens: int | None = 1024
    # type = "local" only
    model_path: str | None = None
    n_ctx: int = 4096
    n_threads: int | None = None

    def resolve_api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key to send: an explicit run-time key, else the named environment variable."""
        if self.api_key:
            return self.api_key
        env = os.environ if environ is None else environ
        if self.api_key_env:
            return env.get(self.api_key_env) or None
        return None


@dataclass(frozen=True, slots=True)
class ActionSettings:
    """A per-action override of a built-in action, or a user-defined action.

    ``prompt`` is a template; placeholders: ``{selection}``, ``{before}``, ``{after}``,
    ``{language}``, ``{path}``, ``{diagnostics}``, ``{instruction}``.
    """

    name: str
    title: str | None = None
    prompt: str | None = None
    system: str | None = None
    provider: str | None = None
    model: str | None = None
    apply: ApplyMode | None = None
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ContextSettings:
    lines_before: int = 60
    lines_after: int = 20
    #: rough token budget for the user message (4 characters ≈ 1 token)
    token_budget: int = 3000


@dataclass(frozen=True, slots=True)
class Settings:
    providers: Mapping[str, ProviderSettings] = field(default_factory=dict)
    #: the active provider's name; None when nothing is configured or available
    provider: str | None = None
    fallback: tuple[str, ...] = ()
    actions: Mapping[str, ActionSettings] = field(default_factory=dict)
    context: ContextSettings = field(default_factory=ContextSettings)
    #: LSP only: insert code line by line as it streams
    stream_edits: bool = False
    #: LSP only: seconds to wait for the editor to answer workspace/applyEdit
    apply_timeout: float = 60.0
    #: where each top-level choice came from, for ``codegen-lsp check`` ("provider" -> "environment ...")
    origins: Mapping[str, str] = field(default_factory=dict)

    def provider_chain(self, action: str | None = None) -> tuple[ProviderSettings, ...]:
        """The providers to try, in order, for ``action``: its own, the active one, then fallbacks."""
        own = self.actions[action].provider if action is not None and action in self.actions else None
        names: list[str] = []
        for name in (own, self.provider, *self.fallback):
            if name and name not in names and name in self.providers:
                names.append(name)
        return tuple(self.providers[n] for n in names)
