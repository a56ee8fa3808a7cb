"""Inline completion benchmarks: the server's own cost per keystroke, the model calls typing costs,
memory over many requests, and the embedded model's latency on this machine.

Items (``--only`` picks some; ``--quick`` runs each with tiny sizes):

* **overhead** — keystroke (``didChange`` + automatic ``textDocument/inlineCompletion``, debounce
  off) over the reference provider answering ``/completions`` after a fixed 20 ms: the client's
  round trip minus the provider's time from reading the request to writing the byte that ends the
  line, i.e. what the server adds. Beside it, the same run measures a keystroke answered from the
  typed-through cache (no provider at all), the code-action path's overhead (item 4 of
  ``python -m bench``: provider's last byte → ``workspace/applyEdit``) and the ping floor.
* **replay** — realistic typing replayed from this repository's files: regions of real code are
  removed and typed back key by key (log-normal gaps, a pause after each line, Enter with
  auto-indent as one key), accepting a shown suggestion with Tab when it matches what comes
  next. Each keystroke sends ``didChange``, ``$/cancelRequest`` for the previous unanswered
  request (as VS Code does), and an automatic inline request. The provider is an oracle with a
  fixed delay (150 ms to the first token, 20 ms per token) that knows the file: it answers the
  rest of the line, or a start of it that then goes wrong, or something wrong, in stated
  proportions. Reported per debounce setting: upstream requests per 100 keystrokes, requests the
  server cancelled, and the tokens they had already streamed (wasted).
* **rss** — the server's RSS over 10,000 inline requests (misses, typed-through hits, requests
  cancelled by the client, documents opened and closed).
* **model** — the embedded default model (no provider configured), cold (a fresh server: the first
  request loads the model and evaluates the whole prefix) and warm (the next keystrokes in the same
  file; answers the typed-through cache gives are counted apart), to a single-line suggestion.

Run (``nice -n 5`` on a shared machine; ``--server-src server`` measures this checkout's code rather
than the installed package's)::

    .venv/bin/python -m bench.inline_bench [--quick] [--only overhead,replay,rss,model] [--server-src DIR]

Writes ``bench/results/inline-<time>.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import docs, lsp_bench, servers
from bench.lspclient import CLIENT_CAPABILITIES, LspClient, Reply
from bench.refprovider import RefProvider, Script, always
from bench.stats import percentile, summary

RESULTS = Path(__file__).parent / "results"
INLINE_CAPABILITIES: dict[str, Any] = {
    **CLIENT_CAPABILITIES,
    "textDocument": {**CLIENT_CAPABILITIES["textDocument"], "inlineCompletion": {}},
}
INLINE = "textDocument/inlineCompletion"
#: the answer for the overhead item: the suggestion, then the line end that completes it
OVERHEAD_SCRIPT = Script([" = 1", "\n"], ttft=0.02, tag="fim")


def inline_options(provider_url: str, **inline: Any) -> dict[str, Any]:
    """Inline completion from the reference provider's ``/completions`` (no retries)."""
    return {
        "providers": {
            "fim": {
                "baseUrl": provider_url,
                "model": "bench-fim",
                "fimFormat": "completions",
                "maxRetries": 0,
            }
        },
        "inline": {"provider": "fim", **inline},
    }


def inline_params(uri: str, line: int, character: int, *, automatic: bool = True) -> dict[str, Any]:
    return {
        "textDocument": {"uri": uri},
        "position": {"line": line, "character": character},
        "context": {"triggerKind": 2 if automatic else 1},
    }


def insert_at(line: int, character: int, text: str) -> list[dict[str, Any]]:
    point = {"line": line, "character": character}
    return [{"range": {"start": point, "end": point}, "newText": text}]


def items_of(reply: Reply) -> list[str]:
    result = reply.result
    items = result.get("items", []) if isinstance(result, dict) else result or []
    return [i["insertText"] if isinstance(i["insertText"], str) else i["insertText"]["value"] for i in items]


