"""The one place where editor positions (utf-8, utf-16 or utf-32 code units) become code points.

The line model is the core's (:class:`~codegen_lsp.core.text.LineIndex`: lines split by ``\\n``,
``\\r\\n`` and ``\\r``, the LSP's own model); this module only converts units within a line. pygls'
``TextDocument`` helpers split lines with ``str.splitlines`` (which also breaks at form feeds,
``\\x1c``-``\\x1e``, ``\\x85``, U+2028 and U+2029) and mutate positions past the end of a line, so
they are not used. A :class:`PositionCodec` binds the encoding negotiated at ``initialize`` once,
so no caller passes it around. Code units are counted by encoding the line with that codec
(C speed); a position in the middle of a character (half a surrogate pair, a partial UTF-8
sequence) rounds down, and a character past the end of its line clamps to the line's end, as the
specification asks.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from codegen_lsp.core.text import LineIndex
from codegen_lsp.core.types import Position, Range

# keyed by the encodings' wire names: pygls hands over PositionEncodingKind members or strings
_CODECS: dict[str, tuple[str, int]] = {
    lsp.PositionEncodingKind.Utf8.value: ("utf-8", 1),
    lsp.PositionEncodingKind.Utf16.value: ("utf-16-le", 2),
    lsp.PositionEncodingKind.Utf32.value: ("utf-32-le", 4),
}


class PositionCodec:
    """Client positions in one negotiated encoding (``None``: UTF-16, the LSP default) ↔ code points."""

    __slots__ = ("_codec", "_width", "encoding")

    def __init__(self, encoding: str | None = None) -> None:
        name = str(getattr(encoding, "value", encoding))
        known = name if name in _CODECS else lsp.PositionEncodingKind.Utf16.value
        self.encoding: str = known
        self._codec, self._width = _CODECS[known]

    def __repr__(self) -> str:
        return f"PositionCodec({self.encoding!r})"

    # -- within a line -----------------------------------------------------------------------------

    def column(self, line: str, units: int) -> int:
        """The code-point column of ``units`` code units into ``line`` (rounded down, clamped)."""
        if self._width == 4 or line.isascii():
            return min(max(units, 0), len(line))
        data = line.encode(self._codec)[: max(units, 0) * self._width]
        return len(data.decode(self._codec, errors="ignore"))

    def units(self, text: str) -> int:
        """The length of ``text`` in this encoding's code units."""
        if self._width == 4 or text.isascii():
            return len(text)
        return len(text.encode(self._codec)) // self._width

    # -- positions and ranges ------------------------------------------------------------------

    def from_client_position(self, index: LineIndex, position: lsp.Position) -> Position:
        """An editor position as code points; a line past the end means the end of the document."""
        if position.line >= index.line_count:
            return index.end
        return Position(position.line, self.column(index.line(position.line), position.character))

    def from_client_range(self, index: LineIndex, rng: lsp.Range) -> Range:
        start = self.from_client_position(index, rng.start)
        end = self.from_client_position(index, rng.end)
        return Range(start, end) if start <= end else Range(end, start)

    def to_client_position(self, index: LineIndex, position: Position) -> lsp.Position:
        position = index.clamp(position)
        line = index.line(position.line)
        return lsp.Position(line=position.line, character=self.units(line[: position.character]))

    def to_client_range(self, index: LineIndex, rng: Range) -> lsp.Range:
        return lsp.Range(
            start=self.to_client_position(index, rng.start), end=self.to_client_position(index, rng.end)
        )
