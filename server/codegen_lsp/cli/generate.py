"""``codegen-lsp generate``: the core the language server drives, with the answer printed or written.

It drives exactly what the server drives (config → pipeline → provider → cleanup → edit), so what
it prints is what an editor would receive. The file is only written with ``--write``, atomically,
and only if it did not change while the model was answering. Generated code is printed as it came.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from codegen_lsp import redaction
from codegen_lsp.cli.common import EXIT_OK, no_provider_message, say, settings_for
from codegen_lsp.core.actions import Action
from codegen_lsp.errors import ActionError, ProviderError

if TYPE_CHECKING:
    from codegen_lsp.core.pipeline import Result


class _Progress:
    """Streams tokens to stderr; on a terminal, a spinner while waiting and a summary line."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, stream: TextIO, *, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.first: float | None = None
        self.chunks = 0
        self._spinner: asyncio.Task[None] | None = None

    async def _spin(self, label: str) -> None:
        frame = 0
        while self.first is None:
            elapsed = time.monotonic() - self.started
            self.stream.write(f"\r{self.FRAMES[frame % len(self.FRAMES)]} {label} {elapsed:4.1f}s")
            self.stream.flush()
            frame += 1
            await asyncio.sleep(0.1)

    def start(self, label: str) -> None:
        label = redaction.redact(label)
        if self.tty and not self.quiet:
            self._spinner = asyncio.get_running_loop().create_task(self._spin(label))
        elif not self.quiet:
            self.stream.write(f"{label}\n")

    def on_text(self, text: str) -> None:
        if self.first is None:
            self.first = time.monotonic() - self.started
            if self.tty and not self.quiet:
                self.stream.write("\r\033[K")
        self.chunks += 1
        if not self.quiet:
            self.stream.write(text)
            self.stream.flush()

    def notice(self, message: str) -> None:
        """A wait the user should know about (retry after a 429, fallback): shown even with
        --quiet, since the command seems to hang otherwise."""
        if self.tty and self.first is None:
            self.stream.write("\r\033[K")
        self.stream.write(f"codegen: {message}\n")
        self.stream.flush()

    def stop(self, result: Result | None) -> None:
        if self._spinner is not None:
            self._spinner.cancel()
        if self.quiet:
            return
        total = time.monotonic() - self.started
        first = f", first output after {self.first:.2f}s" if self.first is not None else ""
        mark = "✓" if result is not None else "✗"
        self.stream.write(f"\n{mark} {self.chunks} chunks in {total:.2f}s{first}\n")
        self.stream.flush()


def _read_source(path: Path) -> str:
    from codegen_lsp import files

    return files.read_text(path)


async def generate(args: argparse.Namespace) -> int:
    from codegen_lsp.core import pipeline, text
    from codegen_lsp.core.languages import language_from_path
    from codegen_lsp.core.types import ApplyMode, EditRequest, Position, Range
    from codegen_lsp.providers.factory import build_chain

    path: Path = args.file
    source = _read_source(path)
    if args.output == "write":
        from codegen_lsp import files

        files.check_replaceable(path)  # before the model is asked: a refusal costs no request
    lines = text.split_lines(source)
    line_count = len(lines)
    first = args.line - 1
    last = (args.end_line or args.line) - 1
    if not (0 <= first < line_count) or not (first <= last < line_count):
        raise ActionError(
            f"{path}: lines {args.line}..{args.end_line or args.line} are outside the file "
            f"(it has {line_count} lines; lines are counted from 1)"
        )
    language = args.language or language_from_path(path)
    has_selection = args.end_line is not None
    action = args.action or pipeline.default_action(source, first, language, has_selection)
    if args.end_line is not None or action != Action.GENERATE_FROM_COMMENT:
        target = Range(Position(first, 0), Position(last, len(lines[last])))
    else:
        target = Range(Position(first, 0), Position(first, 0))
    request = EditRequest(
        text=source,
        range=target,
        action=action,
        language_id=language,
        path=str(path),
        instruction=args.instruction,
    )
    settings = settings_for(args, args.root)
    if settings.provider is None:
        raise ProviderError(no_provider_message())
    plan = pipeline.prepare(request, settings)
    chosen = settings.providers[settings.provider]
    progress = _Progress(sys.stderr, quiet=args.quiet)
    provider = build_chain(settings, action, on_notice=lambda notice: progress.notice(notice.summary))
    progress.start(f"codegen: {action} with {chosen.name} ({chosen.model or 'default model'})…")
    result: Result | None = None
    try:
        async with contextlib.aclosing(pipeline.run(plan, provider)) as events:
            async for event in events:
                if isinstance(event, pipeline.Chunk):
                    progress.on_text(event.text)
                elif isinstance(event, pipeline.Result):
                    result = event
    finally:
        progress.stop(result)
        await provider.aclose()
    assert result is not None  # run() ends with its result or raises
    for warning in result.warnings:
        say(f"warning: {warning}")
    return _emit(args, path, source, result, ApplyMode, text)


def _emit(args: argparse.Namespace, path: Path, source: str, result: Result, modes: Any, text: Any) -> int:
    from codegen_lsp import files

    output = args.output or "diff"
    if result.mode == modes.SHOW:
        say(result.text, sys.stdout)  # prose for the user, not code
        return EXIT_OK
    if result.mode == modes.NEW_FILE:
        target = Path(result.new_file_path or f"{path.stem}_generated{path.suffix}")
        if output == "print":
            print(result.text, end="" if result.text.endswith("\n") else "\n")
        elif output == "write":
            files.create_text(target, result.text)
            say(f"wrote {target}")
        else:
            sys.stdout.writelines(
                difflib.unified_diff([], result.text.splitlines(keepends=True), "/dev/null", str(target))
            )
        return EXIT_OK
    if result.edit is None:
        reason = "; ".join(result.warnings) or "the model's answer contained no code"
        raise ActionError(f"nothing was changed: {reason}")
    new_source = text.apply_edit(source, result.edit)
    if output == "print":
        print(result.text, end="" if result.text.endswith(("\n", "\r")) else "\n")
    elif output == "write":
        if _read_source(path) != source:
            raise ActionError(f"{path} changed while the model was answering; not writing (nothing was lost)")
        written = files.replace_text(path, new_source)
        say(f"wrote {path}" + (f" (the link's target {written})" if path.is_symlink() else ""))
    else:
        sys.stdout.writelines(
            difflib.unified_diff(
                source.splitlines(keepends=True),
                new_source.splitlines(keepends=True),
                f"a/{path}",
                f"b/{path}",
            )
        )
    return EXIT_OK
