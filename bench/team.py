"""Load run for team mode: N simulated editors on one shared model service (not a test).

Two setups on loopback, each with the embedded model in effect (see :mod:`bench.gateway`):

* **alone**: one ``python -m llama_cpp.server``, each editor pointed at it;
* **gateway**: the LiteLLM proxy (``examples/team/litellm.yaml``) over two such servers, each editor
  with its own per-developer key and ``user``.

Every server gets ``--threads`` threads (1 by default): on a machine whose cores are shared with
other work, a multi-threaded llama.cpp collapses (its threads wait for each other at every step);
on an idle machine give the lone server every core to compare capacity for capacity.

Each simulated editor is a real ``codegen-lsp serve`` process driven by :mod:`bench.lspclient`, as
an editor runs it: open a document, run ``codegen.generate`` on a comment, apply the edit, close
the document, again, until the level's time is up (a started request is always finished). For
N = 1, 2, 4, 8 editors the run reports completed requests, generated tokens per second, errors,
and p50/p99 of the time to first token (the command sent → the server's first "N tokens" progress
report, i.e. what the editor sees) and of the whole request. Everything is bounded (levels, seconds
per level, ``max_tokens``) and stays on 127.0.0.1. On a shared machine run it niced and read the
load average printed with the table::

    nice -n 5 .venv/bin/python -m bench.team                    # ~5 min on 2 cores
    nice -n 5 .venv/bin/python -m bench.team --editors 1,2 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import servers
from bench.gateway import Backend, Gateway, embedded_gguf, litellm_executable
from bench.lspclient import LspClient, Received
from bench.run import machine
from bench.stats import percentile

SOURCE = "import math\n\n# {task}\n\nprint('done')\n"
TASKS = (
    "Return the area of a circle of radius r.",
    "Return the n-th Fibonacci number.",
    "Return True if s is a palindrome.",
    "Return the largest of three numbers a, b and c.",
    "Convert a temperature from Celsius to Fahrenheit.",
    "Return the number of vowels in a string.",
)
_TOKENS = re.compile(r": (\d+) tokens")


@dataclass
class Level:
    """One row of the table: a setup under N editors."""

    setup: str
    editors: int
    seconds: float = 0.0
    ttft: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    tokens: int = 0
    errors: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        done = len(self.total)
        return {
            "setup": self.setup,
            "editors": self.editors,
            "requests": done,
            "errors": len(self.errors),
            "requests_per_min": done / self.seconds * 60 if self.seconds else 0.0,
            "tokens_per_s": self.tokens / self.seconds if self.seconds else 0.0,
            "ttft_p50_s": percentile(self.ttft, 50),
            "ttft_p99_s": percentile(self.ttft, 99),
            "total_p50_s": percentile(self.total, 50),
            "seconds": self.seconds,
            "error_messages": self.errors[:5],
        }


def options(base_url: str, user: str, *, keyed: bool, max_tokens: int) -> dict[str, Any]:
    """The editor's settings for one simulated developer."""
    provider: dict[str, Any] = {
        "baseUrl": base_url,
        "model": "codegen",
        "temperature": 0.0,
        "timeouts": {"firstToken": 600, "idle": 120},
    }
    if keyed:
        provider.update(apiKeyEnv="TEAM_LLM_KEY", user=user, headers={"x-litellm-tags": "bench"})
    return {
        "codegen": {
            # top-level too: these win over the CODEGEN_LSP_* variables bench.servers sets
            "baseUrl": base_url,
            "model": "codegen",
            "provider": "team",
            "providers": {"team": provider},
            "actions": {"generate_from_comment": {"maxTokens": max_tokens}},
        }
    }


async def start_editors(
    count: int, base_url: str, keys: Sequence[str | None], workdir: Path, max_tokens: int
) -> list[LspClient]:
    async def one(number: int) -> LspClient:
        home = workdir / f"editor{number}"
        home.mkdir(parents=True, exist_ok=True)
        key = keys[number]
        spec = servers.ours(base_url, home, **({"TEAM_LLM_KEY": key} if key else {}))
        client = await LspClient.spawn(spec.command, env=spec.env, cwd=home, stderr_path=home / "stderr.log")
        client.request_timeout = 900.0
        opts = options(base_url, f"dev{number}@example.com", keyed=key is not None, max_tokens=max_tokens)
        await client.initialize(root=home, initialization_options=opts)
        await client.initialized()
        return client

    return list(await asyncio.gather(*(one(n) for n in range(count))))


