"""Reading and writing the user's files safely, for the command line (no LSP here).

``codegen-lsp generate`` reads one source file and, with ``--write``, replaces it or creates a
new one. A file is outside input like any other: it may be a FIFO that would block a plain
``open`` forever, a device whose ``open`` has side effects, a directory, a 2 GB log, a symlink,
read-only, or sit in a folder the user cannot write; a co-user may have planted a symlink where
a predictable temp file would go. So :func:`read_text` stats before it opens, opens only regular
files (non-blocking, so a file swapped for a FIFO in between cannot hang it) and caps the size;
:func:`replace_text` writes a unique ``mkstemp`` file in the real target's folder, fsyncs it,
gives it the original's mode (and owner where allowed) and renames it over the real target of a
symlink, so the link stays a link and the original is either untouched or fully replaced;
:func:`create_text` creates a new file without ever following or replacing anything that is
already there. Every failure is a :class:`FileError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from codegen_lsp.errors import ActionError

#: the largest source file ``generate`` reads; far above any file a prompt can use
MAX_READ_BYTES = 16 * 2**20

# POSIX flags; Windows has neither (and no FIFOs to block on)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class FileError(ActionError):
    """A file cannot be read or written safely; the message names the file and the reason."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links"
    return exc.strerror or type(exc).__name__


def _size(count: int) -> str:
    return f"{count / 2**20:.0f} MiB" if count >= 2**20 else f"{count} bytes"


def _regular_stat(path: Path, verb: str) -> os.stat_result:
    """``os.stat`` (symlinks followed) of a regular file, or a FileError saying what it is."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise FileError(f"{path}: cannot {verb} it: {_reason(exc)}") from None
    if not stat.S_ISREG(info.st_mode):
        raise FileError(f"{path}: {_kind(info.st_mode)}, not a regular file; cannot {verb} it")
    return info


def read_text(path: Path, *, limit: int = MAX_READ_BYTES) -> str:
    """The UTF-8 text of the regular file at ``path`` (symlinks followed), line endings kept."""
    first = _regular_stat(path, "read")
    if first.st_size > limit:
        raise FileError(f"{path}: {_size(first.st_size)}, more than the {_size(limit)} generate reads")
    try:
        # O_NONBLOCK: should the path have become a FIFO since the stat, open must not wait for
        # a writer. It changes nothing for a regular file.
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise FileError(f"{path}: cannot read it: {_reason(exc)}") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (first.st_dev, first.st_ino):
            raise FileError(f"{path}: the file was replaced while it was opened; not reading it")
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew since the stat
                raise FileError(f"{path}: more than the {_size(limit)} generate reads")
    except OSError as exc:
        raise FileError(f"{path}: cannot read it: {_reason(exc)}") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise FileError(f"{path}: not UTF-8 text") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _set_mode(fd: int, path: Path, mode: int) -> None:
    # By descriptor: a path could be swapped for a symlink by anyone who may write the folder.
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows before Python 3.13
        os.chmod(path, mode)


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable. Best effort: some file systems refuse fsync on a folder.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | _CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _temp_beside(path: Path, real: Path) -> tuple[int, Path]:
    """A new, exclusively created, private temp file in ``real``'s folder (for ``path``)."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".codegen-tmp", dir=real.parent)
    except OSError as exc:
        raise FileError(f"{path}: cannot write in its folder {real.parent}: {_reason(exc)}") from None
    return fd, Path(name)


def _replaceable(path: Path) -> tuple[os.stat_result, Path]:
    info = _regular_stat(path, "write")
    real = Path(os.path.realpath(path))
    if not info.st_mode & 0o222 or not os.access(real, os.W_OK):
        raise FileError(f"{path}: the file is read-only; not writing it (use --diff or --print)")
    if info.st_nlink > 1:
        raise FileError(
            f"{path}: the file has {info.st_nlink} hard links, which replacing it would split; "
            "not writing it (use --diff or --print)"
        )
    return info, real


def check_replaceable(path: Path) -> None:
    """Refuse early what :func:`replace_text` would refuse.

    The command line calls this before asking the model, so a read-only file or an unwritable
    folder costs no request. The folder is tested by creating (and removing) a temp file in it,
    the only test that holds for root, ACLs and read-only mounts alike.
    """
    _, real = _replaceable(path)
    fd, temp = _temp_beside(path, real)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(temp)


def replace_text(path: Path, text: str) -> Path:
    """Replace the content of the existing regular file at ``path`` with ``text``, atomically.

    A symlink is followed: its real target is replaced and the link itself stays. The target's
    permission bits (and owner and group, where the user may set them) carry over. Read-only
    files and files with several hard links (which a rename would split) are refused. Returns
    the path actually written.
    """
    info, real = _replaceable(path)
    fd, temp = _temp_beside(path, real)
    try:
        try:
            _write_all(fd, text.encode("utf-8"))
            _set_mode(fd, temp, stat.S_IMODE(info.st_mode))
            if hasattr(os, "fchown"):
                with contextlib.suppress(OSError):  # only root (or a group member) may
                    os.fchown(fd, info.st_uid, info.st_gid)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, real)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise FileError(f"{path}: cannot write it: {_reason(exc)}; the file is unchanged") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(real.parent)
    return real


def create_text(path: Path, text: str) -> None:
    """Create the new file ``path`` holding ``text``; anything already there (a file, a dangling
    symlink) is left alone and refused. Missing parent folders are created."""
    if os.path.lexists(path):
        raise FileError(f"{path}: already exists; not overwriting it (use --diff or --print)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileError(f"{path.parent}: cannot create the folder: {_reason(exc)}") from None
    fd, temp = _temp_beside(path, path)
    try:
        try:
            _write_all(fd, text.encode("utf-8"))
            _set_mode(fd, temp, 0o666 & ~_umask())
            os.fsync(fd)
        finally:
            os.close(fd)
        # link() fails with EEXIST on anything at the path, a dangling symlink included, so a file
        # planted since the check above is never followed or replaced.
        try:
            os.link(temp, path)
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            _create_exclusive(path, text.encode("utf-8"))
    except FileExistsError:
        raise FileError(f"{path}: already exists; not overwriting it (use --diff or --print)") from None
    except OSError as exc:
        raise FileError(f"{path}: cannot create it: {_reason(exc)}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
    _fsync_folder(path.parent)


#: link() errors of file systems without hard links (FAT, some network and FUSE mounts)
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK}


def _create_exclusive(path: Path, data: bytes) -> None:
    """Where link() is not available: create ``path`` exclusively and write it in place (not
    atomic, but it never follows or replaces anything, and a failed write removes the file)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | _CLOEXEC
    fd = os.open(path, flags, 0o666)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def _umask() -> int:
    # There is no way to read the umask without setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