@asynccontextmanager
async def inline_session(
    spec: servers.ServerSpec, workdir: Path, options: dict[str, Any], name: str
) -> AsyncIterator[LspClient]:
    async with lsp_bench.session(
        spec, workdir, options=options, log_name=name, capabilities=INLINE_CAPABILITIES
    ) as client:
        yield client


# -- overhead ------------------------------------------------------------------------------------


@dataclass
class Overhead:
    #: request written → the provider has read it (context, prompt, the HTTP request)
    front_ms: dict[str, Any]
    #: the provider wrote the byte that completes the suggestion → the answer read by the client
    tail_ms: dict[str, Any]
    #: both: the round trip minus the provider's own time
    inline_ms: dict[str, Any]
    typed_through_ms: dict[str, Any]
    ping_ms: dict[str, Any]
    code_action_ms: dict[str, Any]
    code_action_ping_ms: dict[str, Any]


@dataclass
class _Keystrokes:
    front: list[float] = field(default_factory=list)
    tail: list[float] = field(default_factory=list)
    cached: list[float] = field(default_factory=list)
    pings: list[float] = field(default_factory=list)


async def keystrokes(
    client: LspClient, provider: RefProvider, uri: str, count: int, warmup: int = 10
) -> _Keystrokes:
    """``count`` pairs of keystrokes at the end of ``uri``: one the last suggestion did not say (the
    model is asked), one it did (the typed-through cache answers), then a ping."""
    provider.choose = always(OVERHEAD_SCRIPT)
    out = _Keystrokes()
    text = client.docs[uri].text
    line, column = text.count("\n"), 0
    for i in range(warmup + count):
        if column >= 60:  # a fresh line now and then keeps the line short
            await client.change(uri, insert_at(line, column, "\n"))
            line, column = line + 1, 0
        await client.change(uri, insert_at(line, column, "x"))
        column += 1
        provider.take()
        reply = await client.request(INLINE, inline_params(uri, line, column))
        served = provider.take()
        if items_of(reply) != [" = 1"] or len(served) != 1 or served[0].t_first_line is None:
            raise RuntimeError(f"unexpected answer {reply.result!r} ({len(served)} requests upstream)")
        await client.change(uri, insert_at(line, column, " "))
        column += 1
        hit = await client.request(INLINE, inline_params(uri, line, column))
        if items_of(hit) != ["= 1"] or provider.take():
            raise RuntimeError(f"the typed-through answer was {hit.result!r}")
        t = time.perf_counter()
        ping = await lsp_bench.ping(client) - t
        if i >= warmup:
            out.front.append(served[0].t_request - reply.t_sent)
            out.tail.append(reply.t_received - served[0].t_first_line)
            out.cached.append(hit.latency)
            out.pings.append(ping)
    return out


async def overhead(provider: RefProvider, home: Path, count: int, jobs: int) -> Overhead:
    from bench.run import JOB_SCRIPT

    spec = servers.ours(provider.base_url, home)
    options = inline_options(provider.base_url, debounce=0)
    async with inline_session(spec, home, options, "inline-overhead") as client:
        uri = f"file://{home}/overhead.py"
        await client.open(uri, docs.python_document(300))
        measured = await keystrokes(client, provider, uri, count)
    jobs_result = await lsp_bench.single_edit_jobs(
        spec, home, provider, jobs, script=JOB_SCRIPT, rss_every=jobs
    )
    both = [f + t for f, t in zip(measured.front, measured.tail, strict=True)]
    return Overhead(
        front_ms=summary(measured.front, 1000),
        tail_ms=summary(measured.tail, 1000),
        inline_ms=summary(both, 1000),
        typed_through_ms=summary(measured.cached, 1000),
        ping_ms=summary(measured.pings, 1000),
        code_action_ms=summary(jobs_result.overhead, 1000),
        code_action_ping_ms=summary(jobs_result.ping, 1000),
    )


