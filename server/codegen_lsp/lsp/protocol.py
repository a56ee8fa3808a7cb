"""The JSON-RPC edge of the server: envelope and params checks and dispatch around pygls' protocol.

Everything the editor sends is outside input. pygls 2.1.1 structures each message inside
``json.loads``'s ``object_hook``, where a failure can only be logged: requests with malformed
params, batches, a missing ``jsonrpc`` and requests after ``shutdown`` got no answer at all. So
:meth:`CodegenProtocol.receive` checks each body (cut by :mod:`codegen_lsp.lsp.framing`, read by
:mod:`codegen_lsp.lsp.transport`) and answers every request it cannot serve with the error the
JSON-RPC and LSP specifications name (-32700 parse error, -32600 invalid request, -32602 invalid
params) before handing the rest to pygls' dispatch. Every text for a person that goes out
(messages, prompts, progress, command answers, error responses) passes
:func:`codegen_lsp.redaction.redact` in ``_send_data``. The protocol also keeps two workarounds
for pygls itself: no second copy of every document, and no leaked futures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import Any

from cattrs import BaseValidationError, transform_error
from lsprotocol import types as lsp
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
)
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage

from codegen_lsp import redaction
from codegen_lsp.lsp.framing import ENV_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES, Dropped, request_id

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602


class UnreadableAnswer(JsonRpcException):
    """What a request of the server's ends with when the client's answer cannot be read (say a
    ``null`` result where an object is due): the client answered, but nobody knows what it did."""

    CODE = INVALID_PARAMS


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
        msg_id = request_id(dropped.head)
        if msg_id is not None:
            self._reply_error(
                msg_id,
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
        """A response the server cannot read still ends the request it answers (with
        :class:`UnreadableAnswer`)."""
        log.warning("the client's answer to %s could not be read: %s", _short(str(msg_id)), problem)
        self._result_types.pop(msg_id, None)
        future = self._request_futures.pop(msg_id, None)
        if future is None:
            log.warning('Received response to unknown message id "%s"', _short(str(msg_id)))
        elif not future.done():
            future.set_exception(UnreadableAnswer(problem))

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
