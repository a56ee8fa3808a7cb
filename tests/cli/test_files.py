"""``codegen_lsp.files``: what ``generate`` reads and writes, with every kind of file it may meet.

In process and fast; ``tests/adversarial/test_cli_files.py`` runs the same hostile files through
the real command line.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from codegen_lsp import files
from codegen_lsp.files import FileError, create_text, read_text, replace_text


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".codegen-tmp"))


# reading


def _fifo(tmp: Path) -> Path:
    path = tmp / "pipe.py"
    os.mkfifo(path)
    return path


def _loop(tmp: Path) -> Path:
    (tmp / "a.py").symlink_to(tmp / "b.py")
    (tmp / "b.py").symlink_to(tmp / "a.py")
    return tmp / "a.py"


def _dangling(tmp: Path) -> Path:
    (tmp / "gone.py").symlink_to(tmp / "nowhere.py")
    return tmp / "gone.py"


def _huge(tmp: Path) -> Path:
    path = tmp / "huge.py"
    with path.open("wb") as handle:
        handle.truncate(files.MAX_READ_BYTES + 1)  # sparse: costs no disk
    return path


def _latin1(tmp: Path) -> Path:
    path = tmp / "latin.py"
    path.write_bytes(b"# caf\xe9\n")
    return path


@pytest.mark.timeout(10)  # a FIFO opened for reading would block forever
@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(_fifo, "a FIFO (named pipe), not a regular file", id="fifo"),
        pytest.param(lambda tmp: tmp, "a directory, not a regular file", id="directory"),
        pytest.param(lambda tmp: Path("/dev/null"), "a device, not a regular file", id="device"),
        pytest.param(_loop, "too many levels of symbolic links", id="symlink-loop"),
        pytest.param(_dangling, "no such file or folder", id="dangling-symlink"),
        pytest.param(_huge, "16 MiB, more than the 16 MiB generate reads", id="huge"),
        pytest.param(_latin1, "not UTF-8 text", id="not-utf8"),
    ],
)
def test_read_refuses_what_is_not_a_readable_text_file(
    tmp_path: Path, make: Callable[[Path], Path], expected: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(FileError) as caught:
        read_text(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_read_keeps_line_endings_and_follows_symlinks(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_bytes(b"a = 1\r\nb = 2\rc = 3\n")
    (tmp_path / "link.py").symlink_to("real.py")
    assert read_text(tmp_path / "link.py") == "a = 1\r\nb = 2\rc = 3\n"


def test_read_caps_a_file_at_the_limit(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x" * 100)
    assert read_text(tmp_path / "a.py", limit=100) == "x" * 100
    with pytest.raises(FileError, match="more than the 99 bytes"):
        read_text(tmp_path / "a.py", limit=99)


# replacing


def test_replace_writes_the_link_target_and_keeps_the_link_and_mode(tmp_path: Path) -> None:
    real = tmp_path / "real" / "tool.py"
    real.parent.mkdir()
    real.write_text("old\n")
    real.chmod(0o751)
    link = tmp_path / "tool.py"
    link.symlink_to(real)

    written = replace_text(link, "new\n")

    assert written == real
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o751
    assert leftovers(real.parent) == [] and leftovers(tmp_path) == []


def test_replace_ignores_a_planted_temp_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    source = tmp_path / "a.py"
    source.write_text("old\n")
    planted = tmp_path / ".a.py.codegen-tmp"  # the name the CLI used to write through
    planted.symlink_to(victim)

    replace_text(source, "new\n")

    assert source.read_text() == "new\n" and not source.is_symlink()
    assert victim.read_text() == "precious\n"
    assert planted.is_symlink() and os.readlink(planted) == str(victim)


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        pytest.param(lambda p: p.chmod(0o444), "the file is read-only", id="read-only"),
        pytest.param(lambda p: os.link(p, p.with_name("other.py")), "has 2 hard links", id="hard-linked"),
    ],
)
def test_replace_refuses_and_leaves_the_file_alone(
    tmp_path: Path, prepare: Callable[[Path], object], expected: str
) -> None:
    source = tmp_path / "a.py"
    source.write_text("old\n")
    prepare(source)
    with pytest.raises(FileError, match=expected):
        replace_text(source, "new\n")
    assert source.read_text() == "old\n"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_a_failed_write_leaves_the_original_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    source = tmp_path / "a.py"
    source.write_text("old\n" * 1000)

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, failing, no_space)
    with pytest.raises(FileError) as caught:
        replace_text(source, "new\n" * 1000)
    monkeypatch.undo()
    assert str(caught.value) == f"{source}: cannot write it: No space left on device; the file is unchanged"
    assert source.read_text() == "old\n" * 1000
    assert leftovers(tmp_path) == []


# creating


def test_create_makes_folders_and_honours_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "tests" / "unit" / "test_a.py"
    create_text(target, "def test(): pass\n")
    assert target.read_text() == "def test(): pass\n"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert leftovers(target.parent) == []


@pytest.mark.parametrize(
    "prepare",
    [
        pytest.param(lambda t: t.write_text("mine\n"), id="existing-file"),
        pytest.param(lambda t: t.symlink_to(t.with_name("elsewhere.py")), id="dangling-symlink"),
    ],
)
def test_create_never_replaces_or_follows_anything(tmp_path: Path, prepare: Callable[[Path], object]) -> None:
    target = tmp_path / "test_a.py"
    prepare(target)
    with pytest.raises(FileError, match="already exists"):
        create_text(target, "generated\n")
    assert not (tmp_path / "elsewhere.py").exists()
    assert not target.exists() or target.read_text() == "mine\n"
    assert leftovers(tmp_path) == []


def test_create_without_hard_links_still_creates_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(*args: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(files.os, "link", unsupported)
    target = tmp_path / "test_a.py"
    create_text(target, "generated\n")
    assert target.read_text() == "generated\n"
    with pytest.raises(FileError, match="already exists"):
        create_text(target, "again\n")
    assert leftovers(tmp_path) == []
