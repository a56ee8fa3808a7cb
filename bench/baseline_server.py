"""The floor: a bare pygls language server that does nothing but answer.

It serves ``initialize`` and an empty ``textDocument/codeAction`` list, and keeps documents
in pygls' own workspace (pygls' built-in ``didOpen``/``didChange`` handling), so its startup,
idle memory, code-action round trip and ``didChange`` cost are what any pygls server pays
before doing any work of its own.
"""

from __future__ import annotations

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

server = LanguageServer("bench-bare-pygls", "1.0")


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION)
def code_action(params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    return []


if __name__ == "__main__":
    server.start_io()
