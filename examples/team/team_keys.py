"""Per-developer API keys for a LiteLLM proxy that runs without its database.

LiteLLM's own virtual keys (``POST /key/generate``) are rows in its Postgres database, created
through Prisma. A small team, or a test on one machine, may not want that database; LiteLLM's
documented ``custom_auth`` hook covers it: this module accepts the keys whose SHA-256 is listed in
the JSON file named by ``TEAM_KEYS_FILE`` and tells LiteLLM whose key it is (``user_id``, and
optional ``rpm_limit``/``tpm_limit``/``models``), so routing, rate limits and logs see a person.
The file holds hashes only: a key is shown once, when it is made, and re-read when the file
changes, so adding a developer needs no restart::

    TEAM_KEYS_FILE=team-keys.json python team_keys.py add alice [--rpm 120]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

_cache: tuple[float, dict[str, dict[str, Any]]] = (-1.0, {})


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _path() -> Path:
    return Path(os.environ.get("TEAM_KEYS_FILE", "team-keys.json"))


def _load() -> dict[str, dict[str, Any]]:
    global _cache  # one cache per proxy process; a changed file is read again
    path = _path()
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return {}
    if mtime != _cache[0]:
        _cache = (mtime, json.loads(path.read_text(encoding="utf-8")))
    return _cache[1]


async def user_api_key_auth(request: Any, api_key: str) -> Any:
    """LiteLLM's ``custom_auth`` hook: the key's owner, or 401 (the key is never echoed)."""
    from fastapi import HTTPException
    from litellm.proxy._types import UserAPIKeyAuth

    entry = _load().get(_digest(api_key)) if api_key else None
    if entry is None:
        raise HTTPException(status_code=401, detail="unknown API key")
    return UserAPIKeyAuth(api_key=api_key, **entry)


def add(user_id: str, rpm: int | None = None, tpm: int | None = None) -> str:
    """Make a key for ``user_id``, store its hash, return the key (shown once)."""
    key = "sk-" + secrets.token_urlsafe(24)
    path = _path()
    keys = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    entry: dict[str, Any] = {"user_id": user_id}
    if rpm is not None:
        entry["rpm_limit"] = rpm
    if tpm is not None:
        entry["tpm_limit"] = tpm
    keys[_digest(key)] = entry
    path.write_text(json.dumps(keys, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("add", help="make a key for a developer and print it")
    new.add_argument("user_id")
    new.add_argument("--rpm", type=int, help="requests per minute for this key")
    new.add_argument("--tpm", type=int, help="tokens per minute for this key")
    args = parser.parse_args(argv)
    print(add(args.user_id, args.rpm, args.tpm))
    print(f"(stored its SHA-256 in {_path()}; the key itself is not kept)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
