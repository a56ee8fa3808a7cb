"""Searching everything a program emitted for secrets, in every spelling they could leak in.

``assert_no_secret(texts, secrets)`` takes named texts (``{"log": ..., "stderr": ...}``, as
:meth:`rpc.RawServer.emitted` and :class:`Emitted` give them) and fails, naming the source and
the surroundings, if any secret appears as it is, JSON-escaped, URL-encoded, or base64-encoded
(as in a Basic ``Authorization`` header) — or, for a long secret, any 12-character piece of it,
which catches a key that was cut or wrapped.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterable, Mapping


def spellings(secret: str) -> set[str]:
    forms = {secret, json.dumps(secret)[1:-1], urllib.parse.quote(secret, safe=""), repr(secret)[1:-1]}
    raw = secret.encode()
    for lead in range(3):
        # Inside a longer base64 value the secret starts at any byte offset; whatever the offset,
        # its bytes from the next 3-byte group boundary on encode to the same characters.
        whole = raw[lead:][: len(raw[lead:]) // 3 * 3]
        forms.add(base64.b64encode(whole).decode())
    if len(secret) >= 24:
        forms.update(secret[i : i + 12] for i in range(0, len(secret) - 11, 4))
    return {form for form in forms if len(form) >= 8}


def assert_no_secret(texts: Mapping[str, str] | Iterable[str], secrets: Iterable[str]) -> None:
    named = dict(texts) if isinstance(texts, Mapping) else {f"text {i}": t for i, t in enumerate(texts)}
    for secret in secrets:
        for form in spellings(secret):
            for source, text in named.items():
                at = text.find(form)
                if at >= 0:
                    context = text[max(0, at - 60) : at + len(form) + 60]
                    raise AssertionError(f"a secret leaked into {source} (as {form!r}): …{context}…")


class Emitted:
    """What one test's programs emitted: servers (:class:`rpc.RawServer`) and CLI runs."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def add(self, source: str, text: str) -> None:
        name, number = source, 1
        while name in self.texts:
            number += 1
            name = f"{source} #{number}"
        self.texts[name] = text

    def add_run(self, name: str, stdout: str, stderr: str) -> None:
        self.add(f"{name} stdout", stdout)
        self.add(f"{name} stderr", stderr)
