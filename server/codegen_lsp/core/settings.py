"""Resolved, frozen settings, each declared once: its type, its default and the check of its option.

Raw *options* (TOML files, environment, CLI flags, LSP initializationOptions and
workspace/configuration) are merged and validated by :mod:`codegen_lsp.core.config` into these
objects. Every field that is also an option is declared with :func:`option`, which puts the check
of a raw value on the field itself; config derives the rest from these declarations (the keys it
accepts, did-you-mean suggestions, camelCase wire names, what ``codegen-lsp check`` shows), so
adding a setting is adding one line here. A check returns the value to store or raises
``TypeError``/``ValueError`` with the problem in words. Nothing here holds a secret read from a
file: ``api_key`` is only ever filled at run time from an environment variable, a CLI flag or the
editor's secret storage, and is excluded from ``repr`` so it cannot leak into logs. Each option
also says whether it *routes* — decides where code, keys or requests go — or has a *sane maximum*:
from a project file such an option applies only once the user trusted the file
(:mod:`codegen_lsp.core.trust`); the declaration is the one place that says so.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from codegen_lsp import redaction
from codegen_lsp.core.infill import FIM_FORMATS, FimFormat
from codegen_lsp.core.types import ApplyMode

if TYPE_CHECKING:
    # only an annotation here: the trust store (hashlib, tempfile) loads with the configuration
    from codegen_lsp.core.trust import Untrusted

ProviderType = Literal["openai", "local"]
Check = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Table:
    """The check of an option that is a table of the options of ``of`` (``named``: NAME → table)."""

    of: type
    named: bool = False


def option(
    default: Any = dataclasses.MISSING,
    *,
    check: Check | Table,
    factory: Callable[[], Any] | None = None,
    top_level: bool = False,
    in_table: bool = True,
    repr: bool = True,
    routes: bool = False,
    sane_max: float | None = None,
) -> Any:
    """A field that is also an option key, checked by ``check`` when it arrives raw.

    ``top_level``: a provider option also accepted at the top level, for the active provider.
    ``in_table``: False for one that is *only* accepted there (a key handed over at run time).
    ``routes``: it decides where code, keys or requests go (a host, a key variable, headers, a
    model or provider, a model file): a project file sets it only once the user trusted that file.
    ``sane_max``: above this a value from a project file also waits for trust (a context window
    or token limit that would send or cost far more than usual).
    """
    metadata = {
        "check": check,
        "top_level": top_level,
        "in_table": in_table,
        "routes": routes,
        "sane_max": sane_max,
    }
    if factory is not None:
        return field(default_factory=factory, repr=repr, metadata=metadata)
    return field(default=default, repr=repr, metadata=metadata)


# --- checks of raw option values ------------------------------------------------------------------


def check_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


def check_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("expected a number")
    if value < 0:
        raise ValueError("must not be negative")
    return float(value)


def check_positive_number(value: Any) -> float:
    number = check_number(value)
    if number == 0:
        raise ValueError("must be greater than 0")
    return number


def check_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected a whole number")
    if value < 0:
        raise ValueError("must not be negative")
    return value


def check_positive_int(value: Any) -> int:
    number = check_int(value)
    if number == 0:
        raise ValueError("must be greater than 0")
    return number


def check_opt_int(value: Any) -> int | None:
    return None if value is None else check_int(value)


def check_opt_number(value: Any) -> float | None:
    return None if value is None else check_number(value)


def check_names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise TypeError("expected a list of names")
    return tuple(value)


def check_headers(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError("expected a table of header names to string values")
    return dict(value)


def check_provider_type(value: Any) -> ProviderType:
    if value == "openai":
        return "openai"
    if value == "local":
        return "local"
    raise ValueError('expected "openai" (any OpenAI-compatible endpoint) or "local"')


def check_apply_mode(value: Any) -> ApplyMode:
    try:
        return ApplyMode(value)
    except ValueError:
        choices = ", ".join(m.value for m in ApplyMode)
        raise ValueError(f"expected one of {choices}") from None


def check_fim_format(value: Any) -> FimFormat | None:
    if value is None:
        return None
    for name in FIM_FORMATS:
        if value == name:
            return name
    raise ValueError(f"expected one of {', '.join(FIM_FORMATS)}")


def check_env_name(value: Any) -> str:
    name = check_str(value)
    # A key can be a valid identifier (ghp_…, a hex key): variables are named in capitals.
    key_like = redaction.looks_like_key(name) and not name.isupper()
    if key_like or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(
            "must be the NAME of an environment variable holding the key (like OPENAI_API_KEY), not the key"
        )
    return name


# --- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. Defaults suit slow local models: a CPU model may think for minutes.

    ``first_token`` and ``idle`` count only content (answer or reasoning text): empty deltas and
    keep-alive comments do not reset them. ``total`` bounds one request from its start to its
    last byte, for a server that never stops (one that ignores ``max_tokens``).
    """

    connect: float = option(10.0, check=check_positive_number)
    first_token: float = option(180.0, check=check_positive_number)
    idle: float = option(60.0, check=check_positive_number)
    total: float = option(600.0, check=check_positive_number)


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    name: str
    type: ProviderType = option("openai", check=check_provider_type, routes=True)
    base_url: str | None = option(None, check=check_str, top_level=True, routes=True)
    model: str | None = option(None, check=check_str, top_level=True, routes=True)
    api_key_env: str | None = option(None, check=check_env_name, top_level=True, routes=True)
    api_key: str | None = option(
        None, check=check_str, top_level=True, in_table=False, repr=False, routes=True
    )
    #: extra HTTP headers; their values may be credentials, so they stay out of ``repr``
    headers: Mapping[str, str] = option(check=check_headers, factory=dict, repr=False, routes=True)
    #: sent as the request's ``user`` field, e.g. for a gateway's per-user budgets and spend logs; it
    #: says whom requests are charged to, so a project file sets it only once trusted
    user: str | None = option(None, check=check_str, routes=True)
    timeouts: Timeouts = option(check=Table(Timeouts), factory=Timeouts, top_level=True)
    max_retries: int = option(2, check=check_int, sane_max=5)
    temperature: float | None = option(0.2, check=check_opt_number)
    max_tokens: int | None = option(1024, check=check_opt_int, sane_max=8192)
    #: the most answer text (characters) one request may bring, whatever max_tokens the server
    #: honours; a line of the stream may hold 4 bytes per character of it (JSON escapes), at
    #: least 1 MiB, before it is refused unread
    max_answer_chars: int = option(262_144, check=check_positive_int, top_level=True, sane_max=4 * 2**20)
    #: how this provider fills in the middle (inline completion); None: a fill-in prompt over chat
    fim_format: FimFormat | None = option(None, check=check_fim_format)
    # type = "local" only (``model`` names an embedded model unless model_path is set)
    model_path: str | None = option(None, check=check_str, routes=True)
    n_ctx: int = option(4096, check=check_int, sane_max=32768)
    n_threads: int | None = option(None, check=check_opt_int, sane_max=64)
    #: seconds a loaded model may sit unused before its memory is released; 0 keeps it loaded
    unload_after: float = option(600.0, check=check_number)
    #: the preset that filled in type, base URL, model and key variable (by name or ``preset = …``)
    preset: str | None = option(None, check=check_str, routes=True)

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
    title: str | None = option(None, check=check_str)
    prompt: str | None = option(None, check=check_str)
    system: str | None = option(None, check=check_str)
    provider: str | None = option(None, check=check_str, routes=True)
    model: str | None = option(None, check=check_str, routes=True)
    apply: ApplyMode | None = option(None, check=check_apply_mode)
    temperature: float | None = option(None, check=check_opt_number)
    max_tokens: int | None = option(None, check=check_opt_int, sane_max=8192)