# -- replay --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Typist:
    """How the replayed user types (seconds)."""

    key_median: float = 0.16  # between keys in a line: ~60 words a minute in bursts
    key_sigma: float = 0.45
    line_pause_median: float = 0.9  # after Enter: reading, thinking
    accept_after: float = 0.3  # seeing a right suggestion → Tab
    accept_chance: float = 0.8
    min_accept: int = 4  # shorter suggestions are typed, not accepted

    def gap(self, rng: random.Random, after_line: bool) -> float:
        median = self.line_pause_median if after_line else self.key_median
        return min(median * math.exp(rng.gauss(0, self.key_sigma)), 5.0)


@dataclass(frozen=True)
class Oracle:
    """The scripted model: fixed delays; how often it is right (the rest wrong from the first
    character)."""

    right: float = 0.35  # the rest of the line, exactly
    partly: float = 0.35  # its first 1-6 characters right, then something else
    ttft: float = 0.15
    interval: float = 0.02
    chars_per_token: int = 3


@dataclass
class _Replay:
    """The text being typed (shared with the provider's thread: it reads ``offset``)."""

    truth: str
    offset: int
    seed: int


def _regions(files: Sequence[Path], count: int, lines: int, seed: int) -> list[tuple[Path, int, int]]:
    """``count`` regions of about ``lines`` lines of code, starting at a top-level or indented
    ``def``/``if``/``for``/assignment line, from ``files`` (deterministic)."""
    rng = random.Random(seed)
    found: list[tuple[Path, int, int]] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        starts = [m.start() for m in re.finditer(r"(?m)^ *(def|if|for|return|[a-z_]+ =) ", text)]
        rng.shuffle(starts)
        for start in starts[:2]:
            end = start
            for _ in range(lines):
                nxt = text.find("\n", end + 1)
                if nxt < 0:
                    break
                end = nxt
            if end - start > 200:
                # up to the line end, not past it: the cursor starts on an empty line of its own
                found.append((path, start, end))
    rng.shuffle(found)
    return found[:count]


def oracle_choose(replay: _Replay, oracle: Oracle) -> Any:
    def choose(body: dict[str, Any]) -> Script:
        prefix = str(body.get("prompt", ""))[-300:]
        truth = replay.truth
        at = next(
            (o for o in range(replay.offset, max(replay.offset - 80, 0), -1) if truth[:o].endswith(prefix)),
            None,
        )
        if at is None:
            return Script(["pass", "\n"], ttft=oracle.ttft, interval=oracle.interval, tag="lost")
        end = truth.find("\n", at)
        rest = truth[at : end if end >= 0 else len(truth)]
        roll = random.Random(replay.seed * 1_000_003 + at).random()
        if roll < oracle.right:
            answer, tag = rest, "right"
        elif roll < oracle.right + oracle.partly and rest:
            keep = 1 + int(roll * 1000) % 6
            answer, tag = rest[:keep] + "_wrong()", "partly"
        else:
            answer, tag = "wrong_guess()", "wrong"
        size = oracle.chars_per_token
        tokens = [answer[i : i + size] for i in range(0, len(answer), size)] + ["\n"]
        return Script(tokens, ttft=oracle.ttft, interval=oracle.interval, tag=tag)

    return choose


@dataclass
class ReplayResult:
    debounce: float
    keystrokes: int = 0
    chars: int = 0  # characters of code typed or accepted
    accepted: int = 0  # Tab presses
    accepted_chars: int = 0
    typed_chars: int = 0
    upstream: int = 0
    cancelled: int = 0  # upstream requests the server closed before they ended
    tokens: int = 0
    wasted_tokens: int = 0  # streamed on requests that were cancelled
    shown: int = 0  # answers with a suggestion
    empty_answers: int = 0
    seconds: float = 0.0

    @property
    def per_100(self) -> float:
        return 100 * self.upstream / max(self.keystrokes, 1)


