"""Hostile upstreams for the stream caps: scripted loopback replies that never end, or end too big.

Each builder returns a :class:`loopback.Reply` for the scripted loopback server. The endless ones
stream an :class:`Endless` sequence: a head, then a pattern repeated for as long as the client
keeps reading (the server stops when the client hangs up), counting what it handed out, so a
test can tell that a 50 MB line was refused after a few megabytes rather than read whole.
:data:`CASES` names every chat-stream case with the error it must end in, for the provider, CLI
and server suites alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from codegen_lsp.errors import AnswerTooLarge, FirstTokenTimeout, IdleTimeout, ProviderError, TotalTimeout
from loopback import Pause, Reply, chat_chunk, chat_reply, error_reply, sse_event
from loopback.scripted import Piece

#: the limits every hostile case runs under (seconds, characters), small so that each ends fast
FIRST_TOKEN = 1.0
IDLE = 0.5
TOTAL = 2.5
MAX_ANSWER_CHARS = 4000
#: the byte cap on one line that follows from MAX_ANSWER_CHARS (4 × it, at least 1 MiB)
MAX_LINE = 1024 * 1024
#: how much a refused 50 MB line may have cost: the cap, plus what the sockets buffer meanwhile
REFUSED_WITHIN = 16 * 1024 * 1024

PIECE = 64 * 1024
FIFTY_MB = 50 * 1024 * 1024


class Endless(Sequence[Piece]):
    """``head``, then ``pattern`` over and over (up to ``limit`` pieces in all, else forever)."""

    def __init__(self, *pattern: Piece, head: Sequence[Piece] = (), limit: int | None = None) -> None:
        self.head = list(head)
        self.pattern = list(pattern)
        self.limit = limit
        #: how many pieces the server took so far
        self.taken = 0

    def __len__(self) -> int:
        return self.limit if self.limit is not None else 2**62

    @overload
    def __getitem__(self, index: int) -> Piece: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Piece]: ...
    def __getitem__(self, index: int | slice) -> Piece | Sequence[Piece]:
        if isinstance(index, slice):
            raise TypeError("an endless stream cannot be sliced")
        if index < 0 or (self.limit is not None and index >= self.limit):
            raise IndexError(index)
        self.taken = max(self.taken, index + 1)
        if index < len(self.head):
            return self.head[index]
        return self.pattern[(index - len(self.head)) % len(self.pattern)]

    def __iter__(self) -> Iterator[Piece]:
        index = 0
        while True:
            try:
                yield self[index]
            except IndexError:
                return
            index += 1

    def bytes_taken(self) -> int:
        """Bytes of the pieces the server took (an upper bound of what it sent)."""
        pieces = [self[i] for i in range(self.taken)]
        return sum(len(piece) for piece in pieces if not isinstance(piece, Pause))


def content(text: str) -> bytes:
    return sse_event(chat_chunk(text))


SSE_HEADERS = {"Content-Type": "text/event-stream"}


def endless_sse(stream: Endless) -> Reply:
    return Reply(headers=SSE_HEADERS, stream=stream)


# --- the chat-stream cases --------------------------------------------------------------------------


def heartbeats_before_content() -> Reply:
    """Empty deltas as keep-alives, forever, before any content (OpenAI-style, 20 a second)."""
    return endless_sse(Endless(sse_event({"choices": [{"delta": {}}]}), Pause(0.05)))


def heartbeats_after_content() -> Reply:
    """Some code, then empty deltas forever: the model 'thinks' without producing anything."""
    head = [content("def add(a, b):\n"), content("    return a + b\n")]
    beat = sse_event({"choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": None}]})
    return endless_sse(Endless(beat, Pause(0.05), head=head))


def comments_after_content() -> Reply:
    """Some code, then ``: keep-alive`` comments forever (what proxies and OpenRouter send)."""
    return endless_sse(Endless(b": keep-alive\n\n", Pause(0.05), head=[content("x = 1\n")]))


def usage_chunks_forever() -> Reply:
    """Some code, then usage-only chunks (``choices: []``) forever."""
    usage = sse_event({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
    return endless_sse(Endless(usage, Pause(0.05), head=[content("x = 1\n")]))


def endless_content() -> Reply:
    """A server that ignores max_tokens: code lines as fast as the socket takes them, forever."""
    return endless_sse(Endless(content("total = total + 1\n")))


def slow_drip() -> Reply:
    """A line every 0.2 s, forever: each gap well under the idle limit, the whole over the deadline."""
    return endless_sse(Endless(Pause(0.2), content("total = total + 1\n")))


def endless_reasoning() -> Reply:
    """Reasoning forever and never an answer: progress, but nothing ever ends it but the deadline."""
    return endless_sse(Endless(sse_event(chat_chunk(reasoning="hmm, ")), Pause(0.05)))


def fifty_mb_line() -> Reply:
    """One ``data:`` line of 50 MB that never ends (a content string that keeps going)."""
    head = [b'data: {"choices":[{"index":0,"delta":{"content":"']
    return endless_sse(Endless(b"a" * PIECE, head=head, limit=1 + FIFTY_MB // PIECE))


def data_lines_without_end() -> Reply:
    """Short ``data:`` lines forever and never the blank line that ends the event."""
    return endless_sse(Endless(b"data: " + b"b" * 1000 + b"\n"))


def fifty_mb_json_document() -> Reply:
    """A server that ignored ``stream: true`` and sends a 50 MB JSON document."""
    head = [b'{"choices":[{"index":0,"message":{"role":"assistant","content":"']
    stream = Endless(b"c" * PIECE, head=head, limit=1 + FIFTY_MB // PIECE)
    return Reply(headers={"Content-Type": "application/json"}, stream=stream)


def rate_limited(seconds: float) -> Reply:
    return error_reply(429, "Rate limit reached for requests", headers={"Retry-After": f"{seconds:g}"})


def answer(*lines: str) -> Reply:
    return chat_reply(*lines)


@dataclass(frozen=True)
class Case:
    id: str
    reply: Any  # () -> Reply
    error: type[ProviderError]
    #: words the user must read in the message
    says: str
    #: the reply streams an Endless whose bytes must stay under REFUSED_WITHIN
    refused_early: bool = False
    #: complete lines arrive slowly first: with streamEdits they reach the document (and must go)
    streams_lines: bool = False


CASES = [
    Case("heartbeats-before-content", heartbeats_before_content, FirstTokenTimeout, "first-token timeout"),
    Case("heartbeats-after-content", heartbeats_after_content, IdleTimeout, "no content for more than"),
    Case("keep-alive-comments", comments_after_content, IdleTimeout, "no content for more than"),
    Case("usage-chunks-forever", usage_chunks_forever, IdleTimeout, "no content for more than"),
    Case("endless-stream", endless_content, AnswerTooLarge, "max_answer_chars"),
    Case("slow-drip-over-deadline", slow_drip, TotalTimeout, "total timeout", streams_lines=True),
    Case("endless-reasoning", endless_reasoning, TotalTimeout, "total timeout"),
    Case("fifty-mb-line", fifty_mb_line, AnswerTooLarge, "refused before being read whole", True),
    Case("data-lines-without-end", data_lines_without_end, AnswerTooLarge, "refused before being read whole"),
    Case(
        "fifty-mb-json-document",
        fifty_mb_json_document,
        AnswerTooLarge,
        "refused before being read whole",
        True,
    ),
]


def settings_table() -> dict[str, Any]:
    """The limits as a provider settings table (snake_case, as in TOML)."""
    return {
        "timeouts": {"connect": 2.0, "first_token": FIRST_TOKEN, "idle": IDLE, "total": TOTAL},
        "max_answer_chars": MAX_ANSWER_CHARS,
    }


def toml_limits() -> str:
    t = settings_table()
    timeouts = ", ".join(f"{k} = {v}" for k, v in t["timeouts"].items())
    return f"max_answer_chars = {MAX_ANSWER_CHARS}\ntimeouts = {{ {timeouts} }}\n"
