"""The embedded model asked HumanEval's problems in other ways than the product asks: is the ceiling
the prompt or the model file?

    .venv/bin/python -m bench.tools.prompt_styles evalplus [--range 0:82] [--model NAME]

Styles, each on the raw llama.cpp model (no product code between the model and the tests):

* ``evalplus``: Qwen's own evaluation prompt (EvalPlus's instruction, with its response prefix
  pre-filled in the assistant turn, which the chat API cannot do), code from the opened block;
* ``continue``: the stub given as plain text, continued until a top-level line;
* ``fim``: the stub as the prefix of Qwen's fill-in-the-middle tokens, the body as the middle.

Greedy decoding, one llama.cpp thread; outcomes are classified by :func:`bench.quality.run_tests`.
Rows go to ``bench/humaneval/<model>/style-<style>[-<range>].csv``, beside the product's rows for
the same problems.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cases import Problem, load_problems
from bench.quality import Row, _read_rows, _write_rows, program_from, run_tests
from codegen_lsp.core import localmodels
from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.providers.llama_models import load

RESULTS = Path(__file__).resolve().parents[1] / "humaneval"

_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
_EVALPLUS_INSTRUCTION = "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
_EVALPLUS_RESPONSE = "Below is a Python script with a self-contained function that solves the problem and passes corresponding tests:"
#: where a continued function ends: the next top-level statement
_TOP_LEVEL_STOPS = ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert"]
_SPECIAL_STOPS = ["<|endoftext|>", "<|im_end|>", "<|fim_pad|>", "<|file_sep|>"]
STYLES = ("evalplus", "continue", "fim")


def prompt_for(style: str, problem: Problem) -> tuple[str, list[str]]:
    """The raw prompt and the stop strings."""
    if style == "evalplus":
        user = f"{_EVALPLUS_INSTRUCTION}\n```\n{problem.prompt.strip()}\n```\n"
        prefix = f"{_EVALPLUS_RESPONSE}\n```python\n"
        prompt = (
            f"<|im_start|>system\n{_SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            f"<|im_start|>assistant\n{prefix}"
        )
        return prompt, ["```", *_SPECIAL_STOPS]
    if style == "continue":
        return problem.prompt, _TOP_LEVEL_STOPS + _SPECIAL_STOPS
    if style == "fim":
        return (
            f"<|fim_prefix|>{problem.prompt}<|fim_suffix|>\n<|fim_middle|>",
            _TOP_LEVEL_STOPS + _SPECIAL_STOPS,
        )
    raise ValueError(style)


def program_for(style: str, problem: Problem, text: str) -> str:
    """The file the tests run against: the chat answer as the model alone's is; a continuation
    (stopped at the next top-level line) continues the stub."""
    return program_from(problem, text) if style == "evalplus" else problem.prompt + text


def solve(llama: Any, style: str, problem: Problem, max_tokens: int) -> Row:
    row = Row(problem.task_id)
    prompt, stops = prompt_for(style, problem)
    started = time.perf_counter()
    out = llama.create_completion(prompt=prompt, temperature=0.0, max_tokens=max_tokens, stop=stops)
    row.seconds = round(time.perf_counter() - started, 2)
    choice = out["choices"][0]
    row.finish_reason = choice.get("finish_reason")
    row.completion_tokens = out.get("usage", {}).get("completion_tokens")
    with tempfile.TemporaryDirectory() as scratch:
        run_tests(program_for(style, problem, choice["text"]), problem, row, Path(scratch))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("style", choices=STYLES)
    parser.add_argument("--range", default="0:164", metavar="A:B", help="problems A to B-1 (default all 164)")
    parser.add_argument("--model", help="an embedded model's name (default: the default one)")
    parser.add_argument("--max-tokens", type=int, default=768)
    args = parser.parse_args(argv)
    start, end = (int(n) for n in args.range.split(":"))
    problems = load_problems(None)[start:end]
    # no idle unload: this drives the model directly, without the provider's in-use lock
    loaded = load(ProviderSettings(name="local", type="local", model=args.model, n_threads=1, unload_after=0))
    model = args.model or localmodels.DEFAULT_MODEL.name
    suffix = "" if args.range == "0:164" else f"-{start}-{end}"
    out = RESULTS / model / f"style-{args.style}{suffix}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _read_rows(out)  # an interrupted run goes on where it stopped
    rows: list[Row] = []
    for problem in problems:
        rows.append(done.get(problem.task_id) or solve(loaded.llama, args.style, problem, args.max_tokens))
        _write_rows(out, rows)
        passed = sum(r.outcome == "passed" for r in rows)
        print(
            f"[{args.style}] {problem.task_id:<14} {rows[-1].outcome:<12} pass {passed}/{len(rows)}",
            file=sys.stderr,
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
