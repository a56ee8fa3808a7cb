"""The cursor mark of the core's inline tests: documents are written with ``█`` at the cursor."""

from __future__ import annotations

from codegen_lsp.core.text import split_lines
from codegen_lsp.core.types import Position

CURSOR = "█"


def at(doc: str) -> tuple[str, Position]:
    """The document without the cursor mark, and the mark's position."""
    offset = doc.index(CURSOR)
    before = doc[:offset]
    lines = split_lines(before)
    return doc.replace(CURSOR, "", 1), Position(len(lines) - 1, len(lines[-1]))
