"""Assembling an embedded model's GGUF from its data-only packages, once, into the user's cache.

The parts (see :mod:`codegen_lsp.core.localmodels`) are a third party's uploads, so the assembled
file must prove itself: it is written to a temporary file in the cache folder while its SHA-256 is
computed, and renamed into place only when size and hash match the pinned values. A rename in the
same folder is atomic, so a reader never sees half a model, and two processes assembling at once
both end with the same complete file. Later loads find the file by name (the name carries the
hash) and check its size, which costs nothing next to loading it. Nothing here uses the network.

Failures are :class:`~codegen_lsp.errors.ProviderError`\\ s saying what to do: a missing part
(reinstall the extra), a hash mismatch (the packages are not the files we pinned: refused), no
space or no permission in the cache folder (free space, or point ``XDG_CACHE_HOME`` elsewhere).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from codegen_lsp.core.localmodels import EmbeddedModel, cache_dir
from codegen_lsp.errors import ProviderError, ProviderUnavailable

_CHUNK = 4 << 20
#: room to leave beside the model so assembling it does not fill the disk to the last byte
_SPARE_BYTES = 64 << 20


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def model_file(model: EmbeddedModel, provider: str, folder: Path | None = None) -> Path:
    """The verified GGUF of ``model`` in the cache, assembled from its parts if it is not there yet."""
    folder = cache_dir() if folder is None else folder
    target = folder / model.file_name
    with contextlib.suppress(OSError):
        if target.stat().st_size == model.size:
            return target
    parts = model.part_paths()
    missing = [package for package, path in zip(model.packages, parts, strict=True) if path is None]
    if missing:
        raise ProviderUnavailable(
            f"Provider '{provider}': the embedded model {model.name} is not installed "
            f"(missing: {', '.join(missing)}). Install it with: {model.install_hint}; "
            "or set model_path to a GGUF file.",
            provider=provider,
        )
    found = [path for path in parts if path is not None]
    total = sum(path.stat().st_size for path in found)
    if total != model.size:
        raise _mismatch(model, provider, f"its parts hold {total:,} bytes, not {model.size:,}")
    _assemble(model, found, folder, target, provider)
    return target


def _assemble(model: EmbeddedModel, parts: list[Path], folder: Path, target: Path, provider: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free
        if free < model.size + _SPARE_BYTES:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        handle, tmp_name = tempfile.mkstemp(prefix=f".{model.file_name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _cache_error(model, folder, exc, provider) from exc
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != model.sha256:
            raise _mismatch(model, provider, f"its SHA-256 is {digest.hexdigest()}, not {model.sha256}")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        raise _cache_error(model, folder, exc, provider) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _mismatch(model: EmbeddedModel, provider: str, detail: str) -> ProviderError:
    packages = f"{model.packages[0]} … {model.packages[-1]}"
    return ProviderError(
        f"Provider '{provider}': refusing the embedded model {model.name}: the file assembled from "
        f"{packages} is not the pinned one ({detail}). The installed packages are not the files "
        f"codegen-lsp was tested with; reinstall them: pip install --force-reinstall "
        f"'codegen-lsp[{model.extra}]'.",
        provider=provider,
    )


def _cache_error(model: EmbeddedModel, folder: Path, exc: OSError, provider: str) -> ProviderError:
    need = (
        f"the embedded model {model.name} is assembled once into {folder} and needs {_mb(model.size)} there"
    )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            free = f"{_mb(shutil.disk_usage(folder).free)} free"
        except OSError:
            free = "no space left"
        problem = f"not enough disk space ({free})"
        fix = "Free some space, or set XDG_CACHE_HOME to a folder on a disk with room"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        problem = f"no permission to write there ({exc.strerror})"
        fix = "Make the folder writable, or set XDG_CACHE_HOME to a folder you can write"
    else:
        problem = f"writing failed: {exc.strerror or exc}"
        fix = "Check that folder, or set XDG_CACHE_HOME to another one"
    return ProviderError(
        f"Provider '{provider}': {need}: {problem}. {fix}; or set model_path to a GGUF file.",
        provider=provider,
    )