@dataclass(frozen=True, slots=True)
class ContextSettings:
    lines_before: int = option(60, check=check_int, sane_max=1000)
    lines_after: int = option(20, check=check_int, sane_max=1000)
    #: rough token budget for the user message (4 characters ≈ 1 token)
    token_budget: int = option(3000, check=check_int, sane_max=16000)


@dataclass(frozen=True, slots=True)
class InlineSettings:
    """Inline completion (ghost text, and the completion-list fallback); LSP only.

    ``provider`` names its own provider (a preset or a ``[providers.NAME]`` table), so a small fast
    fill-in-the-middle model can serve ghost text while actions use a big remote one; None: the
    active provider. Token and character budgets resolve into
    :class:`~codegen_lsp.core.inline.InlineOptions`.
    """

    enabled: bool = option(True, check=check_bool)
    provider: str | None = option(None, check=check_str, routes=True)
    #: the model asked (None: the provider's own)
    model: str | None = option(None, check=check_str, routes=True)
    #: seconds an automatic request waits for the next keystroke before asking the model (0.2:
    #: ~24 model calls per 100 keystrokes in bench/inline_bench's typing replay, 0.1: ~40)
    debounce: float = option(0.2, check=check_number)
    #: max tokens of a one-line suggestion, and of a multi-line one
    line_tokens: int = option(64, check=check_positive_int, sane_max=1024)
    block_tokens: int = option(256, check=check_positive_int, sane_max=4096)
    #: most lines of a multi-line suggestion
    block_lines: int = option(16, check=check_positive_int, sane_max=200)
    #: characters of text before / after the cursor sent at most; None: chosen for the provider
    #: (a model run in-process gets less: this CPU evaluates it, the suffix on every keystroke)
    prefix_chars: int | None = option(None, check=check_opt_int, sane_max=64000)
    suffix_chars: int | None = option(None, check=check_opt_int, sane_max=32000)
    temperature: float | None = option(0.1, check=check_opt_number)
    #: offer the suggestion as one textDocument/completion item, for editors without inline completion
    completion_fallback: bool = option(False, check=check_bool)
    #: seconds a completion request waits for the suggestion; it never waits longer, since editors
    #: send typing and explicit requests alike as "invoked" and some wait for every source
    completion_wait: float = option(0.1, check=check_number)


