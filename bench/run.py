"""``python -m bench``: run the benchmarks, print the table, write JSON and Markdown.

Items (numbered as in the benchmark issue): 1 startup, 2 code-action listing, 3 didChange,
4 last byte → applyEdit, 5 first line → first visible edit (streamEdits), 6 stream decoding,
7 memory, 8 ``codegen-lsp generate``; 9 (the embedded model) is ``bench/model_bench.py``, whose
``bench/results/model.json`` is folded into the table when present.

``python -m bench setup`` installs the npm peers (tabby-agent, Copilot's language server) under
``bench/.peers``; without them those columns are skipped. ``--quick`` runs everything with tiny
sizes (the smoke test uses it); the default sizes are the published ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import cli_bench, decode_bench, docs, lsp_bench, servers
from bench.refprovider import RefProvider, Script
from bench.stats import summary

RESULTS = servers.BENCH / "results"
ITEMS = ("startup", "documents", "jobs", "live", "decode", "memory", "cli")


@dataclass(frozen=True)
class Sizes:
    startup_rounds: int = 10
    peer_rounds: int = 5
    doc_sizes: tuple[int, ...] = (100, 10_000, 100_000)
    doc_requests: int = 200
    doc_rounds: int = 3
    changes: int = 200
    jobs: int = 200  # item 4 samples
    memory_jobs: int = 1000
    live_jobs: int = 50
    concurrent: int = 20
    decode_tokens: int = 20_000
    provider_tokens: int = 5_000
    token_sizes: tuple[int, ...] = (20, 1000)
    token_repeats: int = 5
    cli_runs: int = 10
    import_rounds: int = 5
    settle: float = 1.0  # seconds a started server idles before its RSS is read
    concurrent_tokens: int = 100
    decode_repeats: int = 3


#: everything once, tiny: the smoke test's sizes (it only proves the harness still runs)
QUICK = Sizes(
    startup_rounds=0,
    peer_rounds=0,
    doc_sizes=(100, 2_000),
    doc_requests=4,
    doc_rounds=1,
    changes=5,
    jobs=3,
    memory_jobs=4,
    live_jobs=1,
    concurrent=2,
    decode_tokens=500,
    provider_tokens=200,
    token_sizes=(20, 100),
    token_repeats=1,
    cli_runs=1,
    import_rounds=0,
    settle=0.1,
    concurrent_tokens=10,
    decode_repeats=1,
)

#: the answer for item 4/7 jobs: 20 tokens, first after 20 ms, then 1 ms apart (fast enough
#: to keep 1000 jobs short; the overhead is measured after the last byte, so pacing is moot)
JOB_SCRIPT = Script(docs.ANSWER_TOKENS, ttft=0.02, interval=0.001, tag="bench-job-0")
#: item 5: a paced stream (100 tokens/s), so each line arrives while the server is idle
LIVE_SCRIPT = Script(docs.ANSWER_TOKENS, ttft=0.05, interval=0.01, tag="bench-job-0")
#: index of the token that completes the first code line in ANSWER_TOKENS ("def add(a, b):\n")
LIVE_LINE_TOKEN = 5
CLI_SCRIPT = Script(docs.ANSWER_TOKENS, ttft=0.1, interval=0.005)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _timed_python(code: str, rounds: int) -> float:
    """Median wall seconds of ``python -c code`` (process start to exit)."""
    samples = []
    for _ in range(rounds + 1):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - t)
    return _median(samples[1:])


# -- the items --------------------------------------------------------------------------------


async def item_startup(sizes: Sizes, home: Path, provider: RefProvider) -> dict[str, Any]:
    specs = [servers.ours(provider.base_url, home), servers.bare(home)]
    peers = [servers.tabby(home), servers.copilot(home)] if sizes.peer_rounds else []
    peers = [p for p in peers if p.available and servers.PEERS.exists() and _peer_installed(p)]
    samples: dict[str, list[lsp_bench.Startup]] = {s.name: [] for s in specs + peers}
    # interleaved rounds: a burst of load on the machine hits every server alike
    for r in range(sizes.startup_rounds + 1):
        for spec in specs + (peers if r <= sizes.peer_rounds else []):
            result = await lsp_bench.startup(spec, home, settle=sizes.settle)
            if r or not sizes.startup_rounds:  # round 0 warms the page cache and bytecode
                samples[spec.name].append(result)
    floors = (
        {}
        if not sizes.import_rounds
        else {
            "python -c pass": _timed_python("pass", sizes.import_rounds),
            "import lsprotocol.types": _timed_python("import lsprotocol.types", sizes.import_rounds),
            "import pygls.lsp.server": _timed_python("import pygls.lsp.server", sizes.import_rounds),
            "import codegen_lsp.lsp.server": _timed_python(
                "import codegen_lsp.lsp.server", sizes.import_rounds
            ),
            "import codegen_lsp.cli": _timed_python("import codegen_lsp.cli", sizes.import_rounds),
        }
    )
    return {
        name: {
            "startup_s": summary([s.seconds for s in runs]),
            "idle_rss_mib": _median([s.idle_rss / 2**20 for s in runs]),
        }
        for name, runs in samples.items()
        if runs
    } | {"floors_s": floors}


def _peer_installed(spec: servers.ServerSpec) -> bool:
    return all(Path(part).exists() for part in spec.command if part.startswith(str(servers.PEERS)))


async def item_documents(sizes: Sizes, home: Path, provider: RefProvider) -> dict[str, Any]:
    out: dict[str, Any] = {}
    specs = [servers.ours(provider.base_url, home), servers.bare(home)]
    for spec in specs:
        results = await lsp_bench.documents(
            spec, home, list(sizes.doc_sizes), sizes.doc_requests, sizes.changes, sizes.doc_rounds
        )
        out[spec.name] = {
            str(r.lines): {
                "code_action_ms": summary(r.steady, 1000),
                "code_action_after_edit_ms": summary(r.after_edit, 1000),
                **(
                    {
                        "did_change_ms": r.change.per_change_wall * 1000,
                        "did_change_cpu_ms": r.change.per_change_cpu * 1000,
                    }
                    if r.change
                    else {}
                ),
            }
            for r in results
        }
    return out


async def item_jobs(sizes: Sizes, home: Path, provider: RefProvider) -> dict[str, Any]:
    spec = servers.ours(provider.base_url, home)
    result = await lsp_bench.single_edit_jobs(
        spec, home, provider, sizes.jobs, script=JOB_SCRIPT, rss_every=max(sizes.jobs, 1)
    )
    out: dict[str, Any] = {
        "last_byte_to_apply_edit_ms": summary(result.overhead, 1000),
        "execute_command_ms": summary(result.command_total, 1000),
        "ping_ms": summary(result.ping, 1000),
        "provider_script": {"tokens": len(JOB_SCRIPT.tokens), "ttft_s": JOB_SCRIPT.ttft},
    }
    return out


async def item_live(sizes: Sizes, home: Path, provider: RefProvider) -> dict[str, Any]:
    spec = servers.ours(provider.base_url, home)
    firsts = await lsp_bench.live_jobs(
        spec, home, provider, sizes.live_jobs, script=LIVE_SCRIPT, line_token=LIVE_LINE_TOKEN
    )
    return {"first_line_to_first_edit_ms": summary(firsts, 1000)}


async def item_memory(sizes: Sizes, home: Path, provider: RefProvider) -> dict[str, Any]:
    spec = servers.ours(provider.base_url, home)
    fast = Script(docs.ANSWER_TOKENS, tag="bench-job-0")
    every = max(sizes.memory_jobs // 10, 1)
    jobs = await lsp_bench.single_edit_jobs(
        spec, home, provider, sizes.memory_jobs, script=fast, rss_every=every
    )
    rss = [(n, b / 2**20) for n, b in jobs.rss]
    # each job 0.2 s to the first token, then 100 tokens/s (1.2 s alone at the default size)
    concurrent = await lsp_bench.concurrent_jobs(
        spec,
        home,
        provider,
        sizes.concurrent,
        lambda tag: Script(docs.long_answer(sizes.concurrent_tokens), ttft=0.2, interval=0.01, tag=tag),
    )
    # growth over the second half: the first jobs fill caches (imports, pools) once
    half = [b for n, b in rss if n >= sizes.memory_jobs // 2]
    return {
        "rss_mib_by_jobs": rss,
        "rss_growth_second_half_mib": (half[-1] - half[0]) if len(half) > 1 else 0.0,
        "rss_after_jobs_mib": rss[-1][1],
        "rss_before_jobs_mib": rss[0][1],
        "concurrent": {
            "jobs": concurrent.jobs,
            "wall_s": concurrent.wall,
            "single_job_s": concurrent.single,
            "idle_rss_mib": concurrent.idle_rss / 2**20,
            "peak_rss_mib": concurrent.peak_rss / 2**20,
            "last_byte_to_apply_edit_ms": summary(concurrent.overhead, 1000),
        },
    }


async def item_decode(sizes: Sizes, home: Path, provider: RefProvider) -> dict[str, Any]:
    pure = [decode_bench.pure_decoder(sizes.decode_tokens) for _ in range(sizes.decode_repeats)]
    # in a worker thread with its own event loop and its own reference provider, so nothing of
    # this run's loop or provider shares the measured thread
    over = [
        await asyncio.to_thread(decode_bench.provider_over_loopback, sizes.provider_tokens)
        for _ in range(sizes.decode_repeats)
    ]
    spec = servers.ours(provider.base_url, home)
    through = await lsp_bench.server_cpu_per_tokens(
        spec, home, provider, list(sizes.token_sizes), sizes.token_repeats
    )
    small, large = through[0], through[-1]
    slope = (_median(large.cpu) - _median(small.cpu)) / (large.tokens - small.tokens) * 1000
    return {
        "decoder_chunks_per_s": _median([t.chunks_per_s for t in pure]),
        "decoder_cpu_ms_per_1000": _median([t.cpu_per_1000 for t in pure]) * 1000,
        "provider_chunks_per_s": _median([t.chunks_per_s for t in over]),
        "provider_cpu_ms_per_1000": _median([t.cpu_per_1000 for t in over]) * 1000,
        "server_job_cpu_ms": {str(t.tokens): _median(t.cpu) * 1000 for t in through},
        "server_job_wall_ms": {str(t.tokens): _median(t.wall) * 1000 for t in through},
        "server_cpu_ms_per_1000": slope * 1000,
    }


async def item_cli(sizes: Sizes, home: Path, provider: RefProvider) -> dict[str, Any]:
    runs = await asyncio.to_thread(cli_bench.generate_runs, home, sizes.cli_runs, CLI_SCRIPT)
    return {
        "overhead_ms": summary([r.overhead for r in runs], 1000),
        "total_ms": summary([r.total for r in runs], 1000),
        "provider_ms": summary([r.provider for r in runs], 1000),
        "before_request_ms": summary([r.before for r in runs], 1000),
        "after_last_byte_ms": summary([r.after for r in runs], 1000),
    }


RUNNERS = {
    "startup": item_startup,
    "documents": item_documents,
    "jobs": item_jobs,
    "live": item_live,
    "memory": item_memory,
    "decode": item_decode,
    "cli": item_cli,
}


# -- report -----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    with open("/proc/cpuinfo") if os.path.exists("/proc/cpuinfo") else open(os.devnull) as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    source = Path(os.environ.get(servers.SERVER_SRC) or servers.ROOT / "server")
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=source, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."], cwd=source, capture_output=True, text=True
        ).stdout.strip()
        if dirty:
            commit += " + uncommitted changes"
    except OSError:
        commit = ""
    import psutil

    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "node": shutil.which("node")
        and subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
        "commit": commit,
    }


def _fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    if value is None or value != value:  # None or NaN
        return "–"
    return f"{value:.{digits}f}{unit}"


def _row(item: str, what: str, ours: str, floor: str, target: str, verdict: str) -> list[str]:
    return [item, what, ours, floor, target, verdict]


def _verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "MISSED")


def table(results: dict[str, Any]) -> list[list[str]]:
    """Rows: item, measure, codegen-lsp, floor or peer, target, verdict."""
    rows: list[list[str]] = [
        _row("!", f"{item} failed", str(r["error"])[:120], "", "", "ERROR")
        for item, r in results.items()
        if isinstance(r, dict) and "error" in r
    ]
    results = {item: r for item, r in results.items() if not (isinstance(r, dict) and "error" in r)}
    s = results.get("startup")
    if s:
        ours, bare = s.get("codegen-lsp"), s.get("bare pygls")
        if ours and bare:
            ratio = ours["startup_s"]["p50"] / bare["startup_s"]["p50"]
            rows.append(
                _row(
                    "1",
                    "start → initialize answered, p50 / p99",
                    f"{_fmt(ours['startup_s']['p50'], ' s')} / {_fmt(ours['startup_s']['p99'], ' s')}",
                    f"bare pygls {_fmt(bare['startup_s']['p50'], ' s')} / {_fmt(bare['startup_s']['p99'], ' s')}"
                    f" (×{ratio:.2f})",
                    "≤ 1.1× bare",
                    _verdict(ratio <= 1.1),
                )
            )
            rss = ours["idle_rss_mib"] / bare["idle_rss_mib"]
            rows.append(
                _row(
                    "7",
                    "idle RSS",
                    _fmt(ours["idle_rss_mib"], " MiB", 1),
                    f"bare pygls {_fmt(bare['idle_rss_mib'], ' MiB', 1)} (×{rss:.2f})",
                    "≤ 1.25× bare",
                    _verdict(rss <= 1.25),
                )
            )
        for peer in ("tabby-agent", "copilot-language-server"):
            p = s.get(peer)
            if p and ours:
                rows.append(
                    _row(
                        "1/7",
                        f"{peer}: startup p50, idle RSS",
                        f"{_fmt(ours['startup_s']['p50'], ' s')}, {_fmt(ours['idle_rss_mib'], ' MiB', 1)}",
                        f"{_fmt(p['startup_s']['p50'], ' s')} (ours ×{ours['startup_s']['p50'] / p['startup_s']['p50']:.2f}), "
                        f"{_fmt(p['idle_rss_mib'], ' MiB', 1)} (ours ×{ours['idle_rss_mib'] / p['idle_rss_mib']:.2f})",
                        "side by side",
                        "–",
                    )
                )
        floors = s.get("floors_s", {})
        if floors:
            rows.append(
                _row(
                    "1",
                    "floors: python -c pass / import lsprotocol.types / pygls / codegen_lsp.lsp.server / codegen_lsp.cli",
                    " / ".join(_fmt(v, " s") for v in floors.values()),
                    "",
                    "0.4 s (stretch)",
                    "–",
                )
            )
    d = results.get("documents")
    if d and "codegen-lsp" in d:
        ours, bare = d["codegen-lsp"], d.get("bare pygls", {})
        for lines, r in ours.items():
            b = bare.get(lines, {})
            big = int(lines) >= 100_000
            ca, cb = r["code_action_ms"], b.get("code_action_ms", {})
            rows.append(
                _row(
                    "2",
                    f"codeAction, {int(lines):,} lines, p50 / p99",
                    f"{_fmt(ca['p50'], ' ms')} / {_fmt(ca['p99'], ' ms')}",
                    f"bare {_fmt(cb.get('p50'), ' ms')} / {_fmt(cb.get('p99'), ' ms')}",
                    "p99 ≤ 5 ms at 100k" if big else "",
                    _verdict(ca["p99"] <= 5) if big else "–",
                )
            )
            ae, be = r["code_action_after_edit_ms"], b.get("code_action_after_edit_ms", {})
            rows.append(
                _row(
                    "2",
                    f"didChange + codeAction, {int(lines):,} lines, p50 / p99",
                    f"{_fmt(ae['p50'], ' ms')} / {_fmt(ae['p99'], ' ms')}",
                    f"bare {_fmt(be.get('p50'), ' ms')} / {_fmt(be.get('p99'), ' ms')}",
                    "",
                    "–",
                )
            )
            if "did_change_ms" in r:
                rows.append(
                    _row(
                        "3",
                        f"didChange (1 char), {int(lines):,} lines: wall / server CPU",
                        f"{_fmt(r['did_change_ms'], ' ms', 3)} / {_fmt(r['did_change_cpu_ms'], ' ms', 3)}",
                        f"bare {_fmt(b.get('did_change_ms'), ' ms', 3)} / {_fmt(b.get('did_change_cpu_ms'), ' ms', 3)}",
                        "≤ 1 ms at 100k" if big else "",
                        _verdict(r["did_change_ms"] <= 1) if big else "–",
                    )
                )
    j = results.get("jobs")
    if j:
        o = j["last_byte_to_apply_edit_ms"]
        rows.append(
            _row(
                "4",
                "provider's last byte → applyEdit, p50 / p99",
                f"{_fmt(o['p50'], ' ms')} / {_fmt(o['p99'], ' ms')}",
                f"empty round trip {_fmt(j['ping_ms']['p50'], ' ms')} / {_fmt(j['ping_ms']['p99'], ' ms')}",
                "p99 ≤ 2 ms",
                _verdict(o["p99"] <= 2),
            )
        )
        rows.append(
            _row(
                "4",
                "whole job: executeCommand round trip, p50 (provider itself ~40 ms)",
                _fmt(j["execute_command_ms"]["p50"], " ms", 1),
                "",
                "",
                "–",
            )
        )
    live = results.get("live")
    if live:
        o = live["first_line_to_first_edit_ms"]
        rows.append(
            _row(
                "5",
                "streamEdits: first complete line → first edit, p50 / p99",
                f"{_fmt(o['p50'], ' ms')} / {_fmt(o['p99'], ' ms')}",
                "",
                "≤ 10 ms",
                _verdict(o["p99"] <= 10),
            )
        )
    dec = results.get("decode")
    if dec:
        rows.append(
            _row(
                "6",
                "decoding: chunks/s; CPU per 1000 tokens (decoder / provider / whole server)",
                f"{dec['decoder_chunks_per_s']:,.0f} / {dec['provider_chunks_per_s']:,.0f} chunks/s; "
                f"{_fmt(dec['decoder_cpu_ms_per_1000'], ' ms', 1)} / {_fmt(dec['provider_cpu_ms_per_1000'], ' ms', 1)}"
                f" / {_fmt(dec['server_cpu_ms_per_1000'], ' ms', 1)}",
                "",
                "",
                "–",
            )
        )
    m = results.get("memory")
    if m:
        n = m["rss_mib_by_jobs"][-1][0]
        rows.append(
            _row(
                "7",
                f"RSS before → after {n} jobs (growth over the 2nd half)",
                f"{_fmt(m['rss_before_jobs_mib'], ' MiB', 1)} → {_fmt(m['rss_after_jobs_mib'], ' MiB', 1)}"
                f" ({m['rss_growth_second_half_mib']:+.1f} MiB)",
                "",
                "flat",
                _verdict(m["rss_growth_second_half_mib"] <= 1.0),
            )
        )
        c = m["concurrent"]
        rows.append(
            _row(
                "7",
                f"{c['jobs']} concurrent jobs: peak RSS; wall vs one job",
                f"{_fmt(c['peak_rss_mib'], ' MiB', 1)} (idle {_fmt(c['idle_rss_mib'], ' MiB', 1)}); "
                f"{_fmt(c['wall_s'], ' s')} vs {_fmt(c['single_job_s'], ' s')}",
                "",
                "",
                "–",
            )
        )
    cli = results.get("cli")
    if cli:
        rows.append(
            _row(
                "8",
                "`codegen-lsp generate` minus provider time, p50 / p99",
                f"{_fmt(cli['overhead_ms']['p50'], ' ms', 0)} / {_fmt(cli['overhead_ms']['p99'], ' ms', 0)}",
                f"before request {_fmt(cli['before_request_ms']['p50'], ' ms', 0)}, after last byte "
                f"{_fmt(cli['after_last_byte_ms']['p50'], ' ms', 0)}",
                "",
                "–",
            )
        )
    model = results.get("model")
    if model:
        for name, r in model.get("results", {}).items():
            rows.append(
                _row(
                    "9",
                    f"embedded model ({name}): load / first token / tokens/s",
                    f"{_fmt(r.get('load_s'), ' s')} / {_fmt(r.get('ttft_s'), ' s', 3)} / {_fmt(r.get('tokens_per_s'), '', 1)}",
                    model.get("model", ""),
                    "",
                    "–",
                )
            )
    return rows


def markdown(rows: list[list[str]]) -> str:
    head = ["#", "measure", "codegen-lsp", "floor / peer", "target", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=("run", "setup"), default="run")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds, not minutes)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(ITEMS)}")
    parser.add_argument(
        "--server-src",
        type=Path,
        metavar="DIR",
        help="run the codegen_lsp package found in DIR (e.g. server/ of a git worktree) instead of the installed one",
    )
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/<time>.json)")
    args = parser.parse_args(argv)
    if args.command == "setup":
        return servers.setup()

    if args.server_src:
        source = args.server_src.resolve()
        os.environ[servers.SERVER_SRC] = str(source)
        sys.path.insert(0, str(source))  # the in-process decoder benchmarks too
    sizes = QUICK if args.quick else Sizes()
    chosen = [i for i in ITEMS if not args.only or i in args.only.split(",")]
    home = servers.temp_home()
    report: dict[str, Any] = {
        "machine": machine(),
        "sizes": asdict(sizes),
        "load_before": os.getloadavg(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    results: dict[str, Any] = {}

    async def run_all() -> None:
        with RefProvider() as provider:
            for item in chosen:
                t = time.perf_counter()
                print(f"[bench] {item} …", file=sys.stderr, flush=True)
                try:
                    results[item] = await RUNNERS[item](sizes, home, provider)
                except Exception as exc:  # one broken item must not lose the others' numbers
                    if args.quick:
                        raise
                    traceback.print_exc()
                    results[item] = {"error": repr(exc)}
                print(f"[bench] {item} done in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)

    try:
        asyncio.run(run_all())
    finally:
        shutil.rmtree(home, ignore_errors=True)
    model_json = RESULTS / "model.json"
    if model_json.exists():
        results["model"] = json.loads(model_json.read_text())
    report["load_after"] = os.getloadavg()
    report["results"] = results
    rows = table(results)
    report["table"] = rows
    text = markdown(rows)
    m = report["machine"]
    footer = (
        f"\n{m['cpu']}, {m['cpus']} CPUs, {m['memory_gib']} GiB, Python {m['python']}, node {m['node']}, "
        f"commit {m['commit']}; load average {report['load_before'][0]:.2f} before, "
        f"{report['load_after'][0]:.2f} after."
    )
    print(text + "\n" + footer)
    RESULTS.mkdir(exist_ok=True)
    output = args.output or RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}{'-quick' if args.quick else ''}.json"
    output.write_text(json.dumps(report, indent=2) + "\n")
    (output.with_suffix(".md")).write_text(text + "\n" + footer + "\n")
    print(f"wrote {output} and {output.with_suffix('.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