async def _type_region(
    client: LspClient,
    uri: str,
    replay: _Replay,
    end: int,
    typist: Typist,
    rng: random.Random,
    result: ReplayResult,
) -> None:
    truth = replay.truth
    pending: list[tuple[int, asyncio.Future[Reply], int]] = []  # (request id, reply, offset)
    shown: dict[int, str] = {}  # offset → suggestion answered for it
    after_line = False

    def line_col(offset: int) -> tuple[int, int]:
        head = truth[:offset]
        return head.count("\n"), offset - (head.rfind("\n") + 1)

    async def collect(future: asyncio.Future[Reply], offset: int) -> None:
        try:
            reply = await future
        except Exception:
            return
        texts = items_of(reply)
        if texts:
            result.shown += 1
            shown[offset] = texts[0]
        else:
            result.empty_answers += 1

    collectors: list[asyncio.Task[None]] = []
    while replay.offset < end:
        await asyncio.sleep(typist.gap(rng, after_line))
        at = replay.offset
        suggestion = shown.get(at, "")
        line, col = line_col(at)
        if (
            len(suggestion) >= typist.min_accept
            and truth.startswith(suggestion, at)
            and rng.random() < typist.accept_chance
        ):
            await asyncio.sleep(typist.accept_after)
            key = suggestion
            result.accepted += 1
            result.accepted_chars += len(key)
        elif truth[at] == "\n":  # Enter, and the editor indents the next line
            nxt = at + 1
            while nxt < end and truth[nxt] == " ":
                nxt += 1
            key = truth[at:nxt]
        else:
            key = truth[at]
            result.typed_chars += 1
        after_line = key.startswith("\n")
        for msg_id, future, _ in pending:
            if not future.done():
                await client.notify("$/cancelRequest", {"id": msg_id})
        pending.clear()
        replay.offset = at + len(key)
        await client.change(uri, insert_at(line, col, key))
        result.keystrokes += 1
        line, col = line_col(replay.offset)
        msg_id, future = await client.send(INLINE, inline_params(uri, line, col))
        pending.append((msg_id, future, replay.offset))
        collectors.append(asyncio.create_task(collect(future, replay.offset)))
    await asyncio.gather(*collectors)


async def replay(
    provider: RefProvider,
    home: Path,
    debounce: float,
    regions: Sequence[tuple[Path, int, int]],
    *,
    typist: Typist,
    oracle: Oracle,
    seed: int,
) -> ReplayResult:
    spec = servers.ours(provider.base_url, home)
    result = ReplayResult(debounce)
    rng = random.Random(seed)
    started = time.perf_counter()
    async with inline_session(
        spec, home, inline_options(provider.base_url, debounce=debounce), "inline-replay"
    ) as client:
        for number, (path, start, end) in enumerate(regions):
            truth = path.read_text(encoding="utf-8")
            state = _Replay(truth, start, seed + number)
            provider.choose = oracle_choose(state, oracle)
            uri = f"file://{home}/replay{number}.py"
            # the document as the user found it: the region missing, the cursor where it was
            await client.open(uri, truth[:start] + truth[end:])
            result.chars += end - start
            await _type_region(client, uri, state, end, typist, rng, result)
            await lsp_bench.ping(client)
            await client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        await asyncio.sleep(0.5)  # let the last upstream requests end
    served = provider.take()
    if os.environ.get("INLINE_BENCH_DEBUG"):
        for record in served:
            took = (record.t_tokens[-1] - record.t_request) if record.t_tokens else None
            print(
                f"{record.t_request - started:7.3f} {record.tag:7} tokens={record.tokens} "
                f"disconnected={record.disconnected} last token after {took}",
                file=sys.stderr,
            )
    result.seconds = time.perf_counter() - started
    result.upstream = len(served)
    result.cancelled = sum(1 for s in served if s.disconnected)
    result.tokens = sum(s.tokens for s in served)
    result.wasted_tokens = sum(s.tokens for s in served if s.disconnected)
    return result


# -- rss -----------------------------------------------------------------------------------------


