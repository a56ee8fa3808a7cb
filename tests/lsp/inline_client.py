"""The test editor for inline completion: client profiles that declare it, a scripted FIM provider,
and helpers to ask for ghost text or completion items.

pytest-lsp's built-in profiles predate LSP 3.18 and none declares ``textDocument.inlineCompletion``;
:func:`with_inline` adds it to a real profile, which is what VS Code 1.100 (utf-16), Neovim 0.12
(utf-8, not installable here) and Emacs lsp-mode (utf-32 in pytest-lsp's profile) announce.
The server under test gets its chat provider and, under ``inline.provider``, a separate
``/completions`` FIM provider, both on the module's loopback server, so a test scripts
:func:`fim_reply` answers and reads the FIM requests the server sent.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

import attrs
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from conftest import Editor, _make_client, base_options, server_env
from loopback import LoopbackServer, Pause, Reply, sse_reply
from loopback.openai import completion_chunks

HOME = Path(tempfile.mkdtemp(prefix="codegen-lsp-inline-home-"))


def _make_inline_client() -> LanguageClient:
    """The test editor's client, which also accepts dynamic registrations and records them."""
    client = _make_client()
    client.registrations = []  # type: ignore[attr-defined]

    @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: lsp.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    return client


SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "codegen_lsp.lsp", "warning"],
    client_factory=_make_inline_client,
    server_env=server_env(HOME),
)


def with_inline(profile: str) -> lsp.ClientCapabilities:
    """A real client profile that also declares inline completion."""
    capabilities = client_capabilities(profile)
    text_document = capabilities.text_document or lsp.TextDocumentClientCapabilities()
    text_document = attrs.evolve(
        text_document, inline_completion=lsp.InlineCompletionClientCapabilities(dynamic_registration=False)
    )
    return attrs.evolve(capabilities, text_document=text_document)


def inline_options(lb: LoopbackServer, **inline: Any) -> dict[str, Any]:
    """Chat for actions, a FIM provider of its own for inline completion, no retries, no debounce."""
    return {
        **base_options(lb),
        "providers": {
            "fim": {
                "baseUrl": lb.base_url,
                "model": "fim-model",
                "fimFormat": "completions",
                "maxRetries": 0,
                "timeouts": {"connect": 2, "firstToken": 3, "idle": 1},
            }
        },
        "inline": {"provider": "fim", "debounce": 0, **inline},
    }


def fim_reply(*texts: str, token_delay: float = 0.0, hang: bool = False, delay: float = 0.0) -> Reply:
    """A streamed ``/completions`` answer; ``hang``: the text, then nothing until the client leaves."""
    events: list[bytes | Pause] = list(
        completion_chunks(*texts)[: len(texts)] if hang else completion_chunks(*texts)
    )
    return sse_reply(events, token_delay=token_delay, end="hang" if hang else "finish", delay=delay)


async def start(
    client: LanguageClient,
    capabilities: lsp.ClientCapabilities,
    lb: LoopbackServer,
    workspace: Path,
    options: dict[str, Any],
) -> lsp.InitializeResult:
    """Initialize the session with an :class:`~conftest.Editor` on the client."""
    client.editor = Editor(client, workspace, lb)  # type: ignore[attr-defined]
    result = await client.initialize_session(
        lsp.InitializeParams(
            capabilities=capabilities,
            root_uri=workspace.as_uri(),
            initialization_options={"codegen": options},
        )
    )
    encoding = result.capabilities.position_encoding or "utf-16"
    client.editor.encoding = getattr(encoding, "value", encoding)  # type: ignore[attr-defined]
    return result


async def inline(
    editor: Editor,
    uri: str,
    offset: int,
    *,
    automatic: bool = False,
    selected: tuple[int, int, str] | None = None,
    msg_id: str | None = None,
) -> list[lsp.InlineCompletionItem]:
    """Ask for ghost text at code-point ``offset``; ``selected``: (start, end, text) of the item
    selected in the editor's completion list."""
    info = None
    if selected is not None:
        start, end, text = selected
        info = lsp.SelectedCompletionInfo(
            range=lsp.Range(start=editor.pos(uri, start), end=editor.pos(uri, end)), text=text
        )
    params = inline_params(editor, uri, offset, automatic=automatic, selected=info)
    if msg_id is None:
        answer = await editor.client.text_document_inline_completion_async(params)
    else:
        future = editor.client.protocol.send_request(
            lsp.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id
        )
        answer = await asyncio.wrap_future(future)
    if isinstance(answer, lsp.InlineCompletionList):
        return list(answer.items)
    return list(answer or [])


def inline_params(
    editor: Editor,
    uri: str,
    offset: int,
    *,
    automatic: bool = False,
    selected: lsp.SelectedCompletionInfo | None = None,
) -> lsp.InlineCompletionParams:
    kind = lsp.InlineCompletionTriggerKind.Automatic if automatic else lsp.InlineCompletionTriggerKind.Invoked
    return lsp.InlineCompletionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        position=editor.pos(uri, offset),
        context=lsp.InlineCompletionContext(trigger_kind=kind, selected_completion_info=selected),
    )


def insert_text(item: lsp.InlineCompletionItem) -> str:
    text = item.insert_text
    return text if isinstance(text, str) else text.value


def fim_requests(lb: LoopbackServer, since: int = 0) -> list[dict[str, Any]]:
    return [r.json for r in lb.requests[since:] if r.path.endswith("/completions") and "prompt" in r.json]


async def settle(lb: LoopbackServer, count: int, within: float = 5.0) -> None:
    """Wait until the provider has received ``count`` requests in all."""
    assert await asyncio.to_thread(lb.wait_requests, count, within), f"{len(lb.requests)} of {count} requests"
