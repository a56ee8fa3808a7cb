"""The transports: stdio and TCP feed the same frame decoder and protocol.

:func:`serve_stdio` and :func:`serve_tcp` read bytes (stdin on a daemon thread, or the first TCP
client), cut them into bodies with :class:`~codegen_lsp.lsp.framing.FrameDecoder`, hand each to
:class:`~codegen_lsp.lsp.protocol.CodegenProtocol`, and turn ``exit`` into the process's status
(0 after ``shutdown``, else 1), cancelling whatever still runs and sending nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import CancelledError
from typing import Any, BinaryIO

from pygls.server import JsonRPCServer

from codegen_lsp.lsp.framing import Frame, FrameDecoder, max_message_bytes
from codegen_lsp.lsp.protocol import CodegenProtocol

log = logging.getLogger(__name__)

#: after ``exit`` (or the client going away), how long running tasks get to end once cancelled
EXIT_GRACE = 1.0
#: a body that stops arriving for this long is checked for a declared length that was too long
STALL_SECONDS = 0.5


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
