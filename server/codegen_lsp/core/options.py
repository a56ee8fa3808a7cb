"""Raw options: what keys each layer may hold, checking one layer, and merging layers.

Options arrive as nested tables (TOML files, environment, CLI flags, the editor's settings) with
snake_case or camelCase keys. Which keys exist and how each value is checked is declared once, on
the fields of :mod:`codegen_lsp.core.settings`; this module derives from those declarations the
keys of every table (:func:`options_of`, :func:`top_level_options`), camelCase wire names and
did-you-mean suggestions in the user's own case style, checks a layer (:func:`validate_options`)
and merges layers (:func:`merge`). It also derives, from the ``routes`` and ``sane_max`` of each
declaration, what a project file the user has not trusted may set (:func:`split_untrusted`).
:mod:`codegen_lsp.core.config` reads the layers and turns them into settings.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from codegen_lsp import redaction
from codegen_lsp.core.settings import Check, ProviderSettings, Settings, Table
from codegen_lsp.core.trust import Untrusted
from codegen_lsp.errors import ConfigError

#: keys that hold a secret wherever they appear: refused in files
_SECRET_KEYS = {"api_key", "apikey", "key", "token", "secret", "password"}
#: keys whose rejected value is never quoted back: it may be a key typed into the wrong field
_QUIET_KEYS = {*_SECRET_KEYS, "api_key_env", "headers"}

OnInvalid = Callable[[ConfigError], None]


def snake_case(key: str) -> str:
    """``baseUrl`` → ``base_url``; snake_case keys pass unchanged."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def camel_case(key: str) -> str:
    """``base_url`` → ``baseUrl``: the key's name on the wire (editor settings)."""
    head, *rest = key.split("_")
    return head + "".join(word.capitalize() for word in rest)


@cache
def options_of(cls: type) -> Mapping[str, Check | Table]:
    """The option keys of a settings class inside a table, each with its check."""
    return MappingProxyType(
        {
            f.name: f.metadata["check"]
            for f in dataclasses.fields(cls)
            if "check" in f.metadata and f.metadata["in_table"]
        }
    )


@cache
def _top_level_provider_options() -> Mapping[str, Check | Table]:
    fields = dataclasses.fields(ProviderSettings)
    return {f.name: f.metadata["check"] for f in fields if f.metadata.get("top_level")}


def top_level_provider_keys() -> Iterable[str]:
    """The provider options also accepted at the top level, for the active provider."""
    return _top_level_provider_options().keys()


@cache
def top_level_options() -> Mapping[str, Check | Table]:
    """The keys of a whole options tree: the settings' own and the active provider's shortcuts."""
    return MappingProxyType({**options_of(Settings), **_top_level_provider_options()})


