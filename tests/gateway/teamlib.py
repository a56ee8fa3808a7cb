"""The running team setup as the gateway tests see it (the ``team`` fixture in ``conftest.py``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.gateway import Backend, Gateway


@dataclass
class Team:
    gateway: Gateway
    backends: list[Backend]
    #: alice's per-developer key (examples/team/team_keys.py)
    key: str
    workdir: Path
    record: Path

    def records(self) -> list[dict[str, Any]]:
        """What the gateway saw of each request it accepted (tests/gateway/gateway_recorder.py)."""
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text(encoding="utf-8").splitlines()]

    def counts(self) -> list[int]:
        return [backend.requests() for backend in self.backends]

    def serving(self, before: Sequence[int]) -> list[Backend]:
        """The backends that started answering a request since ``before`` (from :meth:`counts`)."""
        return [b for b, was in zip(self.backends, before, strict=True) if b.requests() > was]

    def logs(self) -> dict[str, str]:
        """The gateway's and the backends' own logs: a third party must not log the key either."""
        files = [self.gateway.log, *(backend.log for backend in self.backends)]
        return {str(f.name): f.read_text(errors="replace") for f in files if f.exists()}
