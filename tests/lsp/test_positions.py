"""Position conversion (lsp/positions.py) in every encoding, against hand-counted code units."""

from __future__ import annotations

import pytest
from lsprotocol import types as lsp

from codegen_lsp.core.text import LineIndex
from codegen_lsp.core.types import Position
from codegen_lsp.lsp.positions import PositionCodec

TEXT = "a😀b\r\n名e\u0301x\rz\x0cq\n"
# line 0: "a😀b"  line 1: "名éx" (e + combining acute)  line 2: "z\x0cq" (a form feed is no break)


@pytest.mark.parametrize(
    ("encoding", "client", "code_points"),
    [
        pytest.param("utf-16", (0, 3), (0, 2), id="utf16-after-emoji"),
        pytest.param("utf-8", (0, 5), (0, 2), id="utf8-after-emoji"),
        pytest.param("utf-32", (0, 2), (0, 2), id="utf32-after-emoji"),
        pytest.param("utf-16", (0, 2), (0, 1), id="utf16-inside-surrogate-pair-rounds-down"),
        pytest.param("utf-8", (1, 3), (1, 1), id="utf8-after-cjk"),
        pytest.param("utf-8", (1, 6), (1, 3), id="utf8-after-combining-mark"),
        pytest.param("utf-16", (1, 3), (1, 3), id="utf16-combining-mark-is-one-unit"),
        pytest.param("utf-16", (2, 2), (2, 2), id="form-feed-is-not-a-line-break"),
        pytest.param("utf-16", (0, 99), (0, 3), id="past-end-of-line-clamps-before-crlf"),
        pytest.param("utf-16", (9, 0), (3, 0), id="past-last-line-is-document-end"),
    ],
)
def test_client_to_code_points(encoding: str, client: tuple[int, int], code_points: tuple[int, int]) -> None:
    index = LineIndex(TEXT)
    position = lsp.Position(line=client[0], character=client[1])
    assert PositionCodec(encoding).from_client_position(index, position) == Position(*code_points)
    assert position.character == client[1]  # never mutated (pygls' helper does)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_round_trip_every_position(encoding: str) -> None:
    index = LineIndex(TEXT)
    codec = PositionCodec(encoding)
    for line in range(index.line_count):
        for column in range(len(index.line(line)) + 1):
            here = Position(line, column)
            assert codec.from_client_position(index, codec.to_client_position(index, here)) == here


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(lsp.PositionEncodingKind.Utf8, "utf-8", id="enum-member"),
        pytest.param("utf-32", "utf-32", id="wire-name"),
        pytest.param(None, "utf-16", id="none-is-the-lsp-default"),
        pytest.param("utf-7", "utf-16", id="unknown-falls-back-to-utf16"),
    ],
)
def test_codec_binds_the_negotiated_encoding(given: str | None, expected: str) -> None:
    codec = PositionCodec(given)
    assert codec.encoding == expected
    assert codec.units("a😀") == {"utf-8": 5, "utf-16": 3, "utf-32": 2}[expected]
