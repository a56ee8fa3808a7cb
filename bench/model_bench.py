"""Embedded-model benchmark: load time, time to first token, tokens/s and memory on this machine.

Measures an embedded model (the default, or ``--model NAME``; ``--model-path`` for any GGUF) two
ways, with the same prompt, thread count and context size:

* **in-process**: :class:`codegen_lsp.providers.local.LocalProvider` (llama-cpp-python). "Load" is a
  model load into an empty model cache, with the file in the OS page cache (as in a running editor).
  RSS is this process's resident memory with the model loaded, after the runs.
* **in-process, same file again**: a second request whose prompt repeats the first one's file
  context (about 900 tokens) with another question, as when an editor asks twice about one
  file: llama.cpp reuses the evaluated prefix, so only the time to first token differs. Its
  first-request twin is the "cold" figure beside it.
* **llama_cpp.server**: ``python -m llama_cpp.server`` on loopback, streamed through
  :class:`codegen_lsp.providers.openai.OpenAIProvider`. "Load" is process start to ``/v1/models``
  answering (Python start-up, FastAPI and the model load).

Except for the "same file again" requests, each generation uses a fresh prompt (a run number leads
the system message) so llama.cpp's prefix cache cannot skip prompt processing; time to first
token therefore includes it. Tokens are counted by re-tokenizing the answer with the model's own
vocabulary; tokens/s is the decode rate after the first token. Medians of ``--runs`` runs after
one warm-up. Run::

    .venv/bin/python -m bench.model_bench [--runs 5] [--max-tokens 128] [--model qwen2.5-coder-1.5b]

Prints a table and writes ``bench/results/model.json`` (``model-NAME.json`` for another model).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from codegen_lsp.core import localmodels
from codegen_lsp.core.provider import Provider
from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.core.types import CompletionRequest, Message
from codegen_lsp.errors import ProviderError
from codegen_lsp.providers import local
from codegen_lsp.providers.local import LocalProvider, default_threads
from codegen_lsp.providers.openai import OpenAIProvider
from loopback.processes import NotServing, free_port, stop, wait_until_serving

RESULTS = Path(__file__).parent / "results" / "model.json"
N_CTX = 4096

# What the generate-from-comment action sends, roughly: a short system prompt and the comment
# with a little surrounding code.
SYSTEM = (
    "You are a coding assistant inside a code editor. Write the Python code that the comment asks "
    "for. Answer with code only, in one fenced block, no explanations."
)
USER = (
    "File: shapes.py\n\n```python\nimport math\n\n\n# Compute the area of a circle of radius r and "
    "the circumference, return both as a tuple\n```\n\nWrite the code for the comment."
)
# A file's worth of context for the "same file again" pair (about 900 tokens).
FILE_CONTEXT = "".join(
    f"def scale_{i}(values: list[float]) -> list[float]:\n    return [v * {i} for v in values]\n\n\n"
    for i in range(30)
)
QUESTIONS = ("Write scale_30 below the others.", "Add a docstring to scale_3.")


@dataclass
class Run:
    ttft_s: float
    total_s: float
    tokens: int

    @property
    def tokens_per_s(self) -> float:
        # Decode rate: tokens after the first over the time after the first.
        return (self.tokens - 1) / (self.total_s - self.ttft_s) if self.tokens > 1 else 0.0


def _request(run: int, max_tokens: int) -> CompletionRequest:
    return CompletionRequest(
        messages=(Message("system", f"[{run}] {SYSTEM}"), Message("user", USER)),
        temperature=0.0,
        max_tokens=max_tokens,
    )


async def _timed_stream(provider: Provider, request: CompletionRequest) -> tuple[float, float, str]:
    started = time.perf_counter()
    first: float | None = None
    parts: list[str] = []
    async for delta in provider.stream(request):
        if delta.text:
            first = first if first is not None else time.perf_counter() - started
            parts.append(delta.text)
    total = time.perf_counter() - started
    return (first if first is not None else total), total, "".join(parts)


def _file_request(run: int, question: str, max_tokens: int) -> CompletionRequest:
    user = f"File: scale.py\n\n```python\n{FILE_CONTEXT}```\n\n{question}"
    return CompletionRequest(
        messages=(Message("system", f"[{run}] {SYSTEM}"), Message("user", user)),
        temperature=0.0,
        max_tokens=max_tokens,
    )


def _count_tokens(vocab: Any, text: str) -> int:
    return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))


async def _generate_runs(provider: Provider, vocab: Any, runs: int, max_tokens: int) -> tuple[list[Run], str]:
    await _timed_stream(provider, _request(0, max_tokens))  # warm-up, not counted
    results: list[Run] = []
    sample = ""
    for i in range(1, runs + 1):
        ttft, total, text = await _timed_stream(provider, _request(i, max_tokens))
        results.append(Run(ttft, total, _count_tokens(vocab, text)))
        sample = text
    return results, sample


async def bench_in_process(
    settings: ProviderSettings, vocab: Any, runs: int, max_tokens: int
) -> dict[str, dict[str, Any]]:
    loads: list[float] = []
    for _ in range(runs):
        local.unload_models()
        started = time.perf_counter()
        await LocalProvider(settings).load()
        loads.append(time.perf_counter() - started)
    provider = LocalProvider(settings)
    generated, sample = await _generate_runs(provider, vocab, runs, max_tokens)
    cold: list[Run] = []
    warm: list[Run] = []
    for i in range(1, runs + 1):
        for question, into in zip(QUESTIONS, (cold, warm), strict=True):
            ttft, total, text = await _timed_stream(provider, _file_request(i, question, max_tokens))
            into.append(Run(ttft, total, _count_tokens(vocab, text)))
    rss = _rss_mb()
    await provider.aclose()
    return {
        "in-process": _summarise(loads, generated, sample) | {"rss_mb": rss},
        "in-process, a file (cold)": _summarise(loads, cold, ""),
        "in-process, same file again": _summarise(loads, warm, ""),
    }


def _rss_mb() -> float | None:
    try:
        import psutil
    except ImportError:  # the [bench] extra is not installed
        return None
    rss: int = psutil.Process().memory_info().rss
    return rss / 2**20


@contextmanager
def _llama_server(gguf: Path, threads: int) -> Iterator[tuple[str, float]]:
    """Start ``python -m llama_cpp.server``; yield its base URL and seconds until it answered."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)),
        *("--host", "127.0.0.1", "--port", str(port), "--model_alias", "bench"),
        *("--n_ctx", str(N_CTX), "--n_threads", str(threads), "--n_threads_batch", str(threads)),
    ]
    base_url = f"http://127.0.0.1:{port}/v1"
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        try:
            wait_until_serving(process, base_url, timeout=120, poll=0.05)
        except NotServing as exc:
            if exc.returncode is None:
                raise SystemExit("llama_cpp.server did not answer within 120 s") from None
            raise SystemExit(f"llama_cpp.server exited with {exc.returncode}: {' '.join(command)}") from None
        yield base_url, time.perf_counter() - started
    finally:
        stop(process)


