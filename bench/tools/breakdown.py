"""Where the time after the provider's last byte goes (item 4), and what grows over many jobs (item 7).

    .venv/bin/python -m bench.tools.breakdown stages [--jobs 300]
    .venv/bin/python -m bench.tools.breakdown memory [--jobs 1000]

``stages`` runs jobs against :mod:`bench.tools.instrumented_server` and prints, per stage, p50/p99 of
the time since the previous stage, from the provider's last byte to the client reading the
``workspace/applyEdit``. ``memory`` runs jobs under tracemalloc and writes the allocation growth
between job 200 and the last job to ``bench/results/tracemalloc.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

from bench import docs, lsp_bench, servers
from bench.refprovider import RefProvider, Script, always
from bench.stats import summary

RESULTS = servers.BENCH / "results"
STAGES = ("feed", "pipeline_returned", "apply_edit_start", "send_start", "send_end")
LABELS = {
    "feed": "last byte → last event decoded (socket, httpx, SSE decoder)",
    "pipeline_returned": "→ pipeline.run yields the result (stream closes in background)",
    "apply_edit_start": "→ apply_edit starts (live.stop, deliver)",
    "send_start": "→ applyEdit handed to pygls (replay, index, edit, request)",
    "send_end": "serialize + write to stdout (pygls _send_data)",
    "client": "stdout pipe → client has read it",
    "total": "TOTAL: provider's last byte → client has the applyEdit",
    "command": "executeCommand round trip (whole job, provider ~40 ms)",
}


def _spec(provider: RefProvider, home: Path, **env: str) -> servers.ServerSpec:
    spec = servers.ours(provider.base_url, home)
    spec.command = [sys.executable, "-m", "bench.tools.instrumented_server"]
    paths = [str(servers.ROOT), spec.env.get("PYTHONPATH", "")]
    spec.env = {**spec.env, **env, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    return spec


async def stages(jobs: int, env: dict[str, str]) -> dict[str, dict[str, float | int]]:
    home = servers.temp_home()
    stamps = home / "stamps.txt"
    script = Script(docs.ANSWER_TOKENS, ttft=0.02, interval=0.001, tag="bench-job-0")
    with RefProvider(always(script)) as provider:
        spec = _spec(provider, home, BENCH_STAMPS=str(stamps), **env)
        timings = []
        async with lsp_bench.session(spec, home, log_name="breakdown") as client:
            text, line = docs.job_document("bench-job-0")
            uri = f"file://{home}/job.py"
            await client.open(uri, text)
            for _ in range(jobs + 5):
                provider.take()
                timings.append(await lsp_bench.run_job(client, provider, uri, line, "bench-job-0"))
                await lsp_bench.reset(client, uri, text)
    seen: dict[str, list[float]] = {stage: [] for stage in STAGES}
    pauses: dict[str, list[float]] = {}
    for entry in stamps.read_text().split("\n"):
        if entry:
            stage, t = entry.split()
            if stage.startswith("gc"):
                pauses.setdefault(stage, []).append(float(t))
            else:
                seen[stage].append(float(t))
    for generation, values in sorted(pauses.items()):
        print(
            f"{generation} pauses: {len(values)} over {jobs + 5} jobs, p50 {summary(values, 1000)['p50']:.3f} ms,"
            f" max {max(values) * 1000:.3f} ms",
            file=sys.stderr,
        )
    # the decoder is fed every event: keep, per job, the last feed before pipeline.run returned
    feeds = iter(seen["feed"])
    last_feeds, current = [], next(feeds, None)
    for returned in seen["pipeline_returned"]:
        last = None
        while current is not None and current < returned:
            last, current = current, next(feeds, None)
        last_feeds.append(last if last is not None else returned)
    seen["feed"] = last_feeds
    out: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "client", "total", "command")}
    for i, timing in enumerate(timings[5:], start=5):
        assert timing.served.t_last is not None
        previous = timing.served.t_last
        for stage in STAGES:
            out[stage].append(seen[stage][i] - previous)
            previous = seen[stage][i]
        out["client"].append(timing.edits[-1].t - previous)
        out["total"].append(timing.last_byte_to_edit)
        out["command"].append(timing.t_done - timing.t_command)
    shutil.rmtree(home, ignore_errors=True)
    return {stage: summary(values, 1000) for stage, values in out.items()}


async def memory(jobs: int) -> Path:
    home = servers.temp_home()
    report = RESULTS / "tracemalloc.txt"
    report.unlink(missing_ok=True)
    script = Script(docs.ANSWER_TOKENS, tag="bench-job-0")
    with RefProvider(always(script)) as provider:
        spec = _spec(provider, home, BENCH_TRACEMALLOC=str(report))
        async with lsp_bench.session(spec, home, log_name="tracemalloc") as client:
            text, line = docs.job_document("bench-job-0")
            uri = f"file://{home}/job.py"
            await client.open(uri, text)
            for i in range(jobs):
                provider.take()
                await lsp_bench.run_job(client, provider, uri, line, "bench-job-0")
                await lsp_bench.reset(client, uri, text)
                if i + 1 in (200, jobs):
                    await lsp_bench.ping(client)
                    os.kill(client.pid, signal.SIGUSR1)
                    await asyncio.sleep(1.0)
                    await lsp_bench.ping(client)
    shutil.rmtree(home, ignore_errors=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("what", choices=("stages", "memory"))
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--gc-freeze", action="store_true", help="stages: gc.freeze() after imports")
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    if args.what == "stages":
        env = {}
        if args.gc_freeze:
            env["BENCH_GC_FREEZE"] = "1"
        result = asyncio.run(stages(args.jobs or 300, env))
        print(f"{'stage':<62} {'p50 ms':>8} {'p99 ms':>8}")
        for stage, s in result.items():
            print(f"{LABELS[stage]:<62} {s['p50']:>8.3f} {s['p99']:>8.3f}")
    else:
        print(f"wrote {asyncio.run(memory(args.jobs or 1000))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
