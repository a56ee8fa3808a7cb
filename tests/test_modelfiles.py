"""Assembling an embedded model from data-only packages: verified, atomic, clear when it cannot be.

The "packages" here are real folders on ``sys.path`` holding ``data/partNN.bin`` files, found by
import spec exactly like the real ones; the model is a few bytes, so every path runs in
milliseconds and needs neither llama.cpp nor the real model.
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import os
import sys
from pathlib import Path

import pytest

from codegen_lsp.core.localmodels import EmbeddedModel
from codegen_lsp.errors import ProviderError, ProviderUnavailable
from codegen_lsp.providers import modelfiles
from codegen_lsp.providers.modelfiles import model_file

PARTS = (b"GGUF" + b"a" * 100, b"b" * 50, b"c" * 7)


def fake_model(
    root: Path, monkeypatch: pytest.MonkeyPatch, parts: tuple[bytes, ...] = PARTS
) -> EmbeddedModel:
    prefix = f"codegen_test_{root.parent.name.replace('-', '_')}_part"
    for index, data in enumerate(parts, start=1):
        folder = root / f"{prefix}{index}" / "data"
        folder.mkdir(parents=True)
        (folder.parent / "__init__.py").write_text("raise RuntimeError('never imported')\n")
        (folder / f"part{index:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    whole = b"".join(PARTS)
    return EmbeddedModel(
        name="tiny-test",
        title="Tiny test model",
        extra="local",
        packages=tuple(f"{prefix}{index}" for index in range(1, len(parts) + 1)),
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        gguf_name="Tiny",
    )


def test_parts_are_assembled_once_verified_and_never_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = fake_model(tmp_path / "site", monkeypatch)
    cache = tmp_path / "cache"
    path = model_file(model, "local", cache)
    assert path == cache / model.file_name
    assert path.read_bytes() == b"".join(PARTS)
    assert [p.name for p in cache.iterdir()] == [model.file_name], "no temporary file is left behind"
    assert not any(name.startswith("codegen_test_") for name in sys.modules)
    # Found again by name and size: not rebuilt (a rebuild would replace the inode).
    inode = path.stat().st_ino
    assert model_file(model, "local", cache).stat().st_ino == inode


def test_a_hash_mismatch_is_refused_and_nothing_is_left_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tampered = (PARTS[0], b"B" * 50, PARTS[2])  # same size, other bytes
    model = fake_model(tmp_path / "site", monkeypatch, tampered)
    cache = tmp_path / "cache"
    with pytest.raises(
        ProviderError, match=r"refusing the embedded model tiny-test: .* SHA-256 is [0-9a-f]{64}, not"
    ) as info:
        model_file(model, "local", cache)
    assert "pip install --force-reinstall 'codegen-lsp[local]'" in str(info.value)
    assert list(cache.iterdir()) == []


def test_parts_of_the_wrong_size_are_refused_before_copying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = fake_model(tmp_path / "site", monkeypatch, (PARTS[0], PARTS[1], b"c" * 8))
    with pytest.raises(ProviderError, match="its parts hold 162 bytes, not 161"):
        model_file(model, "local", tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_a_missing_part_names_the_package_and_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = fake_model(tmp_path / "site", monkeypatch)
    (tmp_path / "site" / model.packages[1] / "data" / "part02.bin").unlink()
    with pytest.raises(
        ProviderUnavailable,
        match=rf"missing: {model.packages[1]}\). Install it with: pip install 'codegen-lsp\[local\]'",
    ):
        model_file(model, "local", tmp_path / "cache")


def test_too_little_free_space_is_explained_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = fake_model(tmp_path / "site", monkeypatch)
    real = modelfiles.shutil.disk_usage
    monkeypatch.setattr(modelfiles.shutil, "disk_usage", lambda p: real(p)._replace(free=1000))
    cache = tmp_path / "cache"
    with pytest.raises(ProviderError) as info:
        model_file(model, "local", cache)
    message = str(info.value)
    assert f"assembled once into {cache}" in message
    assert "not enough disk space (0 MB free)" in message and "XDG_CACHE_HOME" in message
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(errno.EACCES, "no permission to write there", id="permission"),
        pytest.param(errno.EROFS, "no permission to write there", id="read-only"),
        pytest.param(errno.ENOSPC, "not enough disk space", id="disk-full-while-writing"),
        pytest.param(errno.EIO, "writing failed", id="other"),
    ],
)
def test_write_errors_become_one_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int, expected: str
) -> None:
    model = fake_model(tmp_path / "site", monkeypatch)

    def failing_replace(src: object, dst: object) -> None:
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(modelfiles.os, "replace", failing_replace)
    cache = tmp_path / "cache"
    with pytest.raises(ProviderError, match=expected) as info:
        model_file(model, "local", cache)
    assert "set model_path to a GGUF file" in str(info.value)
    assert list(cache.iterdir()) == [], "the temporary file is removed"


def test_a_cache_folder_that_cannot_be_created_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = fake_model(tmp_path / "site", monkeypatch)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ProviderError, match=r"assembled once into .*file/models .*writing failed"):
        model_file(model, "local", blocker / "models")
