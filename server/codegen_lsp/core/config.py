"""Configuration: raw options from every layer, validated and resolved into frozen :class:`Settings`.

Layers, lowest first: built-in defaults < user file ``$XDG_CONFIG_HOME/codegen-lsp/config.toml`` <
project file ``.codegen-lsp.toml`` (searched upward from the project root) < environment
(``CODEGEN_LSP_PROVIDER``, ``CODEGEN_LSP_BASE_URL``, ``CODEGEN_LSP_API_KEY``, ``CODEGEN_LSP_MODEL``) <
overrides (CLI flags, or the editor's settings in the language server). Keys are snake_case in
TOML; camelCase is accepted everywhere so editor settings can use their own convention.

API keys are referenced by environment-variable name (``api_key_env``) and never read from files:
a literal key in a file is refused. Only the environment, a CLI flag or the editor may hand over a
key at run time. Every invalid value raises :class:`~codegen_lsp.errors.ConfigError` naming the
source, the key and the problem.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from codegen_lsp.core import presets
from codegen_lsp.core.settings import (
    ActionSettings,
    ContextSettings,
    ProviderSettings,
    Settings,
    Timeouts,
)
from codegen_lsp.core.types import ApplyMode
from codegen_lsp.errors import ConfigError

PROJECT_FILE = ".codegen-lsp.toml"
ENV_PROVIDER = "CODEGEN_LSP_PROVIDER"
ENV_BASE_URL = "CODEGEN_LSP_BASE_URL"
ENV_API_KEY = "CODEGEN_LSP_API_KEY"
ENV_MODEL = "CODEGEN_LSP_MODEL"
#: the provider name used when only a base URL is given (env or flag)
CUSTOM_PROVIDER = "custom"

Validator = Callable[[Any], Any]


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("expected a number")
    if value < 0:
        raise ValueError("must not be negative")
    return float(value)


def _positive_number(value: Any) -> float:
    number = _number(value)
    if number == 0:
        raise ValueError("must be greater than 0")
    return number


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected a whole number")
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _opt_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _opt_number(value: Any) -> float | None:
    return None if value is None else _number(value)


def _str_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise TypeError("expected a list of names")
    return tuple(value)


def _headers(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError("expected a table of header names to string values")
    return dict(value)


def _provider_type(value: Any) -> str:
    if value not in ("openai", "local"):
        raise ValueError('expected "openai" (any OpenAI-compatible endpoint) or "local"')
    return str(value)


def _apply_mode(value: Any) -> ApplyMode:
    try:
        return ApplyMode(value)
    except ValueError:
        choices = ", ".join(m.value for m in ApplyMode)
        raise ValueError(f"expected one of {choices}") from None


def _env_name(value: Any) -> str:
    name = _str(value)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(
            "must be the NAME of an environment variable holding the key (like OPENAI_API_KEY), not the key"
        )
    return name


_TIMEOUT_KEYS: dict[str, Validator] = {
    "connect": _positive_number,
    "first_token": _positive_number,
    "idle": _positive_number,
}
_PROVIDER_KEYS: dict[str, Validator] = {
    "type": _provider_type,
    "preset": _str,
    "base_url": _str,
    "model": _str,
    "api_key_env": _env_name,
    "headers": _headers,
    "max_retries": _int,
    "temperature": _opt_number,
    "max_tokens": _opt_int,
    "model_path": _str,
    "n_ctx": _int,
    "n_threads": _opt_int,
    "timeouts": dict,  # checked against _TIMEOUT_KEYS
}
_ACTION_KEYS: dict[str, Validator] = {
    "title": _str,
    "prompt": _str,
    "system": _str,
    "provider": _str,
    "model": _str,
    "apply": _apply_mode,
    "temperature": _opt_number,
    "max_tokens": _opt_int,
}
_CONTEXT_KEYS: dict[str, Validator] = {
    "lines_before": _int,
    "lines_after": _int,
    "token_budget": _int,
}
_TOP_KEYS: dict[str, Validator] = {
    "provider": _str,
    "base_url": _str,
    "model": _str,
    "api_key": _str,  # refused in files, accepted from env/flags/editor
    "api_key_env": _env_name,
    "fallback": _str_list,
    "stream_edits": _bool,
    "auto_local": _bool,
    "apply_timeout": _positive_number,
    "providers": dict,
    "actions": dict,
    "context": dict,
    "timeouts": dict,
}
_SECRET_KEYS = {"api_key", "apikey", "key", "token", "secret", "password"}


def snake_case(key: str) -> str:
    """``baseUrl`` → ``base_url``; snake_case keys pass unchanged."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


