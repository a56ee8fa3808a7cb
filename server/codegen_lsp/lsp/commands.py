"""``codegen.cancel`` and ``codegen.checkProvider``; ``codegen.generate`` lives in generation.py.

``codegen.cancel`` takes nothing (every job), a job id (as returned by ``codegen.generate`` and
used as the progress token), a document URI, or an object ``{jobId?, uri?}``, and answers with
the ids it cancelled. ``codegen.checkProvider`` sends one tiny request through the provider chain
the settings select and reports the outcome as a message, the same check the CLI's ``check``
runs; its answer carries the same text.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from codegen_lsp.errors import CodegenError
from codegen_lsp.lsp.generation import NO_PROVIDER

if TYPE_CHECKING:
    from codegen_lsp.lsp.server import CodegenServer


class Command(StrEnum):
    """The commands the server executes (``workspace/executeCommand``)."""

    GENERATE = "codegen.generate"
    CANCEL = "codegen.cancel"
    CHECK_PROVIDER = "codegen.checkProvider"


def cancel(ls: CodegenServer, target: Any = None) -> dict[str, Any]:
    job_id: str | None = None
    uri: str | None = None
    if isinstance(target, Mapping):
        job_id = target.get("jobId") or target.get("id")
        uri = target.get("uri")
    elif isinstance(target, str):
        if ls.jobs.get(target) is not None:
            job_id = target
        else:
            uri = target
    cancelled = ls.jobs.cancel(job_id=job_id, uri=uri, reason="cancelled by codegen.cancel")
    return {"cancelled": cancelled}


async def check_provider(ls: CodegenServer) -> dict[str, Any]:
    from codegen_lsp.providers.probe import probe

    settings = ls.settings
    if settings.provider is None:
        ls.error(NO_PROVIDER)
        return {"ok": False, "message": NO_PROVIDER}
    try:
        result = await probe(settings)
    except CodegenError as exc:
        message = f"Codegen: provider {settings.provider} failed: {exc}"
        ls.error(message, details=type(exc).__name__)
        return {"ok": False, "message": message}
    message = f"Codegen: provider {settings.provider} ({result.model}) works: {result.summary()}."
    ls.show(lsp.MessageType.Info, message)
    ls.log(message)
    return {"ok": True, "message": message}
