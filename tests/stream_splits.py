"""What the stream-decoder tests share: the expected outcome of a body, every way to cut it, the check.

``test_chat_stream.py`` (chat completions through the provider's read path) and
``test_fim_stream.py`` (the fill-in-the-middle decoders) cut each recorded body every way
:func:`cuts` lists and compare what their decoder makes of it (:class:`Outcome`) with the one
expected result (:class:`Expect`), by :func:`check`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from codegen_lsp.core.types import Delta, Usage
from codegen_lsp.errors import ProviderError


@dataclass(frozen=True)
class Expect:
    text: str
    finish: str | None = "stop"
    usage: Usage | None = None
    error: type[ProviderError] | None = None
    #: a part of the error's message
    says: str = ""


@dataclass
class Outcome:
    text: str
    finish: str | None
    usage: Usage | None
    error: ProviderError | None


def outcome(deltas: list[Delta], error: ProviderError | None, *, final: list[Delta]) -> Outcome:
    """The text of ``deltas``; finish reason and usage from the last of ``final``."""
    return Outcome(
        text="".join(d.text for d in deltas),
        finish=final[-1].finish_reason if final else None,
        usage=final[-1].usage if final else None,
        error=error,
    )


def check(outcome: Outcome, expect: Expect) -> None:
    assert outcome.text == expect.text
    if expect.error is None:
        assert outcome.error is None, outcome.error
        assert outcome.finish == expect.finish
        if expect.usage is not None:
            assert outcome.usage == expect.usage
    else:
        assert type(outcome.error) is expect.error
        assert expect.says in str(outcome.error)
        assert "example.test" in str(outcome.error)


def two_way(raw: bytes) -> Iterator[list[bytes]]:
    """``raw`` cut in two at every byte offset."""
    for cut in range(len(raw) + 1):
        yield [raw[:cut], raw[cut:]]


def three_way(raw: bytes) -> Iterator[list[bytes]]:
    """The hard cuts: one byte either side of every line break, combined with every 7th other cut."""
    hot = sorted(
        {i + d for i, b in enumerate(raw) if b in b"\r\n" for d in (-1, 0, 1, 2) if 0 <= i + d <= len(raw)}
    )
    for first in hot:
        for second in range(first, len(raw) + 1, 7):
            yield [raw[:first], raw[first:second], raw[second:]]


def byte_by_byte(raw: bytes) -> list[bytes]:
    return [raw[i : i + 1] for i in range(len(raw))]
