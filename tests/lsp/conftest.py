"""End-to-end fixtures: the server as a subprocess, a test editor that really applies edits.

The ``editor`` fixture starts ``python -m codegen_lsp.lsp`` under pytest-lsp once per module and
capability profile (VS Code: utf-16; Neovim 0.11: utf-8), pointed at a module-wide scripted
loopback provider. Its :class:`Editor` keeps its own copy of every document it opened, answers
``workspace/applyEdit`` by applying the edit to that copy (refusing stale versions the way VS
Code does) and reports the change back with ``didChange``, exactly like an editor, so tests
assert the resulting text. Positions are converted here independently of the server's code.
Hostile editors are a few attributes away: ``answer`` replaces the answer to
``workspace/applyEdit`` (decline with a JSON-RPC error as eglot does, refuse, delay, type
meanwhile), ``echo_delay`` reports changes late and batched (Neovim debounces ``didChange``),
``hold`` keeps reporting back until :meth:`Editor.release` sends it all in one ``didChange`` (a
test decides exactly what a late report holds), and ``skip_stale`` answers ``applied: true`` to a
stale versioned edit without applying it (Neovim 0.11).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.protocol.json_rpc import JsonRPCResponseMessage
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from loopback import LoopbackServer

PROFILES = [
    pytest.param("visual_studio_code", id="vscode-utf16"),
    pytest.param("neovim@0.11", id="neovim-utf8"),
    pytest.param("emacs", id="emacs-utf32"),
]

_EOL = re.compile(r"\r\n|\r|\n")


def units(char: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(char.encode("utf-8"))
    if encoding == "utf-16":
        return 2 if ord(char) > 0xFFFF else 1
    return 1


def split_lines(text: str) -> list[str]:
    return _EOL.split(text)


def to_offset(text: str, position: lsp.Position, encoding: str) -> int:
    """Client position → code-point offset, written independently of the server's converter."""
    offset = 0
    lines = split_lines(text)
    breaks = [m.group() for m in _EOL.finditer(text)]
    for number in range(min(position.line, len(lines) - 1)):
        offset += len(lines[number]) + len(breaks[number])
    if position.line >= len(lines):
        return len(text)
    column = 0
    for char in lines[position.line]:
        if column >= position.character:
            break
        column += units(char, encoding)
        offset += 1
    return offset


class Declined(JsonRpcException):
    """Raised by an ``Editor.answer`` hook: the editor answers ``workspace/applyEdit`` with this
    JSON-RPC error (eglot does when the user says no), which is the test's intent, not a failure."""


def to_position(text: str, offset: int, encoding: str) -> lsp.Position:
    before = text[:offset]
    line = len(_EOL.findall(before))
    start = max((m.end() for m in _EOL.finditer(before)), default=0)
    return lsp.Position(line=line, character=sum(units(c, encoding) for c in text[start:offset]))


