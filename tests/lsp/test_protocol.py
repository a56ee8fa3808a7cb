"""The server's pygls protocol, in process: no second document copy, no leaked futures.

These drive :class:`~codegen_lsp.lsp.server.CodegenProtocol` the way pygls' reader does (one
``_handle_notification`` / ``_handle_request`` per message) without a transport, so what they
check is the bookkeeping, not the wire.
"""

from __future__ import annotations

import asyncio

from lsprotocol import types as lsp

from codegen_lsp.lsp.protocol import CodegenProtocol
from codegen_lsp.lsp.server import CodegenServer, create_server

URI = "file:///tmp/protocol-test.py"


def _open(server: CodegenServer, text: str = "a = 1\n") -> None:
    item = lsp.TextDocumentItem(uri=URI, language_id="python", version=1, text=text)
    server.protocol._handle_notification(
        lsp.TEXT_DOCUMENT_DID_OPEN, lsp.DidOpenTextDocumentParams(text_document=item)
    )


def _type(server: CodegenServer, version: int, column: int) -> None:
    at = lsp.Position(line=0, character=column)
    server.protocol._handle_notification(
        lsp.TEXT_DOCUMENT_DID_CHANGE,
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=version),
            content_changes=[
                lsp.TextDocumentContentChangePartial(range=lsp.Range(start=at, end=at), text="x")
            ],
        ),
    )


async def test_document_sync_reaches_our_store_and_not_pygls_workspace() -> None:
    server = create_server()
    _open(server)
    _type(server, 2, 0)
    document = server.documents.get(URI)
    assert document is not None
    assert (document.text, document.version) == ("xa = 1\n", 2)
    # pygls' workspace exists only after initialize; it must not have been asked for a document
    assert server.protocol._workspace is None
    server.protocol._handle_notification(
        lsp.TEXT_DOCUMENT_DID_CLOSE,
        lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=URI)),
    )
    assert server.documents.get(URI) is None


async def test_finished_handlers_leave_no_future_behind() -> None:
    # pygls 2.1.1 keeps the future of every notification and of every handler a built-in
    # generator yields to; CodegenProtocol drops them once done.
    server = create_server()
    ran: list[str] = []

    @server.command("test.slow")
    async def slow(ls: CodegenServer) -> str:
        await asyncio.sleep(0.01)
        ran.append("slow")
        return "done"

    _open(server)
    for version in range(2, 102):
        _type(server, version, 0)
    assert server.protocol._request_futures == {}

    server.protocol._handle_request(
        "request-1", lsp.WORKSPACE_EXECUTE_COMMAND, lsp.ExecuteCommandParams(command="test.slow")
    )
    # while it runs, the request's own future is there (generation hooks $/cancelRequest to it)
    assert "request-1" in server.protocol._request_futures
    for _ in range(50):
        await asyncio.sleep(0.01)
        if ran and not server.protocol._request_futures:
            break
    assert ran == ["slow"]
    assert server.protocol._request_futures == {}


async def test_a_later_future_under_the_same_id_is_kept() -> None:
    server = create_server()
    protocol = server.protocol
    assert isinstance(protocol, CodegenProtocol)
    first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    second: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    protocol._request_futures["same"] = second
    protocol._forget("same", first)
    assert protocol._request_futures == {"same": second}
