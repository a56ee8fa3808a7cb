"""Profile the language server under one benchmark scenario with pyinstrument.

    .venv/bin/python -m bench.tools.profile_server typing      # 200 didChange on a 100k-line document
    .venv/bin/python -m bench.tools.profile_server actions     # 500 codeAction requests on it
    .venv/bin/python -m bench.tools.profile_server jobs        # 200 generate jobs (last byte → applyEdit)
    .venv/bin/python -m bench.tools.profile_server startup     # process start → initialize answered
    .venv/bin/python -m bench.tools.profile_server inline      # 500 keystrokes with inline completion

The server runs as ``python -m pyinstrument … -m codegen_lsp.lsp`` and writes its text report
to ``bench/results/profile-<scenario>.txt`` when it exits. pyinstrument is a bench/test extra,
not a dependency of the server.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path

from bench import docs, lsp_bench, servers
from bench.refprovider import RefProvider, Script, always

RESULTS = servers.BENCH / "results"


async def scenario(name: str, spec: servers.ServerSpec, home: Path, provider: RefProvider, size: int) -> None:
    if name == "inline":
        from bench import inline_bench

        options = inline_bench.inline_options(provider.base_url, debounce=0)
        async with inline_bench.inline_session(spec, home, options, "profile-inline") as client:
            uri = f"file://{home}/inline.py"
            await client.open(uri, docs.python_document(300))
            await inline_bench.keystrokes(client, provider, uri, 500)
        return
    # pyinstrument renders its report at exit, which takes a while after a long run
    async with lsp_bench.session(spec, home, log_name=f"profile-{name}", exit_wait=120) as client:
        if name == "startup":
            return
        if name == "jobs":
            script = Script(docs.ANSWER_TOKENS, tag="bench-job-0")
            provider.choose = always(script)
            text, line = docs.job_document("bench-job-0")
            uri = f"file://{home}/job.py"
            await client.open(uri, text)
            for _ in range(200):
                provider.take()
                await lsp_bench.run_job(client, provider, uri, line, "bench-job-0")
                await lsp_bench.reset(client, uri, text)
            return
        uri = f"file://{home}/doc.py"
        text = docs.python_document(size)
        await client.open(uri, text)
        await lsp_bench.ping(client)
        if name == "typing":
            await lsp_bench.did_change_cost(client, uri, 200, size // 2)
        elif name == "actions":
            await lsp_bench.code_action_latencies(client, uri, text, 500)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("scenario", choices=("typing", "actions", "jobs", "startup", "inline"))
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    report = RESULTS / f"profile-{args.scenario}.txt"
    home = servers.temp_home()
    with RefProvider() as provider:
        spec = servers.ours(provider.base_url, home)
        spec.command = [
            sys.executable,
            "-m",
            "pyinstrument",
            "--interval",
            "0.0005",
            "-r",
            "text",
            "--show-all" if args.scenario == "startup" else "--hide-regex=^$",
            "-o",
            str(report),
            "-m",
            "codegen_lsp.lsp",
        ]
        try:
            asyncio.run(scenario(args.scenario, spec, home, provider, args.lines))
        finally:
            shutil.rmtree(home, ignore_errors=True)
    print(f"wrote {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
