"""Trusting the workspace's ``.codegen-lsp.toml`` from the editor: the prompt and the command.

When the settings left out options of an untrusted project file (``Settings.untrusted``, see
:mod:`codegen_lsp.core.trust`), :func:`ask` tells the user once per file content: with a
``window/showMessageRequest`` offering "Trust" where the client declares ``window.showMessage``,
else a warning naming the command. Choosing "Trust" trusts exactly the content the user was told
about; a file changed since is not trusted by that answer. ``codegen.trustProjectConfig`` trusts
the workspace's project file as it is now (``{"revoke": true}``: forgets it), then resolves the
settings again, so they apply at once; its answer is ``{trusted, path, sha256, message}``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from codegen_lsp.errors import ConfigError

if TYPE_CHECKING:
    from codegen_lsp.core.trust import Untrusted
    from codegen_lsp.lsp.session import Session

TRUST = "Trust"
NOT_NOW = "Not now"
COMMAND_TITLE = "Codegen: Trust project configuration"


def _how_by_command(path: Path) -> str:
    return (
        f'run "{COMMAND_TITLE}" (command codegen.trustProjectConfig) or `codegen-lsp trust {path.parent}` '
        "in a terminal"
    )


async def ask(ls: Session) -> None:
    """Tell the user about the settings' untrusted project file, once per content."""
    untrusted = ls.settings.untrusted
    if untrusted is None or (seen := (str(untrusted.path), untrusted.digest)) in ls.trust_told:
        return
    ls.trust_told.add(seen)
    window = ls.client_capabilities.window
    if window is None or window.show_message is None:
        ls.warn(f"Codegen: {untrusted.message(_how_by_command(untrusted.path))}")
        return
    text = f"Codegen: {untrusted.message(f'choose {TRUST}')}"
    ls.log(text, lsp.MessageType.Warning)
    choice = await ls.ask(lsp.MessageType.Warning, text, (TRUST, NOT_NOW))
    if choice == TRUST:
        trust(ls, untrusted.path, expected=untrusted)


def trust(ls: Session, path: Path, *, expected: Untrusted | None = None) -> dict[str, Any]:
    """Trust ``path`` as it is now (or, with ``expected``, only if it still is what the user saw)."""
    from codegen_lsp.core import layers
    from codegen_lsp.core.trust import TrustStore, fingerprint

    try:
        content = layers.read_project_file(path)
        digest = fingerprint(content)
        if expected is not None and digest != expected.digest:
            message = (
                f"Codegen: {path} changed after you were asked, so it was not trusted. Review it "
                f"again, then {_how_by_command(path)}."
            )
            ls.warn(message)
            return {"trusted": False, "path": str(path), "sha256": digest, "message": message}
        TrustStore.of(os.environ).trust(path, digest)
    except ConfigError as exc:
        message = f"Codegen: could not trust {path}: {exc}"
        ls.error(message)
        return {"trusted": False, "path": str(path), "message": message}
    ls.trust_told.add((str(path), digest))
    ls.resolve_settings(announce=True)
    message = f"Codegen: trusted {path}; all its settings apply now, until it changes."
    ls.show(lsp.MessageType.Info, message)
    ls.log(message)
    return {"trusted": True, "path": str(path), "sha256": digest, "message": message}


def revoke(ls: Session, path: Path) -> dict[str, Any]:
    from codegen_lsp.core.trust import TrustStore

    try:
        was = TrustStore.of(os.environ).revoke(path)
    except ConfigError as exc:
        message = f"Codegen: could not revoke trust in {path}: {exc}"
        ls.error(message)
        return {"trusted": None, "path": str(path), "message": message}
    ls.resolve_settings(announce=True)
    if ls.settings.untrusted is not None:
        # the user just asked for this: no prompt about it
        ls.trust_told.add((str(path), ls.settings.untrusted.digest))
    done = (
        "no longer trusted; its settings that route code and keys are ignored" if was else "was not trusted"
    )
    message = f"Codegen: {path} {done}."
    ls.show(lsp.MessageType.Info, message)
    ls.log(message)
    return {"trusted": False, "path": str(path), "message": message}


def command(ls: Session, argument: Any = None) -> dict[str, Any]:
    """``codegen.trustProjectConfig``: trust (or with ``{"revoke": true}`` forget) the workspace's file."""
    from codegen_lsp.core import layers

    path = layers.find_project_file(ls.root or Path.cwd(), ls.root)
    if path is None:
        message = f"Codegen: there is no {layers.PROJECT_FILE} in this workspace."
        ls.show(lsp.MessageType.Info, message)
        return {"trusted": None, "path": None, "message": message}
    if isinstance(argument, Mapping) and argument.get("revoke"):
        return revoke(ls, path)
    return trust(ls, path)
