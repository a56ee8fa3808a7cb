"""One small real coding request through the configured provider chain: ``codegen-lsp check`` and
the server's ``codegen.checkProvider`` both run this, so they measure and report the same thing.

The request asks for a one-line function, so its answer's first line of code shows at a glance
whether the model writes code at all (a chat model that answers prose shows that too)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from codegen_lsp.core.settings import Settings
from codegen_lsp.core.types import CompletionRequest, Message
from codegen_lsp.providers.factory import build_chain

_REQUEST = CompletionRequest(
    messages=(
        Message(
            "user",
            "Write a Python function add(a, b) that returns the sum of a and b. Answer with the code only.",
        ),
    ),
    max_tokens=48,
    temperature=0,
)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    model: str
    first_token: float | None  # seconds; None when the model sent no content
    total: float
    answer: str

    @property
    def first_line(self) -> str:
        """The answer's first line that is not blank and not a markdown fence."""
        for line in self.answer.splitlines():
            if line.strip() and not line.lstrip().startswith("```"):
                return line.rstrip()
        return ""

    def summary(self) -> str:
        first = f"first token after {self.first_token:.2f}s" if self.first_token is not None else "no content"
        return f"{first}, done in {self.total:.2f}s, answer begins {self.first_line[:60]!r}"


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
