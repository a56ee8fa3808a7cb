"""The measurements that talk to a language server process (items 1–5 and 7, and 6 through the server).

Every function takes a :class:`~bench.servers.ServerSpec`, starts a fresh process for its own
measurement, and returns plain data (seconds or bytes) that :mod:`bench.run` turns into the
table. Latencies are taken by :class:`~bench.lspclient.LspClient` (client-side stamps) and, for
the generation overheads, against the reference provider's own stamps of its bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench import docs
from bench.lspclient import LspClient, Received
from bench.refprovider import RefProvider, Script, Served, always, by_tag
from bench.servers import ServerSpec

#: a document nobody opened: a code-action request for it is the cheapest round trip a server
#: answers (ours answers None, bare pygls []), so it flushes the queue without work of its own
PING_URI = "file:///codegen-bench/not-open.py"


def tree_rss(pid: int) -> int:
    """RSS of a process and its descendants (peers may run helper processes)."""
    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
    except psutil.NoSuchProcess:
        return 0


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process (all its threads) and its descendants.

    Read from ``/proc/PID/task/*/schedstat`` (nanoseconds) where it exists: psutil's user/system
    times tick at 10 ms, too coarse for one keystroke. A thread that ended between two readings
    would drop out of the sum; the servers measured keep their threads for their lifetime."""
    try:
        proc = psutil.Process(pid)
        pids = [proc.pid, *(p.pid for p in proc.children(recursive=True))]
        total_ns = 0
        for one in pids:
            for task in Path(f"/proc/{one}/task").iterdir():
                with contextlib.suppress(OSError):
                    total_ns += int((task / "schedstat").read_text().split()[0])
        return total_ns / 1e9
    except (OSError, psutil.NoSuchProcess):
        pass
    try:
        proc = psutil.Process(pid)
        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:
            times = p.cpu_times()
            total += times.user + times.system
        return total
    except psutil.NoSuchProcess:
        return 0.0


@contextlib.asynccontextmanager
async def session(
    spec: ServerSpec,
    workdir: Path,
    *,
    options: Any = None,
    log_name: str | None = None,
    exit_wait: float = 5.0,
    capabilities: Any = None,
) -> AsyncIterator[LspClient]:
    """A started, initialized server; shut down (or killed) afterwards."""
    stderr = workdir / f"{log_name or spec.name.replace(' ', '-')}.stderr.log"
    client = await LspClient.spawn(spec.command, env=spec.env, cwd=workdir, stderr_path=stderr)
    client.exit_wait = exit_wait
    try:
        reply = await client.initialize(
            root=workdir,
            initialization_options=options if options is not None else spec.initialization_options,
            client_info=spec.client_info,
            capabilities=capabilities,
        )
        if reply.error:
            raise RuntimeError(f"{spec.name}: initialize failed: {reply.error}")
        await client.initialized()
        yield client
    finally:
        await client.close()


async def ping(client: LspClient) -> float:
    reply = await client.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": PING_URI},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": []},
        },
    )
    return reply.t_received


# -- 1. startup and idle memory -------------------------------------------------------------------


@dataclass
class Startup:
    seconds: float  # process start → initialize answered
    idle_rss: int  # bytes, after initialized + one small document + settling


async def startup(spec: ServerSpec, workdir: Path, settle: float = 1.0) -> Startup:
    t0 = time.perf_counter()
    client = await LspClient.spawn(
        spec.command, env=spec.env, cwd=workdir, stderr_path=workdir / f"{spec.name}.startup.log"
    )
    try:
        reply = await client.initialize(
            root=workdir, initialization_options=spec.initialization_options, client_info=spec.client_info
        )
        if reply.error:
            raise RuntimeError(f"{spec.name}: initialize failed: {reply.error}")
        seconds = reply.t_received - t0
        await client.initialized()
        await client.open("file:///codegen-bench/idle.py", docs.python_document(100))
        await asyncio.sleep(settle)
        return Startup(seconds, tree_rss(client.pid))
    finally:
        await client.close()


# -- 2 and 3. code-action listing and didChange ---------------------------------------------------


def _range(line: int, char: int = 0, end_line: int | None = None, end_char: int = 0) -> dict[str, Any]:
    return {
        "start": {"line": line, "character": char},
        "end": {"line": line if end_line is None else end_line, "character": end_char},
    }


