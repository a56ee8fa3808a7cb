"""Item 6 in-process: stream decoding throughput (chunks/s) and CPU per 1000 tokens.

Two layers, so a regression can be placed: the pure decoder alone
(:class:`~codegen_lsp.providers.chat_stream.ChatStreamDecoder` fed the ``data`` of each SSE event),
and the whole provider (httpx + the SSE decoder + the chunk decoder) reading a back-to-back stream from the
reference provider on loopback. The provider's CPU is the event loop thread's own
(``time.thread_time``), so the reference server's thread in the same process does not count.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from bench import docs
from bench.refprovider import RefProvider, Script, always


@dataclass
class Throughput:
    chunks: int
    wall: float  # seconds
    cpu: float  # CPU seconds of the decoding thread

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.wall if self.wall else float("nan")

    @property
    def cpu_per_1000(self) -> float:
        """CPU seconds per 1000 tokens (one token per chunk, as servers stream them)."""
        return self.cpu / self.chunks * 1000


def _event_data(tokens: list[str]) -> list[str]:
    return [
        json.dumps(
            {
                "id": "chatcmpl-bench",
                "object": "chat.completion.chunk",
                "created": 1_700_000_000,
                "model": "bench",
                "choices": [{"index": 0, "delta": {"content": token}, "finish_reason": None}],
            },
            separators=(",", ":"),
        )
        for token in tokens
    ] + ["[DONE]"]


def pure_decoder(tokens: int) -> Throughput:
    from codegen_lsp.providers.chat_stream import ChatStreamDecoder

    events = _event_data(docs.long_answer(tokens))
    decoder = ChatStreamDecoder(host="bench", provider="bench")
    feed = decoder.feed
    c0, t0 = time.thread_time(), time.perf_counter()
    for data in events:
        feed(data)
    return Throughput(len(events) - 1, time.perf_counter() - t0, time.thread_time() - c0)


async def _provider_stream(base_url: str) -> tuple[int, float, float]:
    from codegen_lsp.core.settings import ProviderSettings
    from codegen_lsp.core.types import CompletionRequest, Message
    from codegen_lsp.providers.openai import OpenAIProvider

    provider = OpenAIProvider(ProviderSettings(name="bench", base_url=base_url, model="bench"), environ={})
    request = CompletionRequest(messages=(Message("user", "bench"),))
    try:
        # one warm-up request opens the connection and imports everything
        async for _ in provider.stream(request):
            pass
        count = 0
        c0, t0 = time.thread_time(), time.perf_counter()
        async for delta in provider.stream(request):
            count += bool(delta.text)
        return count, time.perf_counter() - t0, time.thread_time() - c0
    finally:
        await provider.aclose()


def provider_over_loopback(tokens: int) -> Throughput:
    with RefProvider(always(Script(docs.long_answer(tokens)))) as provider:
        count, wall, cpu = asyncio.run(_provider_stream(provider.base_url))
    return Throughput(tokens, wall, cpu) if count else Throughput(0, wall, cpu)
