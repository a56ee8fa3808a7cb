"""codegen-lsp: AI code generation behind the code-action menu of every LSP editor.

The public Python API is the seed API of the project's ancestor::

    from codegen_lsp import create_completion
    for chunk in create_completion("gpt-4o-mini", [{"role": "user", "content": "..."}], stream=True):
        print(chunk, end="")

Names are imported lazily so that ``import codegen_lsp`` (and the language server's start-up)
does not pay for httpx or llama.cpp until they are needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "CodegenError",
    "ConfigError",
    "ProviderError",
    "__version__",
    "acreate_completion",
    "create_completion",
]

if TYPE_CHECKING:
    from codegen_lsp.completion import acreate_completion, create_completion
    from codegen_lsp.errors import CodegenError, ConfigError, ProviderError


def __getattr__(name: str) -> Any:
    if name in ("create_completion", "acreate_completion"):
        from codegen_lsp import completion

        return getattr(completion, name)
    if name in ("CodegenError", "ConfigError", "ProviderError"):
        from codegen_lsp import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'codegen_lsp' has no attribute {name!r}")
