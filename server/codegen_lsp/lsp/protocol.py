"""The JSON-RPC edge of the server: framing, envelope checks and dispatch around pygls' protocol.

Everything the editor sends is outside input. pygls 2.1.1 reads frames in ``pygls.io_.run_async``,
which trusts the ``Content-Length`` it is given (``1000000000000`` ended in a MemoryError), never
finds its way back after a wrong one, and structures each message inside ``json.loads``'s
``object_hook``, where a failure can only be logged: requests with malformed params, batches, a
missing ``jsonrpc`` and requests after ``shutdown`` got no answer at all. So the server does not
run that loop. :class:`FrameDecoder` (pure: bytes in, events out) cuts the stream into message
bodies under a size cap and resynchronises on the next ``Content-Length`` header;
:meth:`CodegenProtocol.receive` checks each body and answers every request it cannot serve with
the error the JSON-RPC and LSP specifications name (-32700 parse error, -32600 invalid request,
-32602 invalid params) before handing the rest to pygls' dispatch; :func:`serve_stdio` and
:func:`serve_tcp` drive both over either transport and turn ``exit`` into the process's status
(0 after ``shutdown``, else 1), cancelling whatever still runs and sending nothing more. Every
text for a person that goes out (messages, prompts, progress, command answers, error responses)
passes :func:`codegen_lsp.redaction.redact` in ``_send_data``. The protocol also keeps two
workarounds for pygls itself: no second copy of every document, and no leaked futures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from typing import Any, BinaryIO

from cattrs import BaseValidationError, transform_error
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcInvalidRequest, JsonRpcMethodNotFound
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage
from pygls.server import JsonRPCServer

from codegen_lsp import redaction

log = logging.getLogger(__name__)

#: the largest message body the server reads; ``CODEGEN_LSP_MAX_MESSAGE_BYTES`` overrides it
MAX_MESSAGE_BYTES = 64 * 2**20
ENV_MAX_MESSAGE_BYTES = "CODEGEN_LSP_MAX_MESSAGE_BYTES"
#: after ``exit`` (or the client going away), how long running tasks get to end once cancelled
EXIT_GRACE = 1.0
#: a body that stops arriving for this long is checked for a declared length that was too long
STALL_SECONDS = 0.5

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602

#: outgoing notifications and requests that carry text for a person (see _redacted)
_TEXT_METHODS = frozenset(
    {
        lsp.WINDOW_SHOW_MESSAGE,
        lsp.WINDOW_SHOW_MESSAGE_REQUEST,
        lsp.WINDOW_LOG_MESSAGE,
        lsp.PROGRESS,
        lsp.LOG_TRACE,
        lsp.TELEMETRY_EVENT,
    }
)

# ``Content-Length: N`` and its line end can never occur in valid JSON (a JSON string cannot hold
# a raw line break, and the name is not a JSON token), so finding it inside a body proves the
# declared length wrong, and scanning garbage for it is a safe way back into step.
_NAME = b"content-length:"
_HEADER = re.compile(rb"content-length:[ \t]{0,8}(\d{1,20})[ \t]{0,8}\r?\n", re.IGNORECASE)
_HEADER_REST = re.compile(rb"[ \t]{0,8}(?:\d{1,20}[ \t]{0,8}\r?)?")
#: the longest header line _HEADER matches; that many bytes are kept between reads
_OVERLAP = 64
_MAX_HEADER_LINE = 1024
_MAX_HEADER_LINES = 32
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: the first bytes of a refused body, kept to find its request id
_HEAD_BYTES = 512
_HEAD_ID = re.compile(
    rb'\A\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d{1,19}|"(?:[^"\\]|\\.){0,200}")\s*[,}]'
)


@dataclass(frozen=True)
class Frame:
    """One message body; ``problem`` says how its declared length was wrong, if it was."""

    body: bytes
    problem: str | None = None


@dataclass(frozen=True)
class Dropped:
    """Bytes thrown away: an oversized body (``head`` holds its first bytes) or unframed bytes."""

    size: int
    oversized: bool = False
    head: bytes = b""


def _may_become_header(tail: bytes) -> bool:
    """``tail`` (the end of what has arrived, no line end yet) could still become a header line."""
    if not _NAME.startswith(tail[: len(_NAME)].lower()):
        return False
    return len(tail) <= len(_NAME) or _HEADER_REST.fullmatch(tail, len(_NAME)) is not None


class FrameDecoder:
    """LSP base-protocol framing, incrementally: ``feed`` any split of the stream, get events.

    Header names are matched case-insensitively and a bare ``\n`` ends a line as well as
    ``\r\n``; blank lines between messages are ignored. Bytes that are not a header block are
    dropped up to the next ``Content-Length`` header. A body over ``max_body`` bytes is skipped
    without being held in memory, and a body that contains the next message's header is cut
    there (its declared length was too long). At most ``max_body`` bytes of one body plus a
    header line are held; each byte is scanned a bounded number of times.
    """

    def __init__(self, max_body: int = MAX_MESSAGE_BYTES) -> None:
        self.max_body = max_body
        self._buf = bytearray()
        self._declared: int | None = None  # Content-Length seen in the current header block
        self._lines = 0
        self._block = 0  # bytes of the header lines read so far in this block
        self._length: int | None = None  # reading a body of this many bytes
        self._scanned = 0  # how much of the body is known to hold no header
        self._stall_checked = 0  # the body length at the last stalled() that found no JSON
        self._skip: int | None = None  # skipping an oversized body: bytes still to drop
        self._skip_size = 0
        self._head = b""
        self._garbage: int | None = None  # dropping unframed bytes: how many so far
        self._bad_line_first = False  # the buffer still starts with the line that was bad

    @property
    def in_body(self) -> bool:
        return self._length is not None

    def feed(self, data: bytes) -> list[Frame | Dropped]:
        self._buf += data
        events: list[Frame | Dropped] = []
        while self._step(events):
            pass
        return events

    def stalled(self) -> list[Frame | Dropped]:
        """Nothing arrived for a while: a body that is already complete JSON had a declared
        length that was too long (more bytes could only make it invalid), so it is delivered."""
        if self._length is None or not self._buf or len(self._buf) == self._stall_checked:
            return []
        try:
            json.loads(self._buf)
        except (ValueError, RecursionError):
            self._stall_checked = len(self._buf)  # parse again only once more has arrived
            return []
        body = bytes(self._buf)
        problem = f"declared {self._length} bytes, but the message ended after {len(body)}"
        self._buf.clear()
        self._end_body()
        return [Frame(body, problem)]

    def _find_header(self, start: int, stop: int) -> tuple[int, bool]:
        """Where the first header line that begins in ``[start, stop)`` begins (it may run on
        past ``stop``), and whether it is complete; ``(-1, False)`` when there is none, and
        ``(where, False)`` when one may still be arriving at the end of the buffer."""
        # bytes.lower + find: ~10x faster than a case-insensitive regex search over a body
        lowered = bytes(self._buf[start : stop + _OVERLAP]).lower()
        at = lowered.find(_NAME[:-1])
        while 0 <= at < stop - start:
            where = start + at
            if _HEADER.match(self._buf, where):
                return where, True
            if _may_become_header(bytes(self._buf[where:])):
                return where, False
            at = lowered.find(_NAME[:-1], at + 1)
        # a name cut short by the end of what has arrived so far ("Conte")
        for where in range(max(start, len(self._buf) - len(_NAME)), min(stop, len(self._buf))):
            if _may_become_header(bytes(self._buf[where:])):
                return where, False
        return -1, False

    # one state transition per call; False when more input is needed

    def _step(self, events: list[Frame | Dropped]) -> bool:
        if self._skip is not None:
            return self._skip_body(events)
        if self._garbage is not None:
            return self._resync(events)
        if self._length is not None:
            return self._read_body(events)
        return self._read_header()

    def _read_header(self) -> bool:
        end = self._buf.find(b"\n", 0, _MAX_HEADER_LINE + 1)
        if end < 0:
            if len(self._buf) > _MAX_HEADER_LINE:
                self._start_garbage()
                return True
            return False
        line = bytes(self._buf[:end]).rstrip(b"\r")
        if not line.strip():
            if self._lines and self._declared is None:  # a header block without a length
                self._start_garbage()
                return True
            del self._buf[: end + 1]
            if self._declared is not None:  # the blank line that ends a header block
                self._start_body(self._declared)
            return True  # (a blank line between messages is tolerated)
        name, colon, value = line.partition(b":")
        value = value.strip()
        is_length = name.lower() == b"content-length"
        self._lines += 1
        if (
            not colon
            or not _TOKEN.fullmatch(name)
            or self._lines > _MAX_HEADER_LINES
            or (is_length and not (value.isdigit() and len(value) <= 20))
            or (is_length and self._declared is not None and int(value) != self._declared)
        ):
            self._start_garbage()
            return True
        del self._buf[: end + 1]
        self._block += end + 1
        if is_length:
            self._declared = int(value)
        return True  # other headers (Content-Type) carry nothing the server uses

    def _start_garbage(self) -> None:
        # The bad line stays in the buffer: the next header may start inside it ("}Content-...").
        # The header lines already read of this block count as dropped.
        self._garbage = self._block
        self._bad_line_first = True
        self._declared = None
        self._lines = 0
        self._block = 0

    def _resync(self, events: list[Frame | Dropped]) -> bool:
        assert self._garbage is not None
        # The bad line's first byte must go (or it would be found again); after that, any byte.
        first = 1 if self._bad_line_first else 0
        where, complete = self._find_header(first, len(self._buf))
        if not complete:
            drop = where if where >= 0 else max(first, len(self._buf) - _OVERLAP)
            if drop:
                self._bad_line_first = False
            self._garbage += drop
            del self._buf[:drop]
            return False
        events.append(Dropped(self._garbage + where))
        del self._buf[:where]
        self._garbage = None
        return True

    def _start_body(self, length: int) -> None:
        self._declared = None
        self._lines = 0
        self._block = 0
        if length > self.max_body:
            self._skip = length
            self._skip_size = length
            self._head = b""
        else:
            self._length = length
            self._scanned = 0

    def _end_body(self) -> None:
        self._length = None
        self._scanned = 0
        self._stall_checked = 0

    def _read_body(self, events: list[Frame | Dropped]) -> bool:
        assert self._length is not None
        window = min(len(self._buf), self._length)
        where, complete = self._find_header(max(0, self._scanned - _OVERLAP), window)
        if complete:
            body = bytes(self._buf[:where])
            events.append(
                Frame(body, f"declared {self._length} bytes, but the next message began after {where}")
            )
            del self._buf[:where]
            self._end_body()
            return True
        if where >= 0 or len(self._buf) < self._length:
            # more to come, or a header that may be the next message's is still arriving
            self._scanned = where if where >= 0 else window
            return False
        events.append(Frame(bytes(self._buf[: self._length])))
        del self._buf[: self._length]
        self._end_body()
        return True

    def _skip_body(self, events: list[Frame | Dropped]) -> bool:
        assert self._skip is not None
        window = min(len(self._buf), self._skip)
        where, complete = self._find_header(0, window)
        if complete or (where < 0 and window == self._skip):
            self._drop_skipped(where if complete else window)
            events.append(Dropped(self._skip_size, oversized=True, head=self._head))
            self._skip = None
            return True
        drop = where if where >= 0 else max(0, window - _OVERLAP)
        self._drop_skipped(drop)
        self._skip -= drop
        return False

    def _drop_skipped(self, count: int) -> None:
        if len(self._head) < _HEAD_BYTES:
            self._head += bytes(self._buf[: min(count, _HEAD_BYTES - len(self._head))])
        del self._buf[:count]


def max_message_bytes(environ: dict[str, str] | None = None) -> int:
    """The body size cap: ``CODEGEN_LSP_MAX_MESSAGE_BYTES`` when it is a positive integer."""
    raw = (os.environ if environ is None else environ).get(ENV_MAX_MESSAGE_BYTES, "").strip()
    if raw:
        if raw.isdigit() and int(raw) > 0:
            return int(raw)
        log.warning(
            "%s=%r is not a positive number of bytes; using %d",
            ENV_MAX_MESSAGE_BYTES,
            raw[:40],
            MAX_MESSAGE_BYTES,
        )
    return MAX_MESSAGE_BYTES


_CLIENT_ERRORS = (JsonRpcInvalidParams, JsonRpcInvalidRequest, JsonRpcMethodNotFound)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _describe(exc: Exception) -> str:
    """A short, value-free account of why params could not be read (paths and expected types)."""
    if isinstance(exc, BaseValidationError):
        problems = [p.replace("$.params", "params") for p in transform_error(exc)]
        return "; ".join(problems[:3]) + ("; …" if len(problems) > 3 else "")
    return type(exc).__name__


def _to_user_handler(method: str) -> Callable[..., Generator[Any, Any, None]]:
    """A built-in handler for ``method`` that only hands the params to the server's own handler."""

    @lsp_method(method)
    def handler(self: LanguageServerProtocol, params: Any) -> Generator[Any, Any, None]:
        # Same shape as pygls' own built-ins (a generator yielding handler, args, kwargs), minus
        # the workspace update.
        if (user_handler := self.fm.features.get(method)) is not None:
            yield user_handler, (params,), None

    return handler