async def rss(provider: RefProvider, home: Path, requests: int, every: int) -> list[tuple[int, int]]:
    """(requests done, RSS bytes) over ``requests`` inline requests of every kind."""
    spec = servers.ours(provider.base_url, home)
    provider.choose = always(Script([" = 1", "\n"], ttft=0.005, tag="fim"))
    samples: list[tuple[int, int]] = []
    done = 0
    number = 0
    async with inline_session(
        spec, home, inline_options(provider.base_url, debounce=0), "inline-rss"
    ) as client:
        while done < requests:
            number += 1
            uri = f"file://{home}/rss{number}.py"
            text = docs.python_document(200)
            await client.open(uri, text)
            line, column = text.count("\n"), 0
            if not samples:
                await lsp_bench.ping(client)
                samples.append((0, lsp_bench.tree_rss(client.pid)))
            for i in range(every // 3):
                if column >= 60:
                    await client.change(uri, insert_at(line, column, "\n"))
                    line, column = line + 1, 0
                await client.change(uri, insert_at(line, column, "x"))
                column += 1
                if i % 10 == 9:  # a request the editor cancels before the answer
                    msg_id, future = await client.send(INLINE, inline_params(uri, line, column))
                    await client.notify("$/cancelRequest", {"id": msg_id})
                    await future
                else:
                    await client.request(INLINE, inline_params(uri, line, column))
                await client.change(uri, insert_at(line, column, " "))
                column += 1
                await client.request(INLINE, inline_params(uri, line, column))
                await client.change(uri, insert_at(line, column, "y"))
                column += 1
                await client.request(INLINE, inline_params(uri, line, column, automatic=False))
                done += 3
            await client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
            provider.take()
            await lsp_bench.ping(client)
            samples.append((done, lsp_bench.tree_rss(client.pid)))
    return samples


# -- the embedded model --------------------------------------------------------------------------


@dataclass
class ModelLatency:
    cold_s: list[float] = field(default_factory=list)
    warm_s: list[float] = field(default_factory=list)  # answers that asked the model
    typed_through_s: list[float] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    file: str = ""
    #: inline settings on top of the defaults (--model-inline)
    inline: dict[str, Any] = field(default_factory=dict)
    load_avg: tuple[float, float, float] = (0.0, 0.0, 0.0)


def model_spec(home: Path) -> servers.ServerSpec:
    from codegen_lsp.core.localmodels import cache_dir

    spec = servers.ours("http://127.0.0.1:9/v1", home)
    spec.env.pop("CODEGEN_LSP_BASE_URL", None)
    spec.env.pop("CODEGEN_LSP_MODEL", None)
    spec.env["XDG_CACHE_HOME"] = str(cache_dir().parent.parent)  # the assembled model, not a new copy
    return spec


def _model_lines(count: int) -> tuple[str, list[int]]:
    """A real file of this repository and ``count`` consecutive code lines of one of its
    functions (the first a ``return Position(...)``), to be typed from their middle."""
    path = servers.ROOT / "server" / "codegen_lsp" / "core" / "text.py"
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("    return Position(") and i > 100)
    chosen = [
        i
        for i in range(start, len(lines))
        if len(lines[i].strip()) > 12 and not lines[i].strip().startswith("#")
    ]
    return text, chosen[:count]


