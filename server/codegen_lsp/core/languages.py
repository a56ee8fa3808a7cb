"""Language ids (the LSP's ``languageId`` values) guessed from file names, for the CLI."""

from __future__ import annotations

from pathlib import PurePath

_BY_SUFFIX = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".jsx": "javascriptreact", ".ts": "typescript", ".tsx": "typescriptreact", ".go": "go", ".rs": "rust",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".java": "java",
    ".kt": "kotlin", ".swift": "swift", ".cs": "csharp", ".php": "php", ".rb": "ruby", ".lua": "lua",
    ".sh": "shellscript", ".bash": "shellscript", ".zsh": "shellscript", ".sql": "sql", ".hs": "haskell",
    ".scala": "scala", ".dart": "dart", ".zig": "zig", ".r": "r", ".pl": "perl", ".ex": "elixir",
    ".exs": "elixir", ".erl": "erlang", ".clj": "clojure", ".lisp": "lisp", ".el": "lisp", ".scm": "scheme",
    ".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".html": "html", ".xml": "xml", ".md": "markdown",
    ".tex": "latex", ".css": "css", ".json": "json",
}  # fmt: skip


def language_from_path(path: str | PurePath) -> str:
    """The LSP language id for ``path``, ``plaintext`` when unknown."""
    pure = PurePath(path)
    if pure.name in ("Makefile", "makefile", "GNUmakefile"):
        return "makefile"
    return _BY_SUFFIX.get(pure.suffix.lower(), "plaintext")
