"""Hostile upstreams through ``codegen-lsp generate --write``: a clear message, the file untouched.

The console script runs as a subprocess against the scripted loopback server, with the limits of
:mod:`hostile_streams` in the user's configuration file. Every endless or oversized answer ends
the command with exit code 3, one clear line on stderr (no traceback) and the file byte for byte
as it was; a 429 with Retry-After is announced on stderr before the wait, then the answer lands.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import hostile_streams as hs
import pytest

from loopback import LoopbackServer

pytestmark = pytest.mark.e2e

SOURCE = b"import math\n\n# Return the sum of a and b.\n\nprint(math.pi)\n"
EXIT_PROVIDER = 3


def run_generate(tmp_path: Path, base_url: str) -> tuple[subprocess.CompletedProcess[str], Path, float]:
    config = tmp_path / "xdg" / "codegen-lsp" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(hs.toml_limits(), encoding="utf-8")
    source = tmp_path / "calc.py"
    source.write_bytes(SOURCE)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CODEGEN_LSP_") and "PROXY" not in k.upper()
    }
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        HOME=str(tmp_path),
        CODEGEN_LSP_BASE_URL=base_url,
        CODEGEN_LSP_MODEL="loopback-model",
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "codegen_lsp", "generate", str(source), "--line", "3", "--write"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, source, time.monotonic() - started


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in hs.CASES])
def test_generate_ends_clearly_and_leaves_the_file(
    tmp_path: Path, loopback: LoopbackServer, case: hs.Case
) -> None:
    reply = case.reply()
    loopback.script(reply)
    done, source, took = run_generate(tmp_path, loopback.base_url)
    assert done.returncode == EXIT_PROVIDER, done.stderr
    assert source.read_bytes() == SOURCE
    assert case.says in done.stderr
    assert "Traceback" not in done.stderr
    assert took < hs.TOTAL + 15  # the deadline, plus the interpreter's start on a busy machine
    assert not any(p.name.endswith(".codegen-tmp") for p in tmp_path.iterdir())
    if case.refused_early:
        assert isinstance(reply.stream, hs.Endless)
        assert reply.stream.bytes_taken() < hs.REFUSED_WITHIN


def test_a_429_wait_is_shown_then_the_answer_lands(tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.script(hs.rate_limited(1), hs.answer("    return a + b\n"))
    done, source, took = run_generate(tmp_path, loopback.base_url)
    assert done.returncode == 0, done.stderr
    assert re.search(r"codegen: rate-limited by \S+, retrying in 1\.0 s \(attempt 2\)", done.stderr), (
        done.stderr
    )
    assert took >= 1.0
    assert b"return a + b" in source.read_bytes()