def _cut(line: str) -> int:
    """Where typing a line resumes: after its first third (past the indentation)."""
    indent = len(line) - len(line.lstrip())
    return indent + max((len(line) - indent) // 3, 1)


async def model_latency(
    home: Path, colds: int, lines: int, inline: dict[str, Any] | None = None
) -> ModelLatency:
    """Cold: a fresh server's first request (model load, the whole prefix evaluated). Warm: in
    the same server, line after line of a real function is cut after its first third (the rest
    deleted, one edit) and typed back key by key, each key followed by an explicit request: the
    first request of a line asks the model (the prefix up to the previous line is reused), the
    keys after it are answered by the typed-through cache where the suggestion said them."""
    spec = model_spec(home)
    options = {
        "providers": {"local": {"type": "local", "temperature": 0.0}},
        "inline": {"debounce": 0, **(inline or {})},
    }
    out = ModelLatency(file="server/codegen_lsp/core/text.py", inline=dict(inline or {}))
    text, numbers = _model_lines(lines)
    truths = {n: text.split("\n")[n] for n in numbers}
    for round_ in range(colds):
        async with inline_session(spec, home, options, f"inline-model-{round_}") as client:
            uri = f"file://{home}/text{round_}.py"
            await client.open(uri, text)
            last_round = round_ == colds - 1
            for index, number in enumerate(numbers if last_round else numbers[:1]):
                truth, col = truths[number], _cut(truths[number])
                await client.change(
                    uri,
                    [
                        {
                            "range": {
                                "start": {"line": number, "character": col},
                                "end": {"line": number, "character": len(truth)},
                            },
                            "newText": "",
                        }
                    ],
                )
                reply = await client.request(INLINE, inline_params(uri, number, col, automatic=False))
                (out.warm_s if index else out.cold_s).append(reply.latency)
                out.suggestions.extend(items_of(reply)[:1])
                previous = (items_of(reply) or [""])[0]
                for key in truth[col:]:
                    await client.change(uri, insert_at(number, col, key))
                    col += 1
                    reply = await client.request(INLINE, inline_params(uri, number, col, automatic=False))
                    cached = len(previous) > 1 and previous.startswith(key)
                    (out.typed_through_s if cached else out.warm_s).append(reply.latency)
                    previous = (items_of(reply) or [""])[0]
                    if not cached:
                        out.suggestions.extend(items_of(reply)[:1])
    out.load_avg = os.getloadavg()
    return out


# -- report --------------------------------------------------------------------------------------


def _ms(values: dict[str, Any], key: str) -> str:
    return f"{values[key]:.2f} ms" if key in values else "n/a"


def table(report: dict[str, Any]) -> str:
    rows = ["| what | measured | target |", "|---|---|---|"]
    if "overhead" in report:
        o = report["overhead"]
        rows.append(
            f"| keystroke → inlineCompletion, server overhead p50 / p99 | {_ms(o['inline_ms'], 'p50')} / "
            f"{_ms(o['inline_ms'], 'p99')} | ≤ 5 ms p99 |"
        )
        rows.append(
            f"| … of which: request → provider has it / suggestion's last byte → answer, p50 | "
            f"{_ms(o['front_ms'], 'p50')} / {_ms(o['tail_ms'], 'p50')} | |"
        )
        rows.append(
            f"| keystroke answered from the typed-through cache p50 / p99 (round trip) | "
            f"{_ms(o['typed_through_ms'], 'p50')} / {_ms(o['typed_through_ms'], 'p99')} | |"
        )
        rows.append(
            f"| code-action path: provider's last byte → applyEdit p50 / p99 | {_ms(o['code_action_ms'], 'p50')} / "
            f"{_ms(o['code_action_ms'], 'p99')} | |"
        )
        rows.append(f"| ping floor p50 / p99 | {_ms(o['ping_ms'], 'p50')} / {_ms(o['ping_ms'], 'p99')} | |")
    for r in report.get("replay", []):
        rows.append(
            f"| replay, debounce {r['debounce'] * 1000:.0f} ms: upstream requests / 100 keys "
            f"({r['keystrokes']} keys for {r['chars']} characters, {r['accepted']} Tab) | "
            f"{100 * r['upstream'] / max(r['keystrokes'], 1):.1f}; "
            f"cancelled {r['cancelled']}, wasted tokens {r['wasted_tokens']} of {r['tokens']} | ≤ 25 |"
        )
    if "rss" in report:
        samples = report["rss"]
        first, last = samples[0][1], samples[-1][1]
        peak = max(b for _, b in samples)
        rows.append(
            f"| RSS over {samples[-1][0]} requests | {first / 2**20:.1f} → {last / 2**20:.1f} MiB "
            f"(peak {peak / 2**20:.1f}) | flat |"
        )
    if "model" in report:
        m = report["model"]
        cold = ", ".join(f"{s:.2f}" for s in m["cold_s"])
        warm = m["warm_s"]
        rows.append(f"| embedded model, cold (first request of a fresh server) | {cold} s | |")
        if warm:
            rows.append(
                f"| embedded model, warm p50 / p90 ({len(warm)} model calls) | {percentile(warm, 50) * 1000:.0f} / "
                f"{percentile(warm, 90) * 1000:.0f} ms | ≤ 500 ms p50 |"
            )
        typed = m["typed_through_s"]
        if typed:
            rows.append(
                f"| embedded model: keys answered from the typed-through cache | {len(typed)} of "
                f"{len(typed) + len(warm)} keys, p50 {percentile(typed, 50) * 1000:.1f} ms | |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    from bench.run import machine

    parser = argparse.ArgumentParser(
        prog="python -m bench.inline_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness runs")
    parser.add_argument("--only", default="overhead,replay,rss,model", help="comma-separated items")
    parser.add_argument(
        "--model-inline",
        default="{}",
        help="model: inline settings to try, as JSON (e.g. '{\"suffixChars\": 100}')",
    )
    parser.add_argument("--regions", type=int, default=6, help="replay: regions of code typed")
    parser.add_argument("--lines", type=int, default=10, help="replay: lines per region")
    parser.add_argument("--debounce", default="0,0.1,0.2", help="replay: debounce settings (seconds)")
    parser.add_argument(
        "--out", type=Path, default=None, help="the JSON file (default: bench/results/inline-TIME.json)"
    )
    parser.add_argument(
        "--server-src",
        type=Path,
        metavar="DIR",
        help="run the codegen_lsp package found in DIR (server/ of a checkout) instead of the installed one",
    )
    args = parser.parse_args(argv)
    if args.server_src:
        os.environ[servers.SERVER_SRC] = str(args.server_src.resolve())
    only = set(args.only.split(","))
    quick = args.quick
    report: dict[str, Any] = {"machine": machine(), "load_before": os.getloadavg(), "quick": quick}
    home = servers.temp_home()

    async def run() -> None:
        with RefProvider() as provider:
            if "overhead" in only:
                print("overhead…", file=sys.stderr)
                result = await overhead(provider, home, count=20 if quick else 500, jobs=5 if quick else 200)
                report["overhead"] = asdict(result)
            if "replay" in only:
                files = sorted((servers.ROOT / "server" / "codegen_lsp").rglob("*.py"))
                regions = _regions(files, 2 if quick else args.regions, 6 if quick else args.lines, seed=12)
                report["replay"] = []
                for debounce in [float(d) for d in args.debounce.split(",")]:
                    print(f"replay, debounce {debounce:g} s…", file=sys.stderr)
                    r = await replay(
                        provider, home, debounce, regions, typist=Typist(), oracle=Oracle(), seed=7
                    )
                    report["replay"].append(asdict(r))
                report["replay_setup"] = {
                    "typist": asdict(Typist()),
                    "oracle": asdict(Oracle()),
                    "regions": [(str(p.relative_to(servers.ROOT)), s, e) for p, s, e in regions],
                }
            if "rss" in only:
                print("rss…", file=sys.stderr)
                count = 300 if quick else 10_000
                report["rss"] = await rss(provider, home, count, every=max(count // 10, 30))
        if "model" in only:
            print("embedded model…", file=sys.stderr)
            report["model"] = asdict(
                await model_latency(
                    home,
                    colds=1 if quick else 2,
                    lines=2 if quick else 12,
                    inline=json.loads(args.model_inline),
                )
            )

    asyncio.run(run())
    report["load_after"] = os.getloadavg()
    out = args.out or RESULTS / f"inline-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(table(report))
    m = report["machine"]
    print(
        f"\n{m['cpus']} CPUs ({m['cpu']}), load {report['load_before'][0]:.1f} → {report['load_after'][0]:.1f}; "
        f"commit {m['commit']}; {out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
