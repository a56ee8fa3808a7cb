"""Pure, incremental decoders of streamed bodies: bytes in, deltas out (chat and fill-in-the-middle).

Each decoder takes the raw body bytes as they arrive (:meth:`feed`), in pieces cut anywhere, and
returns :class:`~codegen_lsp.core.types.Delta` objects; :meth:`finish` says the transport ended
(a StreamError for a truncated stream) and :meth:`document` decodes the single JSON answer of a
server that ignored ``stream: true``. Lines split on ``\\n``, ``\\r\\n`` and ``\\r`` only, at the
byte level (so a multi-byte character cut between two reads is never garbled, and U+2028 inside
JSON is not a line end). The formats:

* :class:`CompletionsStreamDecoder` — SSE carrying OpenAI-style chunks: ``/chat/completions``,
  ``/completions`` (``choices[0].text``) and Mistral's ``/fim/completions``
  (``choices[0].delta.content``); with or without ``data: [DONE]``; the chunks themselves are
  decoded by :class:`~codegen_lsp.providers.chat_stream.ChatStreamDecoder`.
* :class:`LlamaInfillDecoder` — llama.cpp's native ``/infill`` SSE: ``data: {"content": …,
  "stop": false}`` per token, a last chunk with ``"stop": true`` and ``stop_type``
  (``eos``/``word``/``limit``), no ``[DONE]``.
* :class:`OllamaGenerateDecoder` — Ollama's ``/api/generate`` NDJSON: one JSON object per line,
  ``response`` text, ``done: true`` with ``done_reason`` and counts on the last line.

llama.cpp's server writes a failure inside a stream as an ``error: {…}`` line, a field the SSE
standard says to ignore; :class:`SSEDecoder` turns it into an event named
``error`` so it is raised instead of looking like a truncated stream. Ollama writes
``{"error": "…"}`` lines. Both become the matching :class:`~codegen_lsp.errors.ProviderError`.

Given ``max_line``, no decoder holds more than that many bytes of one unfinished line or event:
a longer one raises :class:`~codegen_lsp.errors.AnswerTooLarge` as soon as it is known to be,
so a hostile 50 MB line costs a megabyte, not fifty. Each decoder counts ``progress``, the
characters of model output it saw, which is all the provider's idle clock listens to.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from codegen_lsp.core.types import Delta, Usage
from codegen_lsp.errors import AnswerTooLarge, ProviderError
from codegen_lsp.providers.chat_stream import ChatStreamDecoder, error_from_payload, parse_chunk, truncated

_EOL = re.compile(rb"\r\n|\r|\n")
_T = TypeVar("_T")


class LineTooLong(Exception):
    """A line (or the data of one SSE event) grew past ``limit`` bytes before it ended."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a line longer than {limit} bytes")
        self.limit = limit