async def code_action_latencies(
    client: LspClient, uri: str, text: str, requests: int, seed: int = 1
) -> list[float]:
    """Round trips of ``requests`` codeAction requests on an unchanged document: half with the
    cursor on a comment (offers "generate from comment"), half with a 3-line selection."""
    rng = random.Random(seed)
    comments = docs.comment_lines(text)
    line_count = text.count("\n")
    latencies = []
    for i in range(requests):
        if i % 2 == 0:
            where = _range(rng.choice(comments), 4)
        else:
            start = rng.randrange(0, line_count - 3)
            where = _range(start, 0, start + 3, 0)
        reply = await client.request(
            "textDocument/codeAction",
            {"textDocument": {"uri": uri}, "range": where, "context": {"diagnostics": []}},
        )
        if reply.error:
            raise RuntimeError(f"codeAction failed: {reply.error}")
        latencies.append(reply.latency)
    return latencies


async def code_action_after_edit(client: LspClient, uri: str, requests: int, seed: int = 2) -> list[float]:
    """Type one character, then ask for code actions at once, as editors do on every keystroke:
    the round trip of the codeAction (which waits behind the didChange in the server's queue)."""
    rng = random.Random(seed)
    doc = client.docs[uri]
    comments = docs.comment_lines(doc.text)
    latencies = []
    lines = doc.text.split("\n")
    for _ in range(requests):
        line = rng.choice(comments)
        # inside the comment's words, so the line stays a comment for the next rounds
        column = lines[line].index("#") + 2
        await client.change(uri, [{"range": _range(line, column, line, column), "newText": "x"}])
        reply = await client.request(
            "textDocument/codeAction",
            {"textDocument": {"uri": uri}, "range": _range(line, 4), "context": {"diagnostics": []}},
        )
        latencies.append(reply.latency)
    return latencies


@dataclass
class ChangeCost:
    per_change_wall: float  # seconds per didChange, queue drained by a ping
    per_change_cpu: float  # server CPU seconds per didChange


