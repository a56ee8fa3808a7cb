"""The language server with stopwatches and a heap tracer clipped on, for finding where time and
memory go (:mod:`bench.tools.breakdown`). It copies none of the server's code: it wraps a few of the
real functions from outside (each wrapper stamps, then calls the original) and then runs
``codegen_lsp.lsp`` as ``python -m codegen_lsp.lsp`` would.

``BENCH_STAMPS=FILE``: append ``<stage> <perf_counter>`` lines at the stages a generation
passes after the provider's last byte: the decoder fed an event (the last one counts),
``pipeline.run`` handing out its result, ``apply_edit`` starting, the applyEdit request leaving through
pygls' writer. It also records every garbage-collector pause as ``gc<generation> <seconds>``.
``perf_counter`` is ``CLOCK_MONOTONIC``, the clock the reference provider and the client stamp
with, so :mod:`bench.tools.breakdown` lines the stages up with the provider's last byte.

``BENCH_GC_FREEZE=1``: ``gc.freeze()`` after the server's imports (an experiment for the tails).

``BENCH_TRACEMALLOC=FILE``: the first ``SIGUSR1`` starts tracing allocations (25 frames), every
later one appends the top growth since the previous signal to FILE (after a ``gc.collect()``).
"""

from __future__ import annotations

import contextlib
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
    from codegen_lsp.lsp import delivery
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
        async with contextlib.aclosing(run(*args, **kwargs)) as events:
            async for event in events:
                if isinstance(event, pipeline.Result):
                    stamp("pipeline_returned")
                yield event

    pipeline.run = traced_run

    apply_edit = delivery.apply_edit

    @functools.wraps(apply_edit)
    async def traced_apply_edit(*args: Any, **kwargs: Any) -> Any:
        stamp("apply_edit_start")
        return await apply_edit(*args, **kwargs)

    delivery.apply_edit = traced_apply_edit

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


def main() -> None:
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