def _first_token(client: LspClient, job: str, since: int) -> Received | None:
    for item in client.received[since:]:
        if item.method == "$/progress" and item.params.get("token") == job:
            message = item.params.get("value", {}).get("message") or ""
            if _TOKENS.search(message):
                return item
    return None


def _tokens(client: LspClient, job: str, since: int) -> int:
    for item in reversed(client.received[since:]):
        if item.method == "$/progress" and item.params.get("token") == job:
            found = _TOKENS.search(item.params.get("value", {}).get("message") or "")
            if found:
                return int(found.group(1))
    return 0


async def generate(client: LspClient, workdir: Path, number: int, task: str) -> tuple[dict[str, Any], int]:
    """One request as an editor makes it; the command's answer and where its messages start."""
    uri = (workdir / f"request{number}.py").as_uri()
    await client.open(uri, SOURCE.format(task=task))
    since = len(client.received)
    argument = {
        "uri": uri,
        "version": 1,
        "range": {"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 0}},
        "action": "generate_from_comment",
    }
    reply = await client.request(
        "workspace/executeCommand", {"command": "codegen.generate", "arguments": [argument]}
    )
    await client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.docs.pop(uri, None)
    answer = (
        reply.result if isinstance(reply.result, dict) else {"status": "error", "message": str(reply.error)}
    )
    answer["_t_sent"], answer["_t_received"] = reply.t_sent, reply.t_received
    return answer, since


async def run_level(setup: str, clients: Sequence[LspClient], seconds: float, workdir: Path) -> Level:
    level = Level(setup, len(clients))
    started = time.perf_counter()
    deadline = started + seconds
    counter = iter(range(1_000_000))

    async def editor(index: int, client: LspClient) -> None:
        while True:  # at least one request each, then until the deadline
            number = next(counter)
            answer, since = await generate(client, workdir, number, TASKS[(index + number) % len(TASKS)])
            job = answer.get("jobId")
            if answer.get("status") == "applied" and job:
                first = _first_token(client, job, since)
                if first is not None:
                    level.ttft.append(first.t - answer["_t_sent"])
                level.total.append(answer["_t_received"] - answer["_t_sent"])
                level.tokens += _tokens(client, job, since)
            else:
                level.errors.append(str(answer.get("message") or answer.get("status")))
            if time.perf_counter() >= deadline:
                break

    await asyncio.gather(*(editor(i, c) for i, c in enumerate(clients)))
    level.seconds = time.perf_counter() - started
    return level


@dataclass
class Setup:
    """One way to serve the editors: where they send requests, and each simulated developer's key."""

    name: str
    base_url: str
    keys: list[str | None]


async def measure(
    setups: Sequence[Setup], counts: Sequence[int], seconds: float, max_tokens: int, workdir: Path
) -> list[Level]:
    """Every level of every setup, interleaved (alone N=1, gateway N=1, alone N=2, ...), so a change
    in the machine's other load during the run shifts both setups alike."""
    editors: dict[str, list[LspClient]] = {}
    try:
        for setup in setups:
            folder = workdir / setup.name.replace(" ", "-")
            editors[setup.name] = await start_editors(
                max(counts), setup.base_url, setup.keys, folder, max_tokens
            )
            await run_level(setup.name, editors[setup.name][:1], 0.0, folder)  # warm-up, not counted
        levels = []
        for count in counts:
            for setup in setups:
                print(
                    f"[team] {setup.name}: {count} editor(s) for {seconds:g} s …", file=sys.stderr, flush=True
                )
                folder = workdir / setup.name.replace(" ", "-")
                level = await run_level(setup.name, editors[setup.name][:count], seconds, folder)
                levels.append(level)
                row = level.row()
                print(
                    f"[team]   {row['requests']} requests, {row['errors']} errors, "
                    f"ttft p50 {row['ttft_p50_s']:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
        return levels
    finally:
        await asyncio.gather(*(c.close() for clients in editors.values() for c in clients))


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| setup | editors | requests | errors | requests/min | tokens/s | TTFT p50 | TTFT p99 | request p50 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['setup']} | {r['editors']} | {r['requests']} | {r['errors']} | {r['requests_per_min']:.1f} | "
            f"{r['tokens_per_s']:.1f} | {r['ttft_p50_s']:.2f} s | {r['ttft_p99_s']:.2f} s | {r['total_p50_s']:.2f} s |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.team", description=__doc__.split("\n\n")[0])
    parser.add_argument("--editors", default="1,2,4,8", help="comma-separated editor counts (at most 16)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each level sends requests")
    parser.add_argument("--max-tokens", type=int, default=32, help="max_tokens of every answer")
    parser.add_argument("--setups", default="alone,gateway", help="alone, gateway, or both")
    parser.add_argument("--threads", type=int, default=1, help="threads of each llama.cpp server")
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/team-<time>.json)")
    args = parser.parse_args(argv)
    counts = sorted({int(n) for n in args.editors.split(",")})
    if not counts or counts[0] < 1 or counts[-1] > 16:
        parser.error("--editors: counts between 1 and 16")
    setups = args.setups.split(",")
    if "gateway" in setups and litellm_executable() is None:
        parser.error("LiteLLM is not installed: run bash scripts/install-gateway.sh")
    try:
        gguf = embedded_gguf()
    except RuntimeError as exc:
        parser.error(str(exc))
    report: dict[str, Any] = {
        "machine": machine(),
        "model": gguf.name,
        "settings": {
            "seconds": args.seconds,
            "max_tokens": args.max_tokens,
            "editors": counts,
            "threads_per_server": args.threads,
        },
        "niceness": os.nice(0),
        "load_before": os.getloadavg(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    with tempfile.TemporaryDirectory(prefix="codegen-team-") as folder:
        workdir = Path(folder)
        started: list[Backend | Gateway] = []
        chosen: list[Setup] = []
        try:
            if "alone" in setups:
                alone = Backend(gguf, workdir, "alone", threads=args.threads)
                started.append(alone.start())
                chosen.append(Setup("llama.cpp alone", alone.base_url, [None] * counts[-1]))
            if "gateway" in setups:
                backends = [Backend(gguf, workdir, f"backend-{n}", threads=args.threads) for n in "ab"]
                gateway = Gateway(backends, workdir)
                for backend in backends:
                    started.append(backend.start())
                started.append(gateway.start())
                keys: list[str | None] = [gateway.add_key(f"dev{n}") for n in range(counts[-1])]
                chosen.append(Setup("LiteLLM + 2 × llama.cpp", gateway.base_url, keys))
            levels = asyncio.run(measure(chosen, counts, args.seconds, args.max_tokens, workdir))
            if "gateway" in setups:
                report["requests_per_backend"] = {b.name: b.requests() for b in backends}
        finally:
            for process in reversed(started):
                process.stop()
    report["load_after"] = os.getloadavg()
    rows = [level.row() for level in levels]
    report["rows"] = rows
    text = markdown(rows)
    m = report["machine"]
    footer = (
        f"\n{m['cpu']}, {m['cpus']} CPUs, {m['memory_gib']} GiB; model {report['model']}; "
        f"max_tokens {args.max_tokens}, {args.seconds:g} s per level, {args.threads} thread(s) per llama.cpp "
        f"server, nice {report['niceness']}; "
        f"load average {report['load_before'][0]:.2f} before, {report['load_after'][0]:.2f} after."
    )
    print(text + "\n" + footer)
    results = servers.BENCH / "results"
    results.mkdir(exist_ok=True)
    output = args.output or results / f"team-{time.strftime('%Y%m%d-%H%M%S')}.json"
    output.write_text(json.dumps(report, indent=2) + "\n")
    output.with_suffix(".md").write_text(text + "\n" + footer + "\n")
    print(f"wrote {output} and {output.with_suffix('.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
