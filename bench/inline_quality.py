"""Inline completion quality: HumanEval infilling through the product's own suggestion code, pass@1.

Two tasks are built from each of HumanEval's 164 canonical solutions (the problems come from
:func:`bench.cases.load_problems`):

* **line** — one line of the solution is emptied (its indentation kept) and the cursor put after
  that indentation: the middle one of the lines that hold code, so neither the first nor the last
  line of a solution is favoured.
* **block** — the body of the first compound statement (a line ending with ``:``) whose body has
  at least two lines is removed, the cursor on a fresh line indented for it; a solution without
  one loses its whole body, the cursor on a fresh line under the docstring (a one-line solution
  has no block task).

Each task is completed as the server completes it: :func:`~codegen_lsp.core.inline.inline_context`
at the cursor of the file (the prompt, the solution with the gap, nothing else), the mode forced
to the task's (the server picks it from syntax; most tasks get the same), the inline options the
server uses for the provider (:meth:`~codegen_lsp.core.inline.InlineOptions.of`, at temperature 0
so runs repeat), and :func:`~codegen_lsp.core.suggestion.suggest` over the configured infiller chain
(with nothing configured: the embedded model and its FIM tokens). The suggestion goes into the gap
and the program runs with the problem's tests by :func:`bench.quality.run_tests` (a fresh
``python -I`` per problem, under a timeout); outcomes use its classes.

    .venv/bin/python -m bench.inline_quality [--subset 40] [--tasks line,block]

Writes ``bench/results/inline-quality/summary.json`` and one CSV per task.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import json
import os
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from codegen_lsp.core import config
from codegen_lsp.core.inline import InlineOptions, Mode, in_process, inline_context
from codegen_lsp.core.suggestion import suggest
from codegen_lsp.core.types import Position
from codegen_lsp.providers.factory import build_infill_chain

RESULTS = Path(__file__).parent / "results" / "inline-quality"
TASKS: tuple[Mode, ...] = ("line", "block")


@dataclass(frozen=True)
class Gap:
    """A solution with a part removed: the file up to the cursor, the rest, what was removed."""

    before: str
    after: str
    removed: str
    mode: Mode


def _code_lines(solution: str) -> list[int]:
    lines = solution.split("\n")
    return [i for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("#")]


def line_gap(prompt: str, solution: str) -> Gap:
    lines = solution.split("\n")
    candidates = _code_lines(solution)
    number = candidates[len(candidates) // 2]
    line = lines[number]
    indent = line[: len(line) - len(line.lstrip())]
    before = prompt + "\n".join(lines[:number]) + ("\n" if number else "") + indent
    after = "\n" + "\n".join(lines[number + 1 :])
    return Gap(before, after, line.strip(), "line")


def block_gap(prompt: str, solution: str) -> Gap | None:
    lines = solution.split("\n")

    def depth(text: str) -> int:
        return len(text) - len(text.lstrip())

    for number, line in enumerate(lines):
        if not line.rstrip().endswith(":") or line.lstrip().startswith("#"):
            continue
        body_end = number + 1
        while body_end < len(lines) and (not lines[body_end].strip() or depth(lines[body_end]) > depth(line)):
            body_end += 1
        body = [text for text in lines[number + 1 : body_end] if text.strip()]
        if len(body) < 2:
            continue
        indent = body[0][: depth(body[0])]
        before = prompt + "\n".join(lines[: number + 1]) + "\n" + indent
        after = "\n" + "\n".join(lines[body_end:])
        return Gap(before, after, "\n".join(lines[number + 1 : body_end]).strip("\n"), "block")
    body = [text for text in lines if text.strip()]
    if len(body) < 2:
        return None  # a one-line solution has no block to remove
    indent = body[0][: depth(body[0])]
    return Gap(prompt + indent, "\n", solution.strip("\n"), "block")


async def complete(infiller: Any, gap: Gap, options: InlineOptions) -> tuple[str, Mode]:
    """The suggestion for the gap; and the mode the server itself would have chosen there."""
    text = gap.before + gap.after
    line = gap.before.count("\n")
    column = len(gap.before) - (gap.before.rfind("\n") + 1)
    ctx = inline_context(text, Position(line, column), "python", "problem.py", options)
    chosen = ctx.mode
    suggestion = await suggest(infiller, dataclasses.replace(ctx, mode=gap.mode), options)
    return suggestion, chosen


@dataclass
class TaskRow:
    task_id: str
    outcome: str = ""
    seconds: float = 0.0
    server_mode: str = ""
    suggestion: str = ""
    removed: str = ""
    detail: str = ""


async def run_task(
    problem: Any, solution: str, mode: Mode, infiller: Any, options: InlineOptions, scratch: Path
) -> TaskRow | None:
    """One task; None when the solution has nothing to remove for it (a one-line solution has
    no block)."""
    from bench.quality import Row, run_tests

    gap = line_gap(problem.prompt, solution) if mode == "line" else block_gap(problem.prompt, solution)
    if gap is None:
        return None
    row = TaskRow(problem.task_id, removed=gap.removed)
    started = time.perf_counter()
    try:
        suggestion, row.server_mode = await complete(infiller, gap, options)
    except Exception as exc:  # a provider failure is that task's failure, not the run's
        row.outcome, row.detail = "error", f"{type(exc).__name__}: {exc}"[:200]
        return row
    row.seconds = time.perf_counter() - started
    row.suggestion = suggestion
    if not suggestion.strip():
        row.outcome = "no_code"
        return row
    result = Row(problem.task_id)
    run_tests(gap.before + suggestion + gap.after, problem, result, scratch)
    row.outcome, row.detail = result.outcome, result.detail
    return row


def summarise(rows: list[TaskRow]) -> dict[str, Any]:
    outcomes = Counter(row.outcome for row in rows)
    seconds = sorted(row.seconds for row in rows if row.seconds)
    return {
        "tasks": len(rows),
        "pass_at_1": round(outcomes["passed"] / max(len(rows), 1), 3),
        "outcomes": dict(outcomes),
        "median_seconds": seconds[len(seconds) // 2] if seconds else None,
    }


async def run(
    subset: int | None, tasks: list[Mode], budgets: dict[str, int] | None = None
) -> tuple[dict[str, Any], dict[Mode, list[TaskRow]]]:
    """The summary, and every task's row, for the configured infiller (the embedded model by default)."""
    from bench.cases import load_problems

    settings = config.resolve(use_files=False, environ={})
    infiller = build_infill_chain(settings, settings.inline.provider)
    first = settings.providers.get(settings.inline.provider or settings.provider or "")
    options = InlineOptions.of(settings.inline, in_process=in_process(settings))
    wanted = budgets or {}  # --prefix-chars / --suffix-chars
    options = dataclasses.replace(
        options,
        temperature=0.0,
        prefix_chars=wanted.get("prefix_chars", options.prefix_chars),
        suffix_chars=wanted.get("suffix_chars", options.suffix_chars),
    )
    problems = load_problems(subset)
    summary: dict[str, Any] = {
        "provider": first.name if first else None,
        "model": infiller.model,
        "options": asdict(options),
        "load_before": os.getloadavg(),
    }
    rows: dict[Mode, list[TaskRow]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="inline-quality-") as folder:
            for mode in tasks:
                rows[mode] = []
                for number, problem in enumerate(problems, 1):
                    row = await run_task(problem, problem.solution, mode, infiller, options, Path(folder))
                    if row is None:
                        continue
                    rows[mode].append(row)
                    print(f"{mode} {number}/{len(problems)} {row.task_id}: {row.outcome}", flush=True)
                same = sum(1 for row in rows[mode] if row.server_mode == mode)
                summary[mode] = {**summarise(rows[mode]), "server_chose_this_mode": same}
    finally:
        await infiller.aclose()
    summary["load_after"] = os.getloadavg()
    return summary, rows


