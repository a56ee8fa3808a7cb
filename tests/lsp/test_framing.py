"""The LSP frame decoder (``codegen_lsp.lsp.framing.FrameDecoder``): pure, so every split is tested.

Each case is a byte stream and the events it must give. Every case runs whole, byte by byte, and
cut into two at every position: the decoder's answer may not depend on how reads were split.
"""

from __future__ import annotations

import json

import pytest

from codegen_lsp.lsp.framing import Dropped, Frame, FrameDecoder

A = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "a"}).encode()
B = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "b"}).encode()
# a body that talks about headers inside a JSON string (escaped line breaks): not a header
TRICKY = json.dumps(
    {"jsonrpc": "2.0", "method": "m", "params": {"text": "Content-Length: 5\r\n\r\n{}"}}
).encode()
MAX = 200


def frame(
    body: bytes, length: int | None = None, *, header: bytes = b"Content-Length", eol: bytes = b"\r\n"
) -> bytes:
    size = len(body) if length is None else length
    return header + b": " + str(size).encode() + eol + eol + body


def events_of(chunks: list[bytes]) -> list[Frame | Dropped]:
    decoder = FrameDecoder(MAX)
    events: list[Frame | Dropped] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events


CASES = [
    pytest.param(frame(A) + frame(B), [Frame(A), Frame(B)], id="two-frames"),
    pytest.param(
        b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" % len(A) + A,
        [Frame(A)],
        id="with-content-type",
    ),
    pytest.param(frame(A, header=b"content-length"), [Frame(A)], id="lowercase-header"),
    pytest.param(frame(A, eol=b"\n"), [Frame(A)], id="bare-newlines"),
    pytest.param(b"\r\n\r\n" + frame(A) + b"\r\n" + frame(B), [Frame(A), Frame(B)], id="blank-lines-between"),
    pytest.param(frame(TRICKY), [Frame(TRICKY)], id="header-text-inside-a-json-string"),
    pytest.param(frame(b""), [Frame(b"")], id="empty-body"),
    pytest.param(b"garbage\r\n" + frame(A), [Dropped(9), Frame(A)], id="garbage-line-first"),
    pytest.param(b"}{]" + frame(A), [Dropped(3), Frame(A)], id="garbage-glued-to-a-header"),
    pytest.param(
        b"Content-Length: abc\r\n\r\n" + frame(A), [Dropped(23), Frame(A)], id="length-not-a-number"
    ),
    pytest.param(b"Content-Length: -5\r\n\r\n" + frame(A), [Dropped(22), Frame(A)], id="negative-length"),
    pytest.param(
        b"Content-Type: x\r\n\r\n{}" + frame(A),
        [Dropped(21), Frame(A)],
        id="no-length-header",
    ),
    pytest.param(
        b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd" + frame(A),
        [Dropped(44), Frame(A)],
        id="conflicting-lengths",
    ),
    pytest.param(
        frame(A, len(A) - 5) + frame(B), [Frame(A[:-5]), Dropped(5), Frame(B)], id="length-too-short"
    ),
    pytest.param(
        frame(A, len(A) + 40) + frame(B),
        [Frame(A, f"declared {len(A) + 40} bytes, but the next message began after {len(A)}"), Frame(B)],
        id="length-too-long",
    ),
    pytest.param(
        frame(A, len(A) + 3) + frame(B),
        # the declared end falls inside the next header ("Con"): wait, then cut before it
        [Frame(A, f"declared {len(A) + 3} bytes, but the next message began after {len(A)}"), Frame(B)],
        id="length-ends-inside-the-next-header",
    ),
    pytest.param(
        frame(b"[" + b"0," * 119 + b"0]", 250) + frame(A),
        [Dropped(250, oversized=True, head=b"[" + b"0," * 119 + b"0]"), Frame(A)],
        id="oversized-length-ends-inside-the-next-header",
    ),
    pytest.param(
        frame(b"{" + b" " * 300 + b"}") + frame(A),
        [Dropped(302, oversized=True, head=b"{" + b" " * 300 + b"}"), Frame(A)],
        id="oversized-then-next",
    ),
    pytest.param(
        b"Content-Length: 1000000000000\r\n\r\n{}" + frame(A),
        [Dropped(1000000000000, oversized=True, head=b"{}"), Frame(A)],
        id="absurd-length-then-next",
    ),
]


@pytest.mark.parametrize(("stream", "expected"), CASES)
def test_any_split_gives_the_same_events(stream: bytes, expected: list[Frame | Dropped]) -> None:
    assert events_of([stream]) == expected
    assert events_of([stream[i : i + 1] for i in range(len(stream))]) == expected
    for cut in range(1, len(stream)):
        assert events_of([stream[:cut], stream[cut:]]) == expected, f"cut at {cut}"


def test_an_oversized_body_is_never_held() -> None:
    decoder = FrameDecoder(1024)
    events = decoder.feed(b"Content-Length: %d\r\n\r\n" % (50 * 2**20))
    chunk = b"[" + b"1," * 32767 + b"1]"
    fed = 0
    while fed < 50 * 2**20 - len(chunk):
        events += decoder.feed(chunk)
        fed += len(chunk)
        assert len(decoder._buf) <= 64  # only the overlap that may hold a split header
    events += decoder.feed(b"x" * (50 * 2**20 - fed) + frame(A))
    assert [type(e) for e in events] == [Dropped, Frame]
    assert events[1] == Frame(A)


def test_a_long_garbage_line_is_dropped_without_being_held() -> None:
    decoder = FrameDecoder(MAX)
    events: list[Frame | Dropped] = []
    for _ in range(100):
        events += decoder.feed(b"x" * 10_000)
        assert len(decoder._buf) <= 1100
    events += decoder.feed(frame(A))
    assert events == [Dropped(1_000_000), Frame(A)]


@pytest.mark.parametrize(
    ("partial", "expected"),
    [
        pytest.param(
            A,
            [Frame(A, f"declared {len(A) + 10} bytes, but the message ended after {len(A)}")],
            id="complete-json",
        ),
        pytest.param(A[:-1], [], id="incomplete-json"),
    ],
)
def test_a_stalled_body_is_delivered_only_when_it_is_complete_json(
    partial: bytes, expected: list[Frame]
) -> None:
    decoder = FrameDecoder(MAX)
    assert decoder.feed(b"Content-Length: %d\r\n\r\n" % (len(A) + 10) + partial) == []
    assert decoder.in_body
    assert decoder.stalled() == expected
    if expected:  # back in step: the next frame decodes normally
        assert decoder.feed(frame(B)) == [Frame(B)]


def test_stalled_outside_a_body_is_a_no_op() -> None:
    decoder = FrameDecoder(MAX)
    assert decoder.feed(b"Content-Len") == []
    assert decoder.stalled() == []
    assert decoder.feed(b"gth: %d\r\n\r\n" % len(A) + A) == [Frame(A)]


def test_a_stalled_body_is_parsed_again_only_once_more_arrived() -> None:
    decoder = FrameDecoder(MAX)
    decoder.feed(b"Content-Length: %d\r\n\r\n" % (len(A) + 10) + A[:-1])
    assert decoder.stalled() == []
    assert decoder._stall_checked == len(A) - 1  # the next stall costs nothing until bytes arrive
    assert decoder.feed(A[-1:]) == []
    assert decoder.stalled() == [
        Frame(A, f"declared {len(A) + 10} bytes, but the message ended after {len(A)}")
    ]