@dataclass(frozen=True, slots=True)
class Settings:
    #: a provider defined by a project file is a destination for code and keys: all of it routes
    providers: Mapping[str, ProviderSettings] = option(
        check=Table(ProviderSettings, named=True), factory=dict, routes=True
    )
    #: the active provider's name; None when nothing is configured or available
    provider: str | None = option(None, check=check_str, routes=True)
    fallback: tuple[str, ...] = option((), check=check_names, routes=True)
    actions: Mapping[str, ActionSettings] = option(check=Table(ActionSettings, named=True), factory=dict)
    context: ContextSettings = option(check=Table(ContextSettings), factory=ContextSettings)
    inline: InlineSettings = option(check=Table(InlineSettings), factory=InlineSettings)
    #: LSP only: insert code line by line as it streams
    stream_edits: bool = option(False, check=check_bool)
    #: LSP only: seconds to wait for the editor to answer workspace/applyEdit
    apply_timeout: float = option(60.0, check=check_positive_number)
    #: with no provider set, use the embedded local model when it is installed
    auto_local: bool = option(True, check=check_bool)
    #: where each option came from, by dotted key ("provider", "context.lines_before") -> "environment"
    origins: Mapping[str, str] = field(default_factory=dict)
    #: a project file whose routing options were left out because the user has not trusted it
    untrusted: Untrusted | None = None

    def provider_chain(self, action: str | None = None) -> tuple[ProviderSettings, ...]:
        """The providers to try, in order, for ``action``: its own, the active one, then fallbacks."""
        own = self.actions[action].provider if action is not None and action in self.actions else None
        names: list[str] = []
        for name in (own, self.provider, *self.fallback):
            if name and name not in names and name in self.providers:
                names.append(name)
        return tuple(self.providers[n] for n in names)