@dataclass(frozen=True, slots=True)
class _Layer:
    source: str  # for messages: 'project file /x/.codegen-lsp.toml', 'environment', ...
    data: dict[str, Any]


def _suggest(key: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_table(
    raw: Any, schema: Mapping[str, Validator], source: str, where: str, *, from_file: bool
) -> dict[str, Any]:
    """Validate one table: known keys, right types; returns it with snake_case keys."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: {where or 'configuration'}: expected a table")
    out: dict[str, Any] = {}
    for raw_key, value in raw.items():
        key = snake_case(str(raw_key))
        path = f"{where}.{key}" if where else key
        if from_file and key in _SECRET_KEYS:
            raise ConfigError(
                f"{source}: {path}: API keys must not be written in configuration files. "
                f'Put the key in an environment variable and reference it: api_key_env = "MY_API_KEY".'
            )
        if key not in schema:
            raise ConfigError(f"{source}: unknown key {path!r}{_suggest(key, schema)}")
        validator = schema[key]
        if validator is dict:
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: {path}: expected a table")
            out[key] = dict(value)
            continue
        try:
            out[key] = validator(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: {path}: {exc} (got {value!r})") from None
    return out


def validate_options(raw: Any, source: str, *, from_file: bool) -> dict[str, Any]:
    """Check a whole options tree (any layer) and return it normalised to snake_case."""
    top = _check_table(raw, _TOP_KEYS, source, "", from_file=from_file)
    if "timeouts" in top:
        top["timeouts"] = _check_table(
            top["timeouts"], _TIMEOUT_KEYS, source, "timeouts", from_file=from_file
        )
    if "context" in top:
        top["context"] = _check_table(top["context"], _CONTEXT_KEYS, source, "context", from_file=from_file)
    for table, schema in (("providers", _PROVIDER_KEYS), ("actions", _ACTION_KEYS)):
        if table not in top:
            continue
        entries: dict[str, Any] = {}
        for name, body in top[table].items():
            where = f"{table}.{name}"
            entry = _check_table(body, schema, source, where, from_file=from_file)
            if "timeouts" in entry:
                entry["timeouts"] = _check_table(
                    entry["timeouts"], _TIMEOUT_KEYS, source, f"{where}.timeouts", from_file=from_file
                )
            entries[str(name)] = entry
        top[table] = entries
    return top


def user_config_path(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "codegen-lsp" / "config.toml"


def find_project_file(start: Path) -> Path | None:
    """The nearest ``.codegen-lsp.toml`` at or above ``start``."""
    here = start if start.is_dir() else start.parent
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path, label: str) -> _Layer:
    # Imported here: tomllib pulls in datetime (~25 ms), which the server's start-up should only
    # pay when a config file exists.
    import tomllib

    source = f"{label} {path}"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot be read: {exc}") from None
    data = validate_options(raw, source, from_file=True)
    # A model file named in a config file is relative to that file, not to wherever the editor
    # or the shell happened to start the server.
    for provider in data.get("providers", {}).values():
        if "model_path" in provider:
            provider["model_path"] = str(path.parent / Path(provider["model_path"]).expanduser())
    return _Layer(source, data)


def _env_layer(environ: Mapping[str, str]) -> _Layer | None:
    data: dict[str, Any] = {}
    for var, key in (
        (ENV_PROVIDER, "provider"),
        (ENV_BASE_URL, "base_url"),
        (ENV_MODEL, "model"),
        (ENV_API_KEY, "api_key"),
    ):
        value = environ.get(var, "").strip()
        if value:
            data[key] = value
    if not data:
        return None
    return _Layer("environment", data)


def _merge(into: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value


def _timeouts(raw: Mapping[str, Any] | None, base: Timeouts) -> Timeouts:
    return replace(base, **raw) if raw else base


def _build_provider(name: str, raw: Mapping[str, Any], default_timeouts: Timeouts) -> ProviderSettings:
    preset_name = raw.get("preset") or name
    preset = presets.get_preset(preset_name)
    if raw.get("preset") and preset is None:
        known = ", ".join(presets.PRESETS)
        raise ConfigError(f"providers.{name}.preset: unknown preset {preset_name!r}; known presets: {known}")
    kind = raw.get("type") or (preset.type if preset else "openai")
    fields: dict[str, Any] = {
        "name": name,
        "type": kind,
        "base_url": raw.get("base_url") or (preset.base_url if preset else None),
        "model": raw.get("model") or (preset.model if preset else None),
        "api_key_env": raw.get("api_key_env") or (preset.api_key_env if preset else None),
        "timeouts": _timeouts(raw.get("timeouts"), default_timeouts),
    }
    for key in ("headers", "max_retries", "temperature", "max_tokens", "model_path", "n_ctx", "n_threads"):
        if key in raw:
            fields[key] = raw[key]
    settings = ProviderSettings(**fields)
    if settings.type == "openai" and not settings.base_url:
        raise ConfigError(
            f"providers.{name}: no base_url. Set base_url (e.g. http://localhost:11434/v1) "
            f"or preset = one of: {', '.join(presets.PRESETS)}"
        )
    return settings


def _local_available() -> bool:
    from codegen_lsp import localmodel

    return localmodel.local_available()


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
    layers: list[_Layer] = []
    if use_files:
        user_file = user_config_path(env)
        if user_file.is_file():
            layers.append(_read_toml(user_file, "user config"))
        project_file = find_project_file(root or Path.cwd())
        if project_file is not None:
            layers.append(_read_toml(project_file, "project config"))
    env_layer = _env_layer(env)
    if env_layer is not None:
        layers.append(env_layer)
    if overrides:
        clean = {k: v for k, v in overrides.items() if v is not None}
        layers.append(_Layer(overrides_source, validate_options(clean, overrides_source, from_file=False)))
    return _settle(layers)


def _settle(layers: list[_Layer]) -> Settings:
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for layer in layers:
        _merge(merged, layer.data)
        for key in layer.data:
            origins[key] = layer.source
    timeouts = _timeouts(merged.get("timeouts"), Timeouts())

    providers: dict[str, ProviderSettings] = {}
    for name, raw in merged.get("providers", {}).items():
        try:
            providers[name] = _build_provider(name, raw, timeouts)
        except ConfigError as exc:
            source = origins.get("providers", "configuration")
            raise ConfigError(f"{source}: {exc}") from None

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
            raise ConfigError(
                f"{origins['provider']}: provider {active!r} is neither a preset nor defined under "
                f"[providers.{active}]{_suggest(active, dict.fromkeys(names))}; known: {', '.join(names)}"
            )
        if preset is None and not base_url:
            raise ConfigError(f"{origins['provider']}: provider {active!r} needs a base_url")
        providers[active] = _build_provider(active, {"base_url": base_url} if base_url else {}, timeouts)
    if active is None and merged.get("auto_local", True) and _local_available():
        active = "local"
        providers.setdefault("local", _build_provider("local", {}, timeouts))
        origins["provider"] = "default (the embedded local model is installed)"

    if active is not None:
        chosen = providers[active]
        changes: dict[str, Any] = {}
        if base_url and chosen.type == "openai":
            changes["base_url"] = base_url
        if merged.get("model"):
            changes["model"] = merged["model"]
        if merged.get("api_key_env"):
            changes["api_key_env"] = merged["api_key_env"]
        if merged.get("api_key"):
            changes["api_key"] = merged["api_key"]
        providers[active] = replace(chosen, **changes)

    for name in merged.get("fallback", ()):
        if name in providers:
            continue
        if presets.get_preset(name) is None:
            raise ConfigError(
                f"{origins['fallback']}: fallback provider {name!r} is neither a preset nor defined "
                f"under [providers.{name}]"
            )
        providers[name] = _build_provider(name, {}, timeouts)

    actions = {name: ActionSettings(name=name, **raw) for name, raw in merged.get("actions", {}).items()}
    for name, action in actions.items():
        if action.provider and action.provider not in providers:
            if presets.get_preset(action.provider) is None:
                raise ConfigError(
                    f"{origins['actions']}: actions.{name}.provider: unknown provider {action.provider!r}"
                )
            providers[action.provider] = _build_provider(action.provider, {}, timeouts)

    return Settings(
        providers=providers,
        provider=active,
        fallback=tuple(merged.get("fallback", ())),
        actions=actions,
        context=ContextSettings(**merged.get("context", {})),
        stream_edits=bool(merged.get("stream_edits", False)),
        apply_timeout=float(merged.get("apply_timeout", 60.0)),
        origins=origins,
    )


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(what, value, where it came from) rows for ``codegen-lsp check``; never shows a key."""
    rows: list[tuple[str, str, str]] = []
    if settings.provider is None:
        return [("provider", "(none)", "nothing configured and the embedded model is not installed")]
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
        rows.append(
            ("model file", chosen.model_path or "(SmolLM2-135M-Instruct, built in)", "provider setting")
        )
    if settings.fallback:
        rows.append(("fallback", ", ".join(settings.fallback), settings.origins.get("fallback", "")))
    return rows
