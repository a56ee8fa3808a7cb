"""Editor options → :class:`~codegen_lsp.core.settings.Settings`, never crashing on bad input.

Options arrive as ``initializationOptions`` (either the settings themselves or wrapped in a
``codegen`` key) and as the ``codegen`` section of ``workspace/configuration``, pulled after
``initialized`` and again on every ``didChangeConfiguration``. Both use the keys of the TOML files
(camelCase or snake_case); the section wins over the initialization options, and both win over
the files and environment that :func:`codegen_lsp.core.layers.read_layers` reads (the project
file only inside the workspace, and only its harmless options until the user trusts it). A bad key or
value in the editor's options costs that key alone: it is left out with a warning that names it
and where it came from, and the rest of the editor's settings apply. Invalid files or environment
produce plain defaults (with a warning): the server keeps serving.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_lsp.core.settings import Settings
from codegen_lsp.errors import ConfigError

SECTION = "codegen"
INIT_SOURCE = "editor settings (initializationOptions)"
#: the section, pulled with workspace/configuration or pushed with didChangeConfiguration
SECTION_SOURCE = f'editor settings (section "{SECTION}")'


def section_of(raw: Any) -> dict[str, Any]:
    """The ``codegen`` options inside whatever the editor sent (None, the section, or a wrapper)."""
    if not isinstance(raw, Mapping):
        return {}
    if SECTION in raw:
        inner = raw[SECTION]
        # Neovim encodes an empty Lua table as [], and a null is no settings either.
        return dict(inner) if isinstance(inner, Mapping) else {}
    return dict(raw)


@dataclass(frozen=True)
class Resolution:
    settings: Settings
    #: user-facing warnings, in the order they happened
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _without(data: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """``data`` without the dotted ``key``, or None when it holds no such key."""
    head, _, rest = key.partition(".")
    if head not in data:
        return None
    out = dict(data)
    if not rest:
        del out[head]
        return out
    inner = data[head]
    smaller = _without(inner, rest) if isinstance(inner, Mapping) else None
    if smaller is None:
        return None
    out[head] = smaller
    return out


def resolve_settings(
    root: Path | None,
    init_options: Mapping[str, Any],
    section: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> Resolution:
    """Settings from files, environment and editor options, leaving out each bad editor option."""
    from codegen_lsp import redaction
    from codegen_lsp.core import config, layers
    from codegen_lsp.core.options import Layer, validate_options

    warnings: list[str] = []

    def ignore(exc: ConfigError) -> None:
        warnings.append(f"ignored an invalid setting: {exc}")

    env = os.environ if environ is None else environ
    for raw in (init_options, section):
        # A key the editor hands over is a secret even when it is invalid or left out.
        redaction.remember(*(v for k, v in raw.items() if k in ("apiKey", "api_key") and isinstance(v, str)))
    try:
        below = layers.read_layers(root, environ=env, workspace=root)
    except ConfigError as exc:
        return Resolution(Settings(), (f"invalid configuration, defaults kept: {exc}",))
    editor = [
        Layer(source, validate_options(raw, source, from_file=False, on_invalid=ignore))
        for source, raw in ((INIT_SOURCE, init_options), (SECTION_SOURCE, section))
    ]
    while True:
        try:
            settings = config.settle([*below, *editor])
        except ConfigError as exc:
            # Something only the whole shows (an unknown provider name...): drop the editor's key
            # that caused it, newest layer first, and try again; each round drops one key.
            culprit = next(
                (i for i, layer in enumerate(editor) if layer.source == exc.source and exc.key), None
            )
            smaller = _without(editor[culprit].data, exc.key or "") if culprit is not None else None
            if culprit is None or smaller is None:
                warnings.append(f"invalid configuration, defaults kept: {exc}")
                return Resolution(Settings(), tuple(warnings))
            editor[culprit] = Layer(editor[culprit].source, smaller)
            ignore(exc)
            continue
        config.remember_secrets(settings, env)
        return Resolution(settings, tuple(warnings))
