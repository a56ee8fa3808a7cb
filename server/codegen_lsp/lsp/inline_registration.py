"""Inline completion's place in the server: ``textDocument/inlineCompletion`` registered, the
opt-in ``textDocument/completion`` fallback offered (advertised in the ``initialize`` answer when
the setting is there at start, registered dynamically when it arrives later, or the user told
where it must go), and the modules of the first suggestion imported in a thread once they will be
needed. The requests themselves are served by :class:`~codegen_lsp.lsp.inline.InlineCompletion`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from codegen_lsp.lsp.inline import InlineCompletion

log = logging.getLogger(__name__)

_FALLBACK_REGISTRATION = "codegen-inline-completion-fallback"


def register(server: LanguageServer, service: InlineCompletion) -> None:
    """Serve ``textDocument/inlineCompletion`` (advertised: pygls needs the options object)."""

    @server.feature(lsp.TEXT_DOCUMENT_INLINE_COMPLETION, lsp.InlineCompletionOptions())
    async def inline_completion(params: lsp.InlineCompletionParams) -> list[lsp.InlineCompletionItem]:
        return await service.inline_completion(params)


def offer_fallback(server: LanguageServer, service: InlineCompletion) -> bool:
    """Serve ``textDocument/completion`` when ``inline.completionFallback`` asks for it; True when
    this call added it. Called while ``initialize`` is answered, it is advertised in that answer."""
    if service.fallback_registered or not (
        service.host.settings.inline.enabled and service.host.settings.inline.completion_fallback
    ):
        return False

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(resolve_provider=False))
    async def completion(params: lsp.CompletionParams) -> lsp.CompletionList | None:
        return await service.completion(params)

    service.fallback_registered = True
    return True


async def settings_applied(server: LanguageServer, service: InlineCompletion) -> None:
    """After ``initialized`` and every configuration change: offer the completion fallback if it
    was turned on meanwhile, and import what the first suggestion needs, in a thread, so that
    the first keystroke does not pay for it on the event loop."""
    await _offer_fallback_later(server, service)
    text_document = server.client_capabilities.text_document
    wanted = bool(text_document and text_document.inline_completion) or service.fallback_registered
    if wanted and service.host.settings.inline.enabled and not service.warmed:
        service.warmed = True
        await asyncio.to_thread(_import_for_suggestions)


def _import_for_suggestions() -> None:
    import codegen_lsp.core.suggestion
    import codegen_lsp.core.typethrough
    import codegen_lsp.providers.factory  # noqa: F401


async def _offer_fallback_later(server: LanguageServer, service: InlineCompletion) -> None:
    """The setting arrived after ``initialize`` (pulled or pushed configuration): register the
    completion fallback dynamically where the client accepts that, else say where it must go."""
    text_document = server.client_capabilities.text_document
    completion = text_document.completion if text_document else None
    dynamic = bool(completion and completion.dynamic_registration)
    wanted = service.host.settings.inline.completion_fallback and not service.fallback_registered
    if wanted and not dynamic:
        if service.fallback_refused:
            return
        service.fallback_refused = True
        service.host.warn(
            "Codegen: inline.completionFallback takes effect when the server starts, since this "
            "editor cannot add completion to a running server: put it in the initialization "
            "options or a config file and restart the server."
        )
        return
    if not offer_fallback(server, service):
        return
    try:
        await server.client_register_capability_async(
            lsp.RegistrationParams(
                registrations=[
                    lsp.Registration(
                        id=f"{_FALLBACK_REGISTRATION}-{uuid.uuid4().hex[:8]}",
                        method=lsp.TEXT_DOCUMENT_COMPLETION,
                        register_options=lsp.CompletionRegistrationOptions(document_selector=None),
                    )
                ]
            )
        )
    except Exception:
        log.warning("the editor refused to register the completion fallback", exc_info=True)