async def bench_server(gguf: Path, vocab: Any, runs: int, max_tokens: int, threads: int) -> dict[str, Any]:
    loads: list[float] = []
    for _ in range(runs):
        with _llama_server(gguf, threads) as (_, ready_s):
            loads.append(ready_s)
    with _llama_server(gguf, threads) as (base_url, _):
        provider = OpenAIProvider(ProviderSettings(name="llamacpp", base_url=base_url, model="bench"))
        try:
            generated, sample = await _generate_runs(provider, vocab, runs, max_tokens)
        finally:
            await provider.aclose()
    return _summarise(loads, generated, sample)


def _summarise(loads: list[float], runs: list[Run], sample: str) -> dict[str, Any]:
    return {
        "load_s": statistics.median(loads),
        "ttft_s": statistics.median(r.ttft_s for r in runs),
        "tokens_per_s": statistics.median(r.tokens_per_s for r in runs),
        "tokens": statistics.median(r.tokens for r in runs),
        "loads_s": loads,
        "runs": [asdict(r) | {"tokens_per_s": r.tokens_per_s} for r in runs],
        "sample_answer": sample,
    }


def _machine(threads: int) -> dict[str, Any]:
    import llama_cpp

    return {
        "cpus": os.cpu_count(),
        "threads": threads,
        "load_average_1m": os.getloadavg()[0],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "llama_cpp_python": llama_cpp.__version__,
    }


def _table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"{'':<28} {'load (s)':>9} {'first token (s)':>16} {'tokens/s':>9} {'tokens':>7}",
    ]
    for name, r in results.items():
        lines.append(
            f"{name:<28} {r['load_s']:>9.2f} {r['ttft_s']:>16.3f} {r['tokens_per_s']:>9.1f} {r['tokens']:>7.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="measured runs per figure (median; default 5)")
    parser.add_argument("--max-tokens", type=int, default=128, help="answer length cap (default 128)")
    parser.add_argument("--threads", type=int, default=default_threads(), help="llama.cpp threads")
    parser.add_argument("--skip-server", action="store_true", help="measure in-process only")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument(
        "--model",
        choices=list(localmodels.EMBEDDED_MODELS),
        default=localmodels.DEFAULT_MODEL.name,
        help="embedded model (default: %(default)s)",
    )
    choice.add_argument("--model-path", type=Path, help="any GGUF file instead of an embedded model")
    parser.add_argument("--output", type=Path, help=f"JSON file (default {RESULTS} for the default model)")
    args = parser.parse_args(argv)

    settings = ProviderSettings(
        name="local",
        type="local",
        n_ctx=N_CTX,
        n_threads=args.threads,
        model=None if args.model_path else args.model,
        model_path=str(args.model_path) if args.model_path else None,
        unload_after=0,
    )
    try:
        gguf = local.resolve_model_path(settings)
    except ProviderError as exc:
        print(exc, file=sys.stderr)
        return 1
    output = args.output or (
        RESULTS
        if args.model == localmodels.DEFAULT_MODEL.name and not args.model_path
        else RESULTS.with_name(f"model-{args.model_path.stem if args.model_path else args.model}.json")
    )
    import llama_cpp

    # One load first: the file is then in the page cache for every measured load (as in a running
    # editor), and llama.cpp's logging is routed away from the terminal before anything else loads.
    asyncio.run(LocalProvider(settings).load())
    # A vocabulary-only load: the same tokenizer for counting both sides' tokens, no weights.
    vocab = llama_cpp.Llama(model_path=str(gguf), vocab_only=True, verbose=False)

    results: dict[str, dict[str, Any]] = asyncio.run(
        bench_in_process(settings, vocab, args.runs, args.max_tokens)
    )
    if not args.skip_server:
        results["llama_cpp.server"] = asyncio.run(
            bench_server(gguf, vocab, args.runs, args.max_tokens, args.threads)
        )
    report = {
        "model": gguf.name,
        "model_bytes": gguf.stat().st_size,
        "n_ctx": N_CTX,
        "max_tokens": args.max_tokens,
        "runs": args.runs,
        "machine": _machine(args.threads),
        "results": results,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(_table(results))
    rss = results["in-process"].get("rss_mb")
    memory = f", RSS {rss:.0f} MB" if rss else ""
    print(
        f"\n{gguf.name}, {args.threads} threads, n_ctx {N_CTX}, median of {args.runs}{memory}; wrote {output}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
