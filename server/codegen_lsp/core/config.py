"""Configuration: raw options from every layer, checked and resolved into frozen :class:`Settings`.

Layers, lowest first (read by :mod:`codegen_lsp.core.layers`): built-in defaults < user file
``$XDG_CONFIG_HOME/codegen-lsp/config.toml`` < project file ``.codegen-lsp.toml`` (the nearest one
from the project folder up to the workspace or repository root, never above) < environment
(``CODEGEN_LSP_PROVIDER``, ``CODEGEN_LSP_BASE_URL``, ``CODEGEN_LSP_API_KEY``, ``CODEGEN_LSP_MODEL``) <
overrides (CLI flags, or the editor's settings in the language server). Keys are snake_case in
TOML; camelCase is accepted everywhere so editor settings can use their own convention.

Each layer is checked by :mod:`codegen_lsp.core.options` against the declarations in
:mod:`codegen_lsp.core.settings`; this module merges the layers (one
:func:`~codegen_lsp.core.options.merge`) and builds the settings, deriving from the same
declarations how a table of options becomes a settings object and the rows :func:`describe`
shows. Every key remembers the layer it came from (``Settings.origins``, by dotted key).

API keys are referenced by environment-variable name (``api_key_env``) and never read from files:
a literal key in a file is refused, and so is a credential header (``Authorization``, ``api-key``,
...) or a key-shaped header value in a project file. Only the environment, a CLI flag or the editor
may hand over a key at run time. A project file comes from whoever wrote the repository: until the
user trusted its exact content (:mod:`codegen_lsp.core.trust`), the options in it that route code,
keys or requests are left out (:func:`~codegen_lsp.core.options.split_untrusted`) and the settings
say so (``Settings.untrusted``). Every invalid value raises :class:`~codegen_lsp.errors.ConfigError` naming the
source, the key and the problem (and carrying both as attributes); a caller that would rather
lose only the bad key (the language server, for the editor's settings) passes ``on_invalid``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from codegen_lsp import redaction
from codegen_lsp.core import localmodels, presets
from codegen_lsp.core.actions import BUILTIN_ACTIONS
from codegen_lsp.core.layers import read_layers
from codegen_lsp.core.options import (
    Layer,
    merge,
    options_of,
    suggest,
    top_level_provider_keys,
    validate_options,
)
from codegen_lsp.core.settings import (
    ActionSettings,
    ContextSettings,
    InlineSettings,
    ProviderSettings,
    Settings,
    Table,
    Timeouts,
)
from codegen_lsp.errors import ConfigError

#: the provider name used when only a base URL is given (env or flag)
CUSTOM_PROVIDER = "custom"


def _record_origins(origins: dict[str, str], data: Mapping[str, Any], source: str, at: str = "") -> None:
    for key, value in data.items():
        path = f"{at}{key}"
        origins[path] = source
        if isinstance(value, Mapping):
            _record_origins(origins, value, source, f"{path}.")


def origin_of(origins: Mapping[str, str], key: str, default: str = "configuration") -> str:
    """The layer that set ``key`` (dotted), or the nearest table holding it."""
    while key:
        if key in origins:
            return origins[key]
        key = key.rpartition(".")[0]
    return default


def _error(origins: Mapping[str, str], key: str, problem: str) -> ConfigError:
    source = origin_of(origins, key)
    return ConfigError(f"{source}: {problem}", source=source, key=key)


# --- layers → settings ----------------------------------------------------------------------------


@cache
def _preset_keys() -> tuple[str, ...]:
    """What a preset fills in: its fields that are provider options (type, base_url, ...)."""
    return tuple(f.name for f in dataclasses.fields(presets.Preset) if f.name in options_of(ProviderSettings))


def _build_provider(
    name: str, raw: Mapping[str, Any], default_timeouts: Timeouts, origins: Mapping[str, str]
) -> ProviderSettings:
    given = raw.get("preset")
    preset = presets.get_preset(given or name)
    if given and preset is None:
        known = ", ".join(presets.PRESETS)
        raise _error(
            origins,
            f"providers.{name}.preset",
            f"providers.{name}.preset: unknown preset {given!r}; known presets: {known}",
        )
    values = dict(raw)
    for key in _preset_keys():
        own = raw.get(key)
        if own is None or own == "":
            # a value the preset lacks is left out, so the setting's own default applies
            values.pop(key, None)
            fallback = getattr(preset, key) if preset else None
            if fallback is not None:
                values[key] = fallback
    values["type"] = values.get("type") or "openai"
    values["preset"] = preset.name if preset else None
    values["timeouts"] = replace(default_timeouts, **raw.get("timeouts", {}))
    settings = ProviderSettings(name=name, **values)
    if settings.type == "openai" and not settings.base_url:
        raise _error(
            origins,
            f"providers.{name}",
            f"providers.{name}: no base_url. Set base_url (e.g. http://localhost:11434/v1) "
            f"or preset = one of: {', '.join(presets.PRESETS)}",
        )
    return settings


def _local_available() -> bool:
    return localmodels.local_available()


def resolve(
    root: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    overrides_source: str = "command line",
    use_files: bool = True,
) -> Settings:
    """Merge every layer into :class:`Settings`. Raises :class:`ConfigError` on invalid input."""
    env = os.environ if environ is None else environ
    layers = read_layers(root, environ=env, use_files=use_files)
    if overrides:
        clean = {k: v for k, v in overrides.items() if v is not None}
        layers.append(Layer(overrides_source, validate_options(clean, overrides_source, from_file=False)))
    settings = settle(layers)
    remember_secrets(settings, env)
    return settings


def settle(layers: Sequence[Layer]) -> Settings:
    """The settings the checked ``layers`` (lowest first) make together.

    Raises :class:`ConfigError` for what only the whole shows (an unknown provider name, a provider
    without a base URL), with ``source`` and ``key`` naming the layer and key that caused it.
    """
    merged = merge(*(layer.data for layer in layers))
    origins: dict[str, str] = {}
    for layer in layers:
        _record_origins(origins, layer.data, layer.source)
    timeouts = replace(Timeouts(), **merged.get("timeouts", {}))
    providers = {
        name: _build_provider(name, raw, timeouts, origins)
        for name, raw in merged.get("providers", {}).items()
    }

    active: str | None = merged.get("provider")
    base_url: str | None = merged.get("base_url")
    if active is None and base_url:
        # A base URL alone selects an OpenAI-compatible endpoint there.
        active = CUSTOM_PROVIDER
        origins["provider"] = origins["base_url"]
    if active is not None and active not in providers:
        preset = presets.get_preset(active)
        if preset is None and active != CUSTOM_PROVIDER:
            names = sorted({*providers, *presets.PRESETS})
            raise _error(
                origins,
                "provider",
                f"provider {active!r} is neither a preset nor defined under "
                f"[providers.{active}]{suggest(active, names)}; known: {', '.join(names)}",
            )
        if preset is None and not base_url:
            raise _error(origins, "provider", f"provider {active!r} needs a base_url")
        raw = {"base_url": base_url} if base_url else {}
        providers[active] = _build_provider(active, raw, timeouts, origins)
    if active is None and merged.get("auto_local", True) and _local_available():
        active = "local"
        providers.setdefault("local", _build_provider("local", {}, timeouts, origins))
        origins["provider"] = "default (the embedded local model is installed)"

    if active is not None:
        # the top-level shortcuts (model, api_key_env, ...) apply to the active provider
        chosen = providers[active]
        changes = {
            key: merged[key] for key in top_level_provider_keys() if merged.get(key) and key != "timeouts"
        }
        if chosen.type != "openai":
            changes.pop("base_url", None)
        providers[active] = replace(chosen, **changes)

    for name in merged.get("fallback", ()):
        if name in providers:
            continue
        if presets.get_preset(name) is None:
            raise _error(
                origins,
                "fallback",
                f"fallback provider {name!r} is neither a preset nor defined under [providers.{name}]",
            )
        providers[name] = _build_provider(name, {}, timeouts, origins)

    actions = {name: ActionSettings(name=name, **raw) for name, raw in merged.get("actions", {}).items()}
    for name, action in actions.items():
        if action.provider and action.provider not in providers:
            if presets.get_preset(action.provider) is None:
                key = f"actions.{name}.provider"
                raise _error(origins, key, f"{key}: unknown provider {action.provider!r}")
            providers[action.provider] = _build_provider(action.provider, {}, timeouts, origins)

    inline = InlineSettings(**merged.get("inline", {}))
    if inline.provider and inline.provider not in providers:
        if presets.get_preset(inline.provider) is None:
            names = sorted({*providers, *presets.PRESETS})
            raise _error(
                origins,
                "inline.provider",
                f"inline.provider: unknown provider {inline.provider!r}{suggest(inline.provider, names)}",
            )
        providers[inline.provider] = _build_provider(inline.provider, {}, timeouts, origins)

    values = {key: value for key, value in merged.items() if key in options_of(Settings)}
    values.update(
        providers=providers,
        provider=active,
        actions=actions,
        context=ContextSettings(**merged.get("context", {})),
        inline=inline,
    )
    untrusted = next((layer.untrusted for layer in layers if layer.untrusted is not None), None)
    return Settings(**values, origins=origins, untrusted=untrusted)


def remember_secrets(settings: Settings, environ: Mapping[str, str]) -> None:
    """Tell the redactor every secret the settings put in play: each provider's key (from its
    variable or handed over at run time), its credential headers and key-shaped header values,
    and the credentials inside its base URL."""
    for provider in settings.providers.values():
        redaction.remember(
            provider.resolve_api_key(environ),
            environ.get(provider.api_key_env) if provider.api_key_env else None,
            *redaction.secret_header_values(provider.headers),
            *redaction.url_credentials(provider.base_url),
        )


# --- describe -------------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()  # as in TOML
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _timeouts_row(settings: Settings, chosen: ProviderSettings) -> tuple[str, str, str]:
    t = chosen.timeouts
    value = (
        f"connect {t.connect:g} s, first token {t.first_token:g} s, idle {t.idle:g} s, total {t.total:g} s"
    )
    origin = settings.origins.get(f"providers.{chosen.name}.timeouts") or settings.origins.get("timeouts")
    return ("timeouts", value, origin or "default")


def _other_rows(settings: Settings) -> list[tuple[str, str, str]]:
    """A row for every other setting some layer set, derived from the settings' declarations."""
    rows: list[tuple[str, str, str]] = []
    for key, check in options_of(Settings).items():
        if key in ("provider", "providers", "fallback") or key not in settings.origins:
            continue
        value = getattr(settings, key)
        if not isinstance(check, Table):
            rows.append((key, _shown(value), settings.origins[key]))
        elif check.named:
            names = [f"{name} (built-in, changed)" if name in BUILTIN_ACTIONS else name for name in value]
            rows.append((key, ", ".join(names), settings.origins[key]))
        else:
            for sub in options_of(check.of):
                path = f"{key}.{sub}"
                if path in settings.origins:
                    rows.append((path, _shown(getattr(value, sub)), settings.origins[path]))
    return rows


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(what, value, where it came from) rows for ``codegen-lsp check``; never shows a key."""
    rows: list[tuple[str, str, str]] = []
    if settings.untrusted is not None:
        ignored = ", ".join(settings.untrusted.ignored)
        rows.append(("NOT TRUSTED", f"ignored {ignored}", str(settings.untrusted.path)))
    if settings.provider is None:
        rows.append(("provider", "(none)", "nothing configured and the embedded model is not installed"))
        return rows + _other_rows(settings)
    chosen = settings.providers[settings.provider]
    rows.append(("provider", f"{chosen.name} ({chosen.type})", settings.origins.get("provider", "default")))
    rows.append(
        ("model", chosen.model or "(server default)", settings.origins.get("model", "provider default"))
    )
    if chosen.type == "openai":
        rows.append(("base URL", chosen.base_url or "", settings.origins.get("base_url", "provider default")))
        if chosen.api_key:
            key_origin = settings.origins.get("api_key", "run time")
            rows.append(("API key", "set (hidden)", key_origin))
        elif chosen.api_key_env:
            present = "set" if os.environ.get(chosen.api_key_env) else "NOT SET"
            rows.append(("API key", f"${chosen.api_key_env} ({present})", "provider setting"))
        else:
            rows.append(("API key", "none needed", "local server"))
    else:
        rows[-1:] = localmodels.describe(chosen.model, chosen.model_path, settings.origins.get("model"))
    rows.append(_timeouts_row(settings, chosen))
    if settings.fallback:
        rows.append(("fallback", ", ".join(settings.fallback), settings.origins.get("fallback", "")))
    return rows + _other_rows(settings)