class _GuardedWriter:
    """pygls' writer, made safe to lose: a failed write marks the client gone, once.

    pygls reports a failed write to the client as a showMessage, which is itself a write: after
    ``exit`` closed stdout, that recursion wrote 28 MB of chained tracebacks. Here the first
    failure is one log line and every later message is dropped.
    """

    def __init__(self, writer: Any, on_lost: Callable[[str], None]) -> None:
        self._writer = writer
        self._on_lost = on_lost
        self.lost = False

    def write(self, data: bytes) -> None:
        if self.lost:
            return
        if getattr(self._writer, "is_closing", lambda: False)():
            self._lose("the connection is closed")
            return
        try:
            self._writer.write(data)
        except (OSError, ValueError) as exc:  # ValueError: write to a closed file
            self._lose(str(exc) or type(exc).__name__)

    def _lose(self, why: str) -> None:
        self.lost = True
        self._on_lost(why)

    def close(self) -> Any:
        with contextlib.suppress(OSError, ValueError):
            return self._writer.close()
        return None


class CodegenProtocol(LanguageServerProtocol):
    """pygls' protocol behind a strict reader, with an orderly ``exit`` and quiet failures.

    Also, pygls' built-in didOpen/didChange/didClose handlers keep a second copy of each document
    in ``ls.workspace`` and apply every change to it with ``str.splitlines`` lines; at 100k lines
    that costs ~20 ms per keystroke. The server reads only its own ``DocumentStore`` (and
    ``workspace.position_encoding``, which does not depend on documents), so these handlers only
    pass the notification on to the server's own handlers.
    """

    lsp_text_document__did_open = _to_user_handler(lsp.TEXT_DOCUMENT_DID_OPEN)
    lsp_text_document__did_change = _to_user_handler(lsp.TEXT_DOCUMENT_DID_CHANGE)
    lsp_text_document__did_close = _to_user_handler(lsp.TEXT_DOCUMENT_DID_CLOSE)

    def __init__(self, server: Any, converter: Any) -> None:
        super().__init__(server, converter)
        #: set by ``exit`` (0 after shutdown, else 1), or when the client went away
        self.exit_code: int | None = None
        #: no more output: after ``exit``, or once a write failed
        self.closed = False
        #: the body size cap of the reader (for messages)
        self.max_body = MAX_MESSAGE_BYTES
        self._stop: Callable[[], None] = lambda: None

    # output

    def set_writer(self, writer: Any, include_headers: bool = True) -> None:
        super().set_writer(_GuardedWriter(writer, self._writer_lost), include_headers)

    def _writer_lost(self, why: str) -> None:
        if not self.closed:
            log.warning("the client can no longer be written to (%s); stopping", why)
        self.closed = True
        if self.exit_code is None:
            self.exit_code = 0 if self._shutdown else 1
        self._stop()

    def _send_data(self, data: Any) -> None:
        if self.closed:
            log.debug(
                "not sent (the client is gone): %s", getattr(data, "method", None) or type(data).__name__
            )
            return
        super()._send_data(self._redacted(data))

    def _redacted(self, data: Any) -> Any:
        """The one way out for text: messages, prompts, progress, command answers and error
        responses (pygls puts an exception's text and traceback in them) are redacted here,
        whoever built them. Edits and other results carry the user's code and pass untouched."""
        if isinstance(data, dict):
            text = "error" in data or data.get("method") in _TEXT_METHODS
        else:
            text = getattr(data, "method", None) in _TEXT_METHODS or isinstance(
                data, lsp.ExecuteCommandResponse | lsp.ResponseErrorMessage
            )
        if not text:
            return data
        return redaction.redact_data(data if isinstance(data, dict) else self._serialize_message(data))

    def _reply_error(self, msg_id: Any, code: int, message: str) -> None:
        # A plain dict: lsprotocol's ResponseErrorMessage leaves out ``"id": null``, which
        # JSON-RPC requires when the id could not be read.
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})

    # input

    def receive(self, body: bytes) -> None:
        """Handle one message body from the client; every request gets an answer."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            log.warning("refused a message that is not JSON (%d bytes)", len(body))
            self._reply_error(None, PARSE_ERROR, "Parse error: the message is not valid JSON.")
            return
        if isinstance(data, list):
            self._refuse_batch(data)
        else:
            self.receive_message(data)

    def refuse(self, dropped: Dropped) -> None:
        """An oversized message was skipped: answer it if its id can be read from its start."""
        log.warning(
            "refused a message of %d bytes: over the limit of %d (%s)",
            dropped.size,
            self.max_body,
            ENV_MAX_MESSAGE_BYTES,
        )
        match = _HEAD_ID.match(dropped.head)
        if match is not None:
            self._reply_error(
                json.loads(match.group(1)),
                INVALID_REQUEST,
                f"Invalid request: the message is {dropped.size} bytes, more than this server's limit "
                f"of {self.max_body} (set {ENV_MAX_MESSAGE_BYTES} to raise it).",
            )

    def _refuse_batch(self, batch: list[Any]) -> None:
        log.warning("refused a batch of %d messages (LSP has no batches)", len(batch))
        text = "Invalid request: batches are not part of LSP; send each message in its own frame."
        ids = [
            item["id"]
            for item in batch
            if isinstance(item, dict) and isinstance(item.get("method"), str) and _valid_id(item.get("id"))
        ]
        for msg_id in ids:
            self._reply_error(msg_id, INVALID_REQUEST, text)
        if not ids:
            self._reply_error(None, INVALID_REQUEST, text)

    def receive_message(self, data: Any) -> None:
        """Check one decoded message's envelope and params, then hand it to pygls."""
        if self.closed:
            return
        if not isinstance(data, dict):
            self._reply_error(None, INVALID_REQUEST, "Invalid request: a message is a JSON object.")
            return
        has_id = "id" in data
        msg_id = data.get("id")
        method = data.get("method")
        if has_id and not _valid_id(msg_id):
            if method is None and "error" in data:  # the client could not read one of ours
                log.warning("the client reported an error without an id: %s", _short(str(data.get("error"))))
            else:
                self._reply_error(
                    None, INVALID_REQUEST, "Invalid request: `id` must be a string or an integer."
                )
            return
        problem = None
        if data.get("jsonrpc") != "2.0":
            problem = 'Invalid request: `jsonrpc` must be "2.0".'
        elif "method" in data and not isinstance(method, str):
            problem = "Invalid request: `method` must be a string."
        elif data.get("params") is not None and not isinstance(data["params"], dict | list):
            problem = "Invalid request: `params` must be an object or an array."
        elif method is None and not has_id:
            problem = "Invalid request: neither a request, a notification nor a response."
        if problem is not None:
            if has_id and method is not None:
                self._reply_error(msg_id, INVALID_REQUEST, problem)
            elif has_id:
                self._fail_pending(msg_id, problem)
            else:
                log.warning("ignored a message: %s", problem)
                if method is None:
                    self._reply_error(None, INVALID_REQUEST, problem)
            return
        if method is None:
            self._receive_response(msg_id, data)
            return
        if self._shutdown and method != lsp.EXIT:
            if has_id:  # the spec: "requests after a shutdown request should error with InvalidRequest"
                self._reply_error(
                    msg_id, INVALID_REQUEST, f"Invalid request: {_short(method)} after shutdown."
                )
            return
        # JSON-RPC lets params be left out; pygls' generic message classes need the field.
        data.setdefault("params", None)
        message_type = self.get_message_type(method) or (
            JsonRPCRequestMessage if has_id else JsonRPCNotification
        )
        try:
            message = self._converter.structure(data, message_type)
        except Exception as exc:
            detail = _describe(exc)
            if has_id:
                self._reply_error(msg_id, INVALID_PARAMS, f"Invalid params for {_short(method)}: {detail}")
            else:
                log.warning("ignored %s: invalid params (%s)", _short(method), detail)
            return
        self.handle_message(message)

    def _receive_response(self, msg_id: Any, data: dict[str, Any]) -> None:
        pending = self._request_futures.get(msg_id)
        if pending is not None and pending.done():
            # e.g. workspace/applyEdit answered after the server stopped waiting (applyTimeout)
            log.info("a late answer to %s was ignored", _short(str(msg_id)))
            self._request_futures.pop(msg_id, None)
            self._result_types.pop(msg_id, None)
            return
        if "error" in data:
            message_type: Any = lsp.ResponseErrorMessage
        elif "result" in data:
            message_type = self._result_types.pop(msg_id, None) or JsonRPCResponseMessage
        else:
            self._fail_pending(msg_id, "Invalid response: neither `result` nor `error`.")
            return
        try:
            message = self._converter.structure(data, message_type)
        except Exception as exc:
            self._fail_pending(msg_id, f"Invalid response: {_describe(exc)}")
            return
        self.handle_message(message)

    def _fail_pending(self, msg_id: Any, problem: str) -> None:
        """A response the server cannot read still ends the request it answers (as an error)."""
        log.warning("the client's answer to %s could not be read: %s", _short(str(msg_id)), problem)
        self._result_types.pop(msg_id, None)
        self._handle_response(msg_id, None, lsp.ResponseError(code=INVALID_PARAMS, message=problem))

    def _send_handler_result(self, future: Any, *, msg_id: Any) -> None:
        # A request refused for the client's own mistake (pygls raises InvalidParams for an
        # unknown command or wrong arguments) is answered with one log line, not a traceback.
        if not future.cancelled() and isinstance(error := future.exception(), _CLIENT_ERRORS):
            self._request_futures.pop(msg_id, None)
            log.warning(
                "answered %s with %s: %s", _short(str(msg_id)), type(error).__name__, _short(str(error), 200)
            )
            self._send_response(msg_id, error=error.to_response_error())
            return
        super()._send_handler_result(future, msg_id=msg_id)

    # lifecycle

    @lsp_method(lsp.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        """Unlike pygls' exit, no ``sys.exit`` from inside a handler: record the status and stop
        reading; :func:`serve_stdio` / :func:`serve_tcp` cancel what runs and return it."""
        if (user_handler := self.fm.features.get(lsp.EXIT)) is not None:
            yield user_handler, args, None
        self.exit_code = 0 if self._shutdown else 1
        if not self._shutdown:
            log.warning("exit without shutdown: exit status 1")
        self.closed = True
        self._stop()

    # pygls bookkeeping

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        # pygls 2.1.1 files the future of every coroutine, thread and generator handler in
        # _request_futures under its message id, but removes it only when it answers a request
        # (or the client cancels one). The futures of notifications (a didChange per keystroke,
        # under a fresh uuid) and of the user handlers that built-in generators yield to
        # (executeCommand, didOpen/didChange/didClose, initialized, shutdown) stay forever:
        # ~1 KB per keystroke, ~5 KB per generation. Forget each one once it is done.
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        future = self._request_futures.get(msg_id)
        if future is None:
            return  # a plain function: pygls files nothing
        if future.done():
            self._forget(msg_id, future)  # the usual notification: finished synchronously
            return
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # a generator resumed from a thread handler's callback
            loop = None

        def forget_later(done: Future[Any] | asyncio.Future[Any]) -> None:
            # Not in the callback itself: a concurrent Future runs callbacks inside cancel(), and
            # pygls' shutdown cancels futures while iterating over _request_futures.
            if loop is None or loop.is_closed():
                self._forget(msg_id, done)
            else:
                loop.call_soon_threadsafe(self._forget, msg_id, done)

        future.add_done_callback(forget_later)

    def _forget(self, msg_id: Any, future: Any) -> None:
        # only this future: a later message may have been filed under the same id since
        if self._request_futures.get(msg_id) is future:
            del self._request_futures[msg_id]


# Transports. Both feed the same decoder and protocol; they differ only in where bytes come from.


def _dispatch(handle: Callable[[Any], None], event: Any) -> None:
    # One message's failure is that message's: the reader goes on (pygls' loop did the same).
    try:
        handle(event)
    except Exception:
        log.exception("a message could not be handled")


async def _pump(protocol: CodegenProtocol, read: Callable[[], Awaitable[bytes]], max_body: int) -> None:
    """Read until end of input or ``exit``, handing every frame to the protocol."""
    decoder = FrameDecoder(max_body)
    protocol.max_body = max_body
    stop = asyncio.Event()
    protocol._stop = stop.set
    stopping = asyncio.ensure_future(stop.wait())
    reading: asyncio.Future[bytes] | None = None
    try:
        while not stop.is_set():
            if reading is None:
                reading = asyncio.ensure_future(read())
            timeout = STALL_SECONDS if decoder.in_body else None
            waiting: set[asyncio.Future[Any]] = {reading, stopping}
            done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if reading not in done:
                events = decoder.stalled() if not done else []
            else:
                chunk = reading.result()
                reading = None
                if not chunk:
                    log.info("the client closed the connection")
                    break
                events = decoder.feed(chunk)
            for event in events:
                if stop.is_set():
                    break
                if isinstance(event, Frame):
                    if event.problem:
                        log.warning("a message's Content-Length was wrong (%s)", event.problem)
                    _dispatch(protocol.receive, event.body)
                elif event.oversized:
                    _dispatch(protocol.refuse, event)
                else:
                    log.warning("dropped %d bytes outside any message", event.size)
    finally:
        protocol._stop = lambda: None
        stopping.cancel()
        if reading is not None:
            reading.cancel()


async def _wind_down(protocol: CodegenProtocol, grace: float) -> int:
    """After the last message: cancel every task still running (jobs included), send nothing."""
    protocol.closed = True
    if protocol.exit_code is None:  # end of input without exit
        protocol.exit_code = 0 if protocol._shutdown else 1
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=grace)
        if pending:
            log.warning("%d task(s) still running %g s after exit; leaving them", len(pending), grace)
    return protocol.exit_code