async def did_change_cost(client: LspClient, uri: str, changes: int, line: int) -> ChangeCost:
    """Typing: ``changes`` one-character insertions in a row at ``line`` (as fast as the pipe
    takes them), then a ping; the ping's own round trip is subtracted."""
    empty = []
    for _ in range(5):
        t = time.perf_counter()
        empty.append(await ping(client) - t)
    ping_alone = sorted(empty)[len(empty) // 2]
    # Built before the clock starts, and the client's copy updated after it stops: applying
    # each edit to a 100k-line copy here would cost the client as much as the server.
    doc = client.docs[uri]
    first = doc.version + 1
    messages = [
        {
            "textDocument": {"uri": uri, "version": first + i},
            "contentChanges": [{"range": _range(line, 4 + i, line, 4 + i), "text": "x"}],
        }
        for i in range(changes)
    ]
    cpu0 = tree_cpu(client.pid)
    t0 = time.perf_counter()
    for params in messages:
        await client.notify("textDocument/didChange", params)
    t_end = await ping(client)
    cpu = tree_cpu(client.pid) - cpu0
    lines = doc.text.split("\n")
    lines[line] = lines[line][:4] + "x" * changes + lines[line][4:]
    doc.text = "\n".join(lines)
    doc.version = first + changes - 1
    return ChangeCost(max(t_end - t0 - ping_alone, 0.0) / changes, cpu / changes)


@dataclass
class DocumentResult:
    lines: int
    steady: list[float]
    after_edit: list[float]
    change: ChangeCost | None = None


async def documents(
    spec: ServerSpec,
    workdir: Path,
    sizes: list[int],
    requests: int,
    changes: int,
    rounds: int = 3,
) -> list[DocumentResult]:
    """Items 2 and 3 on one server process: each size opened once, measured ``rounds`` times."""
    results = []
    async with session(spec, workdir, log_name=f"{spec.name}.documents") as client:
        for size in sizes:
            uri = f"file://{workdir}/doc_{size}.py"
            text = docs.python_document(size)
            await client.open(uri, text)
            await ping(client)
            result = DocumentResult(size, [], [])
            costs: list[ChangeCost] = []
            for r in range(rounds):
                result.steady += await code_action_latencies(client, uri, client.docs[uri].text, requests, r)
                result.after_edit += await code_action_after_edit(client, uri, requests // 2, r)
                # on every size: the small documents give the per-message floor
                costs.append(await did_change_cost(client, uri, changes, size // 2 + r))
            if costs:
                result.change = ChangeCost(
                    sorted(c.per_change_wall for c in costs)[len(costs) // 2],
                    sorted(c.per_change_cpu for c in costs)[len(costs) // 2],
                )
            results.append(result)
            await client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    return results


# -- 4, 5, 6 (through the server) and 7: generation jobs ------------------------------------------


@dataclass
class JobTiming:
    tag: str
    served: Served
    edits: list[Received]
    answer: Any
    t_command: float  # executeCommand sent
    t_done: float  # executeCommand answered

    @property
    def last_byte_to_edit(self) -> float:
        """Provider's last byte → the (final) workspace/applyEdit received."""
        assert self.served.t_last is not None
        return self.edits[-1].t - self.served.t_last

    def first_line_to_edit(self, line_token: int) -> float:
        """The token that completed the first code line written → first applyEdit received."""
        return self.edits[0].t - self.served.t_tokens[line_token]


def _edit_uri(item: Received) -> str | None:
    edit = (item.params or {}).get("edit") or {}
    for change in edit.get("documentChanges") or ():
        if "textDocument" in change:
            return str(change["textDocument"]["uri"])
    for uri in edit.get("changes") or {}:
        return str(uri)
    return None


async def run_job(client: LspClient, provider: RefProvider, uri: str, line: int, tag: str) -> JobTiming:
    """One generate-from-comment job as an editor runs it: list the actions at the comment,
    execute the offered command, wait for its answer (the job's end)."""
    listed = await client.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": _range(line, 2), "context": {"diagnostics": []}},
    )
    actions = [
        a for a in listed.result or () if (a.get("command") or {}).get("command") == "codegen.generate"
    ]
    chosen = next(
        (a for a in actions if a["command"]["arguments"][0].get("action") == "generate_from_comment"), None
    )
    if chosen is None:
        raise RuntimeError(f"no generate-from-comment action offered at {uri}:{line}: {listed.result}")
    seen = len(client.edits)
    reply = await client.request(
        "workspace/executeCommand",
        {"command": chosen["command"]["command"], "arguments": chosen["command"]["arguments"]},
    )
    if reply.error or (reply.result or {}).get("status") != "applied":
        raise RuntimeError(f"job {tag} did not apply: {reply.error or reply.result}")
    edits = [e for e in client.edits[seen:] if _edit_uri(e) == uri]
    served = next((s for s in provider.served if s.tag == tag), None)
    if served is None:
        raise RuntimeError(f"the provider never saw job {tag}")
    return JobTiming(tag, served, edits, reply.result, reply.t_sent, reply.t_received)


async def reset(client: LspClient, uri: str, text: str) -> None:
    """Put the document back as it was (one full-text change, like an editor's revert)."""
    doc = client.docs[uri]
    doc.text = text
    doc.version += 1
    await client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": doc.version}, "contentChanges": [{"text": text}]},
    )


@dataclass
class JobsResult:
    overhead: list[float] = field(default_factory=list)  # item 4, seconds
    command_total: list[float] = field(default_factory=list)  # executeCommand round trip
    #: the cheapest round trip to the same process between jobs: the pipe-and-scheduler floor
    #: under which no overhead can be measured on this machine at this moment
    ping: list[float] = field(default_factory=list)
    rss: list[tuple[int, int]] = field(default_factory=list)  # (jobs done, bytes)


async def single_edit_jobs(
    spec: ServerSpec,
    workdir: Path,
    provider: RefProvider,
    jobs: int,
    *,
    script: Script,
    rss_every: int = 100,
    warmup: int = 5,
) -> JobsResult:
    """Item 4 (last byte → applyEdit) and item 7 (RSS over ``jobs`` jobs), one process."""
    result = JobsResult()
    provider.choose = always(script)
    async with session(spec, workdir, log_name=f"{spec.name}.jobs") as client:
        text, line = docs.job_document("bench-job-0")
        uri = f"file://{workdir}/job.py"
        await client.open(uri, text)
        await ping(client)
        result.rss.append((0, tree_rss(client.pid)))
        for i in range(warmup + jobs):
            provider.take()
            timing = await run_job(client, provider, uri, line, script.tag)
            if i >= warmup:
                result.overhead.append(timing.last_byte_to_edit)
                result.command_total.append(timing.t_done - timing.t_command)
            await reset(client, uri, text)
            t = time.perf_counter()
            result.ping.append(await ping(client) - t)
            done = i + 1 - warmup
            if done > 0 and (done % rss_every == 0 or done == jobs):
                await ping(client)
                result.rss.append((done, tree_rss(client.pid)))
    return result


async def live_jobs(
    spec: ServerSpec, workdir: Path, provider: RefProvider, jobs: int, *, script: Script, line_token: int
) -> list[float]:
    """Item 5: with ``streamEdits`` on, the token that completes the first code line → the
    first applyEdit (the first visible edit)."""
    provider.choose = always(script)
    firsts = []
    async with session(spec, workdir, options={"streamEdits": True}, log_name=f"{spec.name}.live") as client:
        text, line = docs.job_document("bench-job-0")
        uri = f"file://{workdir}/live.py"
        await client.open(uri, text)
        for i in range(jobs + 2):
            provider.take()
            timing = await run_job(client, provider, uri, line, script.tag)
            if len(timing.edits) < 2:
                raise RuntimeError(f"streamEdits produced {len(timing.edits)} edit(s); is live streaming on?")
            if i >= 2:
                firsts.append(timing.first_line_to_edit(line_token))
            await reset(client, uri, text)
    return firsts


@dataclass
class ConcurrentResult:
    jobs: int
    wall: float  # first command sent → last command answered
    single: float  # one job alone, same script
    peak_rss: int
    idle_rss: int
    overhead: list[float]


async def concurrent_jobs(
    spec: ServerSpec, workdir: Path, provider: RefProvider, jobs: int, make: Callable[[str], Script]
) -> ConcurrentResult:
    """Item 7: ``jobs`` jobs at once on ``jobs`` documents; peak RSS sampled every 10 ms."""
    provider.choose = by_tag(make)
    async with session(spec, workdir, log_name=f"{spec.name}.concurrent") as client:
        opened = []
        for n in range(jobs):
            tag = f"bench-job-{n}"
            text, line = docs.job_document(tag)
            uri = f"file://{workdir}/concurrent_{n}.py"
            await client.open(uri, text)
            opened.append((uri, line, tag, text))
        await ping(client)
        # one alone first: the reference time and a warm server
        t = time.perf_counter()
        await run_job(client, provider, *opened[0][:3])
        single = time.perf_counter() - t
        await reset(client, opened[0][0], opened[0][3])
        await ping(client)
        await asyncio.sleep(0.2)
        idle = tree_rss(client.pid)
        peak = idle
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, tree_rss(client.pid))
                await asyncio.sleep(0.01)

        sampler = asyncio.create_task(sample())
        provider.take()
        t0 = time.perf_counter()
        timings = await asyncio.gather(
            *(run_job(client, provider, uri, line, tag) for uri, line, tag, _ in opened)
        )
        wall = time.perf_counter() - t0
        stop.set()
        await sampler
        return ConcurrentResult(
            jobs, wall, single, peak, idle, [timing.last_byte_to_edit for timing in timings]
        )


@dataclass
class TokenCpu:
    tokens: int
    cpu: list[float]  # server CPU seconds per job
    wall: list[float]  # executeCommand round trip


async def server_cpu_per_tokens(
    spec: ServerSpec, workdir: Path, provider: RefProvider, sizes: list[int], repeats: int
) -> list[TokenCpu]:
    """Item 6 through the server: CPU the server process spends on a job of N tokens streamed
    back to back (no pacing), so per-token cost = slope between sizes."""
    out = []
    async with session(spec, workdir, log_name=f"{spec.name}.tokens") as client:
        text, line = docs.job_document("bench-job-0")
        uri = f"file://{workdir}/tokens.py"
        await client.open(uri, text)
        for size in sizes:
            script = Script(docs.long_answer(size), tag="bench-job-0")
            provider.choose = always(script)
            entry = TokenCpu(size, [], [])
            for i in range(repeats + 1):
                await ping(client)
                cpu0 = tree_cpu(client.pid)
                provider.take()
                timing = await run_job(client, provider, uri, line, "bench-job-0")
                await ping(client)
                if i:
                    entry.cpu.append(tree_cpu(client.pid) - cpu0)
                    entry.wall.append(timing.t_done - timing.t_command)
                await reset(client, uri, text)
            out.append(entry)
    return out
