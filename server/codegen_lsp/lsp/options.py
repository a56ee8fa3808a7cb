"""Editor options → :class:`~codegen_lsp.core.settings.Settings`, never crashing on bad input.

Options arrive as ``initializationOptions`` (either the settings themselves or wrapped in a
``codegen`` key) and as the ``codegen`` section of ``workspace/configuration``, pulled after
``initialized`` and again on every ``didChangeConfiguration``. Both use the keys of the TOML files
(camelCase or snake_case); the section wins over the initialization options, and both win over
the files and environment that :func:`codegen_lsp.core.config.resolve` reads. Invalid editor
options produce a warning and the settings without the offending layer (the section first, then the
initialization options); invalid files as well produce plain defaults: the server keeps serving.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_lsp.core.settings import Settings
from codegen_lsp.errors import ConfigError

SECTION = "codegen"
SOURCE = "editor settings"


def section_of(raw: Any) -> dict[str, Any]:
    """The ``codegen`` options inside whatever the editor sent (None, the section, or a wrapper)."""
    if not isinstance(raw, Mapping):
        return {}
    if SECTION in raw:
        inner = raw[SECTION]
        # Neovim encodes an empty Lua table as [], and a null is no settings either.
        return dict(inner) if isinstance(inner, Mapping) else {}
    return dict(raw)


def merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers win; tables (providers, actions, context) merge key by key."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = merge(merged[key], value)
            else:
                merged[key] = value
    return merged


@dataclass(frozen=True)
class Resolution:
    settings: Settings
    #: user-facing warnings (ConfigError messages), in the order they happened
    warnings: tuple[str, ...] = field(default_factory=tuple)


def resolve_settings(
    root: Path | None,
    init_options: Mapping[str, Any],
    section: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> Resolution:
    """Settings from files, environment and editor options, falling back layer by layer."""
    from codegen_lsp.core import config

    warnings: list[str] = []
    # Drop the newest layer first: a bad workspace/configuration must not lose a good
    # initializationOptions (and with it, say, the base URL the editor was started with).
    candidates = [merge(init_options, section), dict(init_options), {}]
    tried: list[dict[str, Any]] = []
    for overrides in candidates:
        if overrides in tried:
            continue
        tried.append(overrides)
        try:
            settings = config.resolve(
                root, environ=environ, overrides=overrides or None, overrides_source=SOURCE
            )
        except ConfigError as exc:
            warnings.append(str(exc))
            continue
        return Resolution(settings, tuple(warnings))
    return Resolution(Settings(), tuple(warnings))
