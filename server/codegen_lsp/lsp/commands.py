"""The command ids and what their answers say; ``codegen.cancel`` and ``codegen.checkProvider``.

``codegen.generate`` lives in generation.py; its answer is :func:`outcome`: the job id, a
:class:`Status`, a message for the user and whatever the status carries (the shown text, the new
file's URI). ``codegen.trustProjectConfig`` lives in trust.py.

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

if TYPE_CHECKING:
    from codegen_lsp.lsp.session import Session

NO_PROVIDER = (
    "Codegen: no model provider is configured. Set `codegen.provider` (a preset such as openai, "
    "ollama or openrouter) or `codegen.baseUrl` + `codegen.model` in the editor's settings, or "
    "export CODEGEN_LSP_BASE_URL / CODEGEN_LSP_PROVIDER, or install the embedded model with "
    "pip install 'codegen-lsp[local]'. Run the command codegen.checkProvider to test it."
)


class Command(StrEnum):
    """The commands the server executes (``workspace/executeCommand``)."""

    GENERATE = "codegen.generate"
    CANCEL = "codegen.cancel"
    CHECK_PROVIDER = "codegen.checkProvider"
    TRUST_PROJECT_CONFIG = "codegen.trustProjectConfig"


class Status(StrEnum):
    """How a ``codegen.generate`` job ended: the ``status`` of its answer."""

    #: the edit is in the document (or the new file exists)
    APPLIED = "applied"
    #: the answer was prose (or a file this editor cannot create), shown as a message
    SHOWN = "shown"
    #: the user edited the target meanwhile, or closed the document: nothing was written
    CONFLICT = "conflict"
    #: the user edited what the answer was made from (the comment that asked for it): the answer
    #: is for the old text, so nothing was written
    STALE = "stale"
    #: the editor answered applied: false, or with an error (eglot, when the user declines)
    REJECTED = "rejected"
    #: the editor did not answer workspace/applyEdit in time, or answered what cannot be read:
    #: the edit may or may not be there
    UNCONFIRMED = "unconfirmed"
    #: cancelled (command, progress, $/cancelRequest, a newer job, closing or reopening the
    #: document, shutdown)
    CANCELLED = "cancelled"
    #: bad arguments, no provider, a provider error or an internal one
    FAILED = "failed"


def outcome(job_id: str | None, status: Status, message: str | None = None, **extra: Any) -> dict[str, Any]:
    """A ``codegen.generate`` answer: ``{jobId, status, message?, ...extra}``."""
    answer: dict[str, Any] = {"jobId": job_id, "status": status}
    if message:
        answer["message"] = message
    answer.update(extra)
    return answer


def cancel(ls: Session, target: Any = None) -> dict[str, Any]:
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


async def check_provider(ls: Session) -> dict[str, Any]:
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