def write(out: Path, summary: dict[str, Any], rows: dict[Mode, list[TaskRow]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for mode, task_rows in rows.items():
        with (out / f"{mode}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=[field.name for field in dataclasses.fields(TaskRow)])
            writer.writeheader()
            writer.writerows(asdict(row) for row in task_rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    from bench.run import machine

    parser = argparse.ArgumentParser(
        prog="python -m bench.inline_quality", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--subset", type=int, default=None, help="this many problems, spread over the set")
    parser.add_argument("--tasks", default="line,block", help="line, block or both")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--prefix-chars", type=int, help="instead of the server's budget for this provider")
    parser.add_argument("--suffix-chars", type=int, help="instead of the server's budget for this provider")
    args = parser.parse_args(argv)
    tasks = [t for t in TASKS if t in args.tasks.split(",")]
    budgets = {
        name: value
        for name, value in (("prefix_chars", args.prefix_chars), ("suffix_chars", args.suffix_chars))
        if value is not None
    }
    summary, rows = asyncio.run(run(args.subset, tasks, budgets))
    summary["machine"] = machine()
    write(args.out, summary, rows)
    for mode in tasks:
        s = summary[mode]
        print(
            f"{mode}: pass@1 {s['pass_at_1']:.3f} of {s['tasks']} ({s['outcomes']}); median {s['median_seconds']:.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
