"""The language server with stopwatches and a heap tracer clipped on, for finding where time and
memory go. It changes nothing in the server's code: it wraps a few functions from outside and
then runs ``codegen_lsp.lsp`` as ``python -m codegen_lsp.lsp`` would.

``BENCH_STAMPS=FILE``: append ``<stage> <perf_counter>`` lines at the stages a generation passes
after the provider's last byte: the decoder fed an event (the last one counts), ``pipeline.run`` returning,
``apply_edit`` starting, the applyEdit request leaving through pygls' writer. It also records every garbage-collector pause as ``gc<generation> <seconds>``. ``perf_counter``
is ``CLOCK_MONOTONIC``, the clock the reference provider and the client stamp with, so
:mod:`bench.breakdown` lines the stages up with the provider's last byte.

``BENCH_CACHE_SSL=1``: one SSL context per process instead of one per job (the proposed fix).

``BENCH_EARLY_RETURN=1``: deliver at the final delta, close the stream afterwards (proposed fix).

``BENCH_FAST_DOCS=1``: no pygls copy of documents, incremental line index (proposed fixes).

``BENCH_POP_FUTURES=1``: drop pygls' futures of finished handlers (proposed workaround for a leak).

``BENCH_GC_FREEZE=1``: ``gc.freeze()`` after the server's imports (an experiment for the tails).

``BENCH_TRACEMALLOC=FILE``: the first ``SIGUSR1`` starts tracing allocations (25 frames), every
later one appends the top growth since the previous signal to FILE (after a ``gc.collect()``).
"""

from __future__ import annotations

import functools
import gc
import os
import runpy
import signal
import sys
import time
import tracemalloc
from typing import Any


def _install_stamps(path: str) -> None:
    from pygls.protocol import json_rpc

    from codegen_lsp.core import pipeline
    from codegen_lsp.lsp import generation
    from codegen_lsp.providers import chat_stream

    out = open(path, "a", buffering=1)  # noqa: SIM115  # open for the process's lifetime
    clock = time.perf_counter

    def stamp(stage: str) -> None:
        out.write(f"{stage} {clock():.9f}\n")

    feed = chat_stream.ChatStreamDecoder.feed

    @functools.wraps(feed)
    def traced_feed(self: Any, data: str, event: str = "message") -> Any:
        stamp("feed")
        return feed(self, data, event)

    chat_stream.ChatStreamDecoder.feed = traced_feed  # type: ignore[method-assign]

    run = pipeline.run

    @functools.wraps(run)
    async def traced_run(*args: Any, **kwargs: Any) -> Any:
        result = await run(*args, **kwargs)
        stamp("pipeline_returned")
        return result

    pipeline.run = traced_run

    apply_edit = generation.apply_edit

    @functools.wraps(apply_edit)
    async def traced_apply_edit(*args: Any, **kwargs: Any) -> Any:
        stamp("apply_edit_start")
        return await apply_edit(*args, **kwargs)

    generation.apply_edit = traced_apply_edit

    send = json_rpc.JsonRPCProtocol._send_data

    @functools.wraps(send)
    def traced_send(self: Any, data: Any) -> Any:
        method = getattr(data, "method", None)
        if method == "workspace/applyEdit":
            stamp("send_start")
            result = send(self, data)
            stamp("send_end")
            return result
        return send(self, data)

    json_rpc.JsonRPCProtocol._send_data = traced_send  # type: ignore[method-assign]

    # garbage-collector pauses, a suspect for latency tails: "gc<generation> <seconds>"
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[:] = [clock()]
        elif started:
            out.write(f"gc{info['generation']} {clock() - started[0]:.9f}\n")

    gc.callbacks.append(on_gc)


def _install_tracemalloc(path: str) -> None:
    # Tracing from the start would make importing lsprotocol take minutes: the first SIGUSR1
    # starts tracing (after the warm-up jobs), each later one writes the growth since the last.
    previous: list[tracemalloc.Snapshot] = []
    ignore = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    ]

    def dump(signum: int, frame: Any) -> None:
        gc.collect()
        if not tracemalloc.is_tracing():
            tracemalloc.start(25)
        snapshot = tracemalloc.take_snapshot().filter_traces(ignore)
        with open(path, "a") as out:
            current, peak = tracemalloc.get_traced_memory()
            out.write(
                f"=== {time.strftime('%H:%M:%S')} traced {current / 2**20:.2f} MiB (peak {peak / 2**20:.2f})\n"
            )
            if previous:
                for stat in snapshot.compare_to(previous[-1], "traceback")[:12]:
                    out.write(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+7d} blocks\n")
                    for line in stat.traceback.format(limit=8):
                        out.write(f"      {line}\n")
            previous[:] = [snapshot]

    signal.signal(signal.SIGUSR1, dump)


def _cache_ssl_context() -> None:
    """The fix proposed for providers/openai.py, applied from outside to measure it: one SSL
    context per process (per CA setting) instead of one per job."""
    import httpx

    from codegen_lsp.providers import openai

    build = openai.ssl_context_from_env
    cache: dict[tuple[str | None, ...], Any] = {}

    @functools.wraps(build)
    def cached(environ: Any) -> Any:
        key = tuple(
            environ.get(n) for n in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_DIR")
        )
        if key not in cache:
            context = build(environ)
            cache[key] = httpx.create_ssl_context() if context is True else context
        return cache[key]

    openai.ssl_context_from_env = cached