def _protocol_of(server: JsonRPCServer) -> CodegenProtocol:
    protocol = server.protocol
    if not isinstance(protocol, CodegenProtocol):
        raise TypeError("the server must use CodegenProtocol")
    return protocol


def _stdin_chunks(stdin: BinaryIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes]) -> None:
    """The reader thread: blocking reads of stdin, handed to the loop (bounded, so it waits)."""
    try:
        fd: int | None = stdin.fileno()
    except (OSError, ValueError, AttributeError):
        fd = None
    while True:
        try:
            # os.read on the descriptor, not the buffered object: a daemon thread blocked inside
            # BufferedReader holds its lock, which aborts the interpreter at exit.
            chunk = os.read(fd, 1 << 16) if fd is not None else getattr(stdin, "read1", stdin.read)(1 << 16)
        except OSError:
            chunk = b""
        try:
            asyncio.run_coroutine_threadsafe(queue.put(chunk), loop).result()
        except (RuntimeError, CancelledError):  # the loop has ended (or is ending): so has the server
            return
        if not chunk:
            return


def serve_stdio(
    server: JsonRPCServer,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    *,
    max_body: int | None = None,
) -> int:
    """Serve over stdin/stdout until ``exit`` or end of input; returns the exit status."""
    from pygls.io_ import StdoutWriter

    protocol = _protocol_of(server)
    protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    limit = max_body or max_message_bytes()

    async def main() -> int:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=4)
        # A daemon thread rather than pygls' executor: a read blocked on stdin must not keep
        # the process alive after exit.
        threading.Thread(
            target=_stdin_chunks, args=(stdin or sys.stdin.buffer, loop, queue), name="stdin", daemon=True
        ).start()
        await _pump(protocol, queue.get, limit)
        return await _wind_down(protocol, EXIT_GRACE)

    try:
        return asyncio.run(main())
    finally:
        # stdout stays open (closing it would make the interpreter's own flush at exit fail);
        # nothing more is written to it
        server.shutdown()  # type: ignore[no-untyped-call]  # pygls: the thread pool


def serve_tcp(server: JsonRPCServer, host: str, port: int, *, max_body: int | None = None) -> int:
    """Listen on ``host:port`` and serve the first client until ``exit`` or disconnection."""
    protocol = _protocol_of(server)
    limit = max_body or max_message_bytes()

    async def main() -> int:
        served: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        busy = False

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal busy
            if busy:  # one protocol, one client: a second one would interleave with the first
                log.warning("refused a second connection from %s", writer.get_extra_info("peername"))
                writer.close()
                return
            busy = True
            protocol.set_writer(writer)
            try:
                await _pump(protocol, lambda: reader.read(1 << 16), limit)
            except ConnectionError as exc:
                log.info("the connection was lost: %s", exc)
            finally:
                if not served.done():
                    served.set_result(None)

        try:
            listener = await asyncio.start_server(connection, host, port)
        except OSError as exc:
            print(f"codegen-lsp: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        log.info("listening on %s:%d", host, port)
        async with listener:
            await served
            listener.close()
            code = await _wind_down(protocol, EXIT_GRACE)
        if protocol.writer is not None:
            protocol.writer.close()
        return code

    try:
        return asyncio.run(main())
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]  # pygls: the thread pool
