"""What a handler may use of the server: the :class:`Session` protocol.

Command handlers, job bodies and delivery take a ``Session``, never the concrete
:class:`~codegen_lsp.lsp.server.CodegenServer`, so the server module imports them and nothing
imports it back (ruff's ``ruff_server`` hands its handlers ``session, client, params`` for the
same reason). A session is the server's state (open documents, jobs, settings, the provider
pool, the client's edit support, the workspace root) plus the calls that reach the editor:
messages, ``workspace/applyEdit`` with its timeout, work-done progress and ``window/showDocument``.
``protocol`` is there for what pygls keeps on it: the converter for command arguments and the
future of the request being handled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lsprotocol import types as lsp

if TYPE_CHECKING:
    from pygls.progress import Progress
    from pygls.protocol import JsonRPCProtocol

    from codegen_lsp.core.settings import Settings
    from codegen_lsp.lsp.documents import DocumentStore
    from codegen_lsp.lsp.edits import EditSupport
    from codegen_lsp.lsp.jobs import JobManager
    from codegen_lsp.lsp.pool import ProviderPool


class Session(Protocol):
    """The server as its handlers see it (:class:`~codegen_lsp.lsp.server.CodegenServer` is one)."""

    # state

    @property
    def documents(self) -> DocumentStore: ...
    @property
    def jobs(self) -> JobManager: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def providers(self) -> ProviderPool: ...
    @property
    def edit_support(self) -> EditSupport: ...
    @property
    def root(self) -> Path | None: ...
    @property
    def client_capabilities(self) -> lsp.ClientCapabilities: ...
    @property
    def protocol(self) -> JsonRPCProtocol: ...
    @property
    def trust_told(self) -> set[tuple[str, str]]:
        """(path, sha256) of the untrusted project files the user was told about."""
        ...

    def resolve_settings(self, *, announce: bool) -> None: ...

    # calls to the editor

    def show(self, kind: lsp.MessageType, message: str) -> None: ...
    def log(self, message: str, kind: lsp.MessageType = lsp.MessageType.Log) -> None: ...
    def warn(self, message: str) -> None: ...
    def error(self, message: str, *, details: str | None = None) -> None: ...
    async def ask(self, kind: lsp.MessageType, message: str, choices: tuple[str, ...]) -> str | None: ...
    async def request_apply(self, edit: lsp.WorkspaceEdit, label: str) -> lsp.ApplyWorkspaceEditResult | None:
        """``workspace/applyEdit``: the editor's answer (an error answer as a refusal in its words),
        or None when no answer came within ``apply_timeout`` or it could not be read. Never raises
        for what the editor answers. Callers hold the document's turn (``jobs.turn``)."""
        ...

    @property
    def work_done_progress(self) -> Progress: ...
    async def window_show_document_async(self, params: lsp.ShowDocumentParams) -> lsp.ShowDocumentResult: ...
