"""One tiny real request through the configured provider chain: ``codegen-lsp check`` and the
server's ``codegen.checkProvider`` both run this, so they measure and report the same thing."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from codegen_lsp.core.settings import Settings
from codegen_lsp.core.types import CompletionRequest, Message
from codegen_lsp.providers.factory import build_chain

_REQUEST = CompletionRequest(
    messages=(Message("user", "Reply with the single word OK."),), max_tokens=8, temperature=0
)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    model: str
    first_token: float | None  # seconds; None when the model sent no content
    total: float
    answer: str

    def summary(self) -> str:
        first = f"first token after {self.first_token:.2f}s" if self.first_token is not None else "no content"
        return f"{first}, done in {self.total:.2f}s, answer {self.answer.strip()[:40]!r}"


async def probe(settings: Settings) -> ProbeResult:
    """Send the probe request; raises the provider's :class:`~codegen_lsp.errors.CodegenError`."""
    provider = build_chain(settings)
    started = time.monotonic()
    first: float | None = None
    answer = ""
    try:
        async with contextlib.aclosing(provider.stream(_REQUEST)) as deltas:
            async for delta in deltas:
                if delta.text and first is None:
                    first = time.monotonic() - started
                answer += delta.text
    finally:
        await provider.aclose()
    return ProbeResult(provider.model, first, time.monotonic() - started, answer)
