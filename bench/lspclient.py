"""A minimal LSP client over stdio that timestamps every message, for benchmarks.

pygls' and pytest-lsp's clients convert every message through cattrs into attrs classes, which
costs the client hundreds of microseconds per message and would blur sub-millisecond results.
This client keeps messages as plain dicts and stamps each one with ``time.perf_counter()`` the
moment its last byte has been read from the pipe (before JSON parsing), so a latency is the
server's time plus two pipe hops. ``perf_counter`` is ``CLOCK_MONOTONIC`` on Linux, the same
clock the reference provider stamps its bytes with, even across threads.

Server-to-client requests are answered at once (``workspace/applyEdit`` → applied,
``workspace/configuration`` → the configured section, progress creation → null). With
``mirror_edits`` the client behaves like an editor: it applies each edit to its copy of the
document and sends the matching incremental ``didChange``, so a server that follows versions
sees what it would see in an editor.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Handler = Callable[[dict[str, Any]], Any]


@dataclass
class Received:
    """A message from the server with the time its last byte was read."""

    t: float
    message: dict[str, Any]

    @property
    def method(self) -> str | None:
        return self.message.get("method")

    @property
    def params(self) -> Any:
        return self.message.get("params")


@dataclass
class Reply:
    """The answer to one of our requests."""

    t_sent: float
    t_received: float
    result: Any = None
    error: dict[str, Any] | None = None

    @property
    def latency(self) -> float:
        return self.t_received - self.t_sent


@dataclass
class Doc:
    uri: str
    text: str
    version: int
    language_id: str = "python"


#: what a VS Code-like client announces (trimmed to what the server can use)
CLIENT_CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "workspace": {
        "applyEdit": True,
        "workspaceEdit": {
            "documentChanges": True,
            "resourceOperations": ["create", "rename", "delete"],
            "failureHandling": "textOnlyTransactional",
        },
        "configuration": True,
        "executeCommand": {"dynamicRegistration": True},
        "didChangeConfiguration": {"dynamicRegistration": True},
    },
    "textDocument": {
        "synchronization": {"dynamicRegistration": True, "didSave": True, "willSave": False},
        "codeAction": {
            "dynamicRegistration": True,
            "isPreferredSupport": True,
            "disabledSupport": True,
            "dataSupport": True,
            "resolveSupport": {"properties": ["edit", "command"]},
            "codeActionLiteralSupport": {
                "codeActionKind": {
                    "valueSet": [
                        "",
                        "quickfix",
                        "refactor",
                        "refactor.extract",
                        "refactor.inline",
                        "refactor.rewrite",
                        "source",
                        "source.organizeImports",
                    ]
                }
            },
        },
    },
    "window": {
        "workDoneProgress": True,
        "showMessage": {"messageActionItem": {"additionalPropertiesSupport": True}},
        "showDocument": {"support": True},
    },
}


class LspClient:
    """One language server process and the conversation with it."""

    def __init__(self, proc: asyncio.subprocess.Process, stderr_path: Path | None) -> None:
        self.proc = proc
        self.stderr_path = stderr_path
        self.received: list[Received] = []
        self.handlers: dict[str, Handler] = {
            "workspace/applyEdit": self._on_apply_edit,
            "workspace/configuration": lambda p: [self.configuration for _ in p.get("items", ())],
            "window/workDoneProgress/create": lambda p: None,
            "client/registerCapability": lambda p: None,
            "client/unregisterCapability": lambda p: None,
            "window/showMessageRequest": lambda p: None,
            "window/showDocument": lambda p: {"success": True},
            "workspace/workspaceFolders": lambda p: [],
        }
        #: seconds any request may take before the benchmark gives up on the server
        self.request_timeout = 120.0
        #: seconds the process may take to exit after ``exit`` before it is killed
        self.exit_wait = 5.0
        #: answered to every ``workspace/configuration`` item
        self.configuration: Any = None
        #: apply ``workspace/applyEdit`` to ``docs`` and send the matching didChange
        self.mirror_edits = True
        self.docs: dict[str, Doc] = {}
        #: every applyEdit received, with its time
        self.edits: list[Received] = []
        self._ids = itertools.count(1)
        self._pending: dict[int | str, tuple[float, asyncio.Future[Reply]]] = {}
        self._reader: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    @classmethod
    async def spawn(
        cls,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        stderr_path: Path | None = None,
    ) -> LspClient:
        # a real file, not a pipe: nobody reads the server's log while it runs, and a full
        # pipe would stall the server mid-measurement
        stderr = stderr_path.open("wb") if stderr_path else asyncio.subprocess.DEVNULL
        try:
            proc = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                limit=64 * 1024 * 1024,
            )
        finally:
            if stderr_path:
                stderr.close()  # type: ignore[union-attr]  # the child holds its own copy
        client = cls(proc, stderr_path)
        client._reader = asyncio.create_task(client._read_loop())
        return client

    async def initialize(
        self,
        *,
        root: Path | None = None,
        initialization_options: Any = None,
        capabilities: Mapping[str, Any] | None = None,
        client_info: Mapping[str, str] | None = None,
    ) -> Reply:
        params: dict[str, Any] = {
            "processId": os.getpid(),
            "clientInfo": dict(client_info or {"name": "codegen-lsp-bench", "version": "1"}),
            "rootUri": root.as_uri() if root else None,
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}] if root else None,
            "capabilities": dict(capabilities or CLIENT_CAPABILITIES),
        }
        if initialization_options is not None:
            params["initializationOptions"] = initialization_options
        return await self.request("initialize", params)

    async def initialized(self) -> None:
        await self.notify("initialized", {})

    async def close(self) -> None:
        """shutdown + exit, then make sure the process is gone."""
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self.request("shutdown", None)
                await self.notify("exit", None)
            try:
                await asyncio.wait_for(self.proc.wait(), self.exit_wait)
            except TimeoutError:
                self.kill()
                await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    # -- messages --------------------------------------------------------------------------------

    async def _write(self, message: dict[str, Any]) -> float:
        body = json.dumps(message, separators=(",", ":")).encode()
        assert self.proc.stdin is not None
        t = time.perf_counter()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await self.proc.stdin.drain()
        return t

    async def notify(self, method: str, params: Any) -> float:
        return await self._write({"jsonrpc": "2.0", "method": method, "params": params})

    async def send(self, method: str, params: Any) -> tuple[int, asyncio.Future[Reply]]:
        """Send a request without waiting: its id (for ``$/cancelRequest``) and its reply's future."""
        msg_id = next(self._ids)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = (0.0, future)
        t = await self._write({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        self._pending[msg_id] = (t, future)
        return msg_id, future

    async def request(self, method: str, params: Any) -> Reply:
        """Send a request and wait for its reply (at most ``request_timeout`` seconds)."""
        msg_id, future = await self.send(method, params)
        try:
            return await asyncio.wait_for(future, self.request_timeout)
        finally:
            self._pending.pop(msg_id, None)

    async def _read_loop(self) -> None:
        reader = self.proc.stdout
        assert reader is not None
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                t = time.perf_counter()
                await self._dispatch(Received(t, json.loads(body)))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for _, future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("the server went away"))

    async def _dispatch(self, item: Received) -> None:
        message = item.message
        if "method" not in message:  # a reply to us
            entry = self._pending.pop(message.get("id"), None)  # type: ignore[arg-type]
            if entry is not None and not entry[1].done():
                entry[1].set_result(Reply(entry[0], item.t, message.get("result"), message.get("error")))
            return
        self.received.append(item)
        if "id" in message:  # a request from the server
            handler = self.handlers.get(message["method"])
            if message["method"] == "workspace/applyEdit":
                self.edits.append(item)
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
            if handler is None:
                reply["error"] = {"code": -32601, "message": f"bench client: no {message['method']}"}
            else:
                reply["result"] = handler(message.get("params") or {})
            await self._write(reply)
            # an editor sends didChange after it applied an edit, not before it answered
            if message["method"] == "workspace/applyEdit" and self.mirror_edits:
                await self._mirror(message.get("params") or {})

    # -- documents -------------------------------------------------------------------------------

    def _on_apply_edit(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"applied": True}

    async def open(self, uri: str, text: str, language_id: str = "python", version: int = 1) -> Doc:
        doc = Doc(uri, text, version, language_id)
        self.docs[uri] = doc
        await self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language_id, "version": version, "text": text}},
        )
        return doc

    async def change(self, uri: str, edits: Sequence[dict[str, Any]]) -> float:
        """Apply LSP TextEdits (ASCII text: utf-16 units are code points) and send didChange.

        Returns the time the notification was written."""
        doc = self.docs[uri]
        # sent last-first, each change is valid against the text the previous one produced
        ordered = sorted(edits, key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]))
        ordered.reverse()
        changes = []
        text = doc.text
        for edit in ordered:
            start = _offset(text, edit["range"]["start"])
            end = _offset(text, edit["range"]["end"])
            text = text[:start] + edit["newText"] + text[end:]
            changes.append({"range": edit["range"], "text": edit["newText"]})
        doc.text = text
        doc.version += 1
        return await self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": doc.version}, "contentChanges": changes},
        )

    async def _mirror(self, params: dict[str, Any]) -> None:
        edit = params.get("edit") or {}
        per_uri: dict[str, list[dict[str, Any]]] = {}
        for change in edit.get("documentChanges") or ():
            if "textDocument" in change:
                per_uri.setdefault(change["textDocument"]["uri"], []).extend(change["edits"])
        for uri, edits in (edit.get("changes") or {}).items():
            per_uri.setdefault(uri, []).extend(edits)
        for uri, edits in per_uri.items():
            if uri in self.docs:
                await self.change(uri, edits)

    # -- process ---------------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self.proc.pid


def _offset(text: str, position: Mapping[str, int]) -> int:
    """Code-point offset of an LSP position in ``text`` (``\\n`` line ends)."""
    line, character = position["line"], position["character"]
    offset = 0
    for _ in range(line):
        nl = text.find("\n", offset)
        if nl < 0:
            return len(text)
        offset = nl + 1
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    return min(offset + character, end)
