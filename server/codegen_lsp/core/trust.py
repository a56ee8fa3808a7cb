"""Trust in project files: which ``.codegen-lsp.toml`` contents the user allowed, by hash.

A repository's ``.codegen-lsp.toml`` is outside input: cloning a repository must not let it send
the user's code or keys to a host it chose. Settings that route (declared ``routes=True`` in
:mod:`codegen_lsp.core.settings`, or beyond their ``sane_max``) apply from a project file only
once the user trusted that file's exact bytes, as ``direnv allow`` and ``mise trust`` do: the store
maps the file's real path to the SHA-256 of the content trusted, so a changed file needs trust
again, and trust can be revoked. The store is one small JSON file in the user's state folder
(``$XDG_STATE_HOME/codegen-lsp/trusted.json``, ``~/.local/state/codegen-lsp/trusted.json`` by
default), replaced atomically and readable by the user alone. An unreadable or damaged store
trusts nothing. This module keeps the store and describes what was held back
(:class:`Untrusted`); :mod:`codegen_lsp.core.config` decides what an untrusted file may set.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from codegen_lsp.errors import ConfigError

STORE_NAME = "trusted.json"
_VERSION = 1

State = Literal["trusted", "changed", "unknown"]


def state_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/codegen-lsp``, or ``~/.local/state/codegen-lsp``."""
    base = environ.get("XDG_STATE_HOME") or str(
        Path(environ.get("HOME") or "~").expanduser() / ".local" / "state"
    )
    return Path(base) / "codegen-lsp"


def fingerprint(content: bytes) -> str:
    """The SHA-256 of a file's bytes, in hex: what trust is granted to."""
    return hashlib.sha256(content).hexdigest()


def _key(file: Path) -> str:
    # The real path: a symlink or a ../ detour must not alias another file's trust.
    return os.path.realpath(file)


@dataclass(frozen=True, slots=True)
class TrustStore:
    """The user's trusted project files (see the module docstring)."""

    path: Path

    @classmethod
    def of(cls, environ: Mapping[str, str]) -> TrustStore:
        return cls(state_dir(environ) / STORE_NAME)

    def _entries(self) -> dict[str, Any]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        entries = raw.get("trusted") if isinstance(raw, dict) else None
        return dict(entries) if isinstance(entries, dict) else {}

    def state(self, file: Path, digest: str) -> State:
        """Whether ``file`` with content ``digest`` is trusted, was trusted with other content, or not."""
        entry = self._entries().get(_key(file))
        if not isinstance(entry, dict):
            return "unknown"
        return "trusted" if entry.get("sha256") == digest else "changed"

    def trust(self, file: Path, digest: str) -> None:
        entries = self._entries()
        entries[_key(file)] = {"sha256": digest, "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self._write(entries)

    def revoke(self, file: Path) -> bool:
        """Forget ``file``; False when it was not trusted."""
        entries = self._entries()
        if entries.pop(_key(file), None) is None:
            return False
        self._write(entries)
        return True

    def _write(self, entries: Mapping[str, Any]) -> None:
        text = json.dumps({"version": _VERSION, "trusted": entries}, indent=2, sort_keys=True) + "\n"
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkstemp: a fresh file only the user can read, never a name someone planted.
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".trusted-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise ConfigError(f"cannot record trust in {self.path}: {exc.strerror or exc}") from None


@dataclass(frozen=True, slots=True)
class Untrusted:
    """A project file some of whose settings were ignored because the user has not trusted it."""

    path: Path
    #: the SHA-256 of the content that was read (what trusting it now would allow)
    digest: str
    #: dotted keys left out, as written in the file (``provider``, ``context.token_budget``)
    ignored: tuple[str, ...]
    #: the user trusted this file before, with other content
    changed: bool = False

    def message(self, how: str) -> str:
        """What happened and why, ending with ``how`` to trust it (a command to run or click)."""
        state = "changed since you trusted it" if self.changed else "is not trusted"
        return (
            f"The project file {self.path} {state}, so settings in it that choose where your code and "
            f"API keys go were ignored: {', '.join(self.ignored)}. Review the file; if you trust it, {how}."
        )