class Editor:
    """The test's editor: documents, edits, and what the server told the user."""

    def __init__(self, client: LanguageClient, root: Path, loopback: LoopbackServer) -> None:
        self.client = client
        self.root = root
        self.loopback = loopback
        self.encoding = "utf-16"
        #: what the profile announces (set at initialize)
        self.document_changes = False
        self.create_files = False
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.created: dict[str, str] = {}
        self.edits: list[lsp.ApplyWorkspaceEditParams] = []
        #: called with each applyEdit before it is applied (tests use it to type "meanwhile")
        self.before_apply: Callable[[lsp.ApplyWorkspaceEditParams], None] | None = None
        #: answers each applyEdit instead of :meth:`apply` (which it may call); raise
        #: :class:`Declined` to answer with a JSON-RPC error
        self.answer: (
            Callable[[lsp.ApplyWorkspaceEditParams], Awaitable[lsp.ApplyWorkspaceEditResult]] | None
        ) = None
        #: report changes this long after making them, all pending ones in one didChange
        self.echo_delay = 0.0
        #: report nothing until :meth:`release` (then all pending changes in one didChange)
        self.hold = False
        #: a versioned edit for an older version: answered applied but not applied (else refused)
        self.skip_stale = False
        self._unreported: dict[str, list[lsp.TextDocumentContentChangePartial]] = {}
        self._count = 0

    # documents

    def open(self, text: str, language_id: str = "python", suffix: str = ".py") -> str:
        self._count += 1
        uri = (self.root / f"doc{self._count}{suffix}").as_uri()
        self.texts[uri] = text
        self.versions[uri] = 1
        self.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)
            )
        )
        return uri

    def reopen(self, uri: str, text: str, version: int = 1, language_id: str = "python") -> None:
        """``didOpen`` again, without ``didClose`` (some clients do on reload)."""
        self.texts[uri] = text
        self.versions[uri] = version
        self.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(
                    uri=uri, language_id=language_id, version=version, text=text
                )
            )
        )

    def pos(self, uri: str, offset: int) -> lsp.Position:
        return to_position(self.texts[uri], offset, self.encoding)

    def range_of(self, uri: str, needle: str, occurrence: int = 0) -> lsp.Range:
        """The client range of ``needle`` in the document."""
        text = self.texts[uri]
        start = -1
        for _ in range(occurrence + 1):
            start = text.index(needle, start + 1)
        return lsp.Range(start=self.pos(uri, start), end=self.pos(uri, start + len(needle)))

    def cursor_at(self, uri: str, needle: str) -> lsp.Range:
        point = self.pos(uri, self.texts[uri].index(needle))
        return lsp.Range(start=point, end=point)

    def type(self, uri: str, offset: int, end: int, text: str) -> None:
        """The user edits: replace code points ``offset``..``end`` and tell the server."""
        change = lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=self.pos(uri, offset), end=self.pos(uri, end)), text=text
        )
        self._change(uri, [change], [(offset, end, text)])

    def _change(
        self, uri: str, changes: list[lsp.TextDocumentContentChangePartial], spans: list[tuple[int, int, str]]
    ) -> None:
        for start, end, new in spans:
            old = self.texts[uri]
            self.texts[uri] = old[:start] + new + old[end:]
        self.versions[uri] += 1
        if self.hold:
            self._unreported.setdefault(uri, []).extend(changes)
            return
        if self.echo_delay <= 0:
            self._report(uri, list(changes))
            return
        if uri not in self._unreported:
            self._unreported[uri] = []
            asyncio.get_running_loop().call_later(
                self.echo_delay, lambda: self._report(uri, self._unreported.pop(uri))
            )
        self._unreported[uri] += changes

    def release(self, uri: str) -> None:
        """Stop holding reports back: every change made meanwhile goes out in one didChange."""
        self.hold = False
        self._report(uri, self._unreported.pop(uri, []))

    def _report(self, uri: str, changes: list[lsp.TextDocumentContentChangePartial]) -> None:
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=list(changes),
            )
        )

    # workspace/applyEdit

    def apply(self, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        self.edits.append(params)
        if self.before_apply is not None:
            self.before_apply(params)
        edit = params.edit
        per_document: list[tuple[str, int | None, list[lsp.TextEdit]]] = []
        for item in edit.document_changes or []:
            if isinstance(item, lsp.CreateFile):
                if item.uri in self.created or item.uri in self.texts:
                    return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason="file exists")
                self.created[item.uri] = ""
            elif isinstance(item, lsp.TextDocumentEdit):
                edits = [e for e in item.edits if isinstance(e, lsp.TextEdit)]
                per_document.append((item.text_document.uri, item.text_document.version, edits))
        for uri, edits in (edit.changes or {}).items():
            per_document.append((uri, None, list(edits)))
        for uri, version, edits in per_document:
            if uri in self.created:
                self.created[uri] = "".join(e.new_text for e in edits)
                continue
            if version is not None and version != self.versions[uri]:
                if self.skip_stale:
                    return lsp.ApplyWorkspaceEditResult(applied=True)
                return lsp.ApplyWorkspaceEditResult(
                    applied=False, failure_reason=f"version {version} is not {self.versions[uri]}"
                )
            text = self.texts[uri]
            spans = sorted(
                (
                    (
                        to_offset(text, e.range.start, self.encoding),
                        to_offset(text, e.range.end, self.encoding),
                        e,
                    )
                    for e in edits
                ),
                key=lambda span: span[0],
                reverse=True,
            )
            # Descending order keeps every earlier range valid while later ones are applied.
            changes = [
                lsp.TextDocumentContentChangePartial(range=e.range, text=e.new_text) for _, _, e in spans
            ]
            self._change(uri, changes, [(start, end, e.new_text) for start, end, e in spans])
        return lsp.ApplyWorkspaceEditResult(applied=True)

    # server calls

    async def actions(
        self, uri: str, rng: lsp.Range, diagnostics: list[lsp.Diagnostic] | None = None
    ) -> list[lsp.CodeAction]:
        params = lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=lsp.CodeActionContext(diagnostics=diagnostics or []),
        )
        self._count += 1
        msg_id = f"code-action-{self._count}"
        future = self.client.protocol.send_request(lsp.TEXT_DOCUMENT_CODE_ACTION, params, msg_id=msg_id)
        # lsprotocol structures a CodeAction whose command is an object as a Command (with the
        # object as a string): ask for CodeActions, which is all this server sends.
        self.client.protocol._result_types[msg_id] = JsonRPCResponseMessage
        raw = await asyncio.wrap_future(future)
        return [self.client.protocol._converter.structure(item, lsp.CodeAction) for item in raw or []]

    async def execute(self, command: str, *arguments: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command=command, arguments=list(arguments))
        )

    async def run_action(self, uri: str, rng: lsp.Range, title_part: str, **extra: Any) -> Any:
        """Pick the listed action whose title contains ``title_part`` and run its command."""
        actions = await self.actions(uri, rng, extra.pop("diagnostics", None))
        chosen = [a for a in actions if title_part in a.title]
        assert chosen, f"no action like {title_part!r} in {[a.title for a in actions]}"
        command = chosen[0].command
        argument = {**command.arguments[0], **extra}
        return await self.execute(command.command, argument)

    def messages(self, kind: lsp.MessageType | None = None) -> list[str]:
        return [m.message for m in self.client.messages if kind is None or m.type == kind]

    def reset(self) -> None:
        self.client.messages.clear()
        self.edits.clear()
        self.before_apply = None
        self.answer = None
        self.echo_delay = 0.0
        self.hold = False
        self.skip_stale = False
        self.loopback.disconnected.clear()
        self.loopback.responder = None

    def configure(self, **settings: Any) -> None:
        """Push new ``codegen`` settings (merged over the initialization options)."""
        self.client.workspace_did_change_configuration(
            lsp.DidChangeConfigurationParams(settings={"codegen": settings})
        )

    @contextlib.asynccontextmanager
    async def configured(self, **settings: Any) -> AsyncIterator[None]:
        """``settings`` in effect for the block, then the initialization options again (each
        change given a moment to reach the server before the next request)."""
        self.configure(**settings)
        await asyncio.sleep(0.2)
        try:
            yield
        finally:
            self.configure()
            await asyncio.sleep(0.2)