def suggest(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the name in ``known`` closest to ``word``, or nothing."""
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _suggest_key(raw_key: str, known: Iterable[str]) -> str:
    """A did-you-mean for an unknown key, in the case style the user wrote it in."""
    key = snake_case(raw_key)
    close = difflib.get_close_matches(key, list(known), n=1)
    if not close:
        return ""
    guess = camel_case(close[0]) if key != raw_key else close[0]
    return f" (did you mean {guess!r}?)"


# --- checking one layer ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer of options, checked and snake_case, and where it came from (for messages)."""

    source: str  # 'project config /x/.codegen-lsp.toml', 'environment', 'command line', ...
    data: Mapping[str, Any]
    #: a project file not trusted: what was left out of ``data`` for that reason
    untrusted: Untrusted | None = None


@dataclass(frozen=True, slots=True)
class _Checker:
    source: str
    from_file: bool
    on_invalid: OnInvalid | None

    def invalid(self, key: str, problem: str) -> None:
        error = ConfigError(f"{self.source}: {problem}", source=self.source, key=key)
        if self.on_invalid is None:
            raise error
        self.on_invalid(error)

    def table(
        self, raw: Mapping[Any, Any], schema: Mapping[str, Check | Table], at: str, shown_at: str
    ) -> dict[str, Any]:
        """``raw`` checked against ``schema``; ``at``/``shown_at``: its dotted key, as stored and as written."""
        out: dict[str, Any] = {}
        for raw_key, value in raw.items():
            key = snake_case(str(raw_key))
            path = f"{at}.{key}" if at else key
            shown = f"{shown_at}.{raw_key}" if shown_at else str(raw_key)
            check = schema.get(key)
            if self.from_file and key in _SECRET_KEYS:
                self.invalid(
                    path,
                    f"{shown}: API keys must not be written in configuration files. Put the key in an "
                    'environment variable and reference it: api_key_env = "MY_API_KEY".',
                )
            elif check is None:
                self.invalid(path, f"unknown key {shown!r}{_suggest_key(str(raw_key), schema)}")
            elif not isinstance(check, Table):
                try:
                    out[key] = check(value)
                except (TypeError, ValueError) as exc:
                    self.invalid(path, f"{shown}: {exc}{_got(key, value)}")
            elif not isinstance(value, Mapping):
                self.invalid(path, f"{shown}: expected a table")
            elif not check.named:
                out[key] = self.table(value, options_of(check.of), path, shown)
            else:
                entries: dict[str, Any] = {}
                for name, body in value.items():
                    if isinstance(body, Mapping):
                        entries[str(name)] = self.table(
                            body, options_of(check.of), f"{path}.{name}", f"{shown}.{name}"
                        )
                    else:
                        self.invalid(f"{path}.{name}", f"{shown}.{name}: expected a table")
                out[key] = entries
        return out


def _got(key: str, value: Any) -> str:
    """`` (got 'x')`` for a rejected value, unless it may be a secret: then it is never echoed."""
    if key in _QUIET_KEYS or redaction.looks_like_key(value):
        if isinstance(value, str) and value:
            # A key typed into the wrong field is a key all the same: hide it everywhere from now on.
            redaction.remember(value)
        return " (the value is not shown: it may be a secret)"
    return f" (got {value!r})"


def validate_options(
    raw: Any, source: str, *, from_file: bool, on_invalid: OnInvalid | None = None
) -> dict[str, Any]:
    """Check a whole options tree (any layer) and return it normalised to snake_case.

    The first problem raises :class:`ConfigError`; with ``on_invalid``, each problem is handed
    to it instead and only the offending key is left out.
    """
    checker = _Checker(source, from_file, on_invalid)
    if not isinstance(raw, Mapping):
        checker.invalid("", "configuration: expected a table")
        return {}
    return checker.table(raw, top_level_options(), "", "")


# --- merging layers ---------------------------------------------------------------------------


def merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers win; tables (providers, one provider's timeouts, actions) merge key by key."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = merge(merged[key], value)
            else:
                merged[key] = merge(value) if isinstance(value, Mapping) else value
    return merged


# --- what an untrusted project file may set --------------------------------------------------


@cache
def _policies(cls: type) -> Mapping[str, tuple[bool, float | None]]:
    """``(routes, sane_max)`` of each option of a settings class (see ``settings.option``)."""
    return MappingProxyType(
        {
            f.name: (f.metadata["routes"], f.metadata["sane_max"])
            for f in dataclasses.fields(cls)
            if "check" in f.metadata
        }
    )


@cache
def _top_level_policies() -> Mapping[str, tuple[bool, float | None]]:
    provider = _policies(ProviderSettings)
    shortcuts = {key: provider[key] for key in _top_level_provider_options()}
    return MappingProxyType({**_policies(Settings), **shortcuts})


def split_untrusted(data: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """What a project file the user has not trusted may set, and what it may not.

    Returns ``data`` (a checked layer) without the options that route and the values beyond their
    sane maximum, and the dotted keys left out, as the user wrote them.
    """
    ignored: list[str] = []
    kept = _harmless(data, top_level_options(), _top_level_policies(), "", ignored)
    return kept, tuple(ignored)


def _harmless(
    data: Mapping[str, Any],
    schema: Mapping[str, Check | Table],
    policies: Mapping[str, tuple[bool, float | None]],
    at: str,
    ignored: list[str],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{at}{key}"
        # A key without a policy cannot pass validation; if one ever did, it waits for trust.
        routes, sane_max = policies.get(key, (True, None))
        check = schema.get(key)
        if routes or check is None:
            ignored.append(path)
        elif isinstance(check, Table):
            inner_schema, inner_policies = options_of(check.of), _policies(check.of)
            if check.named:
                entries = {}
                for name, body in value.items():
                    kept = _harmless(body, inner_schema, inner_policies, f"{path}.{name}.", ignored)
                    if kept or not body:
                        entries[name] = kept
                if entries:
                    out[key] = entries
            elif kept := _harmless(value, inner_schema, inner_policies, f"{path}.", ignored):
                out[key] = kept
        elif sane_max is not None and isinstance(value, int | float) and value > sane_max:
            ignored.append(f"{path} = {value:g} (more than {sane_max:g})")
        else:
            out[key] = value
    return out
