"""Hostile files under ``codegen-lsp generate --write``: the real command line, a loopback model.

Every refusal is one line on stderr (``codegen-lsp: <file>: <why>``) with exit status 2, no
traceback, the file untouched and no temp file left behind; what can be refused before the model
is asked costs no request. Writes land in the real target of a symlink with its mode kept, and
never through a symlink planted where the old fixed temp name was.
"""

from __future__ import annotations

import ctypes
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from leaks import Emitted
from rpc import clean_env, emitted_fixture  # noqa: F401 (fixtures)

from loopback import LoopbackServer, chat_reply

pytestmark = pytest.mark.e2e  # the server or the CLI as a subprocess

COMMENT = "# add a and b\n"
ANSWER = ("```python\n", "def add(a, b):\n    return a + b\n", "```\n")
WRITTEN = COMMENT + "def add(a, b):\n    return a + b\n"


def _unprivileged() -> None:  # pragma: no cover - runs in the child
    # root ignores permission bits; dropping these capabilities makes it honour them, as a
    # normal user would (PR_CAPBSET_DROP: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER)
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_cli(
    *args: str, cwd: Path, loopback: LoopbackServer, emitted: Emitted, unprivileged: bool = False
) -> subprocess.CompletedProcess[str]:
    env = clean_env(cwd, CODEGEN_LSP_BASE_URL=loopback.base_url, CODEGEN_LSP_MODEL="loopback-model")
    done = subprocess.run(
        [sys.executable, "-m", "codegen_lsp", "generate", *args, "--quiet"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=30, check=False,
        preexec_fn=_unprivileged if unprivileged and os.geteuid() == 0 else None,
    )  # fmt: skip
    emitted.add_run("cli", done.stdout, done.stderr)
    return done


def assert_refused(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("codegen-lsp: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def leftovers(*folders: Path) -> list[str]:
    return [p.name for folder in folders for p in folder.iterdir() if "codegen-tmp" in p.name]


# refused on reading: no request is made


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "a.py")
    return tmp / "a.py"


def _directory(tmp: Path) -> Path:
    (tmp / "a.py").mkdir()
    return tmp / "a.py"


def _huge(tmp: Path) -> Path:
    with (tmp / "a.py").open("wb") as handle:
        handle.write(COMMENT.encode())
        handle.truncate(64 * 2**20)  # sparse
    return tmp / "a.py"


def _device(tmp: Path) -> Path:
    (tmp / "a.py").symlink_to("/dev/zero")  # reading it would never end
    return tmp / "a.py"


def _loop(tmp: Path) -> Path:
    (tmp / "a.py").symlink_to(tmp / "b.py")
    (tmp / "b.py").symlink_to(tmp / "a.py")
    return tmp / "a.py"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("make", "why"),
    [
        pytest.param(_fifo, "a FIFO (named pipe), not a regular file", id="fifo"),
        pytest.param(_directory, "a directory, not a regular file", id="directory"),
        pytest.param(_device, "a device, not a regular file", id="device-behind-a-symlink"),
        pytest.param(_huge, "64 MiB, more than the 16 MiB generate reads", id="huge-file"),
        pytest.param(_loop, "too many levels of symbolic links", id="symlink-loop"),
    ],
)
def test_what_cannot_be_read_is_refused_at_once(
    tmp_path: Path, loopback: LoopbackServer, emitted: Emitted, make: Callable[[Path], Path], why: str
) -> None:
    path = make(tmp_path)
    done = run_cli(str(path), "--line", "1", "--write", cwd=tmp_path, loopback=loopback, emitted=emitted)
    assert_refused(done, str(path), why)
    assert loopback.requests == []


# refused before writing: checked before the model is asked


@pytest.mark.parametrize(
    ("prepare", "why", "unprivileged"),
    [
        pytest.param(lambda p: p.chmod(0o444), "the file is read-only", False, id="read-only-file"),
        pytest.param(lambda p: p.parent.chmod(0o555), "cannot write in its folder", True, id="unwritable-folder"),
        pytest.param(lambda p: os.link(p, p.with_name("b.py")), "has 2 hard links", False, id="hard-linked-file"),
    ],
)  # fmt: skip
def test_what_cannot_be_written_is_refused_before_the_model_is_asked(
    tmp_path: Path, loopback: LoopbackServer, emitted: Emitted,
    prepare: Callable[[Path], None], why: str, unprivileged: bool,
) -> None:  # fmt: skip
    folder = tmp_path / "project"
    folder.mkdir()
    source = folder / "a.py"
    source.write_text(COMMENT)
    prepare(source)
    try:
        done = run_cli(str(source), "--line", "1", "--write", cwd=tmp_path, loopback=loopback,
                       emitted=emitted, unprivileged=unprivileged)  # fmt: skip
    finally:
        folder.chmod(0o755)
    assert_refused(done, str(source), why)
    assert source.read_text() == COMMENT
    assert loopback.requests == []
    assert leftovers(folder) == []


# written correctly


def test_a_symlinked_file_is_written_through_the_link_and_keeps_its_mode(
    tmp_path: Path, loopback: LoopbackServer, emitted: Emitted
) -> None:
    real = tmp_path / "lib" / "tool.py"
    real.parent.mkdir()
    real.write_text(COMMENT)
    real.chmod(0o755)
    link = tmp_path / "tool.py"
    link.symlink_to(real)
    loopback.script(chat_reply(*ANSWER))

    done = run_cli(str(link), "--line", "1", "--write", cwd=tmp_path, loopback=loopback, emitted=emitted)

    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == WRITTEN
    assert stat.S_IMODE(real.stat().st_mode) == 0o755
    assert leftovers(tmp_path, real.parent) == []
    assert f"the link's target {real}" in done.stderr


def test_a_planted_temp_symlink_is_never_followed(
    tmp_path: Path, loopback: LoopbackServer, emitted: Emitted
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    source = tmp_path / "a.py"
    source.write_text(COMMENT)
    planted = tmp_path / ".a.py.codegen-tmp"  # the fixed name earlier versions wrote through
    planted.symlink_to(victim)
    loopback.script(chat_reply(*ANSWER))

    done = run_cli(str(source), "--line", "1", "--write", cwd=tmp_path, loopback=loopback, emitted=emitted)

    assert done.returncode == 0, done.stderr
    assert source.read_text() == WRITTEN and not source.is_symlink()
    assert victim.read_text() == "precious\n"
    assert planted.is_symlink()


def test_a_new_file_never_lands_on_a_planted_symlink(
    tmp_path: Path, loopback: LoopbackServer, emitted: Emitted
) -> None:
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "tests").mkdir()
    elsewhere = tmp_path / "elsewhere.py"
    (tmp_path / "tests" / "test_calc.py").symlink_to(elsewhere)  # dangling: a plain open would create it
    loopback.script(
        chat_reply("```python\nfrom calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n```\n")
    )

    done = run_cli(str(source), "--line", "1", "--end-line", "2", "--action", "tests", "--write",
                   cwd=tmp_path, loopback=loopback, emitted=emitted)  # fmt: skip

    assert_refused(done, "tests/test_calc.py", "already exists")
    assert not elsewhere.exists()
    assert leftovers(tmp_path, tmp_path / "tests") == []