async def wait_until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def _make_client() -> LanguageClient:
    from pytest_lsp.client import make_test_lsp_client

    client = make_test_lsp_client()

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    async def apply_edit(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        editor: Editor = client.editor  # type: ignore[attr-defined]
        if editor.answer is not None:
            return await editor.answer(params)
        return editor.apply(params)

    report = client.report_server_error

    def report_server_error(error: Exception, source: Any) -> None:
        if not isinstance(error, Declined):  # an error answer a test asked for
            report(error, source)

    client.report_server_error = report_server_error  # type: ignore[method-assign]
    return client


def server_env(home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CODEGEN_LSP_") and "PROXY" not in k.upper()
    }
    env["XDG_CONFIG_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    return env


# Fixtures are named apart from their functions, so a module outside this folder can import them
# (tests/adversarial/lsp_editor.py) without its parameters shadowing the imported names. The
# module's loopback provider, ``lb``, is tests/conftest.py's.


@pytest.fixture(scope="module", name="workspace")
def workspace_fixture() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="codegen-lsp-e2e-") as folder:
        yield Path(folder)


def base_options(lb: LoopbackServer) -> dict[str, Any]:
    return {
        "baseUrl": lb.base_url,
        "model": "loopback-model",
        "timeouts": {"connect": 2, "firstToken": 3, "idle": 0.6},
    }


_HOME = Path(tempfile.mkdtemp(prefix="codegen-lsp-home-"))


def make_editor_client(profiles: list[Any]) -> Any:
    """The module-wide ``editor_client`` fixture: a server per capability profile in ``profiles``."""

    @pytest_lsp.fixture(
        name="editor_client",
        scope="module",
        params=profiles,
        config=ClientServerConfig(
            server_command=[sys.executable, "-m", "codegen_lsp.lsp", "warning"],
            client_factory=_make_client,
            server_env=server_env(_HOME),
        ),
    )
    async def editor_client(
        lsp_client: LanguageClient, request: pytest.FixtureRequest, lb: LoopbackServer, workspace: Path
    ) -> AsyncIterator[None]:
        capabilities = client_capabilities(request.param)
        lsp_client.editor = Editor(lsp_client, workspace, lb)  # type: ignore[attr-defined]
        result = await lsp_client.initialize_session(
            lsp.InitializeParams(
                capabilities=capabilities,
                root_uri=workspace.as_uri(),
                initialization_options={"codegen": base_options(lb)},
            )
        )
        encoding = result.capabilities.position_encoding or "utf-16"
        editor: Editor = lsp_client.editor  # type: ignore[attr-defined]
        editor.encoding = getattr(encoding, "value", encoding)
        workspace_edit = capabilities.workspace.workspace_edit if capabilities.workspace else None
        editor.document_changes = bool(workspace_edit and workspace_edit.document_changes)
        editor.create_files = editor.document_changes and lsp.ResourceOperationKind.Create in (
            (workspace_edit.resource_operations if workspace_edit else None) or ()
        )  # type: ignore[attr-defined]
        yield
        await lsp_client.shutdown_session()

    return editor_client


editor_client_fixture = make_editor_client(PROFILES)


@pytest.fixture(name="editor")
def editor_fixture(editor_client: LanguageClient) -> Iterator[Editor]:
    ed: Editor = editor_client.editor  # type: ignore[attr-defined]
    ed.reset()
    yield ed
    ed.before_apply = None
    assert ed.loopback.pending == 0, "a scripted reply was not used"