def _early_return() -> None:
    """The fix proposed for core/pipeline.py ``run``, applied from outside to measure it: once
    the answer is complete (the final delta, or the first code block closed) deliver it and close
    the provider's stream (HTTP response, connection bookkeeping) in the background instead of
    before. Mirrors ``pipeline.run`` as of commit 526c72b except for that one ``await``."""
    import asyncio
    from dataclasses import replace

    from codegen_lsp.core import pipeline
    from codegen_lsp.core.types import ApplyMode

    background: set[asyncio.Task[Any]] = set()

    async def run(plan: Any, provider: Any, on_text: Any = None) -> Any:
        parts: list[str] = []
        finish_reason: str | None = None
        watcher = pipeline.line_streamer(plan) if plan.mode != ApplyMode.SHOW else None
        stream = provider.stream(plan.completion)
        complete = False
        try:
            async for delta in stream:
                if delta.text:
                    parts.append(delta.text)
                    if on_text is not None:
                        on_text(delta.text)
                    if watcher is not None:
                        watcher.feed(delta.text)
                        if watcher.done:
                            finish_reason, complete = "stop", True
                            break
                if delta.finish_reason:
                    finish_reason = delta.finish_reason
                if delta.finish_reason is not None or delta.usage is not None:
                    complete = True
                    break
        finally:
            aclose: Any = getattr(stream, "aclose", None)
            if aclose is not None:
                if complete:
                    task = asyncio.get_running_loop().create_task(aclose())
                    background.add(task)
                    task.add_done_callback(background.discard)
                else:
                    await aclose()
        result = pipeline.finish(plan, "".join(parts))
        return replace(result, finish_reason=finish_reason)

    pipeline.run = run


def _fast_documents() -> None:
    """The two fixes proposed for typing in large files, applied from outside to measure them:
    pygls keeps no second copy of each document (the server never reads pygls' workspace), and
    the document store updates its line index per change instead of rebuilding it
    (:mod:`bench.proposals.line_index`; in place, so jobs must keep their own starting index)."""
    from lsprotocol import types as lsp
    from pygls.protocol import language_server

    from bench.proposals.line_index import IncrementalLineIndex
    from codegen_lsp.core.tracking import Change, change_between
    from codegen_lsp.lsp import documents
    from codegen_lsp.lsp.positions import from_client_range

    protocol = language_server.LanguageServerProtocol

    def only_user_handler(method: str) -> Any:
        @language_server.lsp_method(method)
        def handler(self: Any, params: Any) -> Any:
            if (user_handler := self.fm.features.get(method)) is not None:
                yield user_handler, (params,), None

        return handler

    protocol.lsp_text_document__did_open = only_user_handler(lsp.TEXT_DOCUMENT_DID_OPEN)
    protocol.lsp_text_document__did_change = only_user_handler(lsp.TEXT_DOCUMENT_DID_CHANGE)
    protocol.lsp_text_document__did_close = only_user_handler(lsp.TEXT_DOCUMENT_DID_CLOSE)

    documents.LineIndex = IncrementalLineIndex

    def change(self: Any, params: Any) -> None:
        document = self._documents.get(params.text_document.uri)
        if document is None:
            return
        for event in params.content_changes:
            before = document.text
            if isinstance(event, lsp.TextDocumentContentChangePartial):
                index = document.index
                rng = from_client_range(index, event.range, self.encoding)
                start, end = index.offset(rng.start), index.offset(rng.end)
                after = before[:start] + event.text + before[end:]
                change = Change(rng, event.text)
                document._index = index.edited(start, end, event.text, after, in_place=True)
            else:
                after = event.text
                change = change_between(before, after)
            document.text = after
            applied = documents.AppliedChange(change, before, after, params.text_document.version)
            for listener in self._listeners:
                listener(document.uri, applied)
        document.version = params.text_document.version

    documents.DocumentStore.change = change


def _pop_finished_futures() -> None:
    """The workaround proposed for lsp/server.py, applied from outside to measure it.

    pygls 2.1.1 files the future of every handler it runs under its message id in
    ``_request_futures`` but removes it only when it answers a request: a notification
    (``didChange`` on every keystroke) and the user handler that a built-in generator handler
    yields to (``executeCommand``, ``didOpen``/``didChange``/``didClose``, ``initialize``) stay
    there forever, each a Future with a Condition, a lock and its result."""
    from pygls.protocol import json_rpc

    execute = json_rpc.JsonRPCProtocol._execute_handler

    @functools.wraps(execute)
    def execute_and_forget(
        self: Any, msg_id: Any, handler: Any, callback: Any, args: Any = None, kwargs: Any = None
    ) -> None:
        execute(self, msg_id, handler, callback, args, kwargs)
        future = self._request_futures.get(msg_id)
        if future is not None:
            future.add_done_callback(lambda _: self._request_futures.pop(msg_id, None))

    json_rpc.JsonRPCProtocol._execute_handler = execute_and_forget  # type: ignore[method-assign]


def main() -> None:
    if os.environ.get("BENCH_POP_FUTURES"):
        _pop_finished_futures()
    if os.environ.get("BENCH_FAST_DOCS"):
        _fast_documents()
    if os.environ.get("BENCH_EARLY_RETURN"):
        _early_return()
    if os.environ.get("BENCH_CACHE_SSL"):
        _cache_ssl_context()
    if os.environ.get("BENCH_STAMPS"):
        _install_stamps(os.environ["BENCH_STAMPS"])
    if os.environ.get("BENCH_TRACEMALLOC"):
        _install_tracemalloc(os.environ["BENCH_TRACEMALLOC"])
    if os.environ.get("BENCH_GC_FREEZE"):
        # what the server could do itself once it is loaded: move the ~100k long-lived objects
        # of lsprotocol, cattrs and pygls out of the collector's sight, so a full collection
        # walks only what jobs allocate
        import codegen_lsp.lsp.server  # noqa: F401

        gc.collect()
        gc.freeze()
    sys.argv = ["codegen_lsp.lsp", *sys.argv[1:]]
    runpy.run_module("codegen_lsp.lsp", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
