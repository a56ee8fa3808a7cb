"""The OpenAI-compatible provider against a real third-party server: ``python -m llama_cpp.server``.

Same GGUF as the embedded model, served over HTTP on loopback by llama-cpp-python's own server
(FastAPI + sse-starlette): a check that our wire format matches a server we did not write.
"""

from __future__ import annotations

import pytest

from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.core.types import CompletionRequest, Delta, Message
from codegen_lsp.providers.openai import OpenAIProvider

pytestmark = pytest.mark.model


def _request(max_tokens: int, stop: tuple[str, ...] = ()) -> CompletionRequest:
    return CompletionRequest(
        messages=(
            Message("system", "You are a Python coding assistant. Answer with Python code only."),
            Message("user", "Write a function add(a, b) that returns a + b."),
        ),
        temperature=0.0,
        max_tokens=max_tokens,
        stop=stop,
    )


async def test_openai_provider_streams_from_llama_cpp_server(llama_server: str) -> None:
    provider = OpenAIProvider(ProviderSettings(name="llamacpp", base_url=llama_server, model="smollm2"))
    try:
        deltas: list[Delta] = [d async for d in provider.stream(_request(40))]
    finally:
        await provider.aclose()
    text = "".join(d.text for d in deltas)
    assert "def add" in text
    assert sum(1 for d in deltas if d.text) > 3, "the answer should stream, not arrive in one piece"
    assert [d.finish_reason for d in deltas if d.finish_reason] in (["stop"], ["length"])


async def test_llama_cpp_server_honours_max_tokens_and_stop(llama_server: str) -> None:
    provider = OpenAIProvider(ProviderSettings(name="llamacpp", base_url=llama_server, model="smollm2"))
    try:
        short = [d async for d in provider.stream(_request(3))]
        stopped = [d async for d in provider.stream(_request(40, stop=("def",)))]
    finally:
        await provider.aclose()
    assert [d.finish_reason for d in short if d.finish_reason] == ["length"]
    assert "def" not in "".join(d.text for d in stopped)
    assert [d.finish_reason for d in stopped if d.finish_reason] == ["stop"]
