"""The language server: pygls wiring, server state, and ``run_server`` for ``codegen-lsp serve``.

Handlers stay thin: they keep the document store current, resolve settings when the editor's
options arrive, list code actions, and hand commands to :mod:`codegen_lsp.lsp.generation`,
:mod:`codegen_lsp.lsp.commands` and :mod:`codegen_lsp.lsp.trust`, which see the server only as a
:class:`~codegen_lsp.lsp.session.Session` (nothing imports this module back). Importing this
module must stay cheap (start-up time is measured): httpx, tree-sitter and the providers are
imported by the first generation, not here. Nothing but protocol goes to stdout; logs go to
stderr or ``--log-file``. The message helpers redact what they send (and the protocol redacts
every text on its way out); the one log handler redacts every record.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from codegen_lsp import __version__, redaction
from codegen_lsp.core.settings import Settings
from codegen_lsp.logs import RepeatLimiter
from codegen_lsp.lsp import actions, commands, edits, generation, inline, inline_registration, options, trust
from codegen_lsp.lsp.documents import DocumentStore
from codegen_lsp.lsp.edits import EditSupport
from codegen_lsp.lsp.jobs import JobManager
from codegen_lsp.lsp.pool import ProviderPool
from codegen_lsp.lsp.protocol import CodegenProtocol, UnreadableAnswer
from codegen_lsp.lsp.transport import serve_stdio, serve_tcp

log = logging.getLogger(__name__)

#: how long shutdown waits for jobs to close their streams and undo live edits
SHUTDOWN_GRACE = 1.0


class CodegenServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("codegen-lsp", __version__, protocol_cls=CodegenProtocol)
        self.documents = DocumentStore()
        self.jobs = JobManager()
        self.documents.subscribe(self.jobs.on_change)
        self.settings = Settings()
        #: provider chains shared by jobs, rebuilt when the settings change
        self.providers = ProviderPool()
        #: ghost text: one upstream request per document, typed-through cache, its own infill chain
        self.inline = inline.InlineCompletion(self)
        self.root: Path | None = None
        self.init_options: dict[str, Any] = {}
        self.section: dict[str, Any] = {}
        #: bumped on every pushed configuration, so a slower pull cannot overwrite a newer push
        self.section_epoch = 0
        self.edit_support = EditSupport(document_changes=False, create_files=False)
        #: (path, sha256) of the untrusted project files the user was told about
        self.trust_told: set[tuple[str, str]] = set()

    # messages: one place, so tests and users see the same texts (redacted here, and again by
    # the protocol for anything that bypasses these helpers)

    def show(self, kind: lsp.MessageType, message: str) -> None:
        self.window_show_message(lsp.ShowMessageParams(type=kind, message=redaction.redact(message)))

    def log(self, message: str, kind: lsp.MessageType = lsp.MessageType.Log) -> None:
        message = redaction.redact(message)
        log.info("%s", message)
        self.window_log_message(lsp.LogMessageParams(type=kind, message=message))

    def warn(self, message: str) -> None:
        self.show(lsp.MessageType.Warning, message)
        self.log(message, lsp.MessageType.Warning)

    def error(self, message: str, *, details: str | None = None) -> None:
        self.show(lsp.MessageType.Error, message)
        self.log(details or message, lsp.MessageType.Error)

    async def ask(self, kind: lsp.MessageType, message: str, choices: tuple[str, ...]) -> str | None:
        """``window/showMessageRequest``: the title the user chose, or None (dismissed, failed)."""
        params = lsp.ShowMessageRequestParams(
            type=kind,
            message=redaction.redact(message),
            actions=[lsp.MessageActionItem(title=choice) for choice in choices],
        )
        try:
            answer = await self.window_show_message_request_async(params)
        except Exception:
            log.warning("window/showMessageRequest failed", exc_info=True)
            return None
        return answer.title if answer is not None else None

    async def request_apply(self, edit: lsp.WorkspaceEdit, label: str) -> lsp.ApplyWorkspaceEditResult | None:
        """Send ``workspace/applyEdit``: the editor's answer, an error answer read as a refusal
        (:func:`~codegen_lsp.lsp.edits.error_answer`), or None when no usable answer came in time."""
        # Some editors ask the user first (eglot), and some never answer at all (ALE 3.3 applies
        # the edit silently), so a job must not wait forever; an unanswered edit is never
        # retried, since it may have been applied.
        limit = self.settings.apply_timeout
        try:
            answer = await asyncio.wait_for(
                self.workspace_apply_edit_async(lsp.ApplyWorkspaceEditParams(edit=edit, label=label)), limit
            )
        except TimeoutError:
            log.warning("%s: no answer to workspace/applyEdit within %g s", label, limit)
            return None
        except UnreadableAnswer:
            return None  # logged where it was read: the edit may or may not have been applied
        except JsonRpcException as exc:
            log.info("%s: workspace/applyEdit answered with error %s: %s", label, exc.code, exc.message)
            return edits.error_answer(exc)
        return answer

    def resolve_settings(self, *, announce: bool) -> None:
        resolution = options.resolve_settings(self.root, self.init_options, self.section)
        self.settings = resolution.settings
        # The pool would notice different settings at the next job; retiring now closes the idle
        # clients of the old settings at once (equal settings keep their chains and connections).
        if self.providers.serving is not None and self.providers.serving != self.settings:
            self.providers.retire()
        self.inline.settings_changed()
        if announce:
            for warning in resolution.warnings:
                self.warn(f"Codegen: {warning}")

    async def pull_configuration(self) -> None:
        workspace = self.client_capabilities.workspace
        if not (workspace and workspace.configuration):
            return
        epoch = self.section_epoch
        try:
            sections = await self.workspace_configuration_async(
                lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section=options.SECTION)])
            )
        except Exception:
            log.warning("workspace/configuration failed", exc_info=True)
            return
        if epoch != self.section_epoch:
            return  # a push arrived while we waited: it is newer than this answer
        self.section = options.section_of(sections[0] if sections else None)


def create_server() -> CodegenServer:
    server = CodegenServer()

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: CodegenServer, params: lsp.InitializeParams) -> None:
        ls.documents.encoding = ls.workspace.position_encoding
        ls.edit_support = EditSupport.of(params.capabilities)
        root = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
        path = to_fs_path(root) if root else params.root_path
        ls.root = Path(path) if path else None
        ls.init_options = options.section_of(params.initialization_options)
        ls.resolve_settings(announce=False)
        inline_registration.offer_fallback(ls, ls.inline)  # before the answer, so that it is advertised

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: CodegenServer, params: lsp.InitializedParams) -> None:
        await ls.pull_configuration()
        ls.resolve_settings(announce=True)
        await inline_registration.settings_applied(ls, ls.inline)
        await trust.ask(ls)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: CodegenServer, params: lsp.DidChangeConfigurationParams) -> None:
        pushed = params.settings
        if isinstance(pushed, dict) and options.SECTION in pushed:
            ls.section = options.section_of(pushed)
            ls.section_epoch += 1
        else:
            await ls.pull_configuration()
        ls.resolve_settings(announce=True)
        await inline_registration.settings_applied(ls, ls.inline)
        await trust.ask(ls)

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: CodegenServer, params: lsp.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        previous = ls.documents.get(item.uri)
        reopened = previous is not None and previous.text != item.text
        ls.documents.open(item)
        if reopened:
            # what the jobs were working on may be gone: they end (and say so)
            ls.jobs.cancel(uri=item.uri, reason="the document was reopened with other text", tell=True)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: CodegenServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.documents.change(params)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: CodegenServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.jobs.cancel(uri=params.text_document.uri, reason="the document was closed")
        ls.inline.close(params.text_document.uri)
        ls.documents.close(params.text_document.uri)

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=actions.KINDS, resolve_provider=False),
    )
    def code_action(ls: CodegenServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        document = ls.documents.get(params.text_document.uri)
        if document is None:
            return None
        return actions.code_actions(
            document, params, ls.settings, ls.documents.encoding, ls.protocol._converter
        )

    inline_registration.register(server, server.inline)

    @server.command(commands.Command.GENERATE)
    async def generate(ls: CodegenServer, argument: Any = None) -> dict[str, Any]:
        return await generation.generate(ls, argument)

    @server.command(commands.Command.CANCEL)
    def cancel(ls: CodegenServer, *targets: Any) -> dict[str, Any]:
        # Variadic: pygls insists on an exact argument count, and "cancel all" sends none.
        return commands.cancel(ls, targets[0] if targets else None)

    @server.command(commands.Command.CHECK_PROVIDER)
    async def check_provider(ls: CodegenServer) -> dict[str, Any]:
        return await commands.check_provider(ls)

    @server.command(commands.Command.TRUST_PROJECT_CONFIG)
    async def trust_project_config(ls: CodegenServer, *arguments: Any) -> dict[str, Any]:
        # Variadic like cancel: no argument trusts, {"revoke": true} revokes.
        answer = trust.command(ls, arguments[0] if arguments else None)
        await trust.ask(ls)  # a revoked or changed file: say what is ignored now
        return answer

    @server.feature(lsp.SHUTDOWN)
    async def shutdown(ls: CodegenServer, params: None) -> None:
        await ls.jobs.shutdown(SHUTDOWN_GRACE)
        await ls.inline.shutdown(SHUTDOWN_GRACE)
        await ls.providers.aclose()

    return server


def _configure_logging(log_file: str | None, log_level: str) -> None:
    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RepeatLimiter())  # a hostile or broken client must not flood the log
    # Every record of every logger (httpx, httpcore, pygls, llama_cpp included) reaches this one
    # handler, so this is where records are redacted.
    redaction.install(handler, os.environ)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(log_level.upper())
    # pygls logs every message at debug/info; keep it quieter than our own lines.
    logging.getLogger("pygls").setLevel(max(logging.WARNING, root.level))


def run_server(*, tcp: str | None = None, log_file: str | None = None, log_level: str = "info") -> int:
    """Serve over stdio, or on ``HOST:PORT`` with ``tcp``; returns the exit status."""
    _configure_logging(log_file, log_level)
    server = create_server()
    if tcp:
        host, _, port = tcp.rpartition(":")
        if not port.isdigit():
            print(f"codegen-lsp: --tcp wants HOST:PORT, got {tcp!r}", file=sys.stderr)
            return 2
        return serve_tcp(server, host or "127.0.0.1", int(port))
    return serve_stdio(server)