class LineSplitter:
    """Bytes → lines without their endings; a ``\\r`` at the end of a piece may pair with a
    ``\\n`` at the start of the next one (one CRLF, not two line ends).

    With ``limit``, a line longer than that many bytes raises :class:`LineTooLong` as soon as it
    is known to be, so an endless line costs at most ``limit`` bytes of memory, not its length.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._skip_lf = False
        self._limit = limit

    def feed(self, data: bytes) -> list[str]:
        if self._skip_lf:
            self._skip_lf = False
            if data.startswith(b"\n"):
                data = data[1:]
        lines: list[str] = []
        start = 0
        limit = self._limit
        for match in _EOL.finditer(data):
            piece = data[start : match.start()]
            if self._pending:
                piece = b"".join((*self._pending, piece))
                self._pending, self._pending_size = [], 0
            if limit is not None and len(piece) > limit:
                raise LineTooLong(limit)
            lines.append(piece.decode("utf-8", "replace"))
            start = match.end()
        if start < len(data):
            self._pending.append(data[start:])
            self._pending_size += len(data) - start
            if limit is not None and self._pending_size > limit:
                self._pending, self._pending_size = [], 0
                raise LineTooLong(limit)
        self._skip_lf = data.endswith(b"\r")
        return lines

    def flush(self) -> list[str]:
        """The last line when the body did not end with a line ending."""
        if not self._pending:
            return []
        line, self._pending, self._pending_size = b"".join(self._pending), [], 0
        return [line.decode("utf-8", "replace")]


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str  # "" for the default ("message")
    data: str


class SSEDecoder:
    """Server-sent events from bytes (the WHATWG rules, plus llama.cpp's ``error:`` field).

    An event still open when the body ends is delivered by :meth:`flush`: a server that closes
    right after its last ``data:`` line has still said it. With ``limit``, neither one line (in
    bytes) nor the data of one event (in characters) may exceed it (:class:`LineTooLong`): many
    short ``data:`` lines without the blank line that ends an event would pile up just the same.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._lines = LineSplitter(limit)
        self._limit = limit
        self._event = ""
        self._data: list[str] = []
        self._data_size = 0

    def feed(self, data: bytes) -> list[SSEEvent]:
        return self._decode(self._lines.feed(data))

    def flush(self) -> list[SSEEvent]:
        events = self._decode(self._lines.flush())
        return events + self._decode([""])

    def _decode(self, lines: list[str]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        for line in lines:
            if not line:
                if self._data or self._event:
                    events.append(SSEEvent(self._event, "\n".join(self._data)))
                self._event, self._data, self._data_size = "", [], 0
                continue
            if line.startswith(":"):
                continue  # a comment: keep-alive pings (OpenRouter, llama.cpp's sse_ping_interval)
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                self._event = value
                continue
            if field == "error":
                self._event = "error"
            elif field != "data":
                continue
            self._data.append(value)
            self._data_size += len(value) + 1
            if self._limit is not None and self._data_size > self._limit:
                self._event, self._data, self._data_size = "", [], 0
                raise LineTooLong(self._limit)
        return events


class _Source(Protocol[_T]):
    """Where a decoder's items come from: :class:`LineSplitter` (lines) or :class:`SSEDecoder` (events)."""

    def feed(self, data: bytes) -> list[_T]: ...

    def flush(self) -> list[_T]: ...


class _Decoder(Generic[_T]):
    """What every body decoder shares: bytes → items (lines or events) under the line cap, each
    item → deltas by :meth:`_step`, and an error met after some text in the same piece of body
    held and raised at the next call instead, so that text still reaches the consumer whatever
    the cut between pieces was."""

    def __init__(self, source: _Source[_T], *, host: str | None = None, provider: str | None = None) -> None:
        self.host = host
        self.provider = provider
        self._source = source
        self._held: ProviderError | None = None

    @property
    def holding(self) -> bool:
        """An error waits to be raised by the next :meth:`feed` (which may be ``feed(b"")``)."""
        return self._held is not None

    def feed(self, data: bytes) -> list[Delta]:
        self._raise_held()
        try:
            items = self._source.feed(data)
        except LineTooLong as exc:
            raise line_too_long(exc.limit, host=self.host, provider=self.provider) from None
        return self._each(items)

    def _step(self, item: _T) -> list[Delta]:
        """The deltas of one item; nothing once the stream said it was done."""
        raise NotImplementedError

    def _flushed(self) -> list[Delta]:
        """The deltas of what the source still held when the transport ended."""
        self._raise_held()
        return self._each(self._source.flush())

    def _each(self, items: list[_T]) -> list[Delta]:
        deltas: list[Delta] = []
        for item in items:
            try:
                deltas.extend(self._step(item))
            except ProviderError as error:
                if not deltas:
                    raise
                self._held = error
                break
        return deltas

    def _raise_held(self) -> None:
        if self._held is not None:
            error, self._held = self._held, None
            raise error


def _size(count: int) -> str:
    return f"{count / 2**20:g} MiB" if count >= 2**20 else f"{count / 1024:g} KiB"


def line_too_long(limit: int, *, host: str | None, provider: str | None) -> AnswerTooLarge:
    """The error for a stream line (or whole answer body) over ``limit`` bytes, refused unread."""
    return AnswerTooLarge(
        f"{host or 'the provider'} sent a piece of its stream larger than {_size(limit)} "
        "without ending it; it was refused before being read whole (the limit grows with "
        "max_answer_chars).",
        provider=provider,
        host=host,
    )


class CompletionsStreamDecoder(_Decoder[SSEEvent]):
    """OpenAI-style completion chunks over SSE: ``/completions`` and Mistral's ``/fim/completions``."""

    def __init__(
        self, *, host: str | None = None, provider: str | None = None, max_line: int | None = None
    ) -> None:
        super().__init__(SSEDecoder(max_line), host=host, provider=provider)
        self._chunks = ChatStreamDecoder(host=host, provider=provider)

    @property
    def progress(self) -> int:
        return self._chunks.progress

    @property
    def done(self) -> bool:
        return self._chunks.done

    @property
    def finish_reason(self) -> str | None:
        return self._chunks.finish_reason

    def finish(self) -> list[Delta]:
        # the flush ends at most one event, so an error there has no text before it to hold
        return self._flushed() + self._chunks.finish()

    def document(self, payload: Any) -> list[Delta]:
        return self._chunks.feed(json.dumps(payload)) + self._chunks.finish()

    def _step(self, item: SSEEvent) -> list[Delta]:
        return self._chunks.feed(item.data, item.event or "message")


class _JSONStreamDecoder(_Decoder[_T]):
    """What the llama.cpp and Ollama decoders share: state, JSON checks, the final delta."""

    def __init__(self, source: _Source[_T], *, host: str | None = None, provider: str | None = None) -> None:
        super().__init__(source, host=host, provider=provider)
        #: characters of model output seen (answer and thinking): the idle timeout restarts
        #: only when this grows, so empty chunks sent as heartbeats do not keep a stream alive
        self.progress = 0
        self.done = False
        self.finish_reason: str | None = None

    def finish(self) -> list[Delta]:
        deltas = self._flushed()
        if not self.done:
            raise truncated(host=self.host, provider=self.provider)
        return deltas

    def _step(self, item: _T) -> list[Delta]:
        return [] if self.done else self._chunk(item)  # nothing after the last chunk is part of the answer

    def _chunk(self, item: _T) -> list[Delta]:
        raise NotImplementedError

    def _json(self, text: str) -> dict[str, Any]:
        return parse_chunk(text, host=self.host, provider=self.provider)

    def _text(self, value: Any) -> list[Delta]:
        if isinstance(value, str) and value:
            self.progress += len(value)
            return [Delta(text=value)]
        return []

    def _final(self, reason: str, usage: Usage) -> Delta:
        self.done = True
        self.finish_reason = reason
        return Delta(finish_reason=reason, usage=usage)


class LlamaInfillDecoder(_JSONStreamDecoder[SSEEvent]):
    """llama.cpp's native ``/infill`` (and ``/completion``) stream. See the module docstring."""

    def __init__(
        self, *, host: str | None = None, provider: str | None = None, max_line: int | None = None
    ) -> None:
        super().__init__(SSEDecoder(max_line), host=host, provider=provider)

    def document(self, payload: Any) -> list[Delta]:
        deltas = self._deltas(payload if isinstance(payload, dict) else {})
        if not self.done:
            deltas.append(self._final("stop", Usage()))
        return deltas

    def _chunk(self, item: SSEEvent) -> list[Delta]:
        data = item.data.strip()
        if item.event == "error":
            raise error_from_payload(_loads_or_text(data), host=self.host, provider=self.provider)
        if not data:
            return []
        if data == "[DONE]":  # not sent by /infill, but harmless from a proxy that adds it
            return [self._final(self.finish_reason or "stop", Usage())]
        return self._deltas(self._json(data))

    def _deltas(self, chunk: dict[str, Any]) -> list[Delta]:
        deltas = self._text(chunk.get("content"))
        if chunk.get("stop") is True:
            limit = chunk.get("stop_type") == "limit" or chunk.get("stopped_limit") is True
            usage = Usage(
                prompt_tokens=_int(chunk.get("tokens_evaluated")),
                completion_tokens=_int(chunk.get("tokens_predicted")),
            )
            deltas.append(self._final("length" if limit else "stop", usage))
        return deltas


class OllamaGenerateDecoder(_JSONStreamDecoder[str]):
    """Ollama's native ``/api/generate`` NDJSON stream. See the module docstring."""

    def __init__(
        self, *, host: str | None = None, provider: str | None = None, max_line: int | None = None
    ) -> None:
        super().__init__(LineSplitter(max_line), host=host, provider=provider)

    def document(self, payload: Any) -> list[Delta]:
        return self._each([json.dumps(payload)])

    def _chunk(self, item: str) -> list[Delta]:
        if not item.strip():
            return []
        chunk = self._json(item)
        thinking = chunk.get("thinking")
        if isinstance(thinking, str):
            self.progress += len(thinking)  # a thinking model is generating, just not the answer yet
        deltas = self._text(chunk.get("response"))
        if chunk.get("done") is True:
            reason = chunk.get("done_reason")
            usage = Usage(
                prompt_tokens=_int(chunk.get("prompt_eval_count")),
                completion_tokens=_int(chunk.get("eval_count")),
            )
            deltas.append(self._final(reason if isinstance(reason, str) and reason else "stop", usage))
        return deltas


def _loads_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        return data


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
