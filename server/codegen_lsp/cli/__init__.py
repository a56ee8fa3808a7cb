"""The ``codegen-lsp`` command line: ``generate``, ``check``, ``providers``, ``trust`` and ``serve``.

This module parses the arguments and runs one command: :mod:`~codegen_lsp.cli.generate`,
:mod:`~codegen_lsp.cli.info` (``check``, ``providers``, ``trust``) or the language server. Exit
codes (:mod:`~codegen_lsp.cli.common`): 0 success, 2 usage or configuration error, 3 provider
error, 130 interrupted. Every message goes out through :func:`~codegen_lsp.cli.common.say`, which
redacts it; log records are redacted by the handler :func:`_configure_logging` installs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from codegen_lsp import __version__, redaction
from codegen_lsp.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_PROVIDER,
    EXIT_USAGE,
    add_log_flag,
    add_provider_flags,
    say,
)
from codegen_lsp.cli.generate import generate
from codegen_lsp.cli.info import check, providers, trust
from codegen_lsp.core.actions import Action
from codegen_lsp.errors import ActionError, CodegenError, ConfigError, ProviderError


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
    add_provider_flags(gen)
    add_log_flag(gen)

    check = sub.add_parser("check", help="show the provider in effect and try a tiny request")
    add_provider_flags(check)
    add_log_flag(check)

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
    add_log_flag(trust)

    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--log-file", help="write the server log here (stderr by default)")
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return parser


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
    try:
        if args.command == "providers":
            return providers()
        if args.command == "trust":
            return trust(args)
        runner = generate if args.command == "generate" else check
        # realpath, not Path.resolve: a symlink loop must reach read_text's one-line message
        args.root = Path(os.path.realpath(args.file)).parent if args.command == "generate" else None
        return asyncio.run(runner(args))
    except KeyboardInterrupt:
        say("\ninterrupted; nothing was changed")
        return EXIT_INTERRUPTED
    except (ConfigError, ActionError) as exc:
        say(f"codegen-lsp: {exc}")
        return EXIT_USAGE
    except ProviderError as exc:
        say(f"codegen-lsp: {exc}")
        return EXIT_PROVIDER
    except CodegenError as exc:
        say(f"codegen-lsp: {exc}")
        return EXIT_USAGE
    except BrokenPipeError:
        # `codegen-lsp providers | head`: the reader has all it wanted. Python would complain
        # again when it flushes stdout at exit, so stdout goes nowhere from here on.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # Files have their own messages (codegen_lsp.files); this is for the rest, e.g. a closed
        # stdout: one line, never a traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        say(f"codegen-lsp: {where}{exc.strerror or exc}")
        return EXIT_USAGE
