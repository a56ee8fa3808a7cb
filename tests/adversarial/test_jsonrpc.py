"""Hostile JSON-RPC, table-driven: malformed frames, envelopes and params, over stdio and TCP.

Each case is the bytes a broken or hostile client sends and the answers the server owes: the
error code per request id (``None``: a result), nothing for what cannot be answered (a
notification, a response, an unreadable id gets ``id: null``). After every case the server must
answer an ordinary ``textDocument/codeAction``, so a case that killed the server, hung it or
left the stream out of step fails. Case ids start with their class: params, envelope, parse,
framing. One server per transport runs the whole table; at the end it must shut down with
status 0, its output must have been correctly framed throughout, and it must have logged no
traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rpc import OMIT, RawServer, clean_env, frame

pytestmark = pytest.mark.e2e  # the server or the CLI as a subprocess

URI = "file:///adversarial/doc.py"
TEXT = "# add two numbers\n\n"
ORIGIN = {"line": 0, "character": 0}
ACTION = {
    "textDocument": {"uri": URI},
    "range": {"start": ORIGIN, "end": ORIGIN},
    "context": {"diagnostics": []},
}

PARSE, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602


def req(msg_id: Any, method: str, params: Any = OMIT, **fields: Any) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method, **fields}
    if params is not OMIT:
        message["params"] = params
    return frame(message)


def action(**changes: Any) -> dict[str, Any]:
    return {**ACTION, **changes}


def at(line: int, character: int) -> dict[str, Any]:
    return {"start": {"line": line, "character": character}, "end": {"line": line, "character": character}}


def lying(body: bytes, length: int) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % length + body


UNKNOWN = json.dumps({"jsonrpc": "2.0", "id": "late", "method": "no/such"}).encode()


@dataclass(frozen=True)
class Case:
    send: bytes | tuple[bytes, ...]  # a tuple is written piece by piece
    answers: tuple[tuple[Any, int | None], ...] = ()
    #: wait for the answers before the probe (a stalled body is answered only after a pause)
    wait: bool = False


CASES = [
    # params: a request whose params cannot be read gets -32602
    pytest.param(Case(req("p1", "textDocument/codeAction", action(range="abc")), (("p1", INVALID_PARAMS),)), id="params/range-is-a-string"),
    pytest.param(Case(req("p2", "textDocument/codeAction", action(range=at(-1, 0))), (("p2", INVALID_PARAMS),)), id="params/negative-line"),
    pytest.param(Case(req("p3", "textDocument/codeAction", action(range=at(0, -1))), (("p3", INVALID_PARAMS),)), id="params/negative-character"),
    pytest.param(Case(req("p4", "textDocument/codeAction", action(range=at(2**40, 0))), (("p4", INVALID_PARAMS),)), id="params/line-beyond-uinteger"),
    pytest.param(Case(req("p5", "textDocument/codeAction"), (("p5", INVALID_PARAMS),)), id="params/no-params"),
    pytest.param(Case(req("p6", "textDocument/codeAction", None), (("p6", INVALID_PARAMS),)), id="params/null-params"),
    pytest.param(Case(req("p7", "textDocument/codeAction", {"range": at(0, 0)}), (("p7", INVALID_PARAMS),)), id="params/no-text-document"),
    pytest.param(Case(req("p8", "workspace/executeCommand"), (("p8", INVALID_PARAMS),)), id="params/execute-command-without-params"),
    pytest.param(Case(req("p9", "workspace/executeCommand", {}), (("p9", INVALID_PARAMS),)), id="params/execute-command-without-command"),
    pytest.param(Case(req("p10", "workspace/executeCommand", {"command": "no.such"}), (("p10", INVALID_PARAMS),)), id="params/unknown-command"),
    pytest.param(Case(req("p11", "workspace/executeCommand", {"command": "codegen.generate", "arguments": "x"}), (("p11", None),), wait=True), id="params/arguments-a-string"),
    pytest.param(Case(req("p12", "workspace/executeCommand", {"command": "codegen.generate", "arguments": ["junk"]}), (("p12", None),), wait=True), id="params/generate-with-a-junk-argument"),
    pytest.param(Case(req("p13", "workspace/executeCommand", {"command": "codegen.cancel", "arguments": [{"jobId": 5}]}), (("p13", None),), wait=True), id="params/cancel-with-a-junk-argument"),
    pytest.param(Case(frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": 5}})), id="params/notification-with-bad-params"),
    pytest.param(Case(frame({"jsonrpc": "2.0", "method": "textDocument/didChange"})), id="params/notification-without-params"),
    # envelope: what is not a JSON-RPC 2.0 request gets -32600 (id null when the id is unreadable)
    pytest.param(Case(frame([{"jsonrpc": "2.0", "id": "b1", "method": "shutdown"}, {"jsonrpc": "2.0", "id": "b2", "method": "no/such"}]), (("b1", INVALID_REQUEST), ("b2", INVALID_REQUEST))), id="envelope/batch"),
    pytest.param(Case(frame([]), ((None, INVALID_REQUEST),)), id="envelope/empty-batch"),
    pytest.param(Case(frame([{"jsonrpc": "2.0", "method": "exit"}]), ((None, INVALID_REQUEST),)), id="envelope/batch-of-a-notification"),
    pytest.param(Case(frame({"id": "e1", "method": "shutdown"}), (("e1", INVALID_REQUEST),)), id="envelope/no-jsonrpc"),
    pytest.param(Case(frame({"jsonrpc": "1.0", "id": "e2", "method": "shutdown"}), (("e2", INVALID_REQUEST),)), id="envelope/jsonrpc-1.0"),
    pytest.param(Case(frame({"jsonrpc": 2, "id": "e3", "method": "shutdown"}), (("e3", INVALID_REQUEST),)), id="envelope/jsonrpc-a-number"),
    pytest.param(Case(frame({"jsonrpc": "2.0", "id": {"x": 1}, "method": "shutdown"}), ((None, INVALID_REQUEST),)), id="envelope/id-an-object"),
    pytest.param(Case(frame({"jsonrpc": "2.0", "id": True, "method": "shutdown"}), ((None, INVALID_REQUEST),)), id="envelope/id-a-bool"),
    pytest.param(Case(frame({"jsonrpc": "2.0", "id": 1.5, "method": "shutdown"}), ((None, INVALID_REQUEST),)), id="envelope/id-a-float"),
    pytest.param(Case(frame({"jsonrpc": "2.0", "id": None, "method": "shutdown"}), ((None, INVALID_REQUEST),)), id="envelope/id-null"),
    pytest.param(Case(frame({"jsonrpc": "2.0", "id": "e4", "method": 7}), (("e4", INVALID_REQUEST),)), id="envelope/method-a-number"),
    pytest.param(Case(req("e5", "textDocument/codeAction", "abc"), (("e5", INVALID_REQUEST),)), id="envelope/params-a-string"),
    pytest.param(Case(frame("hello"), ((None, INVALID_REQUEST),)), id="envelope/message-a-string"),
    pytest.param(Case(frame(None), ((None, INVALID_REQUEST),)), id="envelope/message-null"),
    pytest.param(Case(frame({"jsonrpc": "2.0"}), ((None, INVALID_REQUEST),)), id="envelope/neither-request-nor-response"),
    pytest.param(Case(req("e6", "no/such"), (("e6", METHOD_NOT_FOUND),)), id="envelope/unknown-method"),
    pytest.param(Case(req(2**53, "no/such"), ((2**53, METHOD_NOT_FOUND),)), id="envelope/huge-numeric-id"),
    pytest.param(Case(frame({"jsonrpc": "2.0", "id": "e7"})), id="envelope/response-without-result"),
    pytest.param(Case(frame({"jsonrpc": "2.0", "id": "nobody", "result": 1})), id="envelope/response-to-nothing"),
    pytest.param(Case(frame({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "nobody"}})), id="envelope/cancel-of-nothing"),
    pytest.param(Case(frame({"jsonrpc": "2.0", "method": "no/such"})), id="envelope/unknown-notification"),
    # parse: a body that is not JSON gets -32700 with id null
    pytest.param(Case(frame(b"{nope"), ((None, PARSE),)), id="parse/not-json"),
    pytest.param(Case(frame(b'{"jsonrpc": "2.0", "id": "x\xff", "method": "a"}'), ((None, PARSE),)), id="parse/invalid-utf8"),
    pytest.param(Case(frame(b"[" * 100_000 + b"]" * 100_000), ((None, PARSE),)), id="parse/deeply-nested"),
    pytest.param(Case(frame(b""), ((None, PARSE),)), id="parse/empty-body"),
    pytest.param(Case(frame(b'{"jsonrpc": "2.0", "method": "exit"} trailing'), ((None, PARSE),)), id="parse/trailing-bytes"),
    # framing: the stream is cut wrongly; the server finds its way back
    pytest.param(Case(lying(b"{}", 10**12)), id="framing/absurd-length"),
    pytest.param(Case(lying(b'{"jsonrpc": "2.0", "id": "f1", "method": "x", "params": {', 10**12), (("f1", INVALID_REQUEST),)), id="framing/absurd-length-answered-by-id"),
    pytest.param(Case(lying(UNKNOWN, len(UNKNOWN) - 9), ((None, PARSE),)), id="framing/length-too-short"),
    pytest.param(Case(lying(UNKNOWN, len(UNKNOWN) + 30), (("late", METHOD_NOT_FOUND),)), id="framing/length-too-long"),
    pytest.param(Case(lying(UNKNOWN, len(UNKNOWN) + 30), (("late", METHOD_NOT_FOUND),), wait=True), id="framing/length-too-long-then-silence"),
    pytest.param(Case(b"\x00\xffgarbage}{\r\n\r\n"), id="framing/garbage-between-frames"),
    pytest.param(Case(b"x" * 20_000), id="framing/long-line-without-newline"),
    pytest.param(Case(b"Content-Type: application/vscode-jsonrpc\r\n\r\n{}"), id="framing/no-length-header"),
    pytest.param(Case(b"Content-Length: abc\r\n\r\n{}"), id="framing/length-not-a-number"),
    pytest.param(Case(b"Content-Length: -5\r\n\r\n{}"), id="framing/negative-length"),
    pytest.param(Case(b"content-length: %d\r\n\r\n" % len(UNKNOWN) + UNKNOWN, (("late", METHOD_NOT_FOUND),)), id="framing/lowercase-header"),
    pytest.param(Case(b"Content-Length: %d\n\n" % len(UNKNOWN) + UNKNOWN, (("late", METHOD_NOT_FOUND),)), id="framing/bare-newlines"),
    pytest.param(Case(tuple(bytes([b]) for b in frame({"jsonrpc": "2.0", "id": "f2", "method": "no/such"})), (("f2", METHOD_NOT_FOUND),)), id="framing/one-byte-at-a-time"),
    pytest.param(Case(req("f3", "no/such") + req("f4", "no/such"), (("f3", METHOD_NOT_FOUND), ("f4", METHOD_NOT_FOUND))), id="framing/two-in-one-write"),
]  # fmt: skip


@pytest.fixture(scope="module", params=["stdio", "tcp"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawServer]:
    home = tmp_path_factory.mktemp(f"jsonrpc-{request.param}")
    server = RawServer(home, clean_env(home), transport=request.param).start()
    server.initialize(home, {"autoLocal": False})
    server.open(URI, TEXT)
    yield server
    assert "result" in server.call("shutdown")
    server.notify("exit")
    assert server.wait_exit(10) == 0
    server.close()
    assert server.violations == []
    assert "Traceback" not in server.log + server.stderr


def _key(answer: tuple[Any, int | None]) -> str:
    return json.dumps(answer)


@pytest.mark.parametrize("case", CASES)
def test_every_request_is_answered_and_the_server_stays_in_step(server: RawServer, case: Case) -> None:
    start = server.mark()
    if isinstance(case.send, tuple):
        server.dribble(case.send)
    else:
        server.write(case.send)
    if case.wait:
        for msg_id, _ in case.answers:
            server.response(msg_id, timeout=10, start=start)
    probe = server.request("textDocument/codeAction", ACTION)
    answer = server.response(probe, timeout=10, start=start)
    assert isinstance(answer.get("result"), list), answer
    got = [
        (r.get("id"), r["error"]["code"] if "error" in r else None)
        for r in server.responses(start)
        if r.get("id") != probe
    ]
    assert sorted(got, key=_key) == sorted(case.answers, key=_key)
    for response in server.responses(start):
        if "error" in response:  # every error says what was wrong, briefly
            assert 10 < len(response["error"]["message"]) < 400, response


def test_the_table_covers_every_class() -> None:
    classes: dict[str, int] = {}
    for param in CASES:
        name = str(param.id).split("/")[0]
        classes[name] = classes.get(name, 0) + 1
    assert set(classes) == {"params", "envelope", "parse", "framing"}
    assert min(classes.values()) >= 5


def test_an_oversized_request_under_a_lowered_cap_is_answered_and_skipped(tmp_path: Path) -> None:
    server = RawServer(tmp_path, clean_env(tmp_path, CODEGEN_LSP_MAX_MESSAGE_BYTES="4096")).start()
    try:
        server.initialize(tmp_path, {"autoLocal": False})
        server.open(URI, "x = 1\n" * 2000)  # a 12 KB didOpen: refused, with no one to answer
        big = server.request("textDocument/codeAction", action(padding="x" * 10_000))
        refused = server.response(big)
        assert refused["error"]["code"] == INVALID_REQUEST
        assert (
            "4096" in refused["error"]["message"]
            and "CODEGEN_LSP_MAX_MESSAGE_BYTES" in refused["error"]["message"]
        )
        assert server.call("textDocument/codeAction", ACTION)["result"] is None  # the document never opened
        assert "refused a message of" in server.log
    finally:
        server.close()
    assert server.violations == []
