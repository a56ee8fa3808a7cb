"""``codegen-lsp check``, ``providers`` and ``trust``: what is configured here, and trusting it.

``trust`` records that the user trusts a project's ``.codegen-lsp.toml`` as it is now (see
:mod:`codegen_lsp.core.trust`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from codegen_lsp.cli.common import (
    EXIT_OK,
    EXIT_PROVIDER,
    no_provider_message,
    say,
    settings_for,
    warn_untrusted,
)
from codegen_lsp.errors import ConfigError


async def check(args: argparse.Namespace) -> int:
    from codegen_lsp.core import config
    from codegen_lsp.providers.probe import probe

    settings = settings_for(args, None)
    for what, value, origin in config.describe(settings):
        say(f"{what:<11} {value}    [{origin}]", sys.stdout)
    if settings.provider is None:
        say(no_provider_message())
        return EXIT_PROVIDER
    result = await probe(settings)
    say(f"request     ok: {result.summary()}", sys.stdout)
    return EXIT_OK


def trust(args: argparse.Namespace) -> int:
    from codegen_lsp.core import layers
    from codegen_lsp.core.trust import TrustStore, fingerprint

    start: Path = args.path or Path.cwd()
    if start.name == layers.PROJECT_FILE and start.is_file():
        path: Path | None = start
    else:
        path = layers.find_project_file(start)
    if path is None:
        raise ConfigError(
            f"no {layers.PROJECT_FILE} in {start} or above it (up to the repository root) to trust"
        )
    store = TrustStore.of(os.environ)
    if args.revoke:
        was = store.revoke(path)
        say(f"{path}: trust revoked" if was else f"{path} was not trusted", sys.stdout)
        return EXIT_OK
    content = layers.read_project_file(path)
    digest = fingerprint(content)
    # Read as an untrusted file first: a broken file is refused, and the user sees what trusting it
    # lets it decide.
    layer = layers.project_layer(path, os.environ, content)
    store.trust(path, digest)
    say(f"trusted {path} (sha256 {digest[:16]}…) as it is now; a change needs trust again", sys.stdout)
    if layer.untrusted is not None:
        say(f"it now decides: {', '.join(layer.untrusted.ignored)}", sys.stdout)
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
    warn_untrusted(settings)
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


def providers() -> int:
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
    say(f"* in effect here: {why}" if in_effect else f"(none in effect here: {why})", sys.stdout)
    return EXIT_OK
